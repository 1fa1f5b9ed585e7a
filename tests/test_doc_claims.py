"""docs/subset.md against adc: every function it names as accepted is accepted (and computes what
Python computes, with a gradient that matches central differences), and every refusal it lists is
refused with the message it quotes, pointing at the line.

The lists of numpy/math/cmath functions and the table of refusals are read from the page itself,
so a name added to the page is tested and a refusal added to the page needs a program here. The
other spellings the page names (constructors, attributes, Fourier, ...) are mirrored in tables
below, each checked to appear on the page. Everything runs with backend="python": no numba
compiling, a few seconds in all.
"""
import cmath
import math
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import adc

ROOT = Path(__file__).resolve().parents[1]
PAGE = (ROOT / "docs" / "subset.md").read_text()


def section(title: str) -> str:
    start = PAGE.index(f"\n## {title}\n")
    end = PAGE.find("\n## ", start + 1)
    return PAGE[start:end if end >= 0 else len(PAGE)]


def table_rows(text: str) -> list[list[str]]:
    """The body rows of the first markdown table in `text`, as cells (`\\|` is a literal bar)."""
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("|"):
            if rows:
                break
            continue
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip("|"))]
        rows.append(cells)
    assert len(rows) > 2, "no table found"
    return [r for r in rows[2:]]  # drop the header and the --- row


def plain(text: str) -> str:
    """Markdown and messages compared without backticks or repeated spaces."""
    return " ".join(text.replace("`", "").split())


def function_names(row_label: str) -> list[str]:
    for cells in table_rows(section("Functions")):
        if cells[0] == row_label:
            (names,) = re.findall(r"^`([^`]*)`", cells[1])
            return names.split()
    raise AssertionError(f"docs/subset.md has no Functions row {row_label!r}")


def central_differences(fn, args, wrt, h=1e-6):
    """d fn / d args[i] for each i in wrt, entry by entry; complex entries as d/dx + 1j d/dy."""
    grads = []
    for i in wrt:
        base = args[i]
        shape = np.shape(base)
        flat = np.array(base, dtype=complex if np.iscomplexobj(base) else float).ravel()
        g = np.zeros(flat.shape, dtype=flat.dtype)
        for k in range(flat.size):
            for step, weight in ((h, 1.0), (1j * h, 1j)) if np.iscomplexobj(base) else ((h, 1.0),):
                up, down = flat.copy(), flat.copy()
                up[k] += step
                down[k] -= step
                value = []
                for v in (up, down):
                    a = list(args)
                    a[i] = v.reshape(shape) if shape else v[0].item()
                    value.append(fn(*a))
                g[k] += weight * (value[0] - value[1]) / (2 * h)
        grads.append(g.reshape(shape) if shape else g[0].item())
    return grads


def check_accepted(fn, args, wrt=(0,), grad=True):
    """adc's primal equals the plain function, and its gradient equals central differences."""
    f = adc.differentiate(fn, wrt=tuple(wrt), backend="python")
    copies = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    expected = fn(*[a.copy() if isinstance(a, np.ndarray) else a for a in args])
    got = f(*copies)
    for g, e in zip(got if isinstance(expected, tuple) else (got,), expected if isinstance(expected, tuple) else (expected,)):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-14)
        assert np.asarray(g).dtype == np.asarray(e).dtype or np.asarray(e).dtype == object
    if grad:
        grads = f.grad(*args)
        for g, fd in zip(grads, central_differences(fn, args, wrt)):
            np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-7)


# -- the numpy, math and cmath functions the page lists ------------------------------------------

def np_one(func):
    def program(x):
        return np.sum(0.5 * x + func(x))
    return program


def np_two(func):
    def program(x, y):
        return np.sum(func(x, y))
    return program


def math_one(func):
    def program(x):
        return 0.5 * x + func(x)
    return program


def math_two(func):
    def program(x, y):
        return func(x, y)
    return program


def cmath_one(func):
    def program(z):
        return abs(func(z))
    return program


def cmath_real(func):
    def program(z):
        return func(z)
    return program


X = np.array([0.2, 0.45, 0.7])  # inside the listed functions' domains (but DOMAIN's), away from integers
Y = np.array([0.6, 0.3, 0.5])   # no ties with X
Z = 0.3 + 0.2j
DOMAIN = {"arccosh": X + 1.0, "acosh": 1.45}  # where X and 0.45 are outside a function's domain
MATH_TWO_ARGUMENTS = {"atan2", "hypot"}
CMATH_REAL_RESULT = {"phase"}


@pytest.mark.parametrize("name", function_names("`np.` functions, one argument"))
def test_numpy_function_of_one_argument_is_accepted(name):
    check_accepted(np_one(getattr(np, name)), (DOMAIN.get(name, X).copy(),))


@pytest.mark.parametrize("name", function_names("`np.` functions, two arguments"))
def test_numpy_function_of_two_arguments_is_accepted(name):
    check_accepted(np_two(getattr(np, name)), (X.copy(), Y.copy()), wrt=(0, 1))


@pytest.mark.parametrize("name", function_names("`np.` operators as functions"))
def test_numpy_operator_spelled_as_a_function_is_accepted(name):
    check_accepted(np_two(getattr(np, name)), (X.copy(), Y.copy()), wrt=(0, 1))
    check_accepted(math_two(getattr(np, name)), (0.45, 0.6), wrt=(0, 1))  # on numbers too


@pytest.mark.parametrize("name", function_names("`math.` functions"))
def test_math_function_is_accepted(name):
    if name in MATH_TWO_ARGUMENTS:
        check_accepted(math_two(getattr(math, name)), (0.45, 0.6), wrt=(0, 1))
    else:
        check_accepted(math_one(getattr(math, name)), (DOMAIN.get(name, 0.45),))


@pytest.mark.parametrize("name", function_names("`cmath.` functions"))
def test_cmath_function_is_accepted(name):
    program = (cmath_real if name in CMATH_REAL_RESULT else cmath_one)(getattr(cmath, name))
    check_accepted(program, (Z,))


def floor_and_ceil(x, y):
    return math.floor(x) + math.ceil(y)


def test_math_floor_and_ceil_return_integers_as_in_python():
    got = adc.differentiate(floor_and_ceil, backend="python")(1.5, 2.5)
    assert got == floor_and_ceil(1.5, 2.5) == 4 and isinstance(got, (int, np.integer))


def clips(z):
    return np.sum(np.abs(np.clip(z, 0.0, 1.0)))


def sorts(z):
    return np.sum(np.abs(np.sort(z)))


def test_functions_that_refuse_complex_values():
    text = " ".join(section("Functions").split())
    sentence = re.search(r"((?:`\w+`, )+`\w+`) refuse complex values", text)
    assert sentence, "the page's list of functions that refuse complex values moved: update this test"
    names = re.findall(r"`(\w+)`", sentence.group(1))
    assert {"floor", "maximum", "sinc"} <= set(names)
    two = set(function_names("`np.` functions, two arguments"))
    for name in names:
        program = np_two(getattr(np, name)) if name in two else cmath_one(getattr(np, name))
        with pytest.raises(adc.TypeCheckError, match="not defined for complex numbers"):
            adc.differentiate(program, backend="python")(*([np.array([Z])] * (2 if name in two else 1)))
    assert "and so do `np.clip` and `np.sort`" in text
    with pytest.raises(adc.TypeCheckError, match="not defined for complex numbers"):
        adc.differentiate(clips, backend="python")(np.array([Z]))
    with pytest.raises(adc.TypeCheckError, match="complex numbers cannot be sorted"):
        adc.differentiate(sorts, backend="python")(np.array([Z]))


# -- builtins --------------------------------------------------------------------------------

def uses_abs(x):
    return abs(x - 1.0)


def uses_min(x, y):
    return min(x, y, 0.4)


def uses_max(x, y):
    return max(x, y) + max(x, y, 0.1)


def uses_int(x):
    return x * int(x * 3.0)


def uses_float(x):
    n = 3
    return x * float(n)


def uses_complex(x, y):
    return abs(complex(x, y))


def uses_bool(x):
    flag = bool(x > 0.3)
    return x * 2.0 if flag else x


def uses_len(x):
    return np.sum(x) * len(x)


def uses_range(x):
    s = 0.0
    for i in range(1, len(x), 2):
        s += x[i]
    return s


def uses_enumerate(x):
    s = 0.0
    for i, v in enumerate(x):
        s += (i + 1) * v * v
    return s


def uses_zip(x, y):
    s = 0.0
    for a, b in zip(x, y):  # to the end of the shorter
        s += a * math.cos(b)
    return s


def uses_print(x):
    print("x is", x)
    return 2.0 * x


BUILTINS = {
    "abs": (uses_abs, (0.45,), (0,)),
    "min": (uses_min, (0.45, 0.6), (0, 1)),
    "max": (uses_max, (0.45, 0.6), (0, 1)),
    "int": (uses_int, (0.45,), (0,)),
    "float": (uses_float, (0.45,), (0,)),
    "complex": (uses_complex, (0.45, 0.6), (0, 1)),
    "bool": (uses_bool, (0.45,), (0,)),
    "len": (uses_len, (X.copy(),), (0,)),
    "range": (uses_range, (np.arange(5.0),), (0,)),
    "enumerate": (uses_enumerate, (X.copy(),), (0,)),
    "zip": (uses_zip, (X.copy(), Y[:2].copy()), (0, 1)),
    "print": (uses_print, (0.45,), (0,)),
}


def test_builtins_row_lists_what_is_tested():
    (cells,) = [c for c in table_rows(section("Functions")) if c[0] == "builtins"]
    names = re.findall(r"`([a-z]+)", re.sub(r"\([^)]*\)", "", cells[1]))  # not what the notes in brackets name
    assert set(names) == set(BUILTINS)


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_builtin_is_accepted(name):
    fn, args, wrt = BUILTINS[name]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_accepted(fn, args, wrt)
    assert {str(w.message) for w in caught} == ({"print() is ignored in differentiated code"} if name == "print" else set())


# -- the other spellings the page names -----------------------------------------------------------

def constructors(x):
    e = np.empty(3)
    e[:] = 1.5
    e_like = np.empty_like(x)
    e_like[:] = 0.5
    a = np.zeros(3) + np.ones(3) + e
    b = np.zeros((2, 3), dtype=np.complex128)
    b[0, 1] = x[0]
    c = np.zeros_like(x) + np.ones_like(x, dtype=np.float64) + e_like
    d = np.full_like(x, 2.0) + np.copy(x) + x.copy() + np.arange(3) + np.arange(1, 4) + np.arange(0, 6, 2)
    return np.sum(a * x) + abs(np.sum(b)) + np.sum(c * x) + np.sum(d * x) + np.sum(x.astype(np.complex128).real * x)


def float32_values(x):
    y = x.astype(np.float32)
    return np.sum(y * np.float32(2.0))


def attributes(m):
    t = m.T
    m[0, 1] = 5.0  # t is a view: it sees the write
    return np.sum(t * t) * m.shape[0] + m.ndim + m.size


def complex_parts(z):
    w = complex(z.real, z.imag) + 1j + z.conjugate() * np.conj(z) + np.conjugate(z)
    return np.real(w) + np.imag(w) + abs(w) + np.abs(w) + np.angle(w) + cmath.phase(w) + abs(w / (z + 2.0))


def constructors_of_values(a, b, x):
    e = np.eye(3) * a + np.identity(3) + np.eye(3, 4, 1)[:, :3] * b
    f = np.full(3, a) + np.full((3,), b * b, dtype=np.float64)
    t = np.linspace(a, b, 5) ** 2
    u = np.linspace(0.0, b, 4, endpoint=False) ** 3
    return np.sum(e @ x) + np.dot(f, x) + np.sum(t) + np.sum(u)


def arrays_of_values(a, b, x):
    c = np.array((a, b, a * b))
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    rows = np.array([x, x * b])
    copy = np.array(x)
    copy[0] = 0.0  # a copy: x keeps its value
    same = np.asarray(x)
    return (np.sum(c ** 2) + np.sum(rot @ x[:2]) + np.sum(rows ** 2) + np.sum(copy * x) + np.sum(same * a)
            + np.sum(np.array([a, b], dtype=np.complex128)).real)


def reductions(x, m):
    a = np.sum(x) + np.mean(x) + x.sum() + x.mean() + np.sum(np.sum(m, axis=0) ** 2) + np.sum(np.mean(m, 1) ** 2)
    b = np.sum(np.sum(m, axis=-1, keepdims=True) * m) + np.sum(m.sum(axis=(0, 1), keepdims=True)) + np.sum(m.mean(axis=0) ** 3)
    c = np.prod(x) + x.prod() + np.max(x) + np.min(m) + x.max() + m.min() + x[np.argmax(x)] + x[x.argmin()] + m[1, m[1].argmax()]
    d = np.sum(np.cumsum(x) * x) + np.sum(np.cumsum(m, axis=1) ** 2) + np.sum(x.cumsum() * 0.5) + np.trace(m[:, :2])
    e = np.var(x) + np.std(x, ddof=1) + np.sum(np.var(m, axis=0, keepdims=True)) + x.var() + m.std(axis=1)[0]
    f = np.sum(np.diff(x) ** 2) + np.sum(np.diff(m, n=1, axis=0) ** 3) + np.sum(np.diff(x, n=2)) + m[:, 1:].trace()
    g = (np.linalg.norm(x) + np.linalg.norm(x, 1) + np.linalg.norm(x, np.inf) + np.linalg.norm(x, -np.inf)
         + np.linalg.norm(x, 3) + np.linalg.norm(m) + np.linalg.norm(m, "fro") + np.linalg.norm(m, 1)
         + np.linalg.norm(m, np.inf) + np.sum(np.linalg.norm(m, axis=1)))
    return a + b + c + d + e + f + g


def shapes(x, m):
    a = (np.sum(x.reshape((2, 3)) @ np.reshape(x, (3, -1))) + np.sum(x.reshape(3, 2)[:, 0]) + np.dot(np.ravel(m), m.ravel())
         + np.sum(m.flatten() ** 3))
    b = np.sum(np.squeeze(m[:, 1:2], axis=1) ** 2) + np.sum(m[0:1, :].squeeze(axis=0)) + np.sum(np.expand_dims(x, 0) * 2.0)
    c = (np.sum(np.concatenate((x, x[:2] * 2.0)) ** 2) + np.sum(np.concatenate([m, m * m], axis=1))
         + np.sum(np.stack((m[0], m[1] * x[0])) ** 2) + np.sum(np.stack([x, x], axis=1) ** 3))
    d = np.sum(np.hstack((m[0], x)) ** 2) + np.sum(np.vstack((m, m ** 2)) ** 3) + np.sum(np.column_stack((m[0], m[1])) ** 2)
    e = np.dot(np.flip(x), x) + np.sum(np.flip(m, axis=1)[0] * m[1]) + np.sum(np.fliplr(m) * m) + np.sum(np.flipud(m) * m)
    f = (np.dot(np.roll(x, 2), x) + np.sum(np.roll(m, -1) * m) + np.sum(np.repeat(x, 2)[1:] * 0.3) + np.sum(x.repeat(3) ** 2)
         + np.sum(np.repeat(m, 2) ** 2))
    g = np.sum(np.diag(x[:3]) @ m.T) + np.dot(np.diag(m), np.diag(m)) + np.sum(np.tril(m) ** 2) + np.sum(np.triu(m, 1) * 3.0)
    h = np.dot(np.sort(x * x), np.arange(6.0)) + x[np.argsort(x)[0]]
    grid_x, grid_y = np.meshgrid(x[:3], m[1])
    rows, cols = np.meshgrid(x[:3], m[1], indexing="ij")
    i = (np.sum(np.transpose(m) @ m) + np.sum(m.transpose() * m.T) + np.sum(np.transpose(x) * x) + np.sum(grid_x * grid_y ** 2)
         + np.sum(rows ** 2 * cols))
    return a + b + c + d + e + f + g + h + i


def views(x):
    y = np.copy(x)
    v = y.reshape((2, 3))
    v[0, 1] = 2.0 * v[1, 2]  # writes y
    f = np.flip(y)
    f[0] = 3.0 * x[0]  # writes y[-1]
    s = np.squeeze(v[:, 1:2], axis=1)
    return np.sum(y * y) + np.sum(v) + np.sum(s ** 3)


def padding(x, m):
    k = x.shape[0] - 2  # widths may be computed
    a = (np.sum(np.pad(x, 2) ** 3) + np.sum(np.pad(x, (1, 3), mode="constant", constant_values=0.5) ** 2)
         + np.sum(np.pad(m, ((1, 0), (2, 1))) ** 3))
    w = np.arange(x.shape[0] + 6) * 0.1
    b = (np.dot(np.pad(x, (k, 6 - k), mode="reflect"), w) + np.dot(np.pad(x, (2, 4), mode="symmetric"), w)
         + np.dot(np.pad(x, 3, mode="wrap"), w) + np.dot(np.pad(x, (1, 5), mode="edge"), w))
    return a + b


def selection(x, y):
    a = (np.sum(np.where(x > 0.0, x, 0.1 * x) ** 2) + np.sum(np.clip(x, -0.5, 0.5) * y) + np.sum(np.clip(y, None, 0.2))
         + np.sum(x.clip(-1.0, 1.0)))
    inside = np.logical_and(x > -0.5, x < 0.5)
    b = (np.sum(np.where(inside, x * y, 0.0)) + np.sum(np.where(np.logical_not(inside), x, y))
         + np.sum(np.where(np.logical_or(x > 1.0, y < 0.0), 1.0, x)))
    return a + b + np.sum(np.where(np.isfinite(x / y), x, 0.0))


def masks_and_new_axes(x, y):
    band = (x > -0.5) & (x < 0.5)
    tails = (x < -1.0) | (x > 1.0)
    a = np.sum(np.where(band, x * y, 0.0)) + np.sum(np.where(~band, x, y)) + np.sum(x[tails | (y > 0.0)] ** 2)
    b = np.sum(x[x > 0.0] ** 3) + np.mean(y[np.abs(y) < 1.0]) + np.sum((x >= 0.3) * y)
    c = np.sum(x[:, None] * y[None, :]) + np.sum(x[np.newaxis] * 2.0) + np.sum(np.where(x < y, x * y, y))
    d = x[0] * y[0] if (x[0] < 0.0) & (y[0] > 0.0) | ~(x[1] < 0.0) else x[1]  # on conditions too
    return a + b + c + d


def python_forms(x, y, m):
    assert x.shape[0] > 1, "x needs two samples"
    assert y.shape[0] > 0
    s = 0.0
    for v in x:
        s += v * v
    for row in m:
        s += np.dot(row, y[:2])
    for i, (a, b) in enumerate(zip(x, y)):
        s += i * a * b
    if s > 0.0:
        return s * s
    else:
        return -s


def convolution(x, h):
    return (np.sum(np.convolve(x, h) ** 2) + np.sum(np.convolve(x, h, "same") ** 2) + np.sum(np.convolve(h, x, mode="valid") ** 2)
            + np.sum(np.correlate(x, h) ** 2) + np.sum(np.correlate(x, h, "full") ** 2) + np.sum(np.correlate(x, h, mode="same") ** 2))


def products(m, x):
    return np.dot(x, x) + np.sum(m @ x) + x.dot(x) + np.sum(np.dot(m, m))


def fourier(x):
    n = x.shape[0] + 2
    a = np.sum(np.abs(np.fft.fft(x, n, norm="ortho"))) + np.sum(np.abs(np.fft.ifft(x, axis=0)))
    b = np.sum(np.fft.irfft(np.fft.rfft(x, n=n), n=n)) + np.sum(adc.dct(x, type=3, norm="ortho")) + np.sum(adc.dct(x))
    m = np.zeros((2, x.shape[0]))
    m[0, :] = x
    m[1, :] = 2.0 * x * x
    c = np.sum(np.abs(np.fft.fft2(m, norm="ortho"))) + np.sum(np.abs(np.fft.ifft2(m)))
    d = np.sum(np.abs(np.fft.fftn(m, axes=(1,)))) + np.sum(np.abs(np.fft.ifftn(m)))
    e = np.sum(np.fft.fftshift(x) * x) + np.sum(np.fft.ifftshift(m, axes=(1,)) * m)
    f = np.sum(np.fft.irfft2(np.fft.rfft2(m)) ** 2) + np.sum(np.fft.irfftn(np.fft.rfftn(m, s=(2, n), axes=(0, 1)), s=(2, n), axes=(0, 1)) ** 2)
    g = np.sum(np.abs(np.fft.rfft(m, axis=0))) + np.sum(np.abs(np.fft.fft(m, n=4, axis=0))) + np.sum(np.abs(np.fft.fft2(m, s=(3, n))))
    return a + b + c + d + e + f + g


def signal(x, beta):
    w = np.hanning(5) + np.hamming(5) + np.blackman(5) + np.bartlett(5)
    k = np.sum(np.kaiser(5, beta) * w * x)
    i = np.sum(np.interp(x * 2.0, np.array([0.0, 0.5, 1.0, 1.5]), x[:4]) ** 2) + np.interp(0.7, np.arange(5.0), x)
    return k + i + np.sum(np.unwrap(x * 4.0) ** 2)


def maximum_minimum_broadcast(m, v):
    return np.sum(np.maximum(m, v) - np.minimum(m, 0.5))


def helper_with_keywords(x):
    return scaled(x, k=3.0) + scaled(x)


def scaled(x, k=2.0):
    return x * k


def statements(x):
    s = 0.0
    i = 0
    while i < x.shape[0] and s < 10.0:
        if x[i] < 0.0:
            i += 1
            continue
        elif x[i] > 5.0:
            break
        else:
            s += x[i] ** 2 % 7.0 + x[i] // 1.0
        i += 1
    a, b = s, 2.0
    a, b = b, a
    return a * b if 0.0 < s < 100.0 else -s


BOX = np.array([[0.2, 0.9], [0.7, 0.4]])
LOOP = np.array([1.5, -1.0, 0.5, 6.0, 1.0])
X6 = np.array([0.31, -0.52, 0.93, 0.24, -0.75, 0.66])  # distinct magnitudes: no ties in extremes, sorts, norms
M23 = np.array([[0.3, 0.1, -0.4], [0.7, 0.2, 0.5]])
SIGNAL = np.array([0.12, 0.33, 0.58, 0.71, 0.94])  # x * 2 away from the knots, x * 4 without jumps to unwrap
SPELLINGS = [  # (program, its arguments, the spellings on the page it uses)
    (constructors, (X.copy(),), ["np.zeros", "np.ones", "np.empty", "np.zeros_like", "np.ones_like",
                                 "np.empty_like", "np.full_like", "np.copy", "x.copy()", "np.arange",
                                 "x.astype(dtype)", "dtype="]),
    (constructors_of_values, (0.7, -1.3, X.copy()), ["np.full(shape, v)", "np.eye(N, M, k)", "np.identity(n)",
                                                     "np.linspace(start, stop, num)", "endpoint="]),
    (arrays_of_values, (0.4, 0.9, X.copy()), ["np.array((a, b, c))", "np.array([[c, -s], [s, c]])", "np.array([x, y])",
                                              "np.array(x)", "np.asarray(x)", "dtype="]),
    (float32_values, (X.copy(),), ["np.float32(...)", "x.astype(dtype)"]),
    (attributes, (np.arange(4.0).reshape(2, 2),), ["x.T", "x.shape", "x.ndim", "x.size"]),
    (complex_parts, (Z,), [".real", ".imag", ".conjugate()", "np.conj", "np.conjugate", "np.real", "np.imag",
                           "np.abs", "np.angle", "cmath.phase", "complex(re, im)", "complex division"]),
    (reductions, (X6.copy(), M23.copy()), ["np.sum", "np.mean", "`axis=`", "`np.sum(m, 0)`", "`keepdims=`", "np.prod",
                                           "np.max", "np.min", "np.argmax", "np.argmin", "np.cumsum", "np.trace", "np.var",
                                           "np.std", "`ddof=`", "np.diff", "np.linalg.norm(x, ord)", '`"fro"`', "`-np.inf`",
                                           "x.sum()", "x.mean()", "x.cumsum()", "x.var()", "x.std()", "x.trace()",
                                           "x.prod()", "x.max()", "x.min()", "x.argmax()", "x.argmin()"]),
    (shapes, (X6.copy(), M23.copy()), ["x.reshape((2, 3))", "x.reshape(2, 3)", "np.reshape(x, (3, -1))", "np.ravel(x)",
                                       "x.ravel()", "x.flatten()", "np.squeeze(x, axis=...)", "x.squeeze(axis=...)",
                                       "np.expand_dims(x, axis)", "np.concatenate", "np.stack", "np.hstack", "np.vstack",
                                       "np.column_stack", "np.flip", "np.fliplr", "np.flipud", "np.roll(x, shift)",
                                       "np.repeat(x, k)", "x.repeat(k)", "np.diag", "np.tril", "np.triu", "np.sort",
                                       "np.argsort", "np.transpose(m)", "m.transpose()", "np.meshgrid(x, y)",
                                       'indexing="xy"', '"ij"']),
    (views, (X6.copy(),), ["views, as in numpy", "(a view;", "(views)"]),
    (padding, (SIGNAL.copy(), M23.copy()), ["np.pad(x, n)", "np.pad(x, (before, after))", "np.pad(m, ((1, 0), (2, 1)))",
                                            '`"constant"`', "`constant_values=`", '`"reflect"`', '`"symmetric"`',
                                            '`"wrap"`', '`"edge"`', "widths may be computed"]),
    (selection, (X6.copy(), np.array([0.6, 0.3, -0.5, 0.1, 0.7, -0.2])),
     ["np.where(c, x, y)", "np.clip(x, lo, hi)", "`None`", "x.clip(lo, hi)", "np.logical_and", "np.logical_or",
      "np.logical_not", "np.isfinite"]),
    (masks_and_new_axes, (np.array([-1.3, -0.7, -0.2, 0.1, 0.6, 1.4]), np.array([0.6, 0.3, -0.5, 0.15, 0.7, -1.2])),
     ["comparisons of arrays, elementwise", "`&`, `|` and `~`", "(x >= t) * y", "x[:, None]", "x[None, :]",
      "x[np.newaxis]", "boolean masks `x[m]`", "x[x > 0]"]),
    (python_forms, (X.copy(), Y.copy(), BOX.copy()), ["`for v in x`", "the rows of a matrix", "`for i, v in enumerate(x)`",
                                                       "`for a, b in zip(x, y)`", "`for i, (a, b) in enumerate(zip(x, y))`",
                                                       "`assert c` and `assert c, \"message\"`",
                                                       "whose every arm ends with a `return`"]),
    (products, (np.arange(9.0).reshape(3, 3) / 9.0, X.copy()), ["np.dot", "@", "x.dot(y)"]),
    (convolution, (X6.copy(), np.array([0.5, -0.2, 0.3])), ["np.convolve(a, v, mode)", "np.correlate(a, v, mode)",
                                                            '`"full"`', '`"same"`', '`"valid"`']),
    (fourier, (X.copy(),), ["np.fft.fft", "ifft", "rfft", "irfft", "fft2", "ifft2", "fftn", "ifftn", "`rfft2`", "`irfft2`",
                            "`rfftn`", "`irfftn`", "fftshift", "ifftshift", "adc.dct", "types 2 and 3",
                            "`n` may be computed", "both modes along any axes"]),
    (signal, (SIGNAL.copy(), 2.5), ["np.hanning", "np.hamming", "np.blackman", "np.bartlett", "np.kaiser(M, beta)",
                                    "np.interp(x, xp, fp)", "np.unwrap(p)"]),
    (maximum_minimum_broadcast, (BOX.copy(), np.array([0.3, 0.6])), ["maximum", "minimum", "broadcasting"]),
    (helper_with_keywords, (0.45,), ["keyword arguments and defaults"]),
    (statements, (LOOP.copy(),), ["while", "break", "continue", "`//` and `%`", "chained", "a if c else b"]),
]


@pytest.mark.parametrize("fn, args, spellings", SPELLINGS, ids=[fn.__name__ for fn, _, _ in SPELLINGS])
def test_spellings_on_the_page_are_accepted(fn, args, spellings):
    for spelling in spellings:
        assert spelling in PAGE, f"docs/subset.md no longer names {spelling!r}: update this table"
    check_accepted(fn, args, wrt=tuple(range(len(args))), grad=fn is not float32_values)  # float32 differences are too coarse


# -- refusals: the table on the page, one or more programs for each row ---------------------------
# `when`: refused by adc.differentiate ("decorate"), at the first call ("call"), the first grad ("grad") or
# the first jacobian(mode="fwd") ("jacobian-fwd")

def uses_try(x):
    try:
        y = x
    except ValueError:
        y = 0.0
    return y


def uses_with(x):
    with open("f") as f:
        x = x + len(f.name)
    return x


def uses_raise(x):
    if x < 0:
        raise ValueError("negative")
    return x


def assert_message_computed(x):
    assert x > 0, str(x)
    return x


def uses_yield(x):
    yield x
    return x


def uses_generator_expression(x):
    return sum(v for v in x)


def uses_list_comprehension(x):
    return np.sum([v for v in x])


def uses_set_comprehension(x):
    s = {v for v in x}  # noqa: F841
    return x


def uses_dict_comprehension(x):
    d = {v: v for v in x}  # noqa: F841
    return x


def uses_lambda(x):
    f = lambda u: u  # noqa: E731
    return f(x)


def uses_nested_def(x):
    def inner(u):
        return u
    return inner(x)


def uses_class(x):
    class Box:
        pass
    return x


def uses_global(x):
    global COUNTER
    return x


def uses_list(x):
    v = [x, x]  # noqa: F841
    return x


def indexes_with_a_list(x):
    return x[[0, 2]]


def uses_dict(x):
    d = {"a": x}  # noqa: F841
    return x


def uses_set(x):
    s = {x, 2.0}  # noqa: F841
    return x


def uses_del(x):
    y = x
    del y
    return x


def uses_import(x):
    import math as m
    return m.sin(x)


def uses_fstring(x):
    s = f"{x}"  # noqa: F841
    return x


def uses_walrus(x):
    y = (z := x) + 1.0  # noqa: F841
    return y


def uses_match(x):
    match x:
        case 1.0:
            y = x
        case _:
            y = 2.0 * x
    return y


def uses_annotation(x):
    y: float = x
    return y


def uses_star_args(*xs):
    return xs


def uses_keyword_only(x, *, y):
    return x + y


def uses_is(x):
    return x if x is None else 2.0 * x


def uses_in(x):
    return x if x in (1.0, 2.0) else 2.0 * x


def shifts(n, x):
    return x * (n << 1)


def bitwise_and_of_integers(n, x):
    return x * (n & 1)


def bitwise_or_of_floats(x, y):
    return x | y


def inverts_a_float(x):
    return ~x


def returns_inside_a_loop(x):
    s = 0.0
    for i in range(3):  # noqa: B007
        s += x
        if s > 2.0:
            return s
    return s


def returns_before_more_statements(x):
    if x > 0:
        return x
    y = x * x
    return y


def no_return(x):
    x = x + 1.0


def returns_in_one_arm_only(x):
    if x > 0.0:
        return x


def loop_else(x):
    for i in range(3):  # noqa: B007
        x = x + 1.0
    else:
        x = 0.0
    return x


def reserved_name(x):
    y__bar = x
    return y__bar


def assigned_in_loop(x):
    for i in range(x.shape[0]):
        last = x[i]
    return last


def unknown_name(x):
    return x * undefined_scale  # noqa: F821


def calls_np_any(x):
    return 1.0 if np.any(x > 0.0) else 0.0


def calls_np_einsum(x):
    return np.einsum("i,i", x, x)


def calls_np_tile(x):
    return np.sum(np.tile(x, 2))


def calls_np_polyval(x):
    return np.polyval(x, 2.0)


def calls_reversed(x):
    s = 0.0
    for v in reversed(x):
        s += v
    return s


def calls_builtin_sum(x):
    return sum(x)


def sort_method(x):
    x.sort()
    return np.sum(x)


def any_method(x):
    return 1.0 if x.any() else 0.0


def prod_along_an_axis(x):
    return np.sum(np.prod(x, axis=0))


def sum_where(x):
    return np.sum(x, where=x > 0.0)


def interp_left(x):
    return np.interp(x, np.arange(3.0), np.arange(3.0), left=0.0)


def argmax_method_axis(x):
    return np.sum(x.argmax(axis=0))


def prod_method_axis(x):
    return np.sum(x.prod(axis=1))


def prod_positional_axis(x):
    return np.sum(np.prod(x, 0))


def trace_offset(x):
    return np.trace(x, 1)


def dot_with_out(x):
    return np.dot(x, x, x)


def sum_dtype(x):
    return np.sum(x, dtype=np.float64)


def mean_dtype(x):
    return np.mean(x, dtype=np.float64)


def max_along_an_axis_of_3d(t):
    return np.sum(np.max(t, axis=0))


def min_along_two_axes_of_3d(t):
    return np.sum(np.min(t, axis=(0, 1)))


def max_of_complex(z):
    return np.max(z)


def min_of_an_array(x):
    return min(x)


def max_of_an_array(x):
    return max(x)


def recursive_helper(x):
    return recursive(x)


def recursive(x):
    return recursive(x)


GLOBAL_ARRAY = np.ones(3, dtype=np.int32)


def reads_global_array(x):
    return x * GLOBAL_ARRAY[0]


def higher_rank_into_slice(x):
    y = np.zeros(4)
    y[1:] = np.zeros((3, 3))
    return np.sum(y * x)


def array_into_element(x):
    y = np.zeros(4)
    y[0] = x[1:]
    return np.sum(y)


def complex_into_real(x):
    y = np.zeros(2)
    y[0] = 1j * x
    return np.sum(y)


def array_condition_in_if(x):
    s = 0.0
    if x > 0.0:
        s = 1.0
    return s


def array_condition_in_while(x):
    while x > 0.0:
        x = x - 1.0
    return np.sum(x)


def array_condition_in_if_expression(x):
    return 1.0 if x > 0.0 else 0.0


def chained_array_comparison(x):
    return np.sum(np.where(0.0 < x < 1.0, x, 0.0))


def orders_complex(z):
    s = 0.0
    if z > 1.0:
        s = 1.0
    return s


def indexes_with_an_array(x):
    return np.sum(x[np.argsort(x)])


def indexes_with_an_argument(x, i):
    return np.sum(x[i])


def writes_through_a_mask(x):
    x[x > 0.0] = 0.0
    return np.sum(x)


def mask_beside_an_index(m):
    return np.sum(m[m[:, 0] > 0.0, 0])


def mask_of_another_rank(m):
    return np.sum(m[m[:, 0] > 0.0])


def writes_through_a_new_axis(x):
    y = np.zeros(4)
    y[:, None] = 1.0
    return np.sum(y * x)


def transposes_in_order(m):
    return np.sum(np.transpose(m, (0, 1)))


def transposes_3d(t):
    return np.sum(np.transpose(t))


def meshgrid_of_three(x):
    a, b, c = np.meshgrid(x, x, x)
    return np.sum(a * b * c)


def meshgrid_sparse(x):
    a, b = np.meshgrid(x, x, sparse=True)
    return np.sum(a * b)


def squeeze_without_axis(m):
    return np.sum(np.squeeze(m))


def reshapes_a_transpose(m):
    return np.sum(m.T.reshape(-1))


def reshapes_a_strided_slice(x):
    return np.sum(x[::2].reshape(1, 2))


def ravels_a_transpose(m):
    return np.sum(m.T.ravel())


def spectral_norm(m):
    return np.linalg.norm(m, 2)


def nuclear_norm(m):
    return np.linalg.norm(m, "nuc")


def smallest_singular_value(m):
    return np.linalg.norm(m, -2)


def zero_norm(x):
    return np.linalg.norm(x, 0)


def negative_norm(x):
    return np.linalg.norm(x, -1)


def roll_along_an_axis(m):
    return np.sum(np.roll(m, 1, axis=0))


def where_alone(x):
    return np.sum(np.where(x > 0.0))


def sorts_a_matrix(m):
    return np.sum(np.sort(m))


def sorts_with_a_kind(x):
    return np.sum(np.sort(x, kind="stable"))


def reflects_a_matrix(m):
    return np.sum(np.pad(m, 1, mode="reflect"))


def repeats_along_an_axis(m):
    return np.sum(np.repeat(m, 2, axis=0))


def repeats_with_counts(x):
    return np.sum(np.repeat(x, np.array([1, 2, 1, 1])))


def diagonal_above(m):
    return np.sum(np.diag(m, 1))


def array_of_one_number(x):
    return np.sum(np.array(x))


def convolves_integers(x):
    return np.sum(np.convolve(np.arange(3), np.arange(2)) * x)


def dot_3d(x):
    return np.sum(np.dot(x, x))


def stack_times_vector(x):
    return np.sum(x @ x[0, 0])


def rfft_of_complex(z):
    return np.sum(np.abs(np.fft.rfft(z)))


def broadcast_against_4d(x, v):
    return np.sum(x * v)


def view_before_a_loop_that_rebinds_its_base(x):
    b0 = np.copy(x)
    v0 = b0[1:]
    for i in range(2):  # noqa: B007
        b0[1] = 0.5 * b0[1] + 0.5
        b0 = 0.5 * b0 + x
    return np.sum(v0 * v0)


def rebinds_an_array(a, x):
    y = np.zeros(x.shape[1])
    for n in range(x.shape[0]):
        y = a * y + x[n, :]
    return y


A4, M33, T223, T2223 = np.ones(4), np.ones((3, 3)), np.ones((2, 2, 3)), np.ones((2, 2, 2, 3))
REFUSALS = {  # the page's first column -> [(program, arguments, when)]
    "`try`": [(uses_try, (), "decorate")],
    "`with`": [(uses_with, (), "decorate")],
    "`raise`": [(uses_raise, (), "decorate")],
    "an `assert` message that is not a string literal (`assert x > 0, str(x)`)": [(assert_message_computed, (), "decorate")],
    "`yield`, generators": [(uses_yield, (), "decorate")],
    "generator expressions": [(uses_generator_expression, (), "decorate")],
    "list, set and dict comprehensions": [(uses_list_comprehension, (), "decorate"),
                                          (uses_set_comprehension, (), "decorate"),
                                          (uses_dict_comprehension, (), "decorate")],
    "`lambda`": [(uses_lambda, (), "decorate")],
    "nested `def`": [(uses_nested_def, (), "decorate")],
    "`class`": [(uses_class, (), "decorate")],
    "`global`": [(uses_global, (), "decorate")],
    "lists outside a call's arguments (`v = [a, b]`, `x[[0, 2]]`)": [(uses_list, (), "decorate"),
                                                                    (indexes_with_a_list, (), "decorate")],
    "dicts": [(uses_dict, (), "decorate")],
    "sets": [(uses_set, (), "decorate")],
    "`del`, `import` inside the function, f-strings, `:=`, `match`, annotated assignments": [
        (uses_del, (), "decorate"), (uses_import, (), "decorate"), (uses_fstring, (), "decorate"),
        (uses_walrus, (), "decorate"), (uses_match, (), "decorate"), (uses_annotation, (), "decorate")],
    "`*args`, `**kwargs`, keyword-only parameters": [(uses_star_args, (), "decorate"),
                                                      (uses_keyword_only, (), "decorate")],
    "`is`, `in`": [(uses_is, (), "decorate"), (uses_in, (), "decorate")],
    "`<<`, `>>`": [(shifts, (), "decorate")],
    "`&`, `|`, `~` on numbers or integer arrays (`n & 1`)": [
        (bitwise_and_of_integers, (3, 1.0), "call"), (bitwise_or_of_floats, (1.0, 2.0), "call"),
        (inverts_a_float, (1.0,), "call"), (inverts_a_float, (np.arange(3),), "call")],
    "a `return` before the end (inside a loop, or followed by other statements)": [
        (returns_inside_a_loop, (), "decorate"), (returns_before_more_statements, (), "decorate")],
    "no `return` at the end (or a `return` in one arm of the last `if` only)": [
        (no_return, (), "decorate"), (returns_in_one_arm_only, (), "decorate")],
    "`else` on a loop": [(loop_else, (), "decorate")],
    "names containing `__`": [(reserved_name, (), "decorate")],
    "a variable first assigned inside a loop or branch and used after it": [(assigned_in_loop, (A4,), "call")],
    "an unknown name": [(unknown_name, (1.0,), "call")],
    "a function adc does not know (`np.any`, `np.einsum`, `np.tile`, `np.polyval`, `reversed`, `sum`, a library's function)": [
        (calls_np_any, (A4,), "call"), (calls_np_einsum, (A4,), "call"), (calls_np_tile, (A4,), "call"),
        (calls_np_polyval, (A4,), "call"), (calls_reversed, (A4,), "call"), (calls_builtin_sum, (A4,), "call")],
    "an unknown method (`x.sort()`, `x.any()`, ...)": [(sort_method, (A4,), "call"), (any_method, (A4,), "call")],
    "a keyword argument adc does not take (`np.prod(x, axis=0)`, `np.sum(x, where=m)`, `np.interp(x, xp, fp, left=0.0)`)": [
        (prod_along_an_axis, (M33,), "call"), (sum_where, (A4,), "call"), (interp_left, (0.5,), "call")],
    "keyword arguments of a method that takes none (`x.prod(axis=1)`, `x.argmax(axis=0)`)": [
        (prod_method_axis, (M33,), "call"), (argmax_method_axis, (M33,), "call")],
    "more positional arguments than adc takes (`np.prod(x, 0)`, `np.trace(m, 1)`, `np.dot(a, b, out)`)": [
        (prod_positional_axis, (M33,), "call"), (trace_offset, (M33,), "call"), (dot_with_out, (A4,), "call")],
    "`dtype=` of `np.sum` and `np.mean`": [(sum_dtype, (A4,), "call"), (mean_dtype, (A4,), "call")],
    "`np.max`, `np.min` along an axis of a 3-d array, or along several axes": [
        (max_along_an_axis_of_3d, (T223,), "call"), (min_along_two_axes_of_3d, (T223,), "call")],
    "`np.max`, `np.min` of complex numbers": [(max_of_complex, (np.ones(3, complex),), "call")],
    "builtin `min(x)` or `max(x)` of one array": [(min_of_an_array, (A4,), "call"), (max_of_an_array, (A4,), "call")],
    "a recursive helper": [(recursive_helper, (1.0,), "call")],
    "a module-level array of another dtype (int32) or 0-d": [(reads_global_array, (1.0,), "call")],
    "storing a higher-rank array into a slice (`y[1:] = m` for 2-d `m`)": [(higher_rank_into_slice, (A4,), "call")],
    "an array stored into one element": [(array_into_element, (A4,), "call")],
    "a complex value stored into a real array": [(complex_into_real, (1.0,), "call")],
    "an array as a condition (`if x > 0:`, `while x > 0:`, `a if x > 0 else b` for an array `x`)": [
        (array_condition_in_if, (A4,), "call"), (array_condition_in_while, (A4,), "call"),
        (array_condition_in_if_expression, (A4,), "call")],
    "a chained comparison of arrays (`0 < x < 1`)": [(chained_array_comparison, (A4,), "call")],
    "ordering complex numbers": [(orders_complex, (1j,), "call")],
    "indexing with an array of indices (`x[idx]`, `x[np.argsort(x)]`)": [
        (indexes_with_an_array, (A4,), "call"), (indexes_with_an_argument, (A4, np.array([0, 2])), "call")],
    "a write through a mask (`x[x > 0] = 0.0`)": [(writes_through_a_mask, (A4,), "call")],
    "a mask beside other indices (`m[mask, 0]`)": [(mask_beside_an_index, (M33,), "call")],
    "a mask of another number of dimensions than the array (`m[m[:, 0] > 0]`)": [(mask_of_another_rank, (M33,), "call")],
    "a write through a new axis (`x[:, None] = v`)": [(writes_through_a_new_axis, (A4,), "call")],
    "`np.transpose(m, axes)` with the axes in another order than reversed": [(transposes_in_order, (M33,), "call")],
    "`np.transpose` of a 3-d array": [(transposes_3d, (T223,), "call")],
    "`np.meshgrid` of other than two 1-d arrays (three arrays, `sparse=`)": [(meshgrid_of_three, (A4,), "call"),
                                                                           (meshgrid_sparse, (A4,), "call")],
    "`np.squeeze(x)` without `axis=`": [(squeeze_without_axis, (np.ones((3, 1)),), "call")],
    "reshaping a strided view (`m.T.reshape(-1)`, `x[::2].reshape(2, 3)`, `m.T.ravel()`)": [
        (reshapes_a_transpose, (M33,), "call"), (reshapes_a_strided_slice, (A4,), "call"), (ravels_a_transpose, (M33,), "call")],
    'matrix norms by singular values (`np.linalg.norm(m, 2)`, `"nuc"`, `-2`)': [
        (spectral_norm, (M33,), "call"), (nuclear_norm, (M33,), "call"), (smallest_singular_value, (M33,), "call")],
    "a vector norm with `ord` 0 or negative (`np.linalg.norm(x, 0)`)": [(zero_norm, (A4,), "call"), (negative_norm, (A4,), "call")],
    "`np.roll(x, k, axis=...)`": [(roll_along_an_axis, (M33,), "call")],
    "`np.where(c)` alone (the positions)": [(where_alone, (A4,), "call")],
    "`np.sort` of a 2-d array, or with `kind=` or `order=`": [(sorts_a_matrix, (M33,), "call"), (sorts_with_a_kind, (A4,), "call")],
    '`np.pad` of a 2-d array in a mode other than `"constant"`': [(reflects_a_matrix, (M33,), "call")],
    "`np.repeat` along an axis or with an array of counts": [(repeats_along_an_axis, (M33,), "call"),
                                                             (repeats_with_counts, (A4,), "call")],
    "`np.diag(x, k)` with `k` other than 0": [(diagonal_above, (M33,), "call")],
    "`np.array` of one number": [(array_of_one_number, (1.0,), "call")],
    "`np.convolve`, `np.correlate` of integer arrays": [(convolves_integers, (1.0,), "call")],
    "`np.dot` on 3-d arrays; `@` of a stack of matrices and a vector, or of 4-d arrays": [
        (dot_3d, (T223,), "call"), (stack_times_vector, (T223,), "call")],
    "`np.fft.rfft` of a complex array": [(rfft_of_complex, (np.ones(4, complex),), "call")],
    "reverse mode: broadcasting a lower-rank array against a 4-d one": [
        (broadcast_against_4d, (T2223, np.arange(3.0)), "grad"), (broadcast_against_4d, (T2223, np.ones((2, 3))), "grad")],
    "reverse mode: an array carried by a loop and written into, while a view taken before the loop or an array "
    "from outside the loop shares its memory": [(view_before_a_loop_that_rebinds_its_base, (np.array([0.1, -0.2]),), "grad")],
    '`jacobian(mode="fwd")`: an active array rebound inside a loop or branch': [
        (rebinds_an_array, (0.5, np.ones((3, 2))), "jacobian-fwd")],
}
REFUSAL_ROWS = {cells[0]: cells[1] for cells in table_rows(section("Refused, with the message you get"))}


def test_every_refusal_on_the_page_has_a_program_here():
    assert set(REFUSAL_ROWS) == set(REFUSALS)


def refusal(fn, args, when) -> adc.CompileError:
    if when == "decorate":
        with pytest.raises(adc.CompileError) as info:
            adc.differentiate(fn, backend="python")
        return info.value
    f = adc.differentiate(fn, wrt=tuple(range(len(args))), backend="python")
    if when != "call":
        f(*args)  # the primal runs; only the derivative refuses
    call = {"call": f, "grad": f.grad, "jacobian-fwd": lambda *a: f.jacobian(*a, mode="fwd")}[when]
    with pytest.raises(adc.CompileError) as info:
        call(*args)
    return info.value


@pytest.mark.parametrize("row, fn, args, when",
                         [(row, fn, args, when) for row, cases in REFUSALS.items() for fn, args, when in cases],
                         ids=lambda p: p.__name__ if callable(p) else "")
def test_refused_with_the_message_on_the_page(row, fn, args, when):
    err = refusal(fn, args, when)
    assert plain(REFUSAL_ROWS[row]) in plain(err.message), (row, err.message)
    assert err.filename == __file__ and err.lineno > 0
    assert str(err).startswith(f"{err.filename}:{err.lineno}:{err.col_offset}: ")


# -- arguments adc does not use are refused, never ignored; dtype= is honoured ------------------

def sum_with_out(x):
    return np.sum(x, out=x)


def mean_with_dtype(x):
    return np.mean(x, dtype=np.float64)


def prod_method_with_an_axis(x):
    return np.sum(x.prod(axis=0))


def prod_with_a_positional_axis(x):
    return np.sum(np.prod(x, 0))


def dot_out(x):
    return np.dot(x, x, x)


def linspace_with_dtype(x):
    return np.linspace(0.0, 1.0, 3, dtype=np.float32) * x[0]


def full_like_dtype(x):
    return np.sum(np.full_like(x, 2.5, dtype=np.int64) * x)


def full_like_float32(x):
    return np.full_like(x, 2.5, dtype=np.float32) * x[0]


def arange_dtype(x):
    return np.arange(0, x.shape[0], 1, dtype=np.float32) * x[0]


def full_dtype(x):
    return np.full(3, 2.5, dtype=np.float32) * x[0]


def eye_dtype(x):
    return np.eye(3, dtype=np.complex128) * x[0]


def array_dtype(x):
    return np.array([x[0], x[1]], dtype=np.float32) * x[2]


@pytest.mark.parametrize("fn", [sum_with_out, mean_with_dtype, prod_method_with_an_axis, prod_with_a_positional_axis,
                                dot_out, linspace_with_dtype], ids=lambda fn: fn.__name__)
def test_unused_arguments_are_refused(fn):
    x = np.arange(6.0).reshape(3, 2) if "axis" in fn.__name__ else np.ones(3)
    with pytest.raises(adc.CompileError, match="not supported") as info:
        adc.differentiate(fn, backend="python")(x)
    assert info.value.filename == __file__


@pytest.mark.parametrize("fn", [full_like_dtype, full_like_float32, arange_dtype, full_dtype, eye_dtype, array_dtype],
                         ids=lambda fn: fn.__name__)
def test_dtype_is_honoured(backend, fn):
    x = np.array([1.5, -2.0, 0.25])
    f = adc.differentiate(fn, backend=backend)
    got, expected = f(x.copy()), fn(x.copy())
    assert np.asarray(got).dtype == np.asarray(expected).dtype and np.shape(got) == np.shape(expected)
    np.testing.assert_allclose(got, expected, rtol=1e-7)
    if np.ndim(expected) == 0:
        grad = f.grad(x.copy())
        fd = [(fn(x + e) - fn(x - e)) / 2e-6 for e in np.eye(3) * 1e-6]
        np.testing.assert_allclose(grad, fd, rtol=1e-6)


# -- refused when called, without a line -------------------------------------------------------

def doubles(x):
    return 2.0 * x


def scales(x, n):
    return x * n


def product(m, x):
    return np.sum(m @ x)


def adds(x, y):
    return np.sum(x + y)


def broadcasts_4d(a, b):
    return np.sum(a * b)


def writes_first(v, u):
    for i in range(v.shape[0]):
        v[i] = v[i] * u[i]
    return np.sum(v)


def call_time_cases():
    f = adc.differentiate(doubles, backend="python")
    yield "an argument adc does not take", TypeError, lambda: f([1.0, 2.0])
    yield "an argument adc does not take", TypeError, lambda: f(np.ones(3, dtype=np.int32))
    yield "an argument adc does not take", TypeError, lambda: f(np.array(1.0))
    yield "an argument adc does not take", TypeError, lambda: f(1.0, 2.0)
    g = adc.differentiate(scales, wrt="n", backend="python")
    yield "`wrt` naming an integer", TypeError, lambda: g.grad(1.0, 3)
    yield "`grad` or `hvp` of a result that is not a real scalar", TypeError, lambda: f.grad(np.ones(3))
    p = adc.differentiate(product, backend="python")
    yield "shapes numpy would refuse", ValueError, lambda: p(np.ones((3, 4)), np.ones(5))
    a = adc.differentiate(adds, backend="python")
    yield "shapes numpy would refuse", ValueError, lambda: a(np.ones(3), np.ones(4))
    yield "shapes numpy would refuse", ValueError, lambda: f.vjp(np.ones(3), cotangent=np.ones(2))
    w = adc.differentiate(writes_first, backend="python")
    z = np.ones(4)
    yield "derivatives of arguments that share memory", ValueError, lambda: w.grad(z, z)
    b = adc.differentiate(broadcasts_4d, wrt=(0, 1), backend="python")
    assert b(np.ones((2, 1, 1, 3)), np.ones((1, 2, 1, 3))) == 12.0  # the primal runs
    yield "reverse mode: broadcasting between 4-d arrays of different shapes", ValueError, \
        lambda: b.grad(np.ones((2, 1, 1, 3)), np.ones((1, 2, 1, 3)))


def test_call_time_refusals_are_the_errors_the_page_names():
    rows = table_rows(section("Refused when called, without a line"))
    seen = set()
    for start, error, call in call_time_cases():
        (cells,) = [c for c in rows if c[0].startswith(start)]
        assert f"`{error.__name__}`" in cells[1]
        with pytest.raises(error):
            call()
        seen.add(cells[0])
    assert seen == {c[0] for c in rows}, "a row of the page has no case here"


def squeezes_a_long_axis(m):
    return np.sum(np.squeeze(m, axis=0))


def reflects_too_far(x, k):
    return np.sum(np.pad(x, k, mode="reflect"))


def asserts_positive(x):
    assert x > 0.0, "x must be positive"
    return x * x


def test_checks_that_fail_when_running_raise_assertion_errors_with_the_line():
    text = " ".join(section("Refused when called, without a line").split())
    assert "raise `AssertionError` when they run, with the line: `file.py:12: np.squeeze: axis 0 does not have length 1`" in text
    lines = {fn: fn.__code__.co_firstlineno + 1 for fn in (squeezes_a_long_axis, reflects_too_far, asserts_positive)}
    cases = [(squeezes_a_long_axis, (np.ones((2, 3)),), "np.squeeze: axis 0 does not have length 1"),
             (reflects_too_far, (np.ones(3), 3), "np.pad in mode 'reflect' needs pad widths from 0 to len(x) - 1"),
             (asserts_positive, (-1.0,), "x must be positive")]
    for fn, args, words in cases:
        f = adc.differentiate(fn, backend="python")
        for call in (f, f.grad):
            with pytest.raises(AssertionError) as info:
                call(*args)
            assert str(info.value).startswith(f"test_doc_claims.py:{lines[fn]}: {words}"), str(info.value)


def many_refusals(x):
    v = [x, x]
    try:
        v = x
    except ValueError:
        pass
    return v


def test_syntax_refusals_are_reported_together():
    assert "The syntax refusals of a function are reported together, in one error" in PAGE
    with pytest.raises(adc.UnsupportedSyntaxError) as info:
        adc.differentiate(many_refusals, backend="python")
    first = many_refusals.__code__.co_firstlineno + 1
    lines = info.value.message.splitlines()
    assert lines[0] == "2 constructs are outside the differentiable subset:"
    assert lines[1].startswith(f"  {__file__}:{first}:") and "lists are not supported" in lines[1]
    assert lines[2].startswith(f"  {__file__}:{first + 1}:") and "`try` is not supported" in lines[2]
    assert (info.value.filename, info.value.lineno) == (__file__, first)


# -- docs/design.md, "How to add a primitive": each example is one declaration in one module ---------
def test_adding_a_primitive_touches_one_module(tmp_path):
    """The page's two declarations, appended to a copy of adc (elementwise.py, reductions.py), give np.cbrt
    and np.nansum gradients that match central differences and forward mode, and np.nansum's gradient is 0 at a NaN."""
    import os
    import shutil
    import subprocess
    import sys

    page = (Path(__file__).resolve().parents[1] / "docs" / "design.md").read_text()
    section = page.split("### How to add a primitive", 1)[1]
    cbrt, nansum = re.findall(r"```python\n(.*?)```", section, re.S)[:2]
    assert "np.cbrt" in cbrt and "np.nansum" in nansum
    for fn, name in ((uses_cbrt, "np.cbrt"), (uses_nansum, "np.nansum")):  # not declared yet (a second declaration asserts)
        with pytest.raises(adc.UnsupportedCallError, match=f"adc does not know {name}"):
            adc.differentiate(fn, backend="python")(np.ones(3))
    copy = tmp_path / "adc"
    shutil.copytree(Path(adc.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    with open(copy / "primitives" / "elementwise.py", "a") as f:
        f.write("\n" + cbrt)
    with open(copy / "primitives" / "reductions.py", "a") as f:
        f.write("\n" + nansum)
    script = tmp_path / "use.py"
    script.write_text(
        "import numpy as np, adc\n"
        f"assert adc.__file__.startswith({str(copy)!r}), adc.__file__\n"
        "def f(x, s):\n"
        "    return np.nansum(x * s) + np.sum(np.cbrt(x + 2.0)) + np.cbrt(s + 1.0) + np.nansum(x * x)\n"
        "x = np.linspace(0.5, 1.5, 5)\n"
        "g = adc.differentiate(f, wrt=('x', 's'), backend='python')\n"
        "gx, gs = g.grad(x, 0.7)\n"
        "h = 1e-6\n"
        "fd_s = (f(x, 0.7 + h) - f(x, 0.7 - h)) / (2 * h)\n"
        "fd_x = np.array([(f(x + h * e, 0.7) - f(x - h * e, 0.7)) / (2 * h) for e in np.eye(5)])\n"
        "assert abs(gs - fd_s) <= 1e-7 * abs(fd_s), (gs, fd_s)\n"
        "assert np.max(np.abs(gx - fd_x)) <= 1e-7 * np.max(np.abs(fd_x)), (gx, fd_x)\n"
        "jv = g.jvp(x, 0.7, tangents=(np.ones(5), 1.0))[1]\n"
        "assert abs(jv - (np.sum(gx) + gs)) <= 1e-12 * abs(jv), jv\n"
        "def doubled(x):\n"
        "    return np.nansum(2.0 * x)\n"
        "y = np.array([0.5, np.nan, 2.0])\n"
        "d = adc.differentiate(doubled, backend='python')\n"
        "assert d(y) == 5.0 and np.array_equal(d.grad(y), [2.0, 0.0, 2.0]), d.grad(y)\n"
        "assert d.jvp(y, tangents=np.ones(3))[1] == 4.0\n"
        "assert np.array_equal(d.hvp(y, tangents=np.ones(3))[1], np.zeros(3))  # second order lowers the adjoint\n"
        "print('ok')\n")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(tmp_path), "ADC_CACHE_DIR": str(tmp_path / "cache")})
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def uses_cbrt(x):
    return np.sum(np.cbrt(x))


def uses_nansum(x):
    return np.nansum(x)
