"""The Fourier-domain losses of the benchmark, written as users of adc write them."""
import numpy as np

from adc import dsp


def phase_retrieval_loss(z, magnitude):
    """Fourier magnitudes of a complex signal against measured ones (N = 2^16)."""
    Z = np.fft.fft(z, norm="ortho")
    return np.sum((np.abs(Z) - magnitude) ** 2)


def stft_mel_loss(x, window, filterbank, target):
    """Waveform -> STFT -> power -> mel -> log, against a target log-mel spectrogram."""
    mel = dsp.mel_spectrogram(x, window, 256, filterbank)
    diff = dsp.log_compress(mel, 1e-8) - target
    return np.sum(diff * diff)


def stft_mel_args(quick: bool):
    """1 s of 16 kHz audio (1/100 of it with --quick), 1024-sample periodic Hann frames, hop 256, 64 mels."""
    rng = np.random.default_rng(0)
    n = 16000 // (100 if quick else 1)
    n = max(n, 2048)
    t = np.arange(n) / 16000.0
    x = np.sin(2 * np.pi * 440.0 * t) + 0.1 * rng.standard_normal(n)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(1024) / 1024)
    filterbank = dsp.mel_filterbank(16000, 1024, 64)
    target = dsp.log_compress(dsp.mel_spectrogram(x + 0.05 * rng.standard_normal(n), window, 256, filterbank), 1e-8)
    return (x, window, filterbank, target)


def phase_retrieval_args(quick: bool):
    rng = np.random.default_rng(1)
    n = 2 ** (10 if quick else 16)
    z = rng.standard_normal(n) + 1j * rng.standard_normal(n)
    magnitude = np.abs(np.fft.fft(rng.standard_normal(n) + 0j, norm="ortho"))
    return (z, magnitude)
