"""adc.dsp, the differentiable DSP library: values against numpy references, istft(stft(x)) == x,
and gradients of real losses through stft -> magnitude/power -> mel -> log and through the
cepstrum against central differences (rtol 1e-6) and against forward mode (the dot-product
test <J v, w> = <v, J^T w>, relative 1e-10)."""
import numpy as np
import pytest
from fuzz.oracle import Case, check_case

import adc
from adc import dsp

SAMPLE_RATE = 8000
FRAME = 32
HOP = 8  # 75% overlap
N_MELS = 6
FLOOR = 1e-6
LENGTH = 96  # 9 whole frames


# -- programs (module level, so adc can read their source) -------------------------------
def frames_of(x):
    return dsp.frame(x, 16, 4)


def stft_of(x, window):
    return dsp.stft(x, window, 8)


def istft_of(S, window):
    return dsp.istft(S, window, 8, 96)


def roundtrip(x, window):
    return dsp.istft(dsp.stft(x, window, 8), window, 8, x.shape[0])


def log_mel(x, window, filterbank):
    return dsp.log_compress(dsp.mel_spectrogram(x, window, 8, filterbank), 1e-6)


def log_mel_loss(x, window, filterbank, target):
    d = log_mel(x, window, filterbank) - target
    return np.sum(d * d)


def log_magnitude_mel(x, window, filterbank):
    return dsp.log_compress(dsp.apply_filterbank(dsp.magnitude(dsp.stft(x, window, 8)), filterbank), 1e-6)


def log_magnitude_mel_loss(x, window, filterbank, target):
    d = log_magnitude_mel(x, window, filterbank) - target
    return np.mean(d * d)


def cepstrum_of(x):
    return dsp.cepstrum(x)


def cepstral_loss(x, target):
    c = dsp.cepstrum(x)
    d = c[:12] - target
    return np.sum(d * d) + 0.1 * np.sum(c * c)


# -- references and oracles ------------------------------------------------------------------
def periodic_hann(n):
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)


def reference_stft(x, window, hop):
    frames = np.lib.stride_tricks.sliding_window_view(x, window.shape[0])[::hop]
    return np.fft.rfft(frames * window, axis=-1)


def inner(a, b) -> float:
    """The real inner product Re sum(conj(a) b), the one reverse mode is the adjoint for."""
    return float(np.real(np.vdot(a, b)))


def central_difference(f, args, i, direction, h=1e-3):
    """4-point central difference of the real f along `direction` in argument i."""
    def at(t):
        moved = list(args)
        moved[i] = args[i] + t * direction
        return f(*moved)
    return (8 * (at(h) - at(-h)) - (at(2 * h) - at(-2 * h))) / (12 * h)


def unit(v):
    return v / np.linalg.norm(v)


def check_gradient_matches_fd(program, args, backend, trials=3, seed=0):
    f = adc.differentiate(program, wrt=0, backend=backend)
    value, g = f.value_and_grad(*args)
    assert value == pytest.approx(program(*args), rel=1e-12)
    rng = np.random.default_rng(seed)
    for _ in range(trials):
        v = unit(rng.standard_normal(args[0].shape))
        fd = central_difference(program, args, 0, v)
        ad = float(np.dot(g, v))
        assert abs(ad - fd) <= 1e-6 * abs(fd), (ad, fd)


def check_dot_product(program, args, backend, seed=1):
    """<J v, w> (forward mode) == <v, J^T w> (reverse mode) for random v, w."""
    rng = np.random.default_rng(seed)
    f = adc.differentiate(program, wrt=0, backend=backend)
    y = f(*args)
    v = rng.standard_normal(args[0].shape)
    w = rng.standard_normal(y.shape)
    if np.iscomplexobj(args[0]):
        v = v + 1j * rng.standard_normal(args[0].shape)
    if np.iscomplexobj(y):
        w = w + 1j * rng.standard_normal(y.shape)
    _, jv = f.jvp(*args, tangents=v)
    _, jtw = f.vjp(*args, cotangent=w)
    assert jv.shape == y.shape and jtw.shape == args[0].shape
    lhs, rhs = inner(jv, w), inner(v, jtw)
    assert abs(lhs - rhs) <= 1e-10 * max(abs(lhs), abs(rhs)), (lhs, rhs)


rng = np.random.default_rng(7)
X = rng.standard_normal(LENGTH)
WINDOW = periodic_hann(FRAME)
FILTERBANK = dsp.mel_filterbank(SAMPLE_RATE, FRAME, N_MELS)


# -- values --------------------------------------------------------------------------------
def test_frame_is_a_strided_view():
    x = rng.standard_normal(50)
    f = adc.differentiate(frames_of, backend="python")
    expected = np.lib.stride_tricks.sliding_window_view(x, 16)[::4]
    np.testing.assert_array_equal(f(x), expected)
    assert expected.shape == (dsp.n_frames(50, 16, 4), 16) == (9, 16)


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_stft_matches_numpy_reference(backend):
    f = adc.differentiate(stft_of, wrt=0, backend=backend)
    S = f(X, WINDOW)
    assert S.shape == (9, FRAME // 2 + 1) and S.dtype == np.complex128
    np.testing.assert_allclose(S, reference_stft(X, WINDOW, HOP), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(stft_of(X, WINDOW), S, rtol=1e-12, atol=1e-12)  # plain numpy too


def test_istft_inverts_stft_under_cola():
    # periodic Hann at 75% overlap: the summed squared window is constant (1.5) wherever 4 frames overlap
    f = adc.differentiate(roundtrip, backend="python")
    y = f(X, WINDOW)
    interior = slice(FRAME - HOP, LENGTH - FRAME + HOP)
    np.testing.assert_allclose(y[interior], X[interior], rtol=1e-12, atol=1e-12)
    # with the summed squared window as the normaliser, every sample some frame covers with
    # nonzero weight comes back, edges included (x[0] sits at the Hann window's zero)
    np.testing.assert_allclose(y[1:], X[1:], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(roundtrip(X, WINDOW), y, rtol=1e-12, atol=1e-12)
    # its derivative is the identity there as well
    w = rng.standard_normal(LENGTH)
    _, x_bar = f.vjp(X, WINDOW, cotangent=w)
    np.testing.assert_allclose(x_bar[1:], w[1:], rtol=1e-10, atol=1e-12)


def test_mel_filterbank_is_triangular_on_the_mel_scale():
    fb = dsp.mel_filterbank(16000, 512, 40, 50.0, 7000.0)
    assert fb.shape == (40, 257)
    assert fb.min() >= 0.0 and fb.max() <= 1.0
    bin_hz = np.linspace(0, 8000, 257)
    peaks = bin_hz[np.argmax(fb, axis=1)]
    assert np.all(np.diff(peaks) >= 0)
    assert np.all(fb[:, bin_hz < 50.0] == 0) and np.all(fb[:, bin_hz > 7000.0] == 0)
    centre = dsp.mel_to_hz(dsp.hz_to_mel(50.0) + (dsp.hz_to_mel(7000.0) - dsp.hz_to_mel(50.0)) / 41)
    assert dsp.hz_to_mel(1000.0) == pytest.approx(999.99, abs=0.1)  # HTK: 1000 Hz is ~1000 mel
    assert abs(peaks[0] - centre) <= 8000 / 256


def test_mel_and_cepstrum_values_match_numpy():
    f = adc.differentiate(log_mel, backend="python")
    P = np.abs(reference_stft(X, WINDOW, HOP)) ** 2
    np.testing.assert_allclose(f(X, WINDOW, FILTERBANK), np.log(np.maximum(P @ FILTERBANK.T, FLOOR)), rtol=1e-12)
    c = adc.differentiate(cepstrum_of, backend="python")(X)
    np.testing.assert_allclose(c, np.fft.irfft(np.log(np.abs(np.fft.rfft(X)) + 1e-10), LENGTH), rtol=1e-12, atol=1e-12)


# -- gradients -----------------------------------------------------------------------------
def test_log_mel_loss_gradient_matches_finite_differences():
    target = log_mel(rng.standard_normal(LENGTH), WINDOW, FILTERBANK)
    check_gradient_matches_fd(log_mel_loss, (X, WINDOW, FILTERBANK, target), "python")


def test_log_magnitude_mel_loss_gradient_matches_finite_differences():
    target = log_magnitude_mel(rng.standard_normal(LENGTH), WINDOW, FILTERBANK)
    check_gradient_matches_fd(log_magnitude_mel_loss, (X, WINDOW, FILTERBANK, target), "python")


def test_cepstral_loss_gradient_matches_finite_differences():
    check_gradient_matches_fd(cepstral_loss, (X, rng.standard_normal(12)), "python")


@pytest.mark.parametrize("program, args", [
    (stft_of, (X, WINDOW)),
    (istft_of, (reference_stft(rng.standard_normal(LENGTH), WINDOW, HOP), WINDOW)),
    (roundtrip, (X, WINDOW)),
    (log_mel, (X, WINDOW, FILTERBANK)),
    (log_magnitude_mel, (X, WINDOW, FILTERBANK)),
    (cepstrum_of, (X,)),
], ids=lambda p: getattr(p, "__name__", ""))
def test_forward_and_reverse_mode_agree(program, args):
    check_dot_product(program, args, "python")


def test_numba_backend_gradient_and_dot_product():
    target = log_mel(rng.standard_normal(LENGTH), WINDOW, FILTERBANK)
    args = (X, WINDOW, FILTERBANK, target)
    check_gradient_matches_fd(log_mel_loss, args, "numba")
    g_numba = adc.differentiate(log_mel_loss, backend="numba").grad(*args)
    g_python = adc.differentiate(log_mel_loss, backend="python").grad(*args)
    np.testing.assert_allclose(g_numba, g_python, rtol=1e-12, atol=1e-14)
    check_dot_product(cepstrum_of, (X,), "numba")


# -- adc problems met while writing adc.dsp ----------------------------------------------
# Minimal reproducers of compiler bugs found while writing adc.dsp, kept as regression tests.
def rfft_last_axis_negative(x):
    return np.fft.rfft(x, axis=-1)


def matmul_transposed(a, b):
    return a @ b.T


def irfft_rows_with_n(S):
    return np.fft.irfft(S, 8, axis=1)


def irfft_of_real_local(x):
    y = np.exp(x)
    return np.fft.irfft(y)


def abs_of_unnamed_complex(z):
    return np.sum(np.abs(z * 2.0))


def local_array_read_whole_in_loop(a):
    s = a * 2.0
    total = 0.0
    for _ in range(3):
        total += np.sum(s * s)
    return total


def test_regression_fft_negative_axis():
    x = rng.standard_normal((3, 8))
    np.testing.assert_allclose(adc.differentiate(rfft_last_axis_negative, backend="python")(x), np.fft.rfft(x))


def test_regression_transpose():
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((5, 4))
    np.testing.assert_allclose(adc.differentiate(matmul_transposed, backend="python")(a, b), a @ b.T)


def test_regression_irfft_n_on_rows():
    S = np.fft.rfft(rng.standard_normal((3, 8)), axis=1)
    adc.differentiate(irfft_rows_with_n, backend="python").vjp(S, cotangent=np.ones((3, 8)))


def test_regression_irfft_of_real_local():
    x = rng.standard_normal(5)
    f = adc.differentiate(irfft_of_real_local, backend="python")
    np.testing.assert_allclose(f(x), irfft_of_real_local(x))
    f.vjp(x, cotangent=np.ones(8))


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_abs_of_an_unnamed_complex_array(backend):
    # once broke reverse mode (a real adjoint multiplied in place by a complex factor); stft's
    # result reaches dsp.magnitude unnamed
    z = rng.standard_normal(4) + 1j * rng.standard_normal(4)
    g = adc.differentiate(abs_of_unnamed_complex, backend=backend).grad(z)
    np.testing.assert_allclose(g, 2 * z / np.abs(z), rtol=1e-12)


def test_regression_local_array_read_whole_in_loop_numba():
    a = rng.standard_normal(4)
    g = adc.differentiate(local_array_read_whole_in_loop, backend="numba").grad(a)
    np.testing.assert_allclose(g, 24 * a)


# -- convolve2d / correlate2d -------------------------------------------------------------------
try:
    import scipy.signal as scipy_signal
except ImportError:  # the reference below is then a loop over the taps
    scipy_signal = None

MODES_2D = ("full", "same", "valid")
# (image, kernel) shapes: odd and even kernels, a kernel taller or wider than the image (for "full"
# and "same"), larger in both axes ("valid" then swaps, as scipy does), and kernels above
# dsp.CONVOLVE2D_FFT_TAPS (45, 49 and 56 taps) for the FFT path
SHAPES_2D = [((7, 9), (3, 4)), ((6, 8), (2, 2)), ((5, 6), (1, 3)), ((9, 10), (7, 7)), ((8, 11), (5, 9)),
             ((5, 6), (7, 8)), ((4, 4), (4, 5)), ((3, 3), (5, 5)), ((5, 8), (7, 3)), ((4, 9), (6, 2))]


def reference_2d(kind, image, kernel, mode):
    """scipy.signal's convolve2d / correlate2d, or where scipy is absent the same by a loop over taps."""
    if scipy_signal is not None:
        return getattr(scipy_signal, kind)(image, kernel, mode)
    if kind == "correlate2d":
        kernel = kernel[::-1, ::-1]
    (h, w), (kh, kw) = image.shape, kernel.shape
    full = np.zeros((h + kh - 1, w + kw - 1))
    for i in range(kh):
        for j in range(kw):
            full[i:i + h, j:j + w] += kernel[i, j] * image
    if mode == "full":
        return full
    if mode == "same":  # scipy centres convolve2d at (k - 1) // 2 and correlate2d at k // 2
        r0, c0 = ((kh - 1) // 2, (kw - 1) // 2) if kind == "convolve2d" else (kh // 2, kw // 2)
        return full[r0:r0 + h, c0:c0 + w]
    return full[min(h, kh) - 1:max(h, kh), min(w, kw) - 1:max(w, kw)]


def valid_2d_defined(image_shape, kernel_shape):
    """Whether scipy's "valid" is defined: one operand at least as large as the other in every axis."""
    bigger = [a >= b for a, b in zip(image_shape, kernel_shape)]
    smaller = [a <= b for a, b in zip(image_shape, kernel_shape)]
    return all(bigger) or all(smaller)


def convolve2d_full(image, kernel):
    return dsp.convolve2d(image, kernel)


def convolve2d_same(image, kernel):
    return dsp.convolve2d(image, kernel, "same")


def convolve2d_valid(image, kernel):
    return dsp.convolve2d(image, kernel, mode="valid")


def correlate2d_full(image, kernel):
    return dsp.correlate2d(image, kernel, "full")


def correlate2d_same(image, kernel):
    return dsp.correlate2d(image, kernel, mode="same")


def correlate2d_valid(image, kernel):
    return dsp.correlate2d(image, kernel, "valid")


def convolve2d_bad_mode(image, kernel):
    return dsp.convolve2d(image, kernel, "circular")


def convolve2d_loss(image, kernel):
    y = dsp.convolve2d(image, kernel, "same")
    return np.sum(y * y) + np.sum(np.sin(y[1:, :-1]))


PROGRAMS_2D = {f.__name__: f for f in (convolve2d_full, convolve2d_same, convolve2d_valid,
                                       correlate2d_full, correlate2d_same, correlate2d_valid)}


@pytest.mark.parametrize("path", ["chosen", "direct", "fft"])
@pytest.mark.parametrize("name", sorted(PROGRAMS_2D))
def test_convolve2d_values_match_scipy(name, path, monkeypatch):
    """Every mode and shape, on the path the threshold picks and on each path forced (the threshold is a
    module constant adc folds in and compiles again for); plain Python gives the same values."""
    if path != "chosen":
        monkeypatch.setattr(dsp, "CONVOLVE2D_FFT_TAPS", 0 if path == "fft" else 10 ** 9)
    kind, mode = name.split("_")
    program = PROGRAMS_2D[name]
    f = adc.differentiate(program, backend="python")
    for image_shape, kernel_shape in SHAPES_2D:
        if mode == "valid" and not valid_2d_defined(image_shape, kernel_shape):
            continue
        image, kernel = rng.standard_normal(image_shape), rng.standard_normal(kernel_shape)
        expected = reference_2d(kind, image, kernel, mode)
        got = f(image, kernel)
        assert got.shape == expected.shape, (image_shape, kernel_shape, got.shape, expected.shape)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(program(image, kernel), expected, rtol=1e-12, atol=1e-12)


def test_convolve2d_valid_refuses_what_scipy_refuses():
    """"valid" with neither operand at least as large as the other in every axis: scipy raises, and so does
    adc's compiled code (an AssertionError naming the mode) and the plain function."""
    image, kernel = rng.standard_normal((5, 8)), rng.standard_normal((7, 3))
    for program in (convolve2d_valid, correlate2d_valid):
        with pytest.raises(AssertionError, match="mode 'valid' needs one of image and kernel"):
            adc.differentiate(program, backend="python")(image, kernel)
        with pytest.raises(AssertionError):
            program(image, kernel)
    if scipy_signal is not None:
        with pytest.raises(ValueError):
            scipy_signal.convolve2d(image, kernel, "valid")


def test_convolve2d_refuses_an_unknown_mode():
    with pytest.raises(adc.CompileError, match="mode must be 'full', 'same' or 'valid'"):
        adc.differentiate(convolve2d_bad_mode, backend="python")(np.ones((4, 4)), np.ones((2, 2)))


ORACLE_HEADER = "import math\nimport numpy as np\n\nimport adc.dsp\n\n\n"
ORACLE_2D = """
def main(image, kernel):
    y = adc.dsp.{kind}(image, kernel, {mode!r})
    return np.sum(y * np.sin(y)) + image[0, 0] * np.sum(y * y)
"""


@pytest.mark.parametrize("name", sorted(PROGRAMS_2D))
def test_convolve2d_oracle(name):
    """Primal against Python, grad in image and kernel against central differences, the jvp/vjp dot
    test and hvp by the fuzzer's oracle, on both paths (shapes either side of the threshold); correlate2d_valid
    on the numba backend as well (it compiles both paths, about 10 s; convolve2d_same's numba kernels are
    checked by test_convolve2d_gradient_and_dot_product)."""
    kind, mode = name.split("_")
    numba = name == "correlate2d_valid"
    src = ORACLE_2D.format(kind=kind, mode=mode)
    shapes = [((6, 7), (3, 4)), ((5, 6), (7, 8)), ((9, 8), (7, 7))]  # direct, FFT (kernel larger), FFT
    if mode == "valid":  # kernels larger in both axes: scipy swaps the operands
        shapes[1:1] = [((4, 5), (7, 8)), ((3, 4), (5, 6))]
    for image_shape, kernel_shape in shapes:
        args = (np.round(rng.standard_normal(image_shape), 3), np.round(rng.standard_normal(kernel_shape), 3))
        check_case(Case(ORACLE_HEADER + src, args, ("image", "kernel"), numba=numba, hvp=True), strict=True)


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_convolve2d_gradient_and_dot_product(backend):
    """wrt=("image", "kernel"): grad against 4-point central differences and <J t, w> = <t, J^T w>, on a
    3 x 3 kernel (the direct path) and a 7 x 7 one (the FFT path)."""
    f = adc.differentiate(convolve2d_loss, wrt=("image", "kernel"), backend=backend)
    y_of = adc.differentiate(convolve2d_same, wrt=("image", "kernel"), backend=backend)
    image = rng.standard_normal((12, 10))
    for k in (3, 7):
        kernel = rng.standard_normal((k, k)) / k
        value, (g_image, g_kernel) = f.value_and_grad(image, kernel)
        assert value == pytest.approx(convolve2d_loss(image, kernel), rel=1e-12)
        for _ in range(2):
            t = (unit(rng.standard_normal(image.shape)), unit(rng.standard_normal(kernel.shape)))
            fd = central_difference(lambda a, b: convolve2d_loss(a, b), (image, kernel), 0, t[0]) + \
                central_difference(lambda a, b: convolve2d_loss(a, b), (image, kernel), 1, t[1])
            ad = float(np.sum(g_image * t[0]) + np.sum(g_kernel * t[1]))
            assert abs(ad - fd) <= 1e-6 * abs(fd), (k, ad, fd)
        t = (rng.standard_normal(image.shape), rng.standard_normal(kernel.shape))
        y, jt = y_of.jvp(image, kernel, tangents=t)
        w = rng.standard_normal(y.shape)
        _, (w_image, w_kernel) = y_of.vjp(image, kernel, cotangent=w)
        lhs, rhs = inner(jt, w), inner(t[0], w_image) + inner(t[1], w_kernel)
        assert abs(lhs - rhs) <= 1e-10 * max(abs(lhs), abs(rhs)), (k, lhs, rhs)
