"""Filters as an existing numba codebase writes them: @numba.njit throughout, helpers included.
tests/test_numba_code.py differentiates them unchanged."""
import math

import numba
import numpy as np


@numba.njit(cache=True)
def biquad_step(x, s1, s2, b0, b1, b2, a1, a2):
    """Transposed direct form II: one sample in, one out, the two states updated."""
    y = b0 * x + s1
    s1 = b1 * x - a1 * y + s2
    s2 = b2 * x - a2 * y
    return y, s1, s2


@numba.njit(cache=True)
def biquad(x, b0, b1, b2, a1, a2):
    y = np.empty_like(x)
    s1 = 0.0
    s2 = 0.0
    for n in range(x.shape[0]):
        y[n], s1, s2 = biquad_step(x[n], s1, s2, b0, b1, b2, a1, a2)
    return y


@numba.njit(cache=True)
def biquad_loss(b0, b1, b2, a1, a2, x, target):
    y = biquad(x, b0, b1, b2, a1, a2)
    err = 0.0
    for n in range(x.shape[0]):
        err += (y[n] - target[n]) ** 2
    return math.sqrt(err / x.shape[0])
