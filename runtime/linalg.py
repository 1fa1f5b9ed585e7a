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


# A loop's buffer (adc/codegen/scratch.py) is written by `*_into(..., out)`, which returns False, writing
# nothing, where out has not the result's shape; the generated code then makes a new array as before:
#     if not rt.matmat_into(F, P, t):
#         t = rt.matmat(F, P)
# A returned array would cost an atomic reference-count pair a call (26 against 14 ns on 2x2 operands).
@numba.njit(cache=True)
def matvec(m, v):
    """m @ v for 2-d m and 1-d v."""
    _check(m.shape[1], v.shape[0])
    out = np.empty(m.shape[0], m.dtype)
    matvec_into(m, v, out)
    return out


@numba.njit(cache=True)
def matvec_into(m, v, out):
    """m @ v written into `out`; False where out (or v) has not the shape for it."""
    if out.shape[0] != m.shape[0] or v.shape[0] != m.shape[1]:
        return False
    if m.shape[1] == 0:
        out[:] = 0
        return True
    for i in range(m.shape[0]):
        acc = m[i, 0] * v[0]  # a sum started from the first term, in a register
        for j in range(1, m.shape[1]):
            acc += m[i, j] * v[j]
        out[i] = acc
    return True


@numba.njit(cache=True)
def vecmat(v, m):
    """v @ m for 1-d v and 2-d m (that is, m.T @ v)."""
    _check(v.shape[0], m.shape[0])
    out = np.empty(m.shape[1], m.dtype)
    vecmat_into(v, m, out)
    return out


@numba.njit(cache=True)
def vecmat_into(v, m, out):
    """v @ m written into `out`; False where out (or v) has not the shape for it."""
    if out.shape[0] != m.shape[1] or v.shape[0] != m.shape[0]:
        return False
    out[:] = 0
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            out[j] += v[i] * m[i, j]
    return True


@numba.njit(cache=True)
def matmat(a, b):
    """a @ b for 2-d a and b."""
    _check(a.shape[1], b.shape[0])
    out = np.empty((a.shape[0], b.shape[1]), a.dtype)
    matmat_into(a, b, out)
    return out


@numba.njit(cache=True)
def matmat_into(a, b, out):
    """a @ b written into `out`; False where out (or b) has not the shape for it."""
    if out.shape[0] != a.shape[0] or out.shape[1] != b.shape[1] or b.shape[0] != a.shape[1]:
        return False
    if a.shape[1] == 0:
        out[:] = 0
        return True
    for i in range(a.shape[0]):
        for j in range(b.shape[1]):
            acc = a[i, 0] * b[0, j]  # a sum started from the first term, in a register
            for k in range(1, a.shape[1]):
                acc += a[i, k] * b[k, j]
            out[i, j] = acc
    return True


@numba.njit(cache=True)
def outer(u, v):
    """The matrix u[i] * v[j]."""
    out = np.empty((u.shape[0], v.shape[0]), u.dtype)
    outer_into(u, v, out)
    return out


@numba.njit(cache=True)
def outer_into(u, v, out):
    """u[i] * v[j] written into `out`; False where out has not the shape for it."""
    if out.shape[0] != u.shape[0] or out.shape[1] != v.shape[0]:
        return False
    for i in range(u.shape[0]):
        for j in range(v.shape[0]):
            out[i, j] = u[i] * v[j]
    return True


@numba.njit(cache=True)
def _stacks(a, b):
    if a.shape[0] != b.shape[0]:
        raise ValueError("matmul: the stacks of matrices differ in length (adc does not broadcast stacks)")


@numba.njit(cache=True)
def matmat_33(a, b):
    """a @ b for stacks of matrices, a[k] @ b[k]."""
    _stacks(a, b)
    _check(a.shape[2], b.shape[1])
    out = np.zeros((a.shape[0], a.shape[1], b.shape[2]), a.dtype)
    for s in range(a.shape[0]):
        for i in range(a.shape[1]):
            for k in range(a.shape[2]):
                for j in range(b.shape[2]):
                    out[s, i, j] += a[s, i, k] * b[s, k, j]
    return out


@numba.njit(cache=True)
def matmat_32(a, b):
    """a @ b for a stack of matrices a and one matrix b, a[k] @ b."""
    _check(a.shape[2], b.shape[0])
    out = np.zeros((a.shape[0], a.shape[1], b.shape[1]), a.dtype)
    for s in range(a.shape[0]):
        for i in range(a.shape[1]):
            for k in range(a.shape[2]):
                for j in range(b.shape[1]):
                    out[s, i, j] += a[s, i, k] * b[k, j]
    return out


@numba.njit(cache=True)
def matmat_23(a, b):
    """a @ b for one matrix a and a stack of matrices b, a @ b[k]."""
    _check(a.shape[1], b.shape[1])
    out = np.zeros((b.shape[0], a.shape[0], b.shape[2]), a.dtype)
    for s in range(b.shape[0]):
        for i in range(a.shape[0]):
            for k in range(a.shape[1]):
                for j in range(b.shape[2]):
                    out[s, i, j] += a[i, k] * b[s, k, j]
    return out


@numba.njit(cache=True)
def swap_last(a):
    """Each matrix of a stack transposed, as a new array."""
    return np.ascontiguousarray(a.transpose((0, 2, 1)))

