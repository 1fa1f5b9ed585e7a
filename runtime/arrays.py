"""Derivative helpers of the whole-array vocabulary (products, masks), as loops numba compiles."""
import numba
import numpy as np


@numba.njit(cache=True)
def prod_of_others(x):
    """For each element, the product of all the others (d prod / d x_i), from running products from
    both ends: exact where x has zeros, where prod / x_i is not."""
    flat = x.ravel()
    out = np.empty_like(flat)
    acc = np.ones(1, flat.dtype)[0]
    for i in range(flat.size):
        out[i] = acc
        acc *= flat[i]
    acc = np.ones(1, flat.dtype)[0]
    for i in range(flat.size - 1, -1, -1):
        out[i] *= acc
        acc *= flat[i]
    return out.reshape(x.shape)


@numba.njit(cache=True)
def prod_of_others_tangent(x, t):
    """The tangent of prod_of_others(x) along t: the same running products carried as dual numbers."""
    flat, dflat = x.ravel(), t.ravel()
    value = np.empty_like(flat)
    slope = np.empty_like(flat)
    acc, dacc = np.ones(1, flat.dtype)[0], np.zeros(1, flat.dtype)[0]
    for i in range(flat.size):
        value[i], slope[i] = acc, dacc
        acc, dacc = acc * flat[i], dacc * flat[i] + acc * dflat[i]
    acc, dacc = np.ones(1, flat.dtype)[0], np.zeros(1, flat.dtype)[0]
    for i in range(flat.size - 1, -1, -1):
        slope[i] = slope[i] * acc + value[i] * dacc
        acc, dacc = acc * flat[i], dacc * flat[i] + acc * dflat[i]
    return slope.reshape(x.shape)


@numba.njit(cache=True)
def unmask(g, mask):
    """The adjoint of x[mask]: g at the selected places of an array of the mask's shape, zeros elsewhere."""
    out = np.zeros(mask.size, g.dtype)
    flat = mask.ravel()
    k = 0
    for i in range(flat.size):
        if flat[i]:
            out[i] = g[k]
            k += 1
    return out.reshape(mask.shape)


@numba.njit(cache=True)
def embed_diagonal(g, like):
    """The adjoint of np.diag(m) for an m x n matrix: g on the main diagonal, zeros elsewhere."""
    out = np.zeros(like.shape, g.dtype)
    for i in range(g.shape[0]):
        out[i, i] = g[i]
    return out


@numba.njit(cache=True)
def unpermute(g, perm):
    """The adjoint of x[perm] for a permutation perm: each entry of g back where it came from."""
    out = np.empty_like(g)
    for i in range(perm.shape[0]):
        out[perm[i]] = g[i]
    return out


@numba.njit(cache=True)
def max_along(x, axis):
    """np.max(x, axis) of a 2-d array (numba's np.max reduces the whole array only)."""
    if axis == 0:
        out = x[0].copy()
        for i in range(1, x.shape[0]):
            out = np.maximum(out, x[i])
        return out
    out = x[:, 0].copy()
    for j in range(1, x.shape[1]):
        out = np.maximum(out, x[:, j])
    return out


@numba.njit(cache=True)
def min_along(x, axis):
    """np.min(x, axis) of a 2-d array."""
    return -max_along(-x, axis)


@numba.njit(cache=True)
def reshape(x, shape):
    """x.reshape(shape) as a view of x, which adc's reverse mode relies on (writes through it reach x):
    numpy would copy an array that is not contiguous in memory, numba refuses to compile it."""
    if not x.flags.c_contiguous:
        raise ValueError("reshape of an array that is not contiguous in memory (a transposed or strided "
                         "argument): pass np.ascontiguousarray(x), or reshape a copy")
    return x.reshape(shape)


@numba.njit(cache=True)
def _extent(a):
    """The first and one-past-last byte address a's elements occupy."""
    low = a.ctypes.data
    high = low + a.itemsize
    for k in range(a.ndim):
        span = (a.shape[k] - 1) * a.strides[k]
        if span < 0:
            low += span
        else:
            high += span
    return low, high


@numba.njit(cache=True)
def independent(a, b):
    """Whether a fused loop (adc/codegen/fusion.py) may update `a` in place, element by element, while it reads
    `b`: their memory does not overlap, or `b` is `a` itself (same first element, strides and item size), read at
    the element that is written."""
    if a.size == 0 or b.size == 0:
        return True
    a_low, a_high = _extent(a)
    b_low, b_high = _extent(b)
    if a_high <= b_low or b_high <= a_low:
        return True
    return a.ctypes.data == b.ctypes.data and a.itemsize == b.itemsize and a.strides == b.strides


@numba.njit(cache=True)
def zeroed(out, shape):
    """`out` filled with zeros where it has `shape`, else False (a loop's buffer: adc/codegen/scratch.py)."""
    if out.shape != shape:
        return False
    out[...] = 0
    return True
