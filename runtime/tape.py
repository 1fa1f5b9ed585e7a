"""Growable tapes for loops whose trip count is not known when the tape is allocated."""
import numba
import numpy as np


class TapeTooLarge(MemoryError):
    """A tape that does not fit in memory; adc's API adds which loop records it."""

    def __str__(self) -> str:
        return f"a tape of {self.args[0]:,} bytes does not fit in memory"


@numba.njit(cache=True)
def tape(n, dtype):
    """np.empty(n, dtype), saying how many bytes it asked for when they are not there (numba says only
    "Allocation failed"; it cannot raise again from an `except`, hence the flag)."""
    buf = np.empty(0, dtype)
    failed = False
    try:
        buf = np.empty(n, dtype)
    except Exception:  # noqa: BLE001  MemoryError, or numpy's ValueError for a size past the address space
        failed = True
    if failed:
        raise TapeTooLarge(n * buf.itemsize)
    return buf


@numba.njit(cache=True)
def grow(buf):
    """A copy of `buf` with twice the room; the first len(buf) entries kept."""
    bigger = tape(2 * buf.shape[0], buf.dtype)
    for i in range(buf.shape[0]):
        bigger[i] = buf[i]
    return bigger


@numba.njit(cache=True)
def trip_count(lo, hi, step):
    """len(range(lo, hi, step))."""
    if step > 0:
        return max(0, (hi - lo + step - 1) // step)
    return max(0, (lo - hi - step - 1) // (-step))


@numba.njit(cache=True)
def record(buf, top, a, pushes=1):
    """An array tape's push: `buf` (grown when full) with a's entries, then its shape, from `top` on.

    The shape goes last so that a pop, reading down from the top, finds it first; a loop whose
    array changes size from step to step (each level of a wavelet halves it) tapes exactly.
    `pushes`, how many pushes the enclosing loops make, sizes the first growth for all of them.
    """
    need = top + a.size + a.ndim
    if need > buf.shape[0]:
        bigger = tape(max(need, 2 * buf.shape[0], top + pushes * (a.size + a.ndim)), buf.dtype)
        bigger[:top] = buf[:top]
        buf = bigger
    k = top
    for v in a.flat:  # in C order, a view's too; np.ascontiguousarray would allocate a copy first
        buf[k] = v
        k += 1
    for k in range(a.ndim):
        buf[top + a.size + k] = a.shape[k]
    return buf


@numba.njit(cache=True)
def recorded_1(buf, top):
    """The 1-d array `record` wrote last below `top` (a view into the tape)."""
    n = int(buf[top - 1].real)
    return buf[top - 1 - n:top - 1]


@numba.njit(cache=True)
def recorded_2(buf, top):
    """The 2-d array `record` wrote last below `top` (a view into the tape)."""
    rows, cols = int(buf[top - 2].real), int(buf[top - 1].real)
    return buf[top - 2 - rows * cols:top - 2].reshape((rows, cols))


@numba.njit(cache=True)
def recorded_3(buf, top):
    """The 3-d array `record` wrote last below `top` (a view into the tape)."""
    a, b, c = int(buf[top - 3].real), int(buf[top - 2].real), int(buf[top - 1].real)
    return buf[top - 3 - a * b * c:top - 3].reshape((a, b, c))
