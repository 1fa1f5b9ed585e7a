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
