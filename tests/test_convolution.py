"""np.convolve and np.correlate (primitives/convolution.py, runtime/convolve.py): numpy's values in every
mode and argument order, derivatives in both operands, and the kernels' own algebra: each is the other's
adjoint, and the FFT path computes what the tap loop computes."""
import importlib

import numpy as np
import pytest
from fuzz.oracle import Case, check_case

import adc
from adc import runtime as rt

kernels = importlib.import_module("adc.runtime.convolve")  # the module: `rt.convolve` is the function
HEADER = "import math\nimport numpy as np\n\n\n"
MODES = ("full", "same", "valid")
# (len(a), len(v)): kernel shorter than the signal, longer, and of even lengths either way (numpy's
# "same" window and correlate's swap depend on the parities)
LENGTHS = ((7, 3), (3, 7), (6, 4), (4, 6))
rng = np.random.default_rng(11)


def vec(n, dtype="float64"):
    v = rng.standard_normal(n)
    return (v + 1j * rng.standard_normal(n) if dtype == "complex128" else v).astype(dtype)


def inner(a, b) -> complex:
    return np.vdot(b, a)  # <a, b>, linear in a


def convolve_full(a, v):
    return np.convolve(a, v, "full")


def convolve_same(a, v):
    return np.convolve(a, v, mode="same")


def convolve_valid(a, v):
    return np.convolve(a, v, "valid")


def correlate_full(a, v):
    return np.correlate(a, v, mode="full")


def correlate_same(a, v):
    return np.correlate(a, v, "same")


def correlate_valid(a, v):
    return np.correlate(a, v, "valid")


FUNCTIONS = {f.__name__: f for f in (convolve_full, convolve_same, convolve_valid,
                                     correlate_full, correlate_same, correlate_valid)}


def differentiate(fn, backend):
    return adc.differentiate(fn, wrt=("a", "v"), backend=backend)


# -- the kernels -------------------------------------------------------------------------------------
WINDOWS = [(9, 4, 0, 12), (9, 4, 3, 9), (4, 9, 2, 4), (9, 4, 3, 3), (5, 5, -2, 12), (5, 5, 6, 9), (7, 2, 20, 3)]


@pytest.mark.parametrize("compiled", [True, False], ids=["numba", "python"])
@pytest.mark.parametrize("dtype", ["float64", "complex128"])
@pytest.mark.parametrize("nx, nh, s, n", WINDOWS + [(40, 500, 260, 40), (900, 500, 450, 900), (500, 900, 700, 500)])
def test_kernels_are_each_others_adjoints(nx, nh, s, n, dtype, compiled):
    """<conv(x, h), y> = <x, corr(y, conj h)> = <h, corr(y, conj x)>, and for correlate
    <corr(x, h), z> = <x, conv(z, conj h)> = <h, corr(conj x, z)>: the rules' formulas, from the same s."""
    conv, corr = (rt.convolve, rt.correlate) if compiled else (rt.convolve.py_func, rt.correlate.py_func)
    x, h, y = vec(nx, dtype), vec(nh, dtype), vec(n, dtype)
    forward = inner(conv(x, h, s, n), y)
    assert np.isclose(forward, inner(x, corr(y, np.conj(h), s, nx)), rtol=1e-12, atol=0)
    assert np.isclose(forward, inner(h, corr(y, np.conj(x), s, nh)), rtol=1e-12, atol=0)
    forward = inner(corr(x, h, s, n), y)
    assert np.isclose(forward, inner(x, conv(y, np.conj(h), s, nx)), rtol=1e-12, atol=0)
    assert np.isclose(forward, inner(h, corr(np.conj(x), y, s, nh)), rtol=1e-12, atol=0)


@pytest.mark.parametrize("dtype", ["float64", "complex128"])
@pytest.mark.parametrize("nx, nh, s, n", WINDOWS + [(1000, 64, 0, 1063), (1000, 300, 299, 702), (900, 1000, 950, 64)])
def test_fft_path_matches_tap_loop(nx, nh, s, n, dtype):
    x, h = vec(nx, dtype), vec(nh, dtype)
    direct, spectral = kernels._by_taps(x, h, s, n), kernels._by_fft(x, h, s, n)
    assert spectral.dtype == direct.dtype
    assert np.linalg.norm(spectral - direct) <= 1e-12 * np.linalg.norm(direct)


@pytest.mark.parametrize("dtype", ["float64", "float32"])  # (numpy's complex products may fuse their multiply-adds)
@pytest.mark.parametrize("nx, nh, s, n", WINDOWS + [(5000, 9, 3, 5004), (9, 5000, 4000, 64), (3000, 40, 30, 2100)])
def test_tap_loop_adds_each_outputs_taps_in_order(nx, nh, s, n, dtype):
    """Blocks and four-tap passes change nothing: every output is y + h[0] x + h[1] x + ..., to the bit."""
    x, h = vec(nx, dtype), vec(nh, dtype)
    y = np.zeros(n, dtype)
    for k in range(nh):
        first, end = max(0, k - s), min(n, nx + k - s)
        if first < end:
            y[first:end] += h[k] * x[first + s - k:end + s - k]
    assert np.array_equal(kernels._by_taps(x, h, s, n), y)


def test_threshold_picks_each_path():
    """A few taps go by the loop (each output summed in tap order, so the result is the loop's to the
    bit), a few hundred over a long signal by the FFT."""
    x = vec(2000)
    short, long = vec(8), vec(400)
    assert np.array_equal(rt.convolve(x, short, 0, 2007), kernels._by_taps(x, short, 0, 2007))
    assert np.array_equal(rt.convolve(x, long, 0, 2399), kernels._by_fft(x, long, 0, 2399))


def test_empty_operand_is_numpys_error():
    with pytest.raises(ValueError):
        rt.convolve(np.zeros(0), np.ones(3), 0, 2)


# -- numpy's values ----------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float64", "float32", "complex128"])
@pytest.mark.parametrize("lengths", LENGTHS + ((1, 5), (600, 400), (400, 600)))
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_values_are_numpys(name, lengths, dtype, backend):
    """Every mode, both argument orders (numpy swaps, or correlates the other way round and reverses),
    complex v conjugated by correlate, float32 kept float32; 600 x 400 goes by the FFT."""
    fn = FUNCTIONS[name]
    a, v = vec(lengths[0], dtype), vec(lengths[1], dtype)
    got, want = differentiate(fn, backend)(a, v), fn(a, v)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert np.linalg.norm(got - want) <= (1e-5 if dtype == "float32" else 1e-12) * np.linalg.norm(want)


def test_default_modes_and_mixed_precision():
    def f(a, v):
        return np.sum(np.convolve(a, v) * np.convolve(v, a)) + np.sum(np.correlate(a, v) ** 2)
    a, v = vec(6, "float32"), vec(3)
    assert np.isclose(adc.differentiate(f, wrt=("a", "v"))(a, v), f(a, v), rtol=1e-12)


# -- derivatives -------------------------------------------------------------------------------------
def central_differences(f, args, i, step=1e-6):
    out = np.empty(args[i].shape)
    for j in range(args[i].size):
        moved = [np.array(a) for a in args]
        moved[i][j] += step
        up = f(*moved)
        moved[i][j] -= 2 * step
        out[j] = (up - f(*moved)) / (2 * step)
    return out


@pytest.mark.parametrize("lengths", LENGTHS)
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_grad_matches_central_differences(name, lengths, backend):
    fn, weights = FUNCTIONS[name], vec(20)

    def loss(a, v):  # fn, a helper, is inlined
        y = fn(a, v)
        return np.sum(np.sin(y) * weights[:y.shape[0]])
    f = adc.differentiate(loss, wrt=("a", "v"), backend=backend)
    a, v = vec(lengths[0]), vec(lengths[1])
    grads = f.grad(a, v)
    for i in (0, 1):
        np.testing.assert_allclose(grads[i], central_differences(loss, (a, v), i), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("lengths", LENGTHS + ((600, 400), (400, 600)))
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_dot_product_jvp_vjp(name, lengths, backend):
    """<J t, w> = <t, J^T w> with f.jvp and f.vjp; 600 x 400 takes the FFT path forward and back."""
    f = differentiate(FUNCTIONS[name], backend)
    a, v = vec(lengths[0]), vec(lengths[1])
    t = (vec(a.shape[0]), vec(v.shape[0]))
    value, jt = f.jvp(a, v, tangents=t)
    w = vec(value.shape[0])
    _, (ga, gv) = f.vjp(a, v, cotangent=w)
    lhs, rhs = np.dot(jt, w), np.dot(t[0], ga) + np.dot(t[1], gv)
    assert np.isclose(lhs, rhs, rtol=1e-12, atol=0)
    jt_fd = (FUNCTIONS[name](a + 1e-6 * t[0], v + 1e-6 * t[1]) - FUNCTIONS[name](a - 1e-6 * t[0], v - 1e-6 * t[1])) / 2e-6
    np.testing.assert_allclose(jt, jt_fd, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("lengths", [(7, 3), (3, 7), (6, 4)])
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_oracle(name, lengths):
    """Primal against Python, grad against differences, the dot test, hvp (the jvp of the generated vjp,
    which calls rt.convolve and rt.correlate) and both backends, by the fuzzer's oracle."""
    kind, mode = name.split("_")
    src = f"""
def main(a, v):
    y = np.{kind}(a, v, {mode!r})
    return np.sum(y * np.sin(y)) + np.dot(y, y) * a[0]
"""
    args = (np.round(vec(lengths[0]), 3), np.round(vec(lengths[1]), 3))
    check_case(Case(HEADER + src, args, ("a", "v"), numba=True, hvp=True), strict=True)


def test_complex_gradient(backend):
    """grad = dL/dRe + 1j dL/dIm through correlate's conjugation of v."""
    def loss(a, v):
        return np.sum(np.abs(np.correlate(a, v, "same")) ** 2) + np.sum(np.real(np.convolve(a, v)))
    a, v = vec(5, "complex128"), vec(3, "complex128")
    ga, gv = adc.differentiate(loss, wrt=("a", "v"), backend=backend).grad(a, v)
    for z, g, other in ((a, ga, lambda d: loss(a + d, v)), (v, gv, lambda d: loss(a, v + d))):
        for j in range(z.shape[0]):
            e = np.zeros(z.shape[0], complex)
            e[j] = 1e-6
            d_re = (other(e) - other(-e)) / 2e-6
            d_im = (other(1j * e) - other(-1j * e)) / 2e-6
            assert np.isclose(g[j], d_re + 1j * d_im, rtol=1e-6, atol=1e-8)


def test_complex_hvp(backend):
    """Second order through a complex result read by .real, whose real cotangent meets complex operands."""
    def loss(a, v):
        return np.sum(np.convolve(a, v, "same").real ** 3) + np.sum(np.abs(np.correlate(a, v)) ** 2)
    a, v, ta, tv = vec(6, "complex128"), vec(3, "complex128"), vec(6, "complex128"), vec(3, "complex128")
    f = adc.differentiate(loss, wrt=("a", "v"), backend=backend)
    _, hv = f.hvp(a, v, tangents=(ta, tv))
    up, down = f.grad(a + 1e-6 * ta, v + 1e-6 * tv), f.grad(a - 1e-6 * ta, v - 1e-6 * tv)
    for h, p, m in zip(hv, up, down):
        np.testing.assert_allclose(h, (p - m) / 2e-6, rtol=1e-6, atol=1e-6)


def test_float32_gradient_keeps_its_precision():
    def loss(a, v):
        return np.sum(np.convolve(a, v, "same") ** 2)
    ga, gv = adc.differentiate(loss, wrt=("a", "v")).grad(vec(8, "float32"), vec(3, "float32"))
    assert ga.dtype == gv.dtype == np.float32


# -- refusals ----------------------------------------------------------------------------------------
def test_non_constant_mode_is_a_located_error():
    def f(a, v):
        mode = a[0]
        return np.sum(np.convolve(a, v, mode))
    with pytest.raises(adc.CompileError) as err:
        adc.differentiate(f, wrt="a")(vec(5), vec(2))
    assert "mode" in str(err.value) and err.value.lineno == f.__code__.co_firstlineno + 2


def bad_mode(a, v):
    return np.sum(np.convolve(a, v, "middle"))


def two_dimensional(a, v):
    return np.sum(np.correlate(a, v))


def integers(a, v):
    return np.sum(np.convolve(a.astype(np.int64), v.astype(np.int64)))


@pytest.mark.parametrize("f, a, message", [(bad_mode, vec(5), "'full', 'same' or 'valid'"),
                                           (two_dimensional, np.ones((3, 2)), "1-d arrays"),
                                           (integers, vec(5), "float or complex")])
def test_refusals_are_located(f, a, message):
    with pytest.raises(adc.CompileError, match=message) as err:
        adc.differentiate(f, wrt="a")(a, vec(2))
    assert err.value.lineno == f.__code__.co_firstlineno + 1
