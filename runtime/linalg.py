"""Products as plain loops: numba's np.dot needs SciPy's BLAS, and these sizes do not.

Both operands have one dtype: generated code casts them first. Shapes are checked as numpy checks
them (a mismatch would read past the end of an operand), with numpy's message.
"""
import numba
import numpy as np


@numba.njit(cache=True)
def _check(inner_a, inner_b):
    if inner_a != inner_b:
        raise ValueError("matmul: Input operand 1 has a mismatch in its core dimension 0 (size differs)")


@numba.njit(cache=True)
def dot(a, b):
    """a @ b for 1-d a and b."""
    _check(a.shape[0], b.shape[0])
    acc = np.zeros(1, a.dtype)[0]
    for i in range(a.shape[0]):
        acc += a[i] * b[i]
    return acc


@numba.njit(cache=True)
def matvec(m, v):
    """m @ v for 2-d m and 1-d v."""
    _check(m.shape[1], v.shape[0])
    out = np.zeros(m.shape[0], m.dtype)
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            out[i] += m[i, j] * v[j]
    return out


@numba.njit(cache=True)
def vecmat(v, m):
    """v @ m for 1-d v and 2-d m (that is, m.T @ v)."""
    _check(v.shape[0], m.shape[0])
    out = np.zeros(m.shape[1], m.dtype)
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            out[j] += v[i] * m[i, j]
    return out


@numba.njit(cache=True)
def matmat(a, b):
    """a @ b for 2-d a and b."""
    _check(a.shape[1], b.shape[0])
    out = np.zeros((a.shape[0], b.shape[1]), a.dtype)
    for i in range(a.shape[0]):
        for k in range(a.shape[1]):
            for j in range(b.shape[1]):
                out[i, j] += a[i, k] * b[k, j]
    return out


@numba.njit(cache=True)
def outer(u, v):
    """The matrix u[i] * v[j]."""
    out = np.empty((u.shape[0], v.shape[0]), u.dtype)
    for i in range(u.shape[0]):
        for j in range(v.shape[0]):
            out[i, j] = u[i] * v[j]
    return out
