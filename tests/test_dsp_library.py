"""adc.dsp, the differentiable DSP library: values against numpy references, istft(stft(x)) == x,
and gradients of real losses through stft -> magnitude/power -> mel -> log and through the
cepstrum against central differences (rtol 1e-6) and against forward mode (the dot-product
test <J v, w> = <v, J^T w>, relative 1e-10)."""
import numpy as np
import pytest

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
