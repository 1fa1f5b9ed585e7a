"""The numpy DSP code is written in ([4/10]): reductions, selection, shapes, assembly, elementwise spellings.

Each program runs through the fuzzer's oracle (tests/fuzz/oracle.py) with `strict=True` on both backends:
the primal equals plain numpy, `grad` matches central finite differences along random directions, the
jvp/vjp dot-product test holds, `hvp` (forward over the generated adjoint) matches differences of `grad`,
and numba agrees with the python backend. The linear ones are also checked by the adjoint test
<A x, y> = <x, A^T y> with the compiled function itself as A.
"""
import numpy as np
import pytest
from fuzz.oracle import Case, check_case, load

import adc

HEADER = "import math\nimport numpy as np\n\n\n"
rng = np.random.default_rng(12)


def vec(n, lo=None):
    v = np.round(rng.standard_normal(n), 3)
    return v if lo is None else np.abs(v) + lo


def mat(r, c):
    return np.round(rng.standard_normal((r, c)), 3)


# name: (source, arguments, wrt)
REDUCTIONS = {
    "sum_and_mean_along_axes": ("""
def main(m):
    cols = np.sum(m, axis=0)
    rows = m.mean(axis=1)
    return np.sum(cols * cols) + np.dot(rows, rows) + np.sum(m.sum(axis=-1) * 0.5)
""", (mat(3, 4),), ("m",)),
    "keepdims_centring": ("""
def main(m):
    centred = m - np.mean(m, axis=1, keepdims=True)
    scaled = centred / np.sum(m * m, axis=(0, 1), keepdims=True)
    return np.sum(centred ** 2) + np.sum(scaled)
""", (mat(3, 4),), ("m",)),
    "sum_over_an_axis_of_a_3d_array": ("""
def main(t):
    return np.sum(np.sum(t, axis=1) ** 2) + np.sum(np.mean(t, axis=(0, 2)) ** 2)
""", (np.round(rng.standard_normal((2, 3, 4)), 3),), ("t",)),
    "max_min_along_an_axis": ("""
def main(m):
    peaks = np.max(np.abs(m), axis=0)
    floor = m.min(axis=1, keepdims=True)
    return np.sum(peaks ** 2) + np.sum((m - floor) ** 2) + np.sum(np.max(m, axis=1) * 0.5)
""", (mat(3, 4),), ("m",)),
    "max_min_and_a_tie": ("""
def main(x):
    y = np.concatenate((x, x[:1]))
    return np.max(x) * 2.0 - x.min() + np.max(y)
""", (vec(6),), ("x",)),
    "prod_with_a_zero": ("""
def main(x, a):
    y = x * a
    y[2] = 0.0
    return np.prod(x) + np.prod(y) + x.prod()
""", (vec(5), 0.7), ("x", "a")),
    "var_std_ddof": ("""
def main(x, m):
    return np.var(x) + np.std(x, ddof=1) + np.sum(np.var(m, axis=0)) + m.std()
""", (vec(6), mat(3, 4)), ("x", "m")),
    "cumsum_and_diff": ("""
def main(x, m):
    c = np.cumsum(x * x)
    d = np.diff(x)
    dd = np.diff(x, n=2)
    rows = np.diff(m, axis=0)
    return (np.sum(c * 0.1) + np.dot(d, d) + np.sum(dd ** 3) + np.sum(rows ** 2) + np.sum(np.cumsum(m, axis=1) ** 2)
            + np.sum(np.cumsum(m) * 0.3))
""", (vec(6), mat(3, 4)), ("x", "m")),
    "norms": ("""
def main(x, m):
    return (np.linalg.norm(x) + np.linalg.norm(x, 1) + np.linalg.norm(x, np.inf) + np.linalg.norm(x, 3)
            + np.linalg.norm(m) + np.linalg.norm(m, "fro") + np.linalg.norm(m, 1) + np.linalg.norm(m, np.inf)
            + np.sum(np.linalg.norm(m, axis=1)))
""", (vec(5), mat(3, 4)), ("x", "m")),
    "trace_and_argmax": ("""
def main(m, x):
    k = np.argmax(x)
    j = x.argmin()
    return np.trace(m @ m.T) + x[k] * x[j] + m.trace()
""", (mat(3, 3), vec(5)), ("m", "x")),
}

SHAPES = {
    "reshape_ravel_flatten": ("""
def main(x, m):
    a = x.reshape((2, 3))
    b = np.reshape(x, (3, -1))
    c = m.ravel()
    d = m.flatten()
    e = x.reshape(3, 2)
    return np.sum(a @ b) + np.dot(c, d) + np.sum(e[:, 0]) + np.sum(np.ravel(m) ** 3)
""", (vec(6), mat(2, 3)), ("x", "m")),
    "reshape_of_contiguous_slices": ("""
def main(m, t):
    a = m[1:].reshape(-1)
    b = m[0].reshape((1, 4))
    c = t[1, 1:3].reshape((-1,))
    return np.sum(a ** 2) + np.sum(b @ m.T) + np.sum(c ** 3)
""", (mat(3, 4), np.round(rng.standard_normal((2, 3, 2)), 3)), ("m", "t")),
    "reshape_is_a_view_written_through": ("""
def main(x):
    y = np.copy(x)
    v = y.reshape((2, 3))
    v[0, 1] = 2.0 * v[1, 2]
    return np.sum(y * y) + np.sum(v)
""", (vec(6),), ("x",)),
    "new_axes": ("""
def main(x, y):
    outer = x[:, None] * y[None, :]
    row = np.expand_dims(x, 0)
    return np.sum(outer ** 2) + np.sum(row @ outer) + np.sum(x[np.newaxis, :] * 2.0)
""", (vec(3), vec(4)), ("x", "y")),
    "broadcasting_in_3d": ("""
def main(x, y, m, t):
    pairs = x[:, :, None] * y[None]
    rows = t * m
    lanes = t * x[0]
    cols = t[:, :1, :] + t
    return np.sum(pairs ** 2) + np.sum(rows * 0.5) + np.sum(lanes ** 2) + np.sum(cols ** 3)
""", (mat(2, 3), mat(3, 4), mat(2, 3), np.round(rng.standard_normal((4, 2, 3)), 3)), ("x", "y", "m", "t")),
    "squeeze_with_axis": ("""
def main(m):
    col = m[:, 1:2]
    return np.sum(np.squeeze(col, axis=1) ** 2) + np.sum(m[0:1, :].squeeze(axis=0))
""", (mat(3, 4),), ("m",)),
    "concatenate_stack_hstack_vstack": ("""
def main(x, y, m):
    a = np.concatenate((x, 2.0 * y, x[:2]))
    b = np.stack((x, x * y))
    c = np.stack((x, y), axis=1)
    d = np.hstack((x, y))
    e = np.vstack((m, m * 0.5))
    f = np.concatenate((m, m * m), axis=1)
    return (np.sum(a ** 2) + np.sum(b @ c) + np.dot(d, d) + np.sum(e ** 3) + np.sum(f * 0.3)
            + np.sum(np.vstack((x, y)) ** 2) + np.sum(np.column_stack((x, y)) ** 2))
""", (vec(3), vec(3), mat(2, 3)), ("x", "y", "m")),
    "flip_roll_repeat": ("""
def main(x, m):
    a = np.flip(x)
    b = np.roll(x, 2) + np.roll(x, -1)
    c = np.repeat(x, 2)
    return (np.dot(a, x) + np.dot(b, x * x) + np.sum(c[1:] * c[:-1]) + np.sum(np.fliplr(m) * m)
            + np.sum(np.flipud(m) * m) + np.sum(np.flip(m, axis=1)[0] * 2.0))
""", (vec(5), mat(3, 3)), ("x", "m")),
    "pad_modes": ("""
def main(x, m):
    a = np.pad(x, 2)
    b = np.pad(x, (1, 3), mode="constant", constant_values=0.5)
    c = np.pad(x, 3, mode="reflect")
    d = np.pad(x, (2, 1), mode="symmetric")
    e = np.pad(x, 2, mode="wrap")
    f = np.pad(x, (1, 2), mode="edge")
    g = np.pad(m, ((1, 0), (2, 1)))
    w = np.arange(c.shape[0]) * 0.1
    return (np.sum(a ** 3) + np.sum(b * b) + np.dot(c, w) + np.sum(d ** 3) + np.sum(e[1:] * e[:-1])
            + np.sum(f ** 3) + np.sum(g ** 3))
""", (vec(5), mat(2, 3)), ("x", "m")),
    "diag_tril_triu_trace": ("""
def main(x, m):
    d = np.diag(x)
    k = np.diag(m)
    return (np.sum(d @ m[:, :3].T) + np.dot(k, k) + np.sum(np.tril(m) ** 2) + np.sum(np.triu(m, 1) * 3.0)
            + np.sum(np.tril(m, -1) * m))
""", (vec(3), mat(3, 4)), ("x", "m")),
    "transpose_and_meshgrid": ("""
def main(x, y, m):
    X, Y = np.meshgrid(x, y)
    I, J = np.meshgrid(x, y, indexing="ij")
    return np.sum(np.sin(X) * Y) + np.sum(I * J ** 2) + np.sum(np.transpose(m) @ m) + np.sum(m.transpose() * 2.0)
""", (vec(3), vec(4), mat(2, 3)), ("x", "y", "m")),
    "sort_moves_the_derivative": ("""
def main(x):
    s = np.sort(x * x)
    w = np.arange(s.shape[0]) + 1.0
    return np.dot(s, w) + np.sum(np.sort(x)[:2])
""", (vec(6),), ("x",)),
    "constructors_eye_full_linspace": ("""
def main(a, b, x):
    e = np.eye(3) * a + np.identity(3)
    r = np.eye(3, 4, 1)
    f = np.full(3, a) + np.full((3,), b * b)
    t = np.linspace(a, b, 5)
    u = np.linspace(0.0, b, 4, endpoint=False)
    return np.sum(e @ x) + np.sum(x @ r) + np.dot(f, x) + np.sum(t ** 2) + np.sum(u ** 3)
""", (0.7, -1.3, vec(3)), ("a", "b", "x")),
    "array_of_numbers_and_of_arrays": ("""
def main(a, b, x):
    c = np.array((a, b, a * b))
    rot = np.array(((np.cos(a), -np.sin(a)), (np.sin(a), np.cos(a))))
    rows = np.array((x, x * b))
    copy = np.array(x)
    copy[0] = 0.0
    listed = np.array([[a, -b], [b, a]]) @ np.array([1.0, a])
    joined = np.concatenate([x, x[:1] * a])
    return (np.sum(c ** 2) + np.sum(rot @ x[:2]) + np.sum(rows ** 2) + np.sum(copy * x) + np.sum(np.asarray(x))
            + np.sum(listed ** 2) + np.dot(joined, joined) + np.sum(np.stack([x, x * a]) ** 2))
""", (0.4, 0.9, vec(3)), ("a", "b", "x")),
}

SELECTION = {
    "where_clip_and_comparisons": ("""
def main(x, y, t):
    leaky = np.where(x > 0.0, x, 0.1 * x)
    clipped = np.clip(x, -0.5, 0.5)
    upper = np.clip(y, None, t)
    picked = np.where(x < y, x * y, y)
    return (np.sum(leaky ** 2) + np.sum(clipped * y) + np.sum(upper) + np.sum(picked) + np.sum((x >= t) * y)
            + x.clip(-1.0, 1.0)[0])
""", (vec(6), vec(6), 0.2), ("x", "y", "t")),
    "where_with_logical_ops": ("""
def main(x):
    inside = np.logical_and(x > -0.5, x < 0.5)
    outside = np.logical_not(inside)
    either = np.logical_or(x > 1.0, x < -1.0)
    return np.sum(np.where(inside, x * x, 0.0)) + np.sum(np.where(outside, x, 0.0)) + np.sum(np.where(either, 1.0, x))
""", (np.array([-1.3, -0.7, -0.2, 0.1, 0.6, 1.4]),), ("x",)),
    "masks_with_operators": ("""
def main(x, y):
    band = (x > -0.5) & (x < 0.5)
    tails = (x < -1.0) | (x > 1.0)
    return np.sum(np.where(band, x * y, 0.0)) + np.sum(np.where(~band, x, y)) + np.sum(x[tails | (y > 0.0)])
""", (np.array([-1.3, -0.7, -0.2, 0.1, 0.6, 1.4]), vec(6)), ("x", "y")),
    "helper_options_as_strings": ("""
def scaled(v, mode="full"):
    if mode == "full":
        out = v * 2.0
    elif mode != "same":
        out = np.sin(v)
    else:
        out = v[1:] * 3.0
    return out


def main(x):
    return np.sum(scaled(x) ** 2) + np.sum(scaled(x, "same")) + np.sum(scaled(x, mode="valid"))
""", (vec(4),), ("x",)),
    "mask_reads": ("""
def main(x, m):
    positive = x[x > 0.0]
    big = m[m > 0.1]
    return np.sum(positive ** 2) + np.mean(big * big) + np.sum(x[np.abs(x) < 1.0])
""", (vec(7), mat(3, 4)), ("x", "m")),
    "fmax_fmin_nan_to_num": ("""
def main(x, y):
    return np.sum(np.fmax(x, y) ** 2) + np.sum(np.fmin(x, 0.2)) + np.sum(np.nan_to_num(x * y))
""", (vec(5), vec(5)), ("x", "y")),
}

ELEMENTWISE = {
    "ufunc_spellings": ("""
def main(x, y):
    a = np.add(x, y) * np.subtract(x, 1.0) + np.multiply(x, y) - np.divide(x, 2.0 + y * y)
    b = np.power(np.abs(x) + 1.0, 1.5) + np.negative(y) + np.true_divide(y, 3.0)
    c = np.remainder(x, 0.7) + np.mod(y, 0.9) + np.reciprocal(2.0 + x * x)
    return np.sum(a * b) + np.sum(c)
""", (vec(5), vec(5)), ("x", "y")),
    "more_functions": ("""
def main(x, s):
    a = np.exp2(x) + np.arccosh(2.0 + x * x) + np.deg2rad(x) * np.rad2deg(x) + np.fabs(x)
    b = np.sinc(x) + np.logaddexp(x, 0.3 * x) + np.heaviside(x, 0.5) * x
    return np.sum(a * b) + np.sinc(s) + np.exp2(s) + math.fabs(s) + np.logaddexp(s, 1.0) + math.radians(s)
""", (vec(6), 0.37), ("x", "s")),
    "sinc_at_zero": ("""
def main(x):
    return np.sum(np.sinc(x) ** 2)
""", (np.array([0.0, 0.5, -1.25]),), ("x",)),
}

TABLES = {"reductions": REDUCTIONS, "shapes": SHAPES, "selection": SELECTION, "elementwise": ELEMENTWISE}
# numba compiles a program's primal, adjoint and tangent kernels in 10-20 s; these also run on it, and
# between them use every spelling generated code gives numba (the others run on the python backend)
ON_NUMBA = {"sum_and_mean_along_axes", "max_min_along_an_axis", "prod_with_a_zero", "cumsum_and_diff", "norms",
            "trace_and_argmax", "reshape_ravel_flatten", "reshape_of_contiguous_slices", "new_axes",
            "concatenate_stack_hstack_vstack", "flip_roll_repeat", "pad_modes", "diag_tril_triu_trace",
            "sort_moves_the_derivative", "constructors_eye_full_linspace", "array_of_numbers_and_of_arrays",
            "broadcasting_in_3d", "squeeze_with_axis", "where_clip_and_comparisons", "masks_with_operators", "mask_reads", "fmax_fmin_nan_to_num",
            "ufunc_spellings", "more_functions"}


@pytest.mark.parametrize("case", [
    pytest.param(Case(HEADER + src.lstrip("\n"), args, wrt, numba=name in ON_NUMBA, hvp=True), id=f"{table}-{name}")
    for table, programs in TABLES.items() for name, (src, args, wrt) in programs.items()])
def test_program(case):
    check_case(case, strict=True)


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_complex_norm_and_variance(backend):
    """|z|^2 of complex values as Re(z conj(z)): the gradient convention dL/dRe + 1j dL/dIm."""
    from checks import assert_grad_matches_fd
    module = load(HEADER + "def main(z):\n    return np.linalg.norm(z) + np.var(z) + np.std(z[1:])\n")
    f = adc.differentiate(module.main, wrt="z", backend=backend)
    z = vec(5) + 1j * vec(5)
    assert f(z) == pytest.approx(module.main(z), rel=1e-12)
    assert_grad_matches_fd(module.main, (z,), [0], [f.grad(z)], rtol=1e-8)


# -- linear maps: <A x, y> = <x, A^T y> with A the compiled function and A^T its vjp ---------------
LINEAR = {
    "concatenate_flip_roll": ("def main(x):\n    return np.concatenate((np.flip(x), np.roll(x, 2), x[1:3]))", (6,)),
    "cumsum_diff_pad": ("def main(x):\n    return np.concatenate((np.cumsum(x), np.diff(x, n=2), np.pad(x, 3, mode='reflect')))", (6,)),
    "stack_reshape_transpose": ("def main(m):\n    return np.stack((m.reshape((3, 2)).T, m[:, ::-1] * 2.0), axis=2)", (2, 3)),
    "sums_along_axes": ("def main(m):\n    return np.concatenate((np.sum(m, axis=0), np.mean(m, axis=1), np.cumsum(m, axis=0).ravel()))", (3, 4)),
    "diag_tril_repeat": ("def main(m):\n    return np.concatenate((np.diag(m), np.tril(m, 1).ravel(), np.repeat(m[0], 3)))", (3, 4)),
    "masked_and_where": ("def main(x):\n    return np.concatenate((x[x > 0.0], np.where(x < 0.3, 2.0 * x, 0.0)))", (7,)),
}


@pytest.mark.parametrize("backend", ["python", "numba"])
@pytest.mark.parametrize("name", sorted(LINEAR))
def test_adjoint_of_a_linear_map(name, backend):
    src, shape = LINEAR[name]
    f = adc.differentiate(load(HEADER + src + "\n").main, wrt="x" if "(x)" in src else "m", backend=backend)
    x = rng.standard_normal(shape)
    ax = f(x)
    y = rng.standard_normal(ax.shape)
    _, aty = f.vjp(x, cotangent=y)
    assert np.vdot(ax, y) == pytest.approx(np.vdot(x, aty), rel=1e-12, abs=1e-12)
    assert np.vdot(ax, y) != 0.0


# -- what stays refused says what to write instead -------------------------------------------------
REFUSED = {
    "index_array": ("def main(x, i):\n    return np.sum(x[i])", (np.ones(3), np.array([0, 2])), "array of indices"),
    "mask_write": ("def main(x):\n    x[x > 0.0] = 0.0\n    return np.sum(x)", (np.ones(3),), "np.where(mask, v, x)"),
    "chained_array_comparison": ("def main(x):\n    return np.sum(np.where(0.0 < x < 1.0, x, 0.0))", (np.ones(3),),
                                 "np.logical_and"),
    "squeeze_without_axis": ("def main(m):\n    return np.sum(np.squeeze(m))", (np.ones((3, 1)),), "axis="),
    "reshape_of_a_strided_view": ("def main(m):\n    return np.sum(m.T.reshape((6,)))", (np.ones((2, 3)),), "np.copy"),
    "reshape_of_columns": ("def main(m):\n    return np.sum(m[:, 1:].reshape(-1) ** 2)", (np.ones((2, 3)),), "np.copy"),
    "reshape_of_a_column": ("def main(m):\n    return np.sum(m[:, 0].ravel() ** 2)", (np.ones((2, 3)),), "np.copy"),
    "spectral_norm": ("def main(m):\n    return np.linalg.norm(m, 2)", (np.ones((2, 3)),), "singular values"),
    "roll_with_axis": ("def main(m):\n    return np.sum(np.roll(m, 1, axis=0))", (np.ones((2, 3)),), "np.concatenate"),
    "where_positions": ("def main(x):\n    return np.sum(np.where(x > 0.0))", (np.ones(3),), "np.where(c, x, y)"),
    "round_with_decimals": ("def main(x):\n    return np.sum(np.round(x, 2))", (np.ones(3),), "np.round(x * 100.0) / 100.0"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refusal_names_the_line_and_the_alternative(name):
    src, args, advice = REFUSED[name]
    module = load(HEADER + src + "\n")
    first = src[len("def main("):].split(",")[0].split(")")[0]
    f = adc.differentiate(module.main, wrt=first, backend="python")
    with pytest.raises(adc.CompileError) as info:
        f.grad(*args)
    assert advice in str(info.value)
    assert (info.value.filename, info.value.lineno) == (module.__file__, 6)  # the line after `def main`


def test_reshape_of_a_strided_argument_raises_instead_of_copying():
    """numpy would reshape a copy, and writes through it would not reach the argument: adc says so."""
    module = load(HEADER + "def main(m):\n    v = m.reshape(-1)\n    v[0] = 2.0 * v[1]\n    return np.sum(m * m)\n")
    f = adc.differentiate(module.main, wrt="m", backend="python")
    m = np.arange(6.0).reshape(2, 3)
    assert f.grad(m) == pytest.approx(adc.differentiate(module.main, wrt="m").grad(m))
    with pytest.raises(ValueError, match="not contiguous"):
        f(np.asfortranarray(m))


def test_pad_widths_beyond_the_signal_raise_with_the_line():
    src = "def main(x, k):\n    return np.sum(np.pad(x, k, mode='reflect') ** 2)\n"
    module = load(HEADER + src)
    for backend in ("python", "numba"):
        f = adc.differentiate(module.main, wrt="x", backend=backend)
        assert f(np.arange(4.0), 3) == pytest.approx(module.main(np.arange(4.0), 3))
        with pytest.raises(AssertionError, match=r"adcfuzz_\w+\.py:6: np.pad in mode 'reflect' needs pad widths"):
            f(np.arange(4.0), 4)
