"""Growable tapes for loops whose trip count is not known when the tape is allocated."""
import numba
import numpy as np


@numba.njit(cache=True)
def grow(buf):
    """A copy of `buf` with twice the room; the first len(buf) entries kept."""
    bigger = np.empty(2 * buf.shape[0], buf.dtype)
    for i in range(buf.shape[0]):
        bigger[i] = buf[i]
    return bigger


@numba.njit(cache=True)
def trip_count(lo, hi, step):
    """len(range(lo, hi, step))."""
    if step > 0:
        return max(0, (hi - lo + step - 1) // step)
    return max(0, (lo - hi - step - 1) // (-step))
