"""Differentiable DSP building blocks written in adc's subset.

Each function here is an ordinary Python function: call it from a function you pass to
`adc.differentiate` and adc inlines it, so its derivative comes out of the same generated
code as yours. They work unchanged (and give the same values) as plain numpy code.

Shape conventions: signals are 1-d float64 arrays; spectrograms are 2-d with time first,
(n_frames, n_bins), with n_bins = frame_length // 2 + 1 (the rfft bins). Frames start at
multiples of `hop` and only whole frames are kept (no padding).

Sections, in this order (docs/dsp.md describes each, with its derivative conventions):

- spectral: frame, stft, istft, magnitude, power, mel scale and filterbank, log_compress, cepstrum
- 2-d convolution: convolve2d, correlate2d
- state-space models: kalman_nll(_control), rts_smoother(_control)
- interpolation and resampling: interp_linear, interp_cubic (Keys / Catmull-Rom), interp_bspline
  (bspline_coefficients), interpolate, resample, fractional_delay, interp2d_linear, interp2d_cubic;
  boundary modes "clamp", "reflect", "zero"
- wavelets: dwt, idwt, wavedec, waverec, swt, iswt; HAAR, DB2, DB3, DB4 (wavelet_filter)
- sparse and non-smooth: soft_threshold, smooth_l1, huber, smooth_clip, smooth_max, smooth_min,
  softmax, soft_argmax, parabolic_peak, ste_round, quantize_ste, noise_quantize
- numerics: safe_log, safe_sqrt, safe_abs, safe_divide, unwrap_phase
- beamforming: steering_delays, delay_and_sum, filter_and_sum; narrowband steering_vector, sample_covariance,
  mvdr_weights, mvdr_power
"""
import numpy as np

from adc.custom import custom_vjp

# -- Spectral: framing, STFT / ISTFT, mel, cepstrum ---------------------------------------------
# istft leaves samples whose summed squared window is below this undivided: those no window
# covers (sample 0 under a periodic Hann window, whose first value is 0; a tail no whole frame reaches)
WINDOW_SUM_FLOOR = 1e-10


def n_frames(length, frame_length, hop):
    """The number of whole frames of `frame_length` samples, `hop` apart, in `length` samples."""
    return 1 + (length - frame_length) // hop


def frame(x, frame_length, hop):
    """Overlapping frames of a 1-d real signal x: (n_frames, frame_length), frame t is x[t*hop : t*hop + frame_length]."""
    count = n_frames(x.shape[0], frame_length, hop)
    frames = np.zeros((count, frame_length))
    for t in range(count):
        for k in range(frame_length):
            frames[t, k] = x[t * hop + k]
    return frames


def stft(x, window, hop):
    """Short-time Fourier transform of a 1-d real x: complex (n_frames, frame_length // 2 + 1), frame_length = len(window)."""
    frames = frame(x, window.shape[0], hop)
    return np.fft.rfft(frames * window, axis=1)


def istft(S, window, hop, length):
    """Inverse of stft: irfft per frame, windowed overlap-add, divided by the summed squared window; 1-d, `length` samples."""
    frame_length = window.shape[0]
    frames = np.fft.irfft(S, frame_length, axis=1)
    acc = np.zeros(length)
    norm = np.zeros(length)
    for t in range(S.shape[0]):
        for k in range(frame_length):
            n = t * hop + k
            if n < length:
                acc[n] += frames[t, k] * window[k]
                norm[n] += window[k] * window[k]
    y = np.zeros(length)
    for n in range(length):
        if norm[n] > WINDOW_SUM_FLOOR:
            y[n] = acc[n] / norm[n]
        else:
            y[n] = acc[n]
    return y


def magnitude(S):
    """Elementwise magnitude |S| of a complex spectrogram (same shape, real)."""
    return np.abs(S)


def power(S):
    """Elementwise power |S|^2 = Re(S)^2 + Im(S)^2 of a complex spectrogram (same shape, real; smooth at 0)."""
    return S.real * S.real + S.imag * S.imag


def hz_to_mel(f):
    """HTK mel scale of a frequency in Hz (scalar or array): 2595 log10(1 + f / 700)."""
    return 2595.0 * np.log10(1.0 + f / 700.0)


def mel_to_hz(m):
    """Inverse of hz_to_mel."""
    return 700.0 * (10.0 ** (m / 2595.0) - 1.0)


def mel_filterbank(sample_rate, n_fft, n_mels, fmin=0.0, fmax=None):
    """Triangular HTK-style mel filters (peak 1, not differentiated): (n_mels, n_fft // 2 + 1), for use on rfft bins."""
    fmax = sample_rate / 2.0 if fmax is None else fmax
    bin_hz = np.linspace(0.0, sample_rate / 2.0, n_fft // 2 + 1)
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bin_hz[None, :] - lower) / (centre - lower)
    falling = (upper - bin_hz[None, :]) / (upper - centre)
    return np.maximum(0.0, np.minimum(rising, falling))


def apply_filterbank(S, filterbank):
    """S @ filterbank.T for a real spectrogram S (n_frames, n_bins) and filters (n_bands, n_bins): (n_frames, n_bands)."""
    return S @ filterbank.T


def mel_spectrogram(x, window, hop, filterbank):
    """Mel power spectrogram of a 1-d real x: power(stft(x, window, hop)) @ filterbank.T, (n_frames, n_mels)."""
    return apply_filterbank(power(stft(x, window, hop)), filterbank)


def log_compress(s, floor):
    """log(max(s, floor)) elementwise: a log that stays finite (derivative 0 below the floor)."""
    return np.log(np.maximum(s, floor))


def cepstrum(x, floor=1e-10):
    """Real cepstrum of a 1-d real x: irfft(log(|rfft(x)| + floor)), same length as x."""
    spectrum = np.fft.rfft(x)
    return np.fft.irfft(np.log(np.abs(spectrum) + floor), x.shape[0])


# -- 2-d convolution -------------------------------------------------------------------------
# convolve2d and correlate2d take the FFT path when the kernel has more than this many taps
# (kh * kw), the direct path otherwise. Measured with benchmarks/convolve2d.py: value_and_grad of
# sum(convolve2d(image, kernel, "same") ** 2) w.r.t. image and kernel under adc (numba backend),
# 256 x 256 float64 image, 2 shared cores, best of 10, milliseconds, each path forced through
# this constant:
#
#     kernel   taps   direct     FFT    (primal: direct   FFT)
#      3 x 3      9     2.1      6.8              0.8     1.2
#      5 x 5     25     4.9      6.9              2.0     1.2
#      7 x 7     49     9.3      6.9              3.7     1.1
#     15 x 15   225    54        6.7             16       1.1
#     31 x 31   961   217        7.4             65       1.2
#
# The direct path costs about 0.2 ms a tap here, the FFT path a near-constant 7 ms: they cross
# between 25 and 49 taps, at about 36, and did so at 128 x 128 and 512 x 512 too (7 x 7: direct/FFT
# 1.6 and 0.85; 5 x 5: 0.9 and 0.46). The FFT path's time is twice what it is outside the `if`
# that chooses the path (3.4 ms at 256 x 256): adc's reverse sweep recomputes the transforms made
# inside a branch. Should that be fixed, the crossover drops to about 16 taps.
CONVOLVE2D_FFT_TAPS = 40


def _mode_code(mode):
    """4, 3 or 2 for mode "full", "same" or "valid": the length of np.convolve's result for lengths 3
    and 2 in that mode (adc cannot compare strings, but np.convolve reads its mode as a constant and
    refuses any other)."""
    return np.convolve(np.ones(3), np.ones(2), mode).shape[0]


def _fft_length(m):
    """The least 2^a 3^b 5^c >= m: an FFT length pocketfft transforms quickly."""
    best = 1
    while best < m:
        best *= 2
    odd = 1
    while odd < best:
        q5 = odd
        while q5 < best:
            q = q5
            while q < m:
                q *= 2
            best = min(best, q)
            q5 *= 5
        odd *= 3
    return best


def _window_start(n, k, code, lead):
    """Where the mode's window starts along one axis of the full result (n + k - 1 entries):
    0 ("full"), `lead` ("same": (k - 1) // 2 for convolve2d, k // 2 for correlate2d, as
    scipy.signal does) or min(n, k) - 1 ("valid")."""
    return 0 if code == 4 else (lead if code == 3 else min(n, k) - 1)


def _window_length(n, k, code):
    """How many entries the mode keeps along one axis: n + k - 1 ("full"), n ("same": the
    image's extent, as scipy.signal does) or |n - k| + 1 ("valid")."""
    return n + k - 1 if code == 4 else (n if code == 3 else max(n, k) - min(n, k) + 1)


def _convolve2d_direct(image, kernel, r0, nr, c0, nc):
    """Rows r0..r0+nr, columns c0..c0+nc of the full 2-d convolution, directly: for each output row,
    each kernel row that reaches it and each tap of that row, the image row scaled by the tap
    added into the columns it lands on. Element loops rather than whole-slice `out[...] += k * x`:
    under adc (numba) their value_and_grad runs 3 to 4x faster (benchmarks/convolve2d.py)."""
    h, w = image.shape[0], image.shape[1]
    kh, kw = kernel.shape[0], kernel.shape[1]
    out = np.zeros((nr, nc))
    for r in range(nr):
        fr = r + r0
        for i in range(max(0, fr - h + 1), min(kh, fr + 1)):
            a = fr - i
            for j in range(kw):
                tap = kernel[i, j]
                for b in range(max(0, c0 - j), min(w, c0 + nc - j)):
                    out[r, b + j - c0] += tap * image[a, b]
    return out


def _convolve2d_fft(image, kernel, r0, nr, c0, nc):
    """The same window through one circular convolution by rfft2/irfft2, of the least fast size
    (2^a 3^b 5^c per axis) at which no entry of the window wraps onto another nonzero entry of
    the full result."""
    full_r = image.shape[0] + kernel.shape[0] - 1
    full_c = image.shape[1] + kernel.shape[1] - 1
    sr = _fft_length(max(r0 + nr, full_r - r0))
    sc = _fft_length(max(c0 + nc, full_c - c0))
    spectrum = np.fft.rfft2(image, s=(sr, sc)) * np.fft.rfft2(kernel, s=(sr, sc))
    circular = np.fft.irfft2(spectrum, s=(sr, sc))
    return circular[r0:r0 + nr, c0:c0 + nc]


def _convolve2d_window(image, kernel, code, lead_r, lead_c):
    """The mode's window of the full 2-d convolution, by the direct or the FFT path."""
    h, w = image.shape[0], image.shape[1]
    kh, kw = kernel.shape[0], kernel.shape[1]
    assert code != 2 or (h >= kh and w >= kw) or (h <= kh and w <= kw), \
        "mode 'valid' needs one of image and kernel at least as large as the other in every dimension (as scipy.signal)"
    r0, nr = _window_start(h, kh, code, lead_r), _window_length(h, kh, code)
    c0, nc = _window_start(w, kw, code, lead_c), _window_length(w, kw, code)
    if kh * kw > CONVOLVE2D_FFT_TAPS:
        out = _convolve2d_fft(image, kernel, r0, nr, c0, nc)
    else:
        out = _convolve2d_direct(image, kernel, r0, nr, c0, nc)
    return out


def convolve2d(image, kernel, mode="full"):
    """2-d convolution of a real 2-d image with a real 2-d kernel, as scipy.signal.convolve2d(image,
    kernel, mode) with its default boundary="fill", fillvalue=0:

        full[r, c] = sum_ij kernel[i, j] image[r - i, c - j]     ((h + kh - 1) x (w + kw - 1))

    mode "full" keeps all of it; "same" the image's shape, rows from (kh - 1) // 2 and columns
    from (kw - 1) // 2; "valid" the |h - kh| + 1 x |w - kw| + 1 entries where one operand lies
    wholly inside the other (an AssertionError when neither is at least as large as the other in
    every dimension, as scipy refuses). The mode must be a constant. Direct (a multiply-add per
    tap and pixel) up to CONVOLVE2D_FFT_TAPS taps, by FFT above; a float64 result either way.
    Called outside adc, as plain Python, the direct path's loops run at Python's speed."""
    code = _mode_code(mode)
    return _convolve2d_window(image, kernel, code, (kernel.shape[0] - 1) // 2, (kernel.shape[1] - 1) // 2)


def correlate2d(image, kernel, mode="full"):
    """2-d cross-correlation of a real 2-d image with a real 2-d kernel, as
    scipy.signal.correlate2d(image, kernel, mode):

        full[r, c] = sum_ij kernel[i, j] image[r + i - kh + 1, c + j - kw + 1]

    the convolution with the kernel flipped in both axes. Modes as convolve2d's, except that
    "same" starts at row kh // 2 and column kw // 2 of the full result, as scipy's does."""
    code = _mode_code(mode)
    return _convolve2d_window(image, np.flip(kernel), code, kernel.shape[0] // 2, kernel.shape[1] // 2)


# -- State-space models -------------------------------------------------------------------------
# The linear-Gaussian model, for states 0..N with x_0 ~ N(x0, P0) and k = 0..N-1:
#
#     x_{k+1} = F x_k + B u_k + w_k,   w_k ~ N(0, Q)
#     z_k     = H x_{k+1} + v_k,       v_k ~ N(0, R)
#
# so step k of a filter predicts with row k of the controls u, then updates with row k of the
# observations z (shape (N, m)): x0, P0 describe the state before the first observation. F, Q, P0
# are (n, n), H (m, n), R (m, m), x0 (n,), B (n, p), u (N, p).
#
# adc refuses `is` (docs/subset.md), so an optional `B=None` cannot be told apart inside the
# differentiated code: each function comes without controls and as a `_control` variant that takes
# B and u; the first is the second with one zero control.


def _kalman_gain(P, H, S):
    """P H^T S^-1 by one solve (S^T K^T = H P^T), not an inverse; exact for unsymmetric P and S too."""
    PHt = P @ H.T
    return np.linalg.solve(S.T, PHt.T).T


def _joseph_update(P, K, H, R):
    """(I - K H) P (I - K H)^T + K R K^T: stays symmetric and positive semi-definite under rounding."""
    A = np.eye(P.shape[0]) - K @ H
    return A @ P @ A.T + K @ R @ K.T


def kalman_nll_control(F, H, Q, R, x0, P0, z, B, u):
    """Negative log-likelihood of z under the model above with controls u (N, p) through B (n, p):
    0.5 sum_k (log det S_k + e_k^T S_k^-1 e_k + m log 2 pi), e_k = z_k - H x_k|k-1 the innovation and
    S_k = H P_k|k-1 H^T + R its covariance, by the Kalman filter with the Joseph-form update."""
    m = z.shape[1]
    x = x0
    P = P0
    total = 0.0
    for k in range(z.shape[0]):
        x = F @ x + B @ u[k]
        P = F @ P @ F.T + Q
        S = H @ P @ H.T + R
        innov = z[k] - H @ x
        sign, logdet = np.linalg.slogdet(S)
        total += logdet + innov @ np.linalg.solve(S, innov)
        K = _kalman_gain(P, H, S)
        x = x + K @ innov
        P = _joseph_update(P, K, H, R)
    return 0.5 * (total + z.shape[0] * m * np.log(2.0 * np.pi))


def kalman_nll(F, H, Q, R, x0, P0, z):
    """kalman_nll_control without controls (B u_k = 0)."""
    return kalman_nll_control(F, H, Q, R, x0, P0, z, np.zeros((F.shape[0], 1)), np.zeros((z.shape[0], 1)))


def _kalman_filter(F, H, Q, R, x0, P0, z, B, u):
    """The filter's predicted (prior) and filtered (posterior) means (N, n) and covariances (N, n, n)."""
    N, n = z.shape[0], F.shape[0]
    prior_x, post_x = np.zeros((N, n)), np.zeros((N, n))
    prior_P, post_P = np.zeros((N, n, n)), np.zeros((N, n, n))
    x = x0
    P = P0
    for k in range(N):
        x = F @ x + B @ u[k]
        P = F @ P @ F.T + Q
        prior_x[k, :] = x
        prior_P[k, :, :] = P
        S = H @ P @ H.T + R
        K = _kalman_gain(P, H, S)
        x = x + K @ (z[k] - H @ x)
        P = _joseph_update(P, K, H, R)
        post_x[k, :] = x
        post_P[k, :, :] = P
    return prior_x, prior_P, post_x, post_P


def rts_smoother_control(F, H, Q, R, x0, P0, z, B, u):
    """Rauch-Tung-Striebel smoothed means (N, n) and covariances (N, n, n) of the states z observes
    (row k: the state after control k), given all of z: the Kalman filter forward, then backward
    x_k|N = x_k|k + C_k (x_k+1|N - x_k+1|k), P_k|N = P_k|k + C_k (P_k+1|N - P_k+1|k) C_k^T with the
    gain C_k = P_k|k F^T P_k+1|k^-1 by one solve."""
    prior_x, prior_P, post_x, post_P = _kalman_filter(F, H, Q, R, x0, P0, z, B, u)
    N = z.shape[0]
    means = np.zeros(post_x.shape)
    covs = np.zeros(post_P.shape)
    x = post_x[N - 1]
    P = post_P[N - 1]
    means[N - 1, :] = x
    covs[N - 1, :, :] = P
    for k in range(N - 2, -1, -1):
        C = _kalman_gain(post_P[k], F, prior_P[k + 1])
        x = post_x[k] + C @ (x - prior_x[k + 1])
        P = post_P[k] + C @ (P - prior_P[k + 1]) @ C.T
        means[k, :] = x
        covs[k, :, :] = P
    return means, covs


def rts_smoother(F, H, Q, R, x0, P0, z):
    """rts_smoother_control without controls."""
    return rts_smoother_control(F, H, Q, R, x0, P0, z, np.zeros((F.shape[0], 1)), np.zeros((z.shape[0], 1)))


# -- Interpolation and resampling --------------------------------------------------------------
# A 1-d signal x of n samples is read as the values at the integer coordinates 0 .. n-1. The
# boundary mode says what the signal is at every other integer k (the taps an interpolant reads
# there), and so what the interpolant is at any real coordinate:
#
#     "clamp"    x[k] = x[0] for k < 0, x[n-1] for k > n-1 (edge values repeated)
#     "reflect"  mirrored about the end samples without repeating them (x[-1] = x[1],
#                x[n] = x[n-2]; period 2 (n - 1); numpy's np.pad mode "reflect", scipy.ndimage's "mirror")
#     "zero"     x[k] = 0 outside 0 .. n-1
#
# Every interpolant here is the interpolant of that extended signal, evaluated at the coordinate:
# a linear interpolant is then constant beyond the ends under "clamp" and decays to 0 within one
# sample under "zero". Coordinates must be finite; n >= 2. The mode is a constant string.
#
# Derivatives: w.r.t. the samples the interpolants are linear (their transposes are exact); w.r.t.
# a coordinate t each is differentiated piece by piece, on the piece [i, i + 1) with i = floor(t).
# At an integer knot t = k the piece is [k, k + 1): linear interpolation, whose slope jumps there,
# returns the right-hand derivative x[k + 1] - x[k] (under "clamp", 0 at t = n - 1 and beyond, and
# at t < 0). Cubic (Keys) and cubic B-spline interpolation are C1 and C2: their derivative in t is
# continuous, the same from both sides.
INTERPOLATION_KINDS = ("linear", "cubic", "bspline")
BOUNDARY_MODES = ("clamp", "reflect", "zero")
# the pole of the cubic B-spline's interpolation filter 6 / (z + 4 + 1/z): sqrt(3) - 2
BSPLINE_POLE = 3.0 ** 0.5 - 2.0


def _check_mode(mode, n):
    assert mode == "clamp" or mode == "reflect" or mode == "zero", "mode must be 'clamp', 'reflect' or 'zero'"
    assert n >= 2, "interpolation needs at least 2 samples along each axis"
    return n


def boundary_index(k, n, mode):
    """The sample index the integer k reads under the boundary mode, for n samples: k itself inside
    0 .. n-1; outside, the nearest end ("clamp"), the mirrored index ("reflect", period 2 (n - 1)), or -1
    for a zero ("zero")."""
    j = k
    if mode == "clamp":
        j = min(max(k, 0), n - 1)
    elif mode == "reflect":
        period = 2 * (n - 1)
        j = k % period
        if j > n - 1:
            j = period - j
    elif k < 0 or k > n - 1:
        j = -1
    return j


def _tap(x, k, n, mode):
    """x at the integer k of the extended signal."""
    j = boundary_index(k, n, mode)
    return x[j] if j >= 0 else 0.0


def _tap2(image, i, j, h, w, mode):
    """image at the integer (i, j) of the extended image: the mode along each axis, 0 where either is outside under "zero"."""
    a = boundary_index(i, h, mode)
    b = boundary_index(j, w, mode)
    return image[a, b] if (a >= 0 and b >= 0) else 0.0


def _keys_weights(f):
    """The Keys (a = -0.5, Catmull-Rom) cubic's weights of the taps i-1, i, i+1, i+2 at t = i + f, 0 <= f < 1."""
    f2 = f * f
    f3 = f2 * f
    return (0.5 * (-f3 + 2.0 * f2 - f), 0.5 * (3.0 * f3 - 5.0 * f2 + 2.0),
            0.5 * (-3.0 * f3 + 4.0 * f2 + f), 0.5 * (f3 - f2))


def _bspline_weights(f):
    """The cubic B-spline's weights of the coefficients i-1, i, i+1, i+2 at t = i + f, 0 <= f < 1."""
    f2 = f * f
    f3 = f2 * f
    g = 1.0 - f
    return (g * g * g / 6.0, (3.0 * f3 - 6.0 * f2 + 4.0) / 6.0, (-3.0 * f3 + 3.0 * f2 + 3.0 * f + 1.0) / 6.0, f3 / 6.0)


def interp_linear(x, t, mode="clamp"):
    """Linear interpolation of the 1-d signal x at the 1-d coordinates t (in samples): y[m] = (1 - f) x[i] +
    f x[i + 1], i = floor(t[m]), f = t[m] - i, with x extended by the boundary mode. Differentiable in x (linear)
    and in t: the slope of the piece [i, i + 1), so at an integer coordinate the right-hand derivative
    x[k + 1] - x[k] (0 at t >= n - 1 and t < 0 under "clamp"). Inside [0, n - 1] it is np.interp(t,
    arange(n), x)."""
    n = _check_mode(mode, x.shape[0])
    y = np.zeros(t.shape[0])
    for m in range(t.shape[0]):
        tm = t[m]
        i = int(np.floor(tm))
        f = tm - i
        y[m] = (1.0 - f) * _tap(x, i, n, mode) + f * _tap(x, i + 1, n, mode)
    return y


def interp_cubic(x, t, mode="clamp"):
    """Cubic convolution (Keys, a = -0.5: Catmull-Rom) interpolation of the 1-d signal x at the 1-d coordinates
    t: four taps x[i-1 .. i+2] of the extended signal, i = floor(t). It passes through the samples and is exact
    for quadratics; C1, so its derivative in t is continuous (at the knots, the slope of the central
    difference (x[k+1] - x[k-1]) / 2). Linear in x."""
    n = _check_mode(mode, x.shape[0])
    y = np.zeros(t.shape[0])
    for m in range(t.shape[0]):
        tm = t[m]
        i = int(np.floor(tm))
        w0, w1, w2, w3 = _keys_weights(tm - i)
        y[m] = (w0 * _tap(x, i - 1, n, mode) + w1 * _tap(x, i, n, mode)
                + w2 * _tap(x, i + 1, n, mode) + w3 * _tap(x, i + 2, n, mode))
    return y


def bspline_coefficients(x, mode="clamp"):
    """The coefficients c (n of them) of the cubic B-spline that interpolates the extended signal at every
    integer: (c[k-1] + 4 c[k] + c[k+1]) / 6 = x[k]. The coefficients outside 0 .. n-1 follow from the mode
    (bspline_coefficient_at): mirrored ("reflect"); for "zero" and "clamp", the geometric tails c[-j] = x_e +
    (c[0] - x_e) p^j (p = BSPLINE_POLE, x_e = 0 or x[0]) that make the spline pass through the extended signal
    at every integer outside too. Solved as one tridiagonal system (Thomas algorithm, O(n)); linear in x."""
    n = _check_mode(mode, x.shape[0])
    p = BSPLINE_POLE
    end_diag = 4.0 if mode == "reflect" else 4.0 + p   # the end rows: c[-1] folded into c[0] (and c[1])
    end_off = 2.0 if mode == "reflect" else 1.0
    end_rhs = 5.0 + p if mode == "clamp" else 6.0
    cp = np.zeros(n)
    dp = np.zeros(n)
    cp[0] = end_off / end_diag
    dp[0] = end_rhs * x[0] / end_diag
    for k in range(1, n):
        last = k == n - 1
        lower = end_off if last else 1.0
        diag = end_diag if last else 4.0
        rhs = end_rhs * x[k] if last else 6.0 * x[k]
        denom = diag - lower * cp[k - 1]
        cp[k] = 1.0 / denom
        dp[k] = (rhs - lower * dp[k - 1]) / denom
    c = np.zeros(n)
    c[n - 1] = dp[n - 1]
    for k in range(n - 2, -1, -1):
        c[k] = dp[k] - cp[k] * c[k + 1]
    return c


def bspline_coefficient_at(c, x, k, mode):
    """The B-spline coefficient at any integer k, from the n coefficients c of bspline_coefficients(x, mode)."""
    n = c.shape[0]
    value = 0.0
    if k >= 0 and k <= n - 1:
        value = c[k]
    elif mode == "reflect":
        value = c[boundary_index(k, n, mode)]
    else:
        e = 0 if k < 0 else n - 1
        edge = x[e] if mode == "clamp" else 0.0
        value = edge + (c[e] - edge) * BSPLINE_POLE ** (-k if k < 0 else k - n + 1)
    return value


def interp_bspline(x, t, mode="clamp"):
    """Cubic B-spline interpolation of the 1-d signal x at the 1-d coordinates t: the C2 cubic spline through
    the extended signal at every integer (bspline_coefficients), evaluated at t. Smoother than interp_cubic,
    with a wider (infinite, geometrically decaying) dependence on the samples; exact for cubics far from the
    ends. Linear in x; its derivative in t is continuous. Under "reflect" it is scipy.ndimage.map_coordinates(x,
    [t], order=3, mode="mirror")."""
    c = bspline_coefficients(x, mode)
    y = np.zeros(t.shape[0])
    for m in range(t.shape[0]):
        tm = t[m]
        i = int(np.floor(tm))
        w0, w1, w2, w3 = _bspline_weights(tm - i)
        y[m] = (w0 * bspline_coefficient_at(c, x, i - 1, mode) + w1 * bspline_coefficient_at(c, x, i, mode)
                + w2 * bspline_coefficient_at(c, x, i + 1, mode) + w3 * bspline_coefficient_at(c, x, i + 2, mode))
    return y


def interpolate(x, t, kind="cubic", mode="clamp"):
    """interp_linear, interp_cubic or interp_bspline by `kind` ("linear", "cubic", "bspline"; a constant)."""
    assert kind == "linear" or kind == "cubic" or kind == "bspline", "kind must be 'linear', 'cubic' or 'bspline'"
    if kind == "linear":
        y = interp_linear(x, t, mode)
    elif kind == "cubic":
        y = interp_cubic(x, t, mode)
    else:
        y = interp_bspline(x, t, mode)
    return y


def resample(x, n_out, kind="cubic", mode="clamp"):
    """x resampled to n_out samples spanning the same extent, first and last samples kept: the interpolant at
    t_m = m (n - 1) / (n_out - 1). No anti-aliasing filter: lowpass first when n_out < n."""
    t = np.linspace(0.0, x.shape[0] - 1.0, n_out)
    return interpolate(x, t, kind, mode)


def fractional_delay(x, delay, kind="cubic", mode="zero"):
    """x delayed by a real number of samples: y[n] = x(n - delay), the interpolant of kind `kind` at n - delay
    (default: Keys cubic, zero before the first and after the last sample). Linear in x; differentiable in
    delay (for kind "linear", the right-hand derivative where delay is an integer: the slope of the piece
    the coordinates n - delay fall on). A negative delay advances."""
    t = np.arange(x.shape[0]) - delay
    return interpolate(x, t, kind, mode)


def interp2d_linear(image, r, c, mode="clamp"):
    """Bilinear interpolation of a 2-d image at the points (r[m], c[m]) (row and column coordinates, 1-d arrays
    of one length): the 2 x 2 taps around each point, the mode along each axis (under "zero", 0 outside the
    image). Linear in image; in r and c the slope of the cell [i, i+1) x [j, j+1), right-hand at integers as
    for interp_linear. For a grid of points pass R.ravel(), C.ravel() and reshape the result."""
    h = _check_mode(mode, image.shape[0])
    w = _check_mode(mode, image.shape[1])
    y = np.zeros(r.shape[0])
    for m in range(r.shape[0]):
        i = int(np.floor(r[m]))
        j = int(np.floor(c[m]))
        fr = r[m] - i
        fc = c[m] - j
        top = (1.0 - fc) * _tap2(image, i, j, h, w, mode) + fc * _tap2(image, i, j + 1, h, w, mode)
        bottom = (1.0 - fc) * _tap2(image, i + 1, j, h, w, mode) + fc * _tap2(image, i + 1, j + 1, h, w, mode)
        y[m] = (1.0 - fr) * top + fr * bottom
    return y


def _keys_row(image, i, j, c0, c1, c2, c3, h, w, mode):
    return (c0 * _tap2(image, i, j - 1, h, w, mode) + c1 * _tap2(image, i, j, h, w, mode)
            + c2 * _tap2(image, i, j + 1, h, w, mode) + c3 * _tap2(image, i, j + 2, h, w, mode))


def interp2d_cubic(image, r, c, mode="clamp"):
    """Bicubic (separable Keys a = -0.5) interpolation of a 2-d image at the points (r[m], c[m]): 4 x 4 taps,
    the mode along each axis. Linear in image, C1 in r and c."""
    h = _check_mode(mode, image.shape[0])
    w = _check_mode(mode, image.shape[1])
    y = np.zeros(r.shape[0])
    for m in range(r.shape[0]):
        i = int(np.floor(r[m]))
        j = int(np.floor(c[m]))
        r0, r1, r2, r3 = _keys_weights(r[m] - i)
        c0, c1, c2, c3 = _keys_weights(c[m] - j)
        y[m] = (r0 * _keys_row(image, i - 1, j, c0, c1, c2, c3, h, w, mode)
                + r1 * _keys_row(image, i, j, c0, c1, c2, c3, h, w, mode)
                + r2 * _keys_row(image, i + 1, j, c0, c1, c2, c3, h, w, mode)
                + r3 * _keys_row(image, i + 2, j, c0, c1, c2, c3, h, w, mode))
    return y


# -- Wavelets ----------------------------------------------------------------------------------
# Orthogonal Daubechies filter banks with periodic extension: a signal of even length n gives n/2
# approximation and n/2 detail coefficients,
#
#     a[k] = sum_j h[j] x[(2k + j) mod n],    d[k] = sum_j g[j] x[(2k + j) mod n],
#     g[j] = (-1)^j h[L-1-j]
#
# for the scaling (lowpass) filter h of L taps (sum h = sqrt 2, sum h^2 = 1, orthogonal to its even
# shifts): an orthogonal transform, so the inverse is the transpose (idwt) and both are exact to
# rounding. h is the minimum-phase Daubechies filter with L/2 vanishing moments (Daubechies 1992,
# table 6.1; PyWavelets' rec_lo), here computed by spectral factorisation at 50 digits and rounded:
# orthogonal to 2e-16, where the 12-digit tables often reprinted are off by up to 5e-12. Other
# libraries' periodic modes may align the coefficients with another circular shift. Everything here
# is linear in the signal; wavelet names are constant strings.
HAAR = np.array([0.7071067811865476, 0.7071067811865476])
DB2 = np.array([0.48296291314453416, 0.8365163037378079, 0.2241438680420134, -0.12940952255126037])
DB3 = np.array([0.33267055295008263, 0.8068915093110925, 0.45987750211849154, -0.13501102001025458,
                -0.08544127388202666, 0.03522629188570953])
DB4 = np.array([0.2303778133088965, 0.7148465705529157, 0.6308807679298589, -0.027983769416859854,
                -0.18703481171909309, 0.030841381835560764, 0.0328830116668852, -0.010597401785069032])
WAVELETS = ("haar", "db1", "db2", "db3", "db4")


def wavelet_filter(wavelet):
    """The scaling filter h of "haar" (= "db1", 2 taps), "db2" (4), "db3" (6) or "db4" (8)."""
    assert wavelet == "haar" or wavelet == "db1" or wavelet == "db2" or wavelet == "db3" or wavelet == "db4", \
        "wavelet must be 'haar', 'db1', 'db2', 'db3' or 'db4'"
    if wavelet == "haar" or wavelet == "db1":
        h = HAAR
    elif wavelet == "db2":
        h = DB2
    elif wavelet == "db3":
        h = DB3
    else:
        h = DB4
    return h


def wavelet_highpass(h):
    """The detail (highpass) filter g[j] = (-1)^j h[L-1-j] of the scaling filter h."""
    L = h.shape[0]
    g = np.zeros(L)
    for j in range(L):
        g[j] = h[L - 1 - j] if j % 2 == 0 else -h[L - 1 - j]
    return g


def _power_of_two(j):
    """2^j as an integer, for j >= 0 (adc types `2 ** j` of integers as a float: it cannot know j >= 0)."""
    p = 1
    for _ in range(j):
        p *= 2
    return p


def _analysis(x, h, g):
    n = x.shape[0]
    half = n // 2
    a = np.zeros(half)
    d = np.zeros(half)
    for k in range(half):
        sa = 0.0
        sd = 0.0
        for j in range(h.shape[0]):
            v = x[(2 * k + j) % n]
            sa += h[j] * v
            sd += g[j] * v
        a[k] = sa
        d[k] = sd
    return a, d


def _synthesis(a, d, h, g):
    n = 2 * a.shape[0]
    x = np.zeros(n)
    for k in range(a.shape[0]):
        for j in range(h.shape[0]):
            x[(2 * k + j) % n] += h[j] * a[k] + g[j] * d[k]
    return x


def dwt(x, wavelet="haar"):
    """One level of the periodic orthogonal DWT of a 1-d x of even length: (approximation, detail), n/2 each."""
    assert x.shape[0] % 2 == 0, "dwt needs an even number of samples"
    h = wavelet_filter(wavelet)
    return _analysis(x, h, wavelet_highpass(h))


def idwt(a, d, wavelet="haar"):
    """The inverse (and transpose) of dwt: the signal of 2 len(a) samples."""
    h = wavelet_filter(wavelet)
    return _synthesis(a, d, h, wavelet_highpass(h))


def wavedec(x, wavelet="haar", levels=1):
    """`levels` levels of dwt, each on the previous approximation, in one array of len(x) entries laid out
    as [a_J | d_J | d_J-1 | ... | d_1] (J = levels; d_j has n / 2^j entries, a_J n / 2^J): the order of
    PyWavelets' wavedec list. len(x) must be divisible by 2^levels. Orthogonal: waverec is its transpose."""
    n = x.shape[0]
    assert levels >= 1 and n % _power_of_two(levels) == 0, "wavedec needs len(x) divisible by 2 ** levels"
    h = wavelet_filter(wavelet)
    g = wavelet_highpass(h)
    out = np.zeros(n)
    work = np.copy(x)  # the current approximation in work[0:m]: written in place, not rebound (for jacobian(mode="fwd"))
    m = n
    for _ in range(levels):
        a, d = _analysis(work[0:m], h, g)
        out[m // 2:m] = d
        work[0:m // 2] = a
        m = m // 2
    out[0:m] = work[0:m]
    return out


def waverec(coeffs, wavelet="haar", levels=1):
    """The inverse of wavedec: the signal from [a_J | d_J | ... | d_1]."""
    n = coeffs.shape[0]
    assert levels >= 1 and n % _power_of_two(levels) == 0, "waverec needs len(coeffs) divisible by 2 ** levels"
    h = wavelet_filter(wavelet)
    g = wavelet_highpass(h)
    m = n // _power_of_two(levels)
    work = np.copy(coeffs)  # the current approximation in work[0:m]
    for _ in range(levels):
        work[0:2 * m] = _synthesis(work[0:m], coeffs[m:2 * m], h, g)
        m *= 2
    return work


def swt(x, wavelet="haar", levels=1):
    """The stationary (undecimated, a trous) wavelet transform of a 1-d x, periodic: level j filters the
    previous approximation with h and g upsampled by 2^(j-1) (holes between the taps), without decimating,

        a_j[p] = sum_k h[k] a_j-1[(p + 2^(j-1) k) mod n],   d_j likewise with g,

    returned as a (levels + 1, n) array: row 0 a_J, row i d_(J+1-i) (row J: d_1). Any length n. a_1[2k]
    and d_1[2k] are dwt's coefficients; redundant (each level keeps the energy of the one before, twice)."""
    n = x.shape[0]
    assert levels >= 1, "swt needs levels >= 1"
    h = wavelet_filter(wavelet)
    g = wavelet_highpass(h)
    out = np.zeros((levels + 1, n))
    out[0, :] = x  # row 0 holds the current approximation, overwritten level by level
    step = 1
    for lev in range(levels):
        na = np.zeros(n)
        for p in range(n):
            sa = 0.0
            sd = 0.0
            for k in range(h.shape[0]):
                v = out[0, (p + step * k) % n]
                sa += h[k] * v
                sd += g[k] * v
            na[p] = sa
            out[levels - lev, p] = sd
        out[0, :] = na
        step *= 2
    return out


def iswt(coeffs, wavelet="haar"):
    """The inverse of swt (levels = coeffs.shape[0] - 1): level by level from the coarsest, half the
    transpose of the level's filtering (the average of its two decimated phases' inverses). Exact."""
    levels = coeffs.shape[0] - 1
    n = coeffs.shape[1]
    h = wavelet_filter(wavelet)
    g = wavelet_highpass(h)
    a = np.copy(coeffs[0])  # overwritten level by level
    step = _power_of_two(levels - 1)
    for lev in range(levels):
        na = np.zeros(n)
        for p in range(n):
            for k in range(h.shape[0]):
                na[(p + step * k) % n] += 0.5 * (h[k] * a[p] + g[k] * coeffs[lev + 1, p])
        a[:] = na
        step = step // 2
    return a


# -- Sparse and non-smooth functions -----------------------------------------------------------
# Elementwise on arrays (and scalars) unless said otherwise. Where a function has a kink, the
# docstring says which one-sided derivative adc returns there.


def soft_threshold(x, lam):
    """The proximal map of lam |x|: sign(x) max(|x| - lam, 0), computed as x - clip(x, -lam, lam). Derivative in
    x: 1 where |x| > lam, 0 on the closed interval |x| <= lam (0 at the kinks x = +-lam, where the output is
    0); in lam: -sign(x) where |x| > lam, else 0. lam >= 0, a scalar or an array broadcasting with x."""
    return x - np.clip(x, -lam, lam)


def smooth_l1(x, eps):
    """sqrt(x^2 + eps^2): a smooth |x| (the pseudo-Huber / Charbonnier penalty plus eps), derivative
    x / sqrt(x^2 + eps^2), 0 at 0; differentiable in eps too (eps / sqrt(x^2 + eps^2))."""
    return np.sqrt(x * x + eps * eps)


def huber(x, delta):
    """The Huber loss: x^2 / 2 for |x| <= delta, delta (|x| - delta / 2) beyond. C1: derivative clip(x, -delta,
    delta); in delta: 0 inside, |x| - delta outside (at |x| = delta both sides agree)."""
    ax = np.abs(x)
    return np.where(ax <= delta, 0.5 * x * x, delta * (ax - 0.5 * delta))


def smooth_clip(x, lo, hi):
    """A smooth clip of x to (lo, hi): m + r tanh((x - m) / r), m = (lo + hi) / 2, r = (hi - lo) / 2 (lo < hi).
    Derivative 1 at the centre, 1 - tanh^2 elsewhere, never 0; never reaches lo or hi; differentiable in lo
    and hi."""
    m = 0.5 * (lo + hi)
    r = 0.5 * (hi - lo)
    return m + r * np.tanh((x - m) / r)


def smooth_max(x, temperature=1.0):
    """A smooth maximum of all the elements of x: temperature * log(sum(exp(x / temperature))), computed
    stably as max(x) + T log sum exp((x - max(x)) / T) (no overflow). Between max(x) and max(x) + T log(n);
    -> max(x) as T -> 0. Its gradient is softmax(x, T) (the max's own derivative cancels)."""
    m = np.max(x)
    return m + temperature * np.log(np.sum(np.exp((x - m) / temperature)))


def smooth_min(x, temperature=1.0):
    """-smooth_max(-x, temperature): a smooth minimum."""
    return -smooth_max(-x, temperature)


def softmax(x, temperature=1.0):
    """exp(x / T) / sum(exp(x / T)) over all the elements of x, stably (the maximum subtracted first)."""
    e = np.exp((x - np.max(x)) / temperature)
    return e / np.sum(e)


def soft_argmax(x, temperature=1.0):
    """Differentiable peak picking: the softmax-weighted mean index sum_k k softmax(x / T)_k of a 1-d x, a
    real number in [0, n - 1]; -> argmax as T -> 0 (for one clear peak). Its derivative in x is
    softmax(x)_k (k - soft_argmax) / T."""
    return np.sum(np.arange(x.shape[0]) * softmax(x, temperature))


def parabolic_peak(x):
    """The peak of a 1-d x refined by the parabola through x[k-1], x[k], x[k+1] at k = argmax(x): returns
    (position, value), position = k + (x[k-1] - x[k+1]) / (2 (x[k-1] - 2 x[k] + x[k+1])). Differentiable in x
    (k is fixed: piecewise smooth, with jumps where the argmax changes). At the ends, or where the three
    points are collinear, (k, x[k])."""
    n = x.shape[0]
    k = np.argmax(x)
    position = k * 1.0
    value = x[k]
    if k > 0 and k < n - 1:
        curvature = x[k - 1] - 2.0 * x[k] + x[k + 1]
        if curvature < 0.0:
            offset = 0.5 * (x[k - 1] - x[k + 1]) / curvature
            position = k + offset
            value = x[k] - 0.25 * (x[k - 1] - x[k + 1]) * offset
    return position, value


@custom_vjp
def ste_round(x):
    """np.round(x) (halves to even) with the straight-through gradient: the cotangent passes unchanged, as if
    the rounding were the identity (adc.custom_vjp; forward mode of code calling it is refused)."""
    return np.round(x)


def _ste_round_fwd(x):
    return np.round(x), ()


def _ste_round_bwd(res, g):
    return (g,)


ste_round.defvjp(_ste_round_fwd, _ste_round_bwd)


@custom_vjp
def quantize_ste(x, step):
    """Uniform quantisation step * round(x / step) of an array x with straight-through gradients: in x the
    identity; in the (scalar) step the LSQ surrogate (Esser et al. 2020) sum(g * (round(x / step) - x / step)),
    the derivative of step * r(x / step) with r's own derivative taken as 1. adc.custom_vjp: reverse mode only."""
    return step * np.round(x / step)


def _quantize_ste_fwd(x, step):
    return step * np.round(x / step), (x, step)


def _quantize_ste_bwd(res, g):
    x, step = res
    return (g, np.sum(g * (np.round(x / step) - x / step)))


quantize_ste.defvjp(_quantize_ste_fwd, _quantize_ste_bwd)


def noise_quantize(x, step, noise):
    """The noise-injection surrogate of quantisation (training-time): x + step * noise, with noise an array of
    x's shape uniform in [-0.5, 0.5) drawn by the caller (rng.uniform(-0.5, 0.5, x.shape)): the additive
    error of a step-`step` quantiser, modelled. Smooth: derivative 1 in x, noise in step; both modes."""
    return x + step * noise


# -- Numerics with documented derivatives ------------------------------------------------------


def safe_log(x, floor=1e-12):
    """log(max(x, floor)): finite for every x >= -inf. Derivative 1/x above the floor, 0 below it, and at
    x == floor exactly 1/floor (np.maximum sends a tie to its first argument)."""
    return np.log(np.maximum(x, floor))


def safe_sqrt(x):
    """sqrt(x) for x > 0, 0 for x <= 0; derivative 1 / (2 sqrt(x)) for x > 0 and 0 for x <= 0 (not inf at 0),
    in every mode and at second order (the argument of sqrt is replaced by 1 where x <= 0)."""
    positive = x > 0.0
    return np.where(positive, np.sqrt(np.where(positive, x, 1.0)), 0.0)


def safe_abs(z):
    """|z| of complex (or real) z, with derivative 0 at exactly z = 0 instead of NaN: in the real-imaginary
    convention the gradient is z / |z| for z != 0 and 0 at 0, in both modes and at second order (|z| is taken
    of 1 where z is 0, and that branch's result dropped). Accurate for tiny z (|z| by np.abs, no squaring)."""
    nonzero = np.abs(z) > 0.0
    return np.where(nonzero, np.abs(np.where(nonzero, z, 1.0)), 0.0)


def safe_divide(a, b, eps=1e-12):
    """a / b with the denominator kept at least eps in magnitude: b where |b| >= eps, else +-eps with b's sign
    (+eps at b == 0). Derivative in a 1 / den; in b -a / b^2 where |b| >= eps and 0 where |b| < eps."""
    den = np.where(np.abs(b) >= eps, b, np.where(b < 0.0, -eps, eps))
    return a / den


def unwrap_phase(p, discont=np.pi):
    """np.unwrap(p, discont) of a 1-d phase (period 2 pi), as a loop: each jump of more than max(discont, pi)
    between neighbours is reduced by a multiple of 2 pi. Derivative: the identity (the corrections are
    piecewise constant in p), as np.unwrap's in adc."""
    n = p.shape[0]
    big = max(discont, np.pi)
    y = np.zeros(n)
    y[0] = p[0]
    correction = 0.0
    for k in range(1, n):
        dd = p[k] - p[k - 1]
        ddmod = (dd + np.pi) % (2.0 * np.pi) - np.pi
        if ddmod == -np.pi and dd > 0.0:
            ddmod = np.pi
        if abs(dd) >= big:
            correction += ddmod - dd
        y[k] = p[k] + correction
    return y


# -- Beamforming -------------------------------------------------------------------------------
# A far-field plane wave from the direction theta (radians, from the x axis in the plane of the array)
# reaches a sensor at position p (metres; (M, 2) for M sensors) p . u / c seconds before the origin,
# u = (cos theta, sin theta), c the speed of propagation (343 m/s in air): x_m(t) = s(t + p_m . u / c).
# Steering delays each channel by fs p_m . u / c samples (fractional_delay) to align them on s.
SPEED_OF_SOUND = 343.0


def steering_delays(positions, theta, fs, c=SPEED_OF_SOUND):
    """The delays, in samples, that align a plane wave from theta on the sensors at `positions` (M, 2):
    fs (p_m . u(theta)) / c. Differentiable in positions and theta."""
    u = np.array([np.cos(theta), np.sin(theta)])
    return (positions @ u) * (fs / c)


def delay_and_sum(X, weights, delays, kind="cubic", mode="zero"):
    """Delay-and-sum beamformer: y[n] = sum_m weights[m] x_m(n - delays[m]), X the (M, N) sensor signals,
    weights (M,), delays (M,) in samples (steering_delays); each channel by fractional_delay (kind, mode).
    Differentiable in X, weights and delays (through them in theta and positions)."""
    y = np.zeros(X.shape[1])
    for m in range(X.shape[0]):
        y[:] += weights[m] * fractional_delay(X[m], delays[m], kind, mode)  # `y +=`: refused by jacobian(mode="fwd")
    return y


def filter_and_sum(X, filters, delays, kind="cubic", mode="zero"):
    """Filter-and-sum beamformer: each channel delayed by delays[m] samples (fractional_delay), filtered by the
    causal FIR filters[m] (filters (M, L)) and summed: y[n] = sum_m sum_l filters[m, l] x_m(n - l - delays[m]),
    N samples (the first N of each full convolution). Differentiable in X, filters and delays."""
    N = X.shape[1]
    y = np.zeros(N)
    for m in range(X.shape[0]):
        aligned = fractional_delay(X[m], delays[m], kind, mode)
        y[:] += np.convolve(aligned, filters[m])[0:N]
    return y


def steering_vector(positions, theta, frequency, c=SPEED_OF_SOUND):
    """The narrowband steering vector of a plane wave from theta at `frequency` (Hz) on the sensors at
    `positions` (M, 2): a[m] = exp(2j pi f (p_m . u(theta)) / c), the phases with which the wave reaches them
    relative to the origin (the sign of steering_delays: sensors the wave reaches early lead). Complex (M,);
    differentiable in positions, theta and frequency."""
    u = np.array([np.cos(theta), np.sin(theta)])
    return np.exp(2j * np.pi * frequency * (positions @ u) / c)


def sample_covariance(X, loading=0.0):
    """R = X X^H / N + loading I of narrowband snapshots X (M, N) (complex): the spatial covariance, with
    diagonal loading (a small multiple of the noise power keeps R well conditioned for mvdr_weights)."""
    M = X.shape[0]
    return (X @ np.conj(X.T)) / X.shape[1] + loading * np.eye(M)


def mvdr_weights(R, a):
    """Minimum-variance distortionless-response weights w = R^-1 a / (a^H R^-1 a): unit gain towards the
    steering vector a, least output power w^H R w otherwise. One solve (np.linalg.solve, whose adjoint is
    a transpose solve); differentiable in R and a, so through steering_vector in theta and the positions.
    The beam output of snapshots X is w^H X (np.conj(w) @ X)."""
    Ra = np.linalg.solve(R, a)
    return Ra / np.sum(np.conj(a) * Ra)


def mvdr_power(R, a):
    """The MVDR (Capon) spatial spectrum 1 / Re(a^H R^-1 a): the output power of mvdr_weights(R, a), whose
    peaks over theta are the directions of arrival. Real; differentiable in R and a."""
    return 1.0 / np.real(np.sum(np.conj(a) * np.linalg.solve(R, a)))
