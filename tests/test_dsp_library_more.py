"""adc.dsp's interpolation, wavelets, sparse/non-smooth functions, numerics and beamforming.

Every function: values against an independent reference (np.interp, scipy.ndimage, direct kernel
formulas, filters by spectral factorisation, np.unwrap), the plain-numpy call equal to adc's compiled
one, and derivatives against 4-point central differences (float64, rtol 1e-6) in reverse mode (vjp) and
forward mode (jvp), which is also the dot-product test <J v, w> = <v, J^T w>; linear maps (interpolation
in the samples, DWT/SWT, fractional delay in the signal) get the adjoint test with independent random
vectors to 1e-10. The python backend broadly, the numba backend on one call per family."""
from math import comb

import numpy as np
import pytest

import adc
from adc import dsp

from checks import directional_fd

try:
    import scipy.ndimage as ndimage
except ImportError:
    ndimage = None

rng = np.random.default_rng(20240610)
SCIPY_MODES = {"clamp": "nearest", "reflect": "mirror", "zero": "grid-constant"}
NP_PAD_MODES = {"clamp": "edge", "reflect": "reflect", "zero": "constant"}


# -- programs (module level, so adc can read their source) -------------------------------------
def interp_linear_clamp(x, t):
    return dsp.interp_linear(x, t, "clamp")


def interp_linear_reflect(x, t):
    return dsp.interp_linear(x, t, "reflect")


def interp_linear_zero(x, t):
    return dsp.interp_linear(x, t, "zero")


def interp_cubic_clamp(x, t):
    return dsp.interp_cubic(x, t, "clamp")


def interp_cubic_reflect(x, t):
    return dsp.interp_cubic(x, t, "reflect")


def interp_cubic_zero(x, t):
    return dsp.interp_cubic(x, t, "zero")


def interp_bspline_clamp(x, t):
    return dsp.interp_bspline(x, t, "clamp")


def interp_bspline_reflect(x, t):
    return dsp.interp_bspline(x, t, "reflect")


def interp_bspline_zero(x, t):
    return dsp.interp_bspline(x, t, "zero")


def bilinear_clamp(image, r, c):
    return dsp.interp2d_linear(image, r, c, "clamp")


def bilinear_reflect(image, r, c):
    return dsp.interp2d_linear(image, r, c, "reflect")


def bilinear_zero(image, r, c):
    return dsp.interp2d_linear(image, r, c, "zero")


def bicubic_clamp(image, r, c):
    return dsp.interp2d_cubic(image, r, c, "clamp")


def bicubic_reflect(image, r, c):
    return dsp.interp2d_cubic(image, r, c, "reflect")


def bicubic_zero(image, r, c):
    return dsp.interp2d_cubic(image, r, c, "zero")


def delayed_cubic(x, delay):
    return dsp.fractional_delay(x, delay)


def delayed_linear(x, delay):
    return dsp.fractional_delay(x, delay, "linear", "clamp")


def delayed_bspline(x, delay):
    return dsp.fractional_delay(x, delay, kind="bspline", mode="reflect")


def resampled(x):
    return dsp.resample(x, 23, "cubic", "reflect")


def interp_loss(x, t):
    y = dsp.interp_bspline(x, t, "reflect") + dsp.interp_linear(x, t, "zero")
    return np.sum(y * y) + np.sum(np.sin(dsp.fractional_delay(x, t[0])))


INTERP_1D = {f.__name__: f for f in (interp_linear_clamp, interp_linear_reflect, interp_linear_zero,
                                     interp_cubic_clamp, interp_cubic_reflect, interp_cubic_zero,
                                     interp_bspline_clamp, interp_bspline_reflect, interp_bspline_zero)}
INTERP_2D = {f.__name__: f for f in (bilinear_clamp, bilinear_reflect, bilinear_zero,
                                     bicubic_clamp, bicubic_reflect, bicubic_zero)}


def dwt_haar(x):
    a, d = dsp.dwt(x, "haar")
    return np.concatenate((a, d))


def dwt_db3(x):
    a, d = dsp.dwt(x, "db3")
    return np.concatenate((a, d))


def idwt_db2(c):
    return dsp.idwt(c[:8], c[8:], "db2")


def wavedec_db1(x):
    return dsp.wavedec(x, "db1", 3)


def wavedec_db2(x):
    return dsp.wavedec(x, "db2", 3)


def wavedec_db3(x):
    return dsp.wavedec(x, "db3", 2)


def wavedec_db4(x):
    return dsp.wavedec(x, "db4", 2)


def waverec_db4(c):
    return dsp.waverec(c, "db4", 2)


def swt_db2(x):
    return dsp.swt(x, "db2", 3)


def iswt_db3(c):
    return dsp.iswt(c, "db3")


def wavelet_loss(x):
    c = dsp.wavedec(x, "db4", 2)
    s = dsp.swt(x, "db2", 2)
    return np.sum(dsp.smooth_l1(c, 0.1)) + np.sum(s[1] * s[1] * s[0])


def soft_threshold_of(x, lam):
    return dsp.soft_threshold(x, lam)


def smooth_l1_of(x, eps):
    return dsp.smooth_l1(x, eps)


def huber_of(x, delta):
    return dsp.huber(x, delta)


def smooth_clip_of(x, lo, hi):
    return dsp.smooth_clip(x, lo, hi)


def smooth_max_of(x, temperature):
    return dsp.smooth_max(x, temperature)


def smooth_min_of(x, temperature):
    return dsp.smooth_min(x, temperature)


def softmax_of(x, temperature):
    return dsp.softmax(x, temperature)


def soft_argmax_of(x, temperature):
    return dsp.soft_argmax(x, temperature)


def parabolic_peak_of(x):
    position, value = dsp.parabolic_peak(x)
    return position + 3.0 * value


def noise_quantize_of(x, step, noise):
    return dsp.noise_quantize(x, step, noise)


def ste_loss(x, step):
    q = dsp.quantize_ste(x, step)
    return np.sum((q - 0.3) ** 2) + np.sum(dsp.ste_round(x * 2.0) * x)


def ste_round_of(x):
    return dsp.ste_round(x)


def sparse_loss(x, lam):
    y = dsp.soft_threshold(x, lam) + dsp.huber(x, 0.7) + dsp.smooth_clip(x, -1.0, lam)
    return dsp.smooth_max(y, 0.3) + dsp.soft_argmax(y, 0.5) + np.sum(dsp.smooth_l1(y, lam))


def safe_log_of(x):
    return dsp.safe_log(x, 1e-3)


def safe_sqrt_of(x):
    return dsp.safe_sqrt(x)


def safe_abs_of(z):
    return dsp.safe_abs(z)


def safe_abs_sum(z):
    return np.sum(dsp.safe_abs(z))


def safe_divide_of(a, b):
    return dsp.safe_divide(a, b, 1e-3)


def unwrap_of(p):
    return dsp.unwrap_phase(p)


def numerics_loss(z, b):
    m = dsp.safe_abs(z)
    phase = dsp.unwrap_phase(np.angle(z))
    return np.sum(dsp.safe_log(m * m, 1e-6) * dsp.safe_divide(phase, b, 1e-3)) + np.sum(dsp.safe_sqrt(b))


def beam(X, weights, theta, positions):
    return dsp.delay_and_sum(X, weights, dsp.steering_delays(positions, theta, 8000.0))


def beam_filtered(X, filters, theta, positions):
    return dsp.filter_and_sum(X, filters, dsp.steering_delays(positions, theta, 8000.0), "bspline", "clamp")


def beam_power(weights, theta, positions, X):
    y = dsp.delay_and_sum(X, weights, dsp.steering_delays(positions, theta, 8000.0))
    return np.mean(y * y)


# -- oracles -----------------------------------------------------------------------------------
def inner(a, b) -> float:
    return float(np.real(np.vdot(a, b)))


def random_like(a):
    if np.ndim(a) == 0:
        return float(rng.standard_normal())
    v = rng.standard_normal(np.shape(a))
    return v + 1j * rng.standard_normal(np.shape(a)) if np.iscomplexobj(a) else v


def check_derivatives(program, args, wrt, backend="python", modes=("rev", "fwd"), rtol=1e-6, h=1e-4, trials=2):
    """Value equal to the plain numpy call; for random cotangents w and directions v of the wrt arguments,
    <w, J v> by jvp and <J^T w, v> by vjp both equal the central difference of <w, f> along v."""
    f = adc.differentiate(program, wrt=wrt, backend=backend)
    value = f(*args)
    expected = program(*args)
    np.testing.assert_allclose(value, expected, rtol=1e-12, atol=1e-12)
    for _ in range(trials):
        w = random_like(expected)
        v = [random_like(args[i]) for i in wrt]
        fd = directional_fd(lambda *a, w=w: inner(w, program(*a)), args, wrt, v, h)
        scale = max(abs(fd), 1e-8)
        if "rev" in modes:
            _, g = f.vjp(*args, cotangent=w)
            ad = sum(inner(gi, vi) for gi, vi in zip(g, v))
            assert abs(ad - fd) <= rtol * scale, ("vjp", ad, fd)
        if "fwd" in modes:
            _, jv = f.jvp(*args, tangents=tuple(v))
            ad = inner(w, jv)
            assert abs(ad - fd) <= rtol * scale, ("jvp", ad, fd)
    return f


def check_adjoint(program, args, backend="python"):
    """For a function linear in its first argument: <J v, w> (jvp) == <v, J^T w> (vjp) to 1e-10, and J v
    equal to the function of v itself (linearity)."""
    f = adc.differentiate(program, wrt=0, backend=backend)
    y = f(*args)
    v, w = random_like(args[0]), random_like(y)
    _, jv = f.jvp(*args, tangents=v)
    _, jtw = f.vjp(*args, cotangent=w)
    lhs, rhs = inner(jv, w), inner(v, jtw)
    assert abs(lhs - rhs) <= 1e-10 * max(abs(lhs), abs(rhs)), (lhs, rhs)
    np.testing.assert_allclose(jv, program(v, *args[1:]), rtol=1e-10, atol=1e-12)


def off_knots(low, high, size):
    """Coordinates in [low, high) at least 0.05 from every integer (central differences stay on one piece)."""
    k = rng.integers(low, high, size)
    return k + rng.uniform(0.05, 0.95, size)


def keys_kernel(s):
    s = np.abs(s)
    return np.where(s < 1, 1.5 * s ** 3 - 2.5 * s ** 2 + 1,
                    np.where(s < 2, -0.5 * s ** 3 + 2.5 * s ** 2 - 4 * s + 2, 0.0))


def extended(x, mode, pad):
    """x padded by `pad` samples on each side as the boundary mode extends it (numpy's np.pad)."""
    return np.pad(x, pad, NP_PAD_MODES[mode])


def daubechies_reference(N):
    """The minimum-phase Daubechies scaling filter with N vanishing moments by spectral factorisation in numpy:
    P(y) = sum_k C(N-1+k, k) y^k, y = (2 - z - 1/z) / 4, roots inside the unit circle, times (1 + z)^N."""
    poly = np.array([1.0 + 0j])
    for y in np.roots([comb(N - 1 + k, k) for k in range(N)][::-1]):
        roots = np.roots([1, -(2 - 4 * y), 1])
        poly = np.convolve(poly, [1, -roots[np.argmin(np.abs(roots))]])
    for _ in range(N):
        poly = np.convolve(poly, [1, 1])
    h = np.real(poly)
    return h / h.sum() * np.sqrt(2)


def analysis_matrix(h, n):
    """The one-level periodic DWT as an n x n matrix, from numpy's np.roll: rows h and g at even shifts."""
    L = h.shape[0]
    g = np.array([(-1) ** j * h[L - 1 - j] for j in range(L)])
    W = np.zeros((n, n))
    for k in range(n // 2):
        for j in range(L):
            W[k, (2 * k + j) % n] += h[j]
            W[n // 2 + k, (2 * k + j) % n] += g[j]
    return W


X = rng.standard_normal(11)
IMAGE = rng.standard_normal((6, 7))


# -- interpolation: values -----------------------------------------------------------------------
@pytest.mark.parametrize("mode", dsp.BOUNDARY_MODES)
def test_linear_interpolation_matches_np_interp(mode):
    t = np.concatenate((rng.uniform(-4, 15, 40), np.arange(-3.0, 14.0), [0.0, 10.0, 10.5, -0.5]))
    pad = 20
    xe = extended(X, mode, pad)
    expected = np.interp(t, np.arange(-pad, X.shape[0] + pad), xe)
    f = adc.differentiate(INTERP_1D["interp_linear_" + mode], wrt=(0, 1), backend="python")
    np.testing.assert_allclose(f(X, t), expected, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(dsp.interp_linear(X, t, mode), expected, rtol=1e-13, atol=1e-15)
    if mode == "clamp":  # np.interp holds the end values: the same
        np.testing.assert_allclose(f(X, t), np.interp(t, np.arange(11.0), X), rtol=1e-13)


@pytest.mark.parametrize("mode", dsp.BOUNDARY_MODES)
def test_cubic_interpolation_matches_keys_kernel(mode):
    t = np.concatenate((rng.uniform(-4, 15, 40), np.arange(-2.0, 13.0)))
    pad = 20
    xe = extended(X, mode, pad)
    grid = np.arange(-pad, X.shape[0] + pad)
    expected = keys_kernel(t[:, None] - grid[None, :]) @ xe
    got = adc.differentiate(INTERP_1D["interp_cubic_" + mode], backend="python")(X, t)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)
    inside = np.arange(11.0)
    np.testing.assert_allclose(dsp.interp_cubic(X, inside, mode), X, rtol=1e-14)  # through the samples
    q = 0.3 * np.arange(11.0) ** 2 - np.arange(11.0)  # exact for quadratics away from the ends
    tq = rng.uniform(1, 8.99, 10)
    np.testing.assert_allclose(dsp.interp_cubic(q, tq, mode), 0.3 * tq ** 2 - tq, rtol=1e-12)


@pytest.mark.parametrize("mode", dsp.BOUNDARY_MODES)
def test_bspline_interpolation(mode):
    t = np.concatenate((rng.uniform(-4, 15, 40), [-1.0, 0.0, 3.0, 10.0, 11.0]))
    f = adc.differentiate(INTERP_1D["interp_bspline_" + mode], backend="python")
    got = f(X, t)
    np.testing.assert_allclose(got, dsp.interp_bspline(X, t, mode), rtol=1e-12, atol=1e-14)
    # through the extended signal at every integer, inside and out
    k = np.arange(-5.0, 16.0)
    np.testing.assert_allclose(f(X, k), extended(X, mode, 5), rtol=1e-12, atol=1e-14)
    c = dsp.bspline_coefficients(X, mode)
    np.testing.assert_allclose((np.roll(c, 1) + 4 * c + np.roll(c, -1))[1:-1] / 6, X[1:-1], rtol=1e-12)
    if ndimage is not None:
        expected = ndimage.map_coordinates(X, [t], order=3, mode=SCIPY_MODES[mode])
        # scipy's "grid-constant" pads a finite margin of zeros before prefiltering: ~2e-11 off far outside
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-9 if mode == "zero" else 1e-12)


@pytest.mark.skipif(ndimage is None, reason="scipy.ndimage is the reference")
@pytest.mark.parametrize("mode", dsp.BOUNDARY_MODES)
def test_bilinear_matches_scipy(mode):
    r, c = rng.uniform(-3, 9, 30), rng.uniform(-3, 10, 30)
    got = adc.differentiate(INTERP_2D["bilinear_" + mode], backend="python")(IMAGE, r, c)
    expected = ndimage.map_coordinates(IMAGE, [r, c], order=1, mode=SCIPY_MODES[mode])
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(dsp.interp2d_linear(IMAGE, r, c, mode), got, rtol=1e-13)


@pytest.mark.parametrize("mode", dsp.BOUNDARY_MODES)
def test_bicubic_matches_separable_keys_kernel(mode):
    r, c = rng.uniform(-3, 9, 30), rng.uniform(-3, 10, 30)
    pad = 8
    image = np.pad(IMAGE, pad, NP_PAD_MODES[mode])
    rows, cols = np.arange(-pad, 6 + pad), np.arange(-pad, 7 + pad)
    expected = np.einsum("mi,ij,mj->m", keys_kernel(r[:, None] - rows), image, keys_kernel(c[:, None] - cols))
    got = adc.differentiate(INTERP_2D["bicubic_" + mode], backend="python")(IMAGE, r, c)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-13)
    ii, jj = np.meshgrid(np.arange(6.0), np.arange(7.0), indexing="ij")
    np.testing.assert_allclose(dsp.interp2d_cubic(IMAGE, ii.ravel(), jj.ravel(), mode), IMAGE.ravel(), rtol=1e-13)


def test_fractional_delay_values():
    x = rng.standard_normal(16)
    f = adc.differentiate(delayed_cubic, wrt=(0, 1), backend="python")
    np.testing.assert_allclose(f(x, 3.0), np.concatenate((np.zeros(3), x[:-3])), atol=1e-15)  # whole samples: a shift
    np.testing.assert_allclose(f(x, -2.0), np.concatenate((x[2:], np.zeros(2))), atol=1e-15)
    n = np.arange(64)
    tone = np.sin(0.2 * n)
    # a slow sinusoid delayed by 2.4 samples, away from the zero-filled start: cubic error ~ (0.2)^4 / 16
    np.testing.assert_allclose(f(tone, 2.4)[8:-8], np.sin(0.2 * (n - 2.4))[8:-8], atol=3e-4)
    np.testing.assert_allclose(delayed_linear(x, 0.25), 0.75 * x + 0.25 * np.concatenate(([x[0]], x[:-1])), rtol=1e-14)
    y = adc.differentiate(resampled, backend="python")(x)
    assert y.shape == (23,) and y[0] == pytest.approx(x[0]) and y[-1] == pytest.approx(x[-1])


# -- interpolation: derivatives ------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(INTERP_1D))
def test_interpolation_1d_derivatives(name):
    t = off_knots(-3, 13, 25)
    check_derivatives(INTERP_1D[name], (X, t), (0, 1))
    check_adjoint(INTERP_1D[name], (X, t))


@pytest.mark.parametrize("name", sorted(INTERP_2D))
def test_interpolation_2d_derivatives(name):
    r, c = off_knots(-2, 8, 12), off_knots(-2, 9, 12)
    check_derivatives(INTERP_2D[name], (IMAGE, r, c), (0, 1, 2))
    check_adjoint(INTERP_2D[name], (IMAGE, r, c))


@pytest.mark.parametrize("program", [delayed_cubic, delayed_linear, delayed_bspline], ids=lambda p: p.__name__)
def test_fractional_delay_derivatives(program):
    x = rng.standard_normal(14)
    check_derivatives(program, (x, 2.37), (0, 1))
    check_derivatives(program, (x, -1.61), (0, 1))
    check_adjoint(program, (x, 2.37))
    check_adjoint(resampled, (x,))


def test_linear_interpolation_derivative_at_knots_is_right_handed():
    """At an integer coordinate the slope of the piece to the right; 0 at and beyond the end under "clamp"."""
    x = np.array([0.0, 1.0, 4.0, 9.0, 16.0])
    t = np.array([0.0, 2.0, 3.0, 4.0, 5.5, -1.0, -0.5])
    expected = {"clamp": [1.0, 5.0, 7.0, 0.0, 0.0, 0.0, 0.0],
                "reflect": [1.0, 5.0, 7.0, -7.0, -5.0, -1.0, -1.0],
                "zero": [1.0, 5.0, 7.0, -16.0, 0.0, 0.0, 0.0]}
    for mode, slopes in expected.items():
        f = adc.differentiate(INTERP_1D["interp_linear_" + mode], wrt=1, backend="python")
        _, jv = f.jvp(x, t, tangents=np.ones_like(t))  # diagonal Jacobian: each output's own slope
        _, g = f.vjp(x, t, cotangent=np.ones_like(t))
        np.testing.assert_array_equal(jv, slopes, err_msg=mode)
        np.testing.assert_array_equal(g, slopes, err_msg=mode)


def test_cubic_derivatives_in_t_are_continuous_at_knots():
    for program in (interp_cubic_reflect, interp_bspline_clamp):
        f = adc.differentiate(program, wrt=1, backend="python")
        knots = np.arange(1.0, 10.0)
        _, at = f.jvp(X, knots, tangents=np.ones(9))
        _, left = f.jvp(X, knots - 1e-9, tangents=np.ones(9))
        np.testing.assert_allclose(at, left, atol=1e-7)
    _, slope = adc.differentiate(interp_cubic_clamp, wrt=1, backend="python").jvp(X, knots, tangents=np.ones(9))
    np.testing.assert_allclose(slope, 0.5 * (X[2:] - X[:-2]), rtol=1e-12)  # Catmull-Rom: central differences


def test_interpolation_numba():
    t = off_knots(-2, 12, 20)
    check_derivatives(interp_loss, (X, t), (0, 1), backend="numba", trials=1)
    check_adjoint(interp_bspline_reflect, (X, t), backend="numba")


def test_interpolation_2d_numba():
    r, c = off_knots(-2, 8, 10), off_knots(-2, 9, 10)
    check_derivatives(bicubic_zero, (IMAGE, r, c), (0, 1, 2), backend="numba", trials=1)


def test_interpolation_refuses_unknown_mode():
    with pytest.raises(AssertionError, match="mode must be"):
        dsp.interp_linear(X, np.zeros(2), "wrap")


# -- wavelets ------------------------------------------------------------------------------------
@pytest.mark.parametrize("N, h", [(1, dsp.HAAR), (2, dsp.DB2), (3, dsp.DB3), (4, dsp.DB4)])
def test_daubechies_filters(N, h):
    np.testing.assert_allclose(h, daubechies_reference(N), rtol=1e-12, atol=1e-14)
    assert h.shape == (2 * N,)
    assert h.sum() == pytest.approx(np.sqrt(2), rel=1e-15)
    L = h.shape[0]
    for m in range(N):
        assert abs(np.dot(h[:L - 2 * m], h[2 * m:]) - (m == 0)) < 1e-15  # orthonormal to its even shifts
    k = np.arange(L)
    for p in range(N):  # N vanishing moments of the highpass filter
        assert abs(np.sum((-1.0) ** k * k ** p * h)) < 1e-12 * (L ** p)
    assert np.all(dsp.wavelet_filter("db%d" % N) == h)


def test_haar_of_a_simple_signal():
    f = adc.differentiate(dwt_haar, backend="python")
    s = 1 / np.sqrt(2)
    np.testing.assert_allclose(f(np.array([1.0, 2.0, 3.0, 4.0])), [3 * s, 7 * s, -s, -s], rtol=1e-15)
    c = dsp.wavedec(np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]), "haar", 3)
    np.testing.assert_allclose(c, [36 / np.sqrt(8), -16 / np.sqrt(8), -2, -2, -s, -s, -s, -s], rtol=1e-14)


@pytest.mark.parametrize("wavelet", dsp.WAVELETS)
def test_dwt_matches_the_analysis_matrix_and_reconstructs(wavelet):
    h = dsp.wavelet_filter(wavelet)
    x = rng.standard_normal(16)
    W = analysis_matrix(h, 16)
    np.testing.assert_allclose(W @ W.T, np.eye(16), atol=1e-14)
    a, d = dsp.dwt(x, wavelet)
    np.testing.assert_allclose(np.concatenate((a, d)), W @ x, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(dsp.idwt(a, d, wavelet), x, rtol=0, atol=1e-12)
    for n, levels in ((32, 3), (16, 4), (24, 2)):
        x = rng.standard_normal(n)
        c = dsp.wavedec(x, wavelet, levels)
        assert np.sum(c * c) == pytest.approx(np.sum(x * x), rel=1e-13)  # orthogonal
        np.testing.assert_allclose(dsp.waverec(c, wavelet, levels), x, rtol=0, atol=1e-12)
        s = dsp.swt(x, wavelet, levels)
        assert s.shape == (levels + 1, n)
        np.testing.assert_allclose(dsp.iswt(s, wavelet), x, rtol=0, atol=1e-12)
        s1 = dsp.swt(x, wavelet, 1)
        a, d = dsp.dwt(x, wavelet)
        np.testing.assert_allclose(s1[0, ::2], a, rtol=1e-13, atol=1e-14)  # the even phase is the DWT
        np.testing.assert_allclose(s1[1, ::2], d, rtol=1e-13, atol=1e-14)
        assert np.sum(s1 * s1) == pytest.approx(2 * np.sum(x * x), rel=1e-13)


def test_wavelet_details_of_polynomials_vanish():
    """db2 (2 vanishing moments) gives zero details on a linear ramp, db4 on a cubic, away from the wrap."""
    n = np.arange(64.0)
    for wavelet, signal, taps in (("db2", 0.5 * n - 3, 4), ("db4", 1e-3 * (n - 20) ** 3 + n, 8)):
        _, d = dsp.dwt(signal, wavelet)
        interior = d[:(64 - taps) // 2 + 1]
        assert np.max(np.abs(interior)) < 1e-9 * np.max(np.abs(signal)), wavelet


@pytest.mark.parametrize("program, n", [(dwt_haar, 16), (dwt_db3, 16), (idwt_db2, 16), (wavedec_db1, 16),
                                        (wavedec_db2, 24), (wavedec_db3, 16), (wavedec_db4, 12),
                                        (waverec_db4, 16), (swt_db2, 10), (iswt_db3, (3, 12))],
                         ids=lambda p: getattr(p, "__name__", ""))
def test_wavelet_transforms_are_differentiated_exactly(program, n):
    x = rng.standard_normal(n)
    check_adjoint(program, (x,))
    check_derivatives(program, (x,), (0,), trials=1)
    if program is iswt_db3:  # iswt inverts swt exactly in both modes' derivatives as well
        f = adc.differentiate(program, backend="python")
        np.testing.assert_allclose(f(dsp.swt(x[0], "db3", 2)), x[0], atol=1e-12)


def test_wavelet_numba():
    x = rng.standard_normal(16)
    check_derivatives(wavelet_loss, (x,), (0,), backend="numba", trials=1)
    check_adjoint(waverec_db4, (x,), backend="numba")


# -- sparse and non-smooth -----------------------------------------------------------------------
def away_from(values, kinks, margin=0.02):
    """values moved off the kinks by at least `margin`."""
    for k in kinks:
        close = np.abs(values - k) < margin
        values = np.where(close, k + margin * np.where(values >= k, 1.0, -1.0) * 2, values)
    return values


@pytest.mark.parametrize("program, args, wrt", [
    (soft_threshold_of, (away_from(rng.standard_normal(12), (-0.4, 0.4)), 0.4), (0, 1)),
    (smooth_l1_of, (np.concatenate((rng.standard_normal(8), [0.0])), 0.05), (0, 1)),
    (huber_of, (away_from(2 * rng.standard_normal(12), (-0.8, 0.8)), 0.8), (0, 1)),
    (smooth_clip_of, (3 * rng.standard_normal(12), -0.5, 1.5), (0, 1, 2)),
    (smooth_max_of, (rng.standard_normal(12), 0.3), (0, 1)),
    (smooth_min_of, (rng.standard_normal(12), 0.7), (0, 1)),
    (softmax_of, (rng.standard_normal(12), 0.5), (0, 1)),
    (soft_argmax_of, (rng.standard_normal(12), 0.25), (0, 1)),
    (parabolic_peak_of, (np.array([0.1, 0.5, 2.0, 2.5, 1.0, -0.3]),), (0,)),
    (noise_quantize_of, (rng.standard_normal(9), 0.25, rng.uniform(-0.5, 0.5, 9)), (0, 1, 2)),
    (sparse_loss, (away_from(rng.standard_normal(10), (-0.6, 0.6, -0.7, 0.7)), 0.6), (0, 1)),
], ids=lambda p: getattr(p, "__name__", ""))
def test_sparse_derivatives(program, args, wrt):
    check_derivatives(program, args, wrt)


def test_sparse_values():
    x = np.array([-2.0, -0.5, -0.4, 0.0, 0.3, 0.4, 1.5])
    np.testing.assert_allclose(dsp.soft_threshold(x, 0.4), np.sign(x) * np.maximum(np.abs(x) - 0.4, 0.0), atol=1e-16)
    np.testing.assert_allclose(dsp.huber(x, 0.5), np.where(np.abs(x) <= 0.5, 0.5 * x * x, 0.5 * (np.abs(x) - 0.25)))
    np.testing.assert_allclose(dsp.smooth_clip(np.array([0.5, 100.0, -100.0]), 0.0, 1.0), [0.5, 1.0, 0.0], atol=1e-15)
    big = np.array([1000.0, 999.0, -5.0])  # no overflow
    assert dsp.smooth_max(big, 1.0) == pytest.approx(1000.0 + np.log(1 + np.exp(-1.0) + np.exp(-1005.0)), rel=1e-15)
    assert dsp.smooth_min(big, 1.0) == pytest.approx(-5.0 - np.log1p(np.exp(-1004.0)), rel=1e-15)
    assert dsp.smooth_max(np.array([0.0, 2.0]), 1e-3) == pytest.approx(2.0)
    peaked = np.array([0.0, 0.1, 5.0, 0.2, 0.0])
    assert dsp.soft_argmax(peaked, 0.05) == pytest.approx(2.0, abs=1e-12)
    position, value = dsp.parabolic_peak(np.array([0.0, 3.0, 4.0, 1.0]))  # parabola through (1,3), (2,4), (3,1)
    assert position == pytest.approx(1.75) and value == pytest.approx(4.125)


def test_sparse_derivatives_at_the_kinks():
    """soft_threshold: 0 on |x| <= lam, kinks included; huber: clip(x, -delta, delta); safe_log: 1 / floor at
    the floor, 0 below; safe_sqrt and safe_abs: 0 at 0 (not inf or NaN), in both modes."""
    x = np.array([-0.4, 0.4, 0.0, 0.5, -1.0])
    for program, args, expected in [
        (soft_threshold_of, (x, 0.4), [0.0, 0.0, 0.0, 1.0, 1.0]),
        (huber_of, (np.array([-0.8, 0.8, 0.0, 2.0]), 0.8), [-0.8, 0.8, 0.0, 0.8]),
        (safe_log_of, (np.array([1e-3, 1e-4, -1.0, 0.5]),), [1e3, 0.0, 0.0, 2.0]),
        (safe_sqrt_of, (np.array([0.0, -1.0, 0.25]),), [0.0, 0.0, 1.0]),
    ]:
        f = adc.differentiate(program, wrt=0, backend="python")
        n = args[0].shape[0]
        _, g = f.vjp(*args, cotangent=np.ones(n))
        _, jv = f.jvp(*args, tangents=np.ones(n))
        np.testing.assert_allclose(g, expected, rtol=1e-14, err_msg=program.__name__)
        np.testing.assert_allclose(jv, expected, rtol=1e-14, err_msg=program.__name__)


def test_straight_through_quantisers():
    x = rng.uniform(-2, 2, 10)
    f = adc.differentiate(ste_loss, wrt=(0, 1), backend="python")
    step = 0.25
    value, (gx, gstep) = f.value_and_grad(x, step)
    assert value == pytest.approx(ste_loss(x, step), rel=1e-14)
    q = step * np.round(x / step)
    # d/dx: the straight-through identity for both quantisers, so 2 (q - 0.3) + 2 round(2x) * 1 ... + round(2x)
    np.testing.assert_allclose(gx, 2 * (q - 0.3) + 2 * x + np.round(2 * x), rtol=1e-13)
    assert gstep == pytest.approx(np.sum(2 * (q - 0.3) * (np.round(x / step) - x / step)), rel=1e-13)
    assert dsp.ste_round(2.6) == 3.0 and dsp.quantize_ste(np.array([0.3]), 0.25)[0] == 0.25
    g = adc.differentiate(ste_round_of, backend="python")
    _, gr = g.vjp(x, cotangent=np.arange(10.0))
    np.testing.assert_array_equal(gr, np.arange(10.0))
    with pytest.raises(adc.CompileError, match="custom reverse-mode rule"):  # no forward mode, as in JAX
        g.jvp(x, tangents=np.ones(10))


def test_sparse_numba():
    x = away_from(rng.standard_normal(10), (-0.6, 0.6, -0.7, 0.7))
    check_derivatives(sparse_loss, (x, 0.6), (0, 1), backend="numba", trials=1)
    f = adc.differentiate(ste_loss, wrt=(0, 1), backend="numba")
    gn = f.grad(x, 0.25)
    gp = adc.differentiate(ste_loss, wrt=(0, 1), backend="python").grad(x, 0.25)
    np.testing.assert_allclose(gn[0], gp[0], rtol=1e-13)
    assert gn[1] == pytest.approx(gp[1], rel=1e-13)


# -- numerics ------------------------------------------------------------------------------------
def test_safe_abs_at_zero():
    z = np.array([0j, 3 + 4j, 1e-200 + 0j, -2j, 0j])
    for backend in ("python", "numba"):
        f = adc.differentiate(safe_abs_sum, backend=backend)
        value, g = f.value_and_grad(z)
        assert value == pytest.approx(5 + 1e-200 + 2)
        np.testing.assert_allclose(g, [0, (3 + 4j) / 5, 1, -1j, 0], rtol=1e-14)
        _, jv = f.jvp(z, tangents=np.ones(5) * (1 + 1j))
        assert np.isfinite(jv) and jv == pytest.approx(0.6 + 0.8 + 1 - 1)
    hv = adc.differentiate(safe_abs_sum, backend="python").hvp(z, tangents=np.ones(5) + 0j)[1]
    assert np.all(np.isfinite(hv)) and hv[0] == 0 and hv[4] == 0
    np.testing.assert_allclose(dsp.safe_abs(np.array([-3.0, 0.0])), [3.0, 0.0])


@pytest.mark.parametrize("program, args, wrt", [
    (safe_log_of, (np.array([1e-4, 0.5, 2.0, -1.0, 3e-3]),), (0,)),
    (safe_sqrt_of, (np.array([-0.5, 0.3, 2.0]),), (0,)),
    (safe_abs_of, (rng.standard_normal(6) + 1j * rng.standard_normal(6),), (0,)),
    (safe_divide_of, (rng.standard_normal(7), np.array([0.5, -0.3, 1e-4, -1e-4, 2e-4, 2.0, -4.0])), (0, 1)),  # not 0: the sign jumps
    (unwrap_of, (np.cumsum(rng.uniform(-2.5, 2.5, 20)),), (0,)),
], ids=lambda p: getattr(p, "__name__", ""))
def test_numerics_derivatives(program, args, wrt):
    check_derivatives(program, args, wrt, h=1e-6 if program in (safe_divide_of, safe_log_of) else 1e-4)


def test_numerics_values():
    p = np.cumsum(rng.uniform(-3, 3, 50))
    wrapped = np.angle(np.exp(1j * p))
    f = adc.differentiate(unwrap_of, backend="python")
    np.testing.assert_allclose(f(wrapped), np.unwrap(wrapped), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(dsp.unwrap_phase(wrapped), np.unwrap(wrapped), rtol=1e-13, atol=1e-13)
    edge = np.array([0.0, np.pi, 0.0, -np.pi, 2.5, -2.5])  # jumps of exactly pi stay; np.unwrap's tie rule
    np.testing.assert_allclose(dsp.unwrap_phase(edge), np.unwrap(edge), atol=1e-15)
    np.testing.assert_allclose(dsp.unwrap_phase(wrapped, 4.0), np.unwrap(wrapped, 4.0), atol=1e-13)
    _, g = f.vjp(wrapped, cotangent=np.arange(50.0))
    np.testing.assert_array_equal(g, np.arange(50.0))  # the identity
    a, b = np.array([1.0, 1.0, -2.0, 3.0]), np.array([0.5, 1e-5, -1e-5, 0.0])
    np.testing.assert_allclose(dsp.safe_divide(a, b, 1e-3), [2.0, 1e3, 2e3, 3e3])
    fd = adc.differentiate(safe_divide_of, wrt=1, backend="python")
    _, gb = fd.vjp(a, b, cotangent=np.ones(4))
    np.testing.assert_allclose(gb, [-4.0, 0.0, 0.0, 0.0])  # below eps the denominator is held
    assert dsp.safe_log(0.0, 1e-12) == pytest.approx(np.log(1e-12))


def test_numerics_numba():
    z = rng.standard_normal(12) + 1j * rng.standard_normal(12)  # not 0: np.angle jumps there (test_safe_abs_at_zero)
    b = np.abs(rng.standard_normal(12)) + 0.1
    check_derivatives(numerics_loss, (z, b), (0, 1), backend="numba", trials=1)


# -- beamforming ---------------------------------------------------------------------------------
FS = 8000.0
# no sensor at the origin: its delay would be the integer 0, a knot of the cubic, where its second
# derivative jumps and central differences in the positions converge only as O(h)
POSITIONS = np.array([[0.003, 0.002], [0.05, 0.01], [0.1, -0.02], [0.16, 0.0], [0.21, 0.03]])


def plane_wave(theta, n=80):
    """Sensor signals of a smooth source s(t) = sin(2 pi 300 t) + 0.5 cos(2 pi 550 t) from theta, analytically."""
    u = np.array([np.cos(theta), np.sin(theta)])
    t = np.arange(n)[None, :] / FS + (POSITIONS @ u)[:, None] / 343.0
    return np.sin(2 * np.pi * 300 * t) + 0.5 * np.cos(2 * np.pi * 550 * t), np.arange(n) / FS


def test_delay_and_sum_aligns_a_plane_wave():
    theta = 0.7
    X, t = plane_wave(theta)
    w = np.full(5, 0.2)
    y = adc.differentiate(beam, wrt=(1, 2), backend="python")(X, w, theta, POSITIONS)
    s = np.sin(2 * np.pi * 300 * t) + 0.5 * np.cos(2 * np.pi * 550 * t)
    np.testing.assert_allclose(y[6:-6], s[6:-6], atol=2e-3)
    assert np.mean(beam(X, w, theta + 1.0, POSITIONS)[6:-6] ** 2) < np.mean(y[6:-6] ** 2)
    delays = dsp.steering_delays(POSITIONS, theta, FS)
    np.testing.assert_allclose(delays, FS * POSITIONS @ [np.cos(theta), np.sin(theta)] / 343.0, rtol=1e-15)
    filters = np.zeros((5, 3))
    filters[:, 0] = 0.2
    np.testing.assert_allclose(dsp.filter_and_sum(X, filters, delays), y, rtol=1e-13, atol=1e-15)


def test_beamforming_derivatives():
    X, _ = plane_wave(0.7, 40)
    X = X + 0.1 * rng.standard_normal(X.shape)
    w = rng.uniform(0.1, 0.3, 5)
    check_derivatives(beam, (X, w, 0.7, POSITIONS), (0, 1, 2, 3))
    filters = rng.standard_normal((5, 4)) / 4
    check_derivatives(beam_filtered, (X, filters, 0.4, POSITIONS), (0, 1, 2, 3))


def test_beamforming_numba():
    X, _ = plane_wave(0.7, 40)
    w = rng.uniform(0.1, 0.3, 5)
    f = check_derivatives(beam_power, (w, 0.9, POSITIONS, X), (0, 1, 2), backend="numba", trials=1)
    gn = f.grad(w, 0.9, POSITIONS, X)
    gp = adc.differentiate(beam_power, wrt=(0, 1, 2), backend="python").grad(w, 0.9, POSITIONS, X)
    for a, b in zip(gn, gp):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-15)


# -- jacobian(mode="fwd"), vector forward mode, against reverse mode -----------------------------------
@pytest.mark.parametrize("program, args, wrt", [
    (interp_bspline_zero, (X, off_knots(-2, 12, 5)), (0, 1)),
    (bicubic_reflect, (IMAGE, off_knots(-1, 7, 4), off_knots(-1, 8, 4)), (1, 2)),
    (wavedec_db2, (rng.standard_normal(16),), (0,)),
    (waverec_db4, (rng.standard_normal(16),), (0,)),
    (swt_db2, (rng.standard_normal(8),), (0,)),
    (iswt_db3, (rng.standard_normal((3, 8)),), (0,)),
    (beam_filtered, (plane_wave(0.7, 24)[0], rng.standard_normal((5, 3)), 0.4, POSITIONS), (1, 2, 3)),
    (soft_argmax_of, (rng.standard_normal(6), 0.3), (0, 1)),
], ids=lambda p: getattr(p, "__name__", ""))
def test_vector_forward_mode(program, args, wrt):
    f = adc.differentiate(program, wrt=wrt, backend="python")
    for fwd, rev in zip(f.jacobian(*args, mode="fwd"), f.jacobian(*args, mode="rev")):
        np.testing.assert_allclose(fwd, rev, rtol=1e-12, atol=1e-13)


def _mvdr_snapshots(rng, positions, directions, frequency, n=64):
    sources = rng.standard_normal((len(directions), n)) + 1j * rng.standard_normal((len(directions), n))
    A = np.stack([dsp.steering_vector(positions, t, frequency) for t in directions], axis=1)
    noise = 0.1 * (rng.standard_normal((positions.shape[0], n)) + 1j * rng.standard_normal((positions.shape[0], n)))
    return A @ sources + noise


def mvdr_spectrum_at(theta, positions, X):
    R = dsp.sample_covariance(X, 0.01)
    return dsp.mvdr_power(R, dsp.steering_vector(positions, theta, 1000.0))


def mvdr_output_power(theta, positions, X):
    R = dsp.sample_covariance(X, 0.01)
    w = dsp.mvdr_weights(R, dsp.steering_vector(positions, theta, 1000.0))
    y = np.conj(w) @ X
    return np.mean(y.real ** 2 + y.imag ** 2)


def test_mvdr_is_distortionless_and_peaks_at_the_sources():
    rng = np.random.default_rng(21)
    positions = np.stack([np.arange(6) * 0.1, np.zeros(6)], axis=1)  # a line, half a wavelength at 1.7 kHz
    X = _mvdr_snapshots(rng, positions, [1.0, 2.2], 1000.0, n=400)
    R = dsp.sample_covariance(X, 0.01)
    a = dsp.steering_vector(positions, 1.3, 1000.0)
    w = dsp.mvdr_weights(R, a)
    np.testing.assert_allclose(np.sum(np.conj(w) * a), 1.0, rtol=1e-12)  # unit gain towards a
    np.testing.assert_allclose(dsp.mvdr_power(R, a), np.real(np.conj(w) @ R @ w), rtol=1e-10)
    grid = np.linspace(0.2, np.pi - 0.2, 600)
    spectrum = np.array([dsp.mvdr_power(R, dsp.steering_vector(positions, t, 1000.0)) for t in grid])
    peaks = [grid[i] for i in range(1, len(grid) - 1) if spectrum[i] > spectrum[i - 1] and spectrum[i] > spectrum[i + 1]]
    top = sorted(peaks, key=lambda t: -spectrum[np.searchsorted(grid, t)])[:2]
    np.testing.assert_allclose(sorted(top), [1.0, 2.2], atol=0.02)


@pytest.mark.parametrize("fn", [mvdr_spectrum_at, mvdr_output_power])
def test_mvdr_gradients_in_direction_and_positions(fn):
    rng = np.random.default_rng(22)
    positions = np.stack([np.arange(5) * 0.1, 0.01 * rng.standard_normal(5)], axis=1)
    X = _mvdr_snapshots(rng, positions, [1.1], 1000.0)
    f = adc.differentiate(fn, wrt=("theta", "positions"), backend="python")
    g_theta, g_pos = f.grad(1.3, positions, X)
    h = 1e-6
    fd_theta = (fn(1.3 + h, positions, X) - fn(1.3 - h, positions, X)) / (2 * h)
    np.testing.assert_allclose(g_theta, fd_theta, rtol=1e-6)
    v = rng.standard_normal(positions.shape)
    fd_pos = (fn(1.3, positions + h * v, X) - fn(1.3, positions - h * v, X)) / (2 * h)
    np.testing.assert_allclose(np.sum(g_pos * v), fd_pos, rtol=1e-6)
    _, tangent = f.jvp(1.3, positions, X, tangents=(0.3, v))  # forward mode: the other path
    np.testing.assert_allclose(tangent, 0.3 * g_theta + np.sum(g_pos * v), rtol=1e-9)


def test_mvdr_numba_equals_python():
    rng = np.random.default_rng(23)
    positions = np.stack([np.arange(4) * 0.1, np.zeros(4)], axis=1)
    X = _mvdr_snapshots(rng, positions, [0.9], 1000.0)
    python = adc.differentiate(mvdr_output_power, wrt=("theta", "positions"), backend="python")
    compiled = adc.differentiate(mvdr_output_power, wrt=("theta", "positions"), backend="numba")
    got, want = compiled.value_and_grad(1.2, positions, X), python.value_and_grad(1.2, positions, X)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    for g, w in zip(got[1], want[1]):
        np.testing.assert_allclose(g, w, rtol=1e-10)
