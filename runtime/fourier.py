"""Helpers for the adjoints of the real FFTs and of transforms with explicit lengths, and the DCTs."""
import numba
import numpy as np


@numba.njit(cache=True)
def hermitian_scale(g, n, interior, axis):
    """g with the interior bins of an n-point real FFT along `axis` scaled by `interior` (DC and, for even n,
    Nyquist kept): with 1/2, irfft becomes the adjoint of rfft (irfft counts interior bins twice); with 2,
    rfft becomes the adjoint of irfft."""
    out = g * interior
    bins, kept = np.swapaxes(out, axis, -1), np.swapaxes(g, axis, -1)
    bins[..., 0] = kept[..., 0]
    if n % 2 == 0 and n // 2 < bins.shape[-1]:
        bins[..., n // 2] = kept[..., n // 2]
    return out


@numba.njit(cache=True)
def resize(v, length, axis):
    """v cut to `length` along `axis` or padded with zeros: the adjoint of a transform's own padding or cutting."""
    along = np.swapaxes(v, axis, -1)
    out = np.zeros(along.shape[:-1] + (length,), v.dtype)
    k = min(length, along.shape[-1])
    out[..., :k] = along[..., :k]
    return np.ascontiguousarray(np.swapaxes(out, axis, -1))


@numba.njit(cache=True)
def dct2(x, ortho):
    """DCT-II along the last axis of a 1-d array, scipy's convention: y[k] = 2 sum x[n] cos(pi k (2n+1) / 2N).

    Through one FFT of the even-odd reordered signal (Makhoul); `ortho` scales to an orthonormal transform.
    """
    n = x.shape[0]
    v = np.empty(n, np.complex128)
    for i in range((n + 1) // 2):
        v[i] = x[2 * i]
    for i in range(n // 2):
        v[n - 1 - i] = x[2 * i + 1]
    spectrum = np.fft.fft(v)
    y = np.empty(n)
    for k in range(n):
        y[k] = 2.0 * (np.exp(-0.5j * np.pi * k / n) * spectrum[k]).real
    if ortho:
        y[0] *= np.sqrt(1.0 / (4 * n))
        for k in range(1, n):
            y[k] *= np.sqrt(1.0 / (2 * n))
    return y


@numba.njit(cache=True)
def dct3(y, ortho):
    """DCT-III, scipy's convention: x[n] = y[0] + 2 sum_k>0 y[k] cos(pi k (2n+1) / 2N); with `ortho`, the
    orthonormal transform, the inverse of dct2(., True)."""
    n = y.shape[0]
    c = y.astype(np.float64).copy()
    if ortho:  # the transpose of the orthonormal DCT-II
        c[0] *= np.sqrt(1.0 / n)
        for k in range(1, n):
            c[k] *= np.sqrt(1.0 / (2 * n))
    # x = (dct2 inverse of c) * 2n: rebuild the reordered signal's spectrum from the cosine coefficients
    w = np.empty(n, np.complex128)
    w[0] = c[0]
    for k in range(1, n):
        w[k] = np.exp(0.5j * np.pi * k / n) * (c[k] - 1j * c[n - k])
    v = np.fft.ifft(w).real * n
    x = np.empty(n)
    for i in range((n + 1) // 2):
        x[2 * i] = v[i]
    for i in range(n // 2):
        x[2 * i + 1] = v[n - 1 - i]
    return x


@numba.njit(cache=True)
def scale_first(v, factor):
    """A copy of v with its first entry scaled: the DCTs' transposes differ from each other there."""
    out = v.copy()
    out[0] *= factor
    return out


def dct(x, type=2, norm=None):
    """The DCT of a 1-d real array, types 2 and 3, norm None or "ortho" (scipy.fft.dct's values).

    Differentiable inside `@adc.differentiate` functions, where it compiles to the same kernels.
    """
    if type not in (2, 3) or norm not in (None, "backward", "ortho"):
        raise ValueError("adc.dct supports type 2 or 3 and norm None, 'backward' or 'ortho'")
    x = np.asarray(x, dtype=np.float64)
    return (dct2 if type == 2 else dct3)(x, norm == "ortho")
