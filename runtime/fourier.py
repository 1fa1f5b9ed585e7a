"""Helpers for the adjoints of the real FFTs and of transforms with an explicit length."""
import numba
import numpy as np


@numba.njit(cache=True)
def rfft_weights(m, n):
    """Weights that make irfft the adjoint of rfft: bins other than DC and Nyquist count once, not twice."""
    w = np.full(m, 0.5)
    w[0] = 1.0
    if n % 2 == 0 and n // 2 < m:
        w[n // 2] = 1.0
    return w


@numba.njit(cache=True)
def irfft_weights(m, n):
    """Weights that make rfft the adjoint of irfft: interior bins stand for two conjugate terms."""
    w = np.full(m, 2.0)
    w[0] = 1.0
    if n % 2 == 0 and n // 2 < m:
        w[n // 2] = 1.0
    return w


@numba.njit(cache=True)
def resize(v, length):
    """v cut to `length` or padded with zeros: the adjoint of a transform's own padding or cutting."""
    out = np.zeros(length, v.dtype)
    for i in range(min(length, v.shape[0])):
        out[i] = v[i]
    return out
