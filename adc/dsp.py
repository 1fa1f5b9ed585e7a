"""Differentiable DSP building blocks written in adc's subset.

Each function here is an ordinary Python function: call it from a function you pass to
`adc.differentiate` and adc inlines it, so its derivative comes out of the same generated
code as yours. They work unchanged (and give the same values) as plain numpy code.

Shape conventions: signals are 1-d float64 arrays; spectrograms are 2-d with time first,
(n_frames, n_bins), with n_bins = frame_length // 2 + 1 (the rfft bins). Frames start at
multiples of `hop` and only whole frames are kept (no padding).
"""
import numpy as np

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
