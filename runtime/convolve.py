"""Windows of the full convolution: the kernels of np.convolve, np.correlate and of their derivatives.

    convolve(x, h, s, n)[i]  = sum_j x[j] h[s + i - j]    for i < n
    correlate(g, h, s, n)[k] = sum_i g[i] h[s + i - k]    for k < n

Each is bilinear, and its adjoint in either operand is one of the two with the same start s
(primitives/convolution.py), so these two kernels serve the primal, the tangent and the adjoint.
The operands' dtypes may differ (the cotangent of a complex result read by .real is real).
"""
import math

import numba
import numpy as np
from numba import types
from numba.extending import overload

# The tap loop costs one multiply-add per tap and output; the FFT product of length m = len(x) + len(h) - 1
# costs m log2 m times a factor that grows as its arrays leave the caches. Measured by `python
# benchmarks/convolve.py` (float64, "full" windows, 2 shared cores), the FFT was faster from about 110
# taps at m = 10^3, 125 at 10^4, 320 at 10^5 and 500 at 10^6: the loop runs while the shorter operand has
# at most log2(m)^2 taps (100, 177, 276, 397 there, each path within 1.5x of the other), and for short
# windows while taps * outputs is at most m log2(m)^2.
BLOCK = 2048  # outputs: 16 KiB of float64, with as much of x beside them in a 32 KiB L1


@numba.njit(cache=True)
def _check(x, h):
    if x.shape[0] == 0 or h.shape[0] == 0:
        raise ValueError("np.convolve and np.correlate need non-empty arrays")


@numba.njit(cache=True)
def _zeros(x, h, n):
    """n zeros of the dtype of x * h."""
    return np.zeros(n, (x[:0] * h[:0]).dtype)


@numba.njit(cache=True)
def _runs(y, x, h, s, block, block_end, taps_from, taps_to):
    """Taps taps_from..taps_to - 1 one at a time, each over the outputs of the block it reaches."""
    for k in range(taps_from, taps_to):
        first, end = max(block, k - s), min(block_end, x.shape[0] + k - s)
        if end <= first:  # (`continue`: with the loop inside an `if`, 2.4x slower when n is short)
            continue
        tap, out, src = h[k], y[first:end], x[first + s - k:end + s - k]
        for i in range(out.shape[0]):  # indices from 0 on slices: no wraparound test to stop vectorising
            out[i] += tap * src[i]


@numba.njit(cache=True)
def _by_taps(x, h, s, n):
    """For each tap k of h, y[i] += h[k] * x[i + s - k] over a contiguous run of i: LLVM vectorises across
    outputs, and each output adds its taps in one order, k = 0, 1, ..., whatever the vector width. The
    outputs go in blocks that stay in L1 while every tap passes over them; the taps that reach the whole
    block go eight to a pass, y + h[k] x + h[k+1] x' + ..., which Python evaluates left to right: the same
    additions, an eighth of the loads and stores of y. Four to a pass took 1.7x off one at a time (10^5 x 64;
    1.8x at 64 outputs of 10^5 taps), eight 9% more; the four-tap pass is kept for the taps left over, where
    one at a time was 7-11% slower (12 or 15 taps)."""
    y = _zeros(x, h, n)
    for block in range(0, n, BLOCK):
        block_end = min(n, block + BLOCK)
        whole_from = min(h.shape[0], max(0, block_end - x.shape[0] + s))  # taps k with k - s <= block and
        whole_to = max(whole_from, min(h.shape[0], block + s + 1))         # len(x) + k - s >= block_end
        _runs(y, x, h, s, block, block_end, 0, whole_from)
        out, k, size = y[block:block_end], whole_from, block_end - block
        while k + 8 <= whole_to:
            t0, t1, t2, t3, t4, t5, t6, t7 = h[k], h[k + 1], h[k + 2], h[k + 3], h[k + 4], h[k + 5], h[k + 6], h[k + 7]
            at = block + s - k
            a, b, c, d = x[at:at + size], x[at - 1:at - 1 + size], x[at - 2:at - 2 + size], x[at - 3:at - 3 + size]
            e, f, g, r = x[at - 4:at - 4 + size], x[at - 5:at - 5 + size], x[at - 6:at - 6 + size], x[at - 7:at - 7 + size]
            for i in range(size):
                out[i] = out[i] + t0 * a[i] + t1 * b[i] + t2 * c[i] + t3 * d[i] + t4 * e[i] + t5 * f[i] + t6 * g[i] + t7 * r[i]
            k += 8
        if k + 4 <= whole_to:
            t0, t1, t2, t3 = h[k], h[k + 1], h[k + 2], h[k + 3]
            at = block + s - k
            a, b, c, d = x[at:at + size], x[at - 1:at - 1 + size], x[at - 2:at - 2 + size], x[at - 3:at - 3 + size]
            for i in range(size):
                out[i] = out[i] + t0 * a[i] + t1 * b[i] + t2 * c[i] + t3 * d[i]
            k += 4
        _runs(y, x, h, s, block, block_end, k, h.shape[0])
    return y


@numba.njit(cache=True)
def _fast_length(m):
    """The least 2^a 3^b 5^c >= m: an FFT length pocketfft transforms quickly."""
    best = 1
    while best < m:
        best *= 2
    odd = 1  # 3^b 5^c
    while odd < best:
        factor5 = odd
        while factor5 < best:
            q = factor5
            while q < m:
                q *= 2
            best = min(best, q)
            factor5 *= 5
        odd *= 3
    return best


def _real_circular(x, h, m):
    return np.fft.irfft(np.fft.rfft(x, m) * np.fft.rfft(h, m), m)


def _complex_circular(x, h, m):
    return np.fft.ifft(np.fft.fft(x, m) * np.fft.fft(h, m))


def _circular(x, h, m):
    """The circular convolution of x and h zero-padded to m: real FFTs for real arrays."""
    return (_complex_circular if np.iscomplexobj(x) or np.iscomplexobj(h) else _real_circular)(x, h, m)


@overload(_circular)
def _circular_compiled(x, h, m):
    """The same inside numba, which types one of the two for each dtype (rocket-fft compiles np.fft)."""
    complex_operand = isinstance(x.dtype, types.Complex) or isinstance(h.dtype, types.Complex)
    return _complex_circular if complex_operand else _real_circular


@numba.njit(cache=True)
def _by_fft(x, h, s, n):
    """The window of one circular convolution just long enough that no index in it wraps onto another
    nonzero entry of the full convolution (which has len(x) + len(h) - 1 entries)."""
    full = x.shape[0] + h.shape[0] - 1
    first, end = max(s, 0), min(s + n, full)
    y = _zeros(x, h, n)
    if first >= end:
        return y
    c = _circular(x, h, _fast_length(max(end, full - first)))
    for i in range(first - s, end - s):
        y[i] = c[s + i]
    return y


@numba.njit(cache=True)
def convolve(x, h, s, n):
    """n entries of the full convolution of x and h from entry s (zero outside it)."""
    _check(x, h)
    m = x.shape[0] + h.shape[0] - 1
    multiply_adds = min(x.shape[0], h.shape[0]) * min(n, max(x.shape[0], h.shape[0]))
    if multiply_adds > m * math.log2(m) ** 2:
        return _by_fft(x, h, s, n)
    if h.shape[0] > x.shape[0]:
        return _by_taps(h, x, s, n)
    return _by_taps(x, h, s, n)


@numba.njit(cache=True)
def correlate(g, h, s, n):
    """n entries of the correlation sum_i g[i] h[s + i - k]: the convolution of g with h reversed."""
    return convolve(g, h[::-1].copy(), h.shape[0] - 1 - s, n)
