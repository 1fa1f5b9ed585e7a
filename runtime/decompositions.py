"""Small dense factorisations as plain loops: LU with partial pivoting, Cholesky, the symmetric
eigendecomposition, and the triangular and LU solves that use them.

numba's np.linalg calls LAPACK through SciPy, which adc does not depend on; for the matrices of a
state-space model (n <= 8, inside a loop of 10^5 steps) these loops are also faster than a LAPACK
call, whose fixed cost is larger than the whole factorisation (benchmarks/README.md). Like LAPACK,
Cholesky and eigh read the lower triangle of their argument only.

An LU factorisation is packed in one array of the matrix's dtype, n x (n + 1): L below the diagonal
(its unit diagonal implied), U on and above it, and in the last column the row that step k swapped
with row k, so that one value carries the factorisation from the primal to the adjoint's solves.
An eigendecomposition is packed (n + 1) x n: the ascending eigenvalues in row 0, the eigenvectors as
the columns of rows 1..n, each signed so that its entry of largest magnitude is positive.
"""
import numba
import numpy as np


@numba.njit(cache=True)
def _square(a):
    if a.shape[0] != a.shape[1]:
        raise ValueError("Last 2 dimensions of the array must be square")


@numba.njit(cache=True)
def _rows(n, b):
    if b.shape[0] != n:
        raise ValueError("solve: Input operand 1 has a mismatch in its core dimension 0")


@numba.njit(cache=True)
def lu_factor(a):
    """P A = L U, packed (module docstring); a zero pivot is left in place (lu_singular reports it)."""
    _square(a)
    n = a.shape[0]
    f = np.zeros((n, n + 1), a.dtype)
    f[:, :n] = a
    for k in range(n):
        p, big = k, abs(f[k, k])
        for i in range(k + 1, n):
            if abs(f[i, k]) > big:
                p, big = i, abs(f[i, k])
        f[k, n] = p
        if p != k:
            for j in range(n):
                f[k, j], f[p, j] = f[p, j], f[k, j]
        pivot = f[k, k]
        if pivot != 0:
            for i in range(k + 1, n):
                f[i, k] /= pivot
                for j in range(k + 1, n):
                    f[i, j] -= f[i, k] * f[k, j]
    return f


@numba.njit(cache=True)
def lu_singular(f):
    """Whether U has a zero on its diagonal: the matrix is singular (numpy raises LinAlgError)."""
    for k in range(f.shape[0]):
        if f[k, k] == 0:
            return True
    return False


@numba.njit(cache=True)
def _pivot(f, k):
    return int(f[k, f.shape[0]].real)


@numba.njit(cache=True)
def lu_solve(f, a, b, adjoint):
    """The columns of A^-1 b (adjoint: A^-H b) from A's packed LU factorisation f; a is A itself, unread:
    it is the operand derivatives reach A through when adc differentiates code that calls this."""
    n = f.shape[0]
    _rows(n, b)
    x = np.empty((n, b.shape[1]), f.dtype)
    x[:] = b
    if not adjoint:  # L U x = P b
        for k in range(n):
            p = _pivot(f, k)
            for j in range(x.shape[1]):
                x[k, j], x[p, j] = x[p, j], x[k, j]
        for i in range(n):
            for k in range(i):
                for j in range(x.shape[1]):
                    x[i, j] -= f[i, k] * x[k, j]
        for i in range(n - 1, -1, -1):
            for k in range(i + 1, n):
                for j in range(x.shape[1]):
                    x[i, j] -= f[i, k] * x[k, j]
            for j in range(x.shape[1]):
                x[i, j] /= f[i, i]
        return x
    for i in range(n):  # A^H = U^H L^H P:  U^H z = b,  L^H w = z,  x = P^T w
        for k in range(i):
            for j in range(x.shape[1]):
                x[i, j] -= np.conj(f[k, i]) * x[k, j]
        for j in range(x.shape[1]):
            x[i, j] /= np.conj(f[i, i])
    for i in range(n - 1, -1, -1):
        for k in range(i + 1, n):
            for j in range(x.shape[1]):
                x[i, j] -= np.conj(f[k, i]) * x[k, j]
    for k in range(n - 1, -1, -1):
        p = _pivot(f, k)
        for j in range(x.shape[1]):
            x[k, j], x[p, j] = x[p, j], x[k, j]
    return x


@numba.njit(cache=True)
def _column(b, dtype):
    """One right-hand side as the single column of a matrix (the solves check its length)."""
    column = np.empty((b.shape[0], 1), dtype)
    column[:, 0] = b
    return column


@numba.njit(cache=True)
def lu_solve_vector(f, a, b, adjoint):
    """lu_solve for one right-hand side."""
    return lu_solve(f, a, _column(b, f.dtype), adjoint)[:, 0]


@numba.njit(cache=True)
def lu_det(f, a):
    """det A from its packed LU factorisation (a: as in lu_solve)."""
    d = np.ones(1, f.dtype)[0]
    for k in range(f.shape[0]):
        d *= f[k, k]
        if _pivot(f, k) != k:
            d = -d
    return d


@numba.njit(cache=True)
def lu_sign(f):
    """The sign of a real det A (0 when A is singular), as np.linalg.slogdet gives it."""
    s = 1.0
    for k in range(f.shape[0]):
        if f[k, k] == 0:
            return 0.0
        if (f[k, k] < 0) != (_pivot(f, k) != k):
            s = -s
    return s


@numba.njit(cache=True)
def lu_logabsdet(f, a):
    """log |det A| of a real A from its packed LU factorisation (-inf when singular)."""
    total = 0.0
    for k in range(f.shape[0]):
        total += np.log(abs(f[k, k]))
    return total


@numba.njit(cache=True)
def cholesky(a):
    """L with L L^T = A, from A's lower triangle; NaN throughout when A is not positive definite
    (the `not_positive_definite` check raises then, at the user's line)."""
    _square(a)
    n = a.shape[0]
    low = np.zeros((n, n), a.dtype)
    for j in range(n):
        s = a[j, j]
        for k in range(j):
            s -= low[j, k] * low[j, k]
        if not s > 0:
            low[:, :] = np.nan
            return low
        low[j, j] = np.sqrt(s)
        for i in range(j + 1, n):
            t = a[i, j]
            for k in range(j):
                t -= low[i, k] * low[j, k]
            low[i, j] = t / low[j, j]
    return low


@numba.njit(cache=True)
def not_positive_definite(low):
    return low.shape[0] > 0 and np.isnan(low[0, 0])


@numba.njit(cache=True)
def trisolve(t, b, lower, adjoint):
    """The columns of T^-1 b (adjoint: T^-H b), T the lower (or upper) triangle of t, its diagonal included."""
    n = t.shape[0]
    _rows(n, b)
    x = np.empty((n, b.shape[1]), t.dtype)
    x[:] = b
    forwards = lower != adjoint  # T^-1 of a lower T, or T^-H of an upper one, runs from the first row
    for step in range(n):
        i = step if forwards else n - 1 - step
        for k in range(n):
            if (k < i) if forwards else (k > i):
                coefficient = np.conj(t[k, i]) if adjoint else t[i, k]
                for j in range(x.shape[1]):
                    x[i, j] -= coefficient * x[k, j]
        diagonal = np.conj(t[i, i]) if adjoint else t[i, i]
        for j in range(x.shape[1]):
            x[i, j] /= diagonal
    return x


@numba.njit(cache=True)
def trisolve_vector(t, b, lower, adjoint):
    """trisolve for one right-hand side."""
    return trisolve(t, _column(b, t.dtype), lower, adjoint)[:, 0]


@numba.njit(cache=True)
def symmetric_from_lower(a):
    """The symmetric matrix whose lower triangle is a's: what Cholesky and eigh read of their argument."""
    out = np.empty_like(a)
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            out[i, j] = a[i, j] if i >= j else a[j, i]
    return out


@numba.njit(cache=True)
def fold_lower(g):
    """The adjoint of symmetric_from_lower: g_ij + g_ji below the diagonal, g_ii on it, zero above."""
    out = np.zeros_like(g)
    for i in range(g.shape[0]):
        out[i, i] = g[i, i]
        for j in range(i):
            out[i, j] = g[i, j] + g[j, i]
    return out


@numba.njit(cache=True)
def halved_lower(a):
    """The lower triangle of a with its diagonal halved (Cholesky's derivative is L times this of a
    symmetric matrix); self-adjoint."""
    out = np.zeros_like(a)
    for i in range(a.shape[0]):
        out[i, i] = 0.5 * a[i, i]
        for j in range(i):
            out[i, j] = a[i, j]
    return out


@numba.njit(cache=True)
def column_sums(a):
    """a.sum(axis=0): the diagonal of V^T M V is column_sums(V * (M @ V))."""
    out = np.zeros(a.shape[1], a.dtype)
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            out[j] += a[i, j]
    return out


@numba.njit(cache=True)
def eigh_factor(a):
    """The packed eigendecomposition (module docstring) of the symmetric matrix a's lower triangle
    gives, by cyclic Jacobi rotations: accurate eigenvectors, and quadratic convergence at these sizes."""
    _square(a)
    n = a.shape[0]
    s = symmetric_from_lower(a).astype(np.float64)
    v = np.eye(n)
    for _sweep in range(100):
        rotated = False
        for p in range(n - 1):
            for q in range(p + 1, n):
                apq = s[p, q]
                if abs(apq) <= 1e-300 or (abs(s[p, p]) + 1e18 * abs(apq) == abs(s[p, p])
                                           and abs(s[q, q]) + 1e18 * abs(apq) == abs(s[q, q])):
                    s[p, q] = s[q, p] = 0.0
                    continue
                rotated = True
                theta = (s[q, q] - s[p, p]) / (2.0 * apq)
                t = (1.0 if theta >= 0 else -1.0) / (abs(theta) + np.sqrt(theta * theta + 1.0))
                c = 1.0 / np.sqrt(t * t + 1.0)
                sn = t * c
                for k in range(n):  # s <- J^T s J, v <- v J
                    skp, skq = s[k, p], s[k, q]
                    s[k, p], s[k, q] = c * skp - sn * skq, sn * skp + c * skq
                for k in range(n):
                    spk, sqk = s[p, k], s[q, k]
                    s[p, k], s[q, k] = c * spk - sn * sqk, sn * spk + c * sqk
                for k in range(n):
                    vkp, vkq = v[k, p], v[k, q]
                    v[k, p], v[k, q] = c * vkp - sn * vkq, sn * vkp + c * vkq
        if not rotated:
            break
    w = np.empty(n)
    for i in range(n):
        w[i] = s[i, i]
    order = np.argsort(w)
    out = np.empty((n + 1, n), a.dtype)
    for j in range(n):
        col = order[j]
        out[0, j] = w[col]
        big = 0
        for k in range(n):
            if abs(v[k, col]) > abs(v[big, col]) * (1.0 + 1e-12):
                big = k
        sign = 1.0 if v[big, col] >= 0 else -1.0
        for k in range(n):
            out[k + 1, j] = sign * v[k, col]
    return out


@numba.njit(cache=True)
def eigh_values(e, a):
    """The eigenvalues of a packed eigendecomposition (a: as in lu_solve)."""
    return e[0].copy()


@numba.njit(cache=True)
def eigh_vectors(e, a):
    """The eigenvectors (columns) of a packed eigendecomposition (a: as in lu_solve)."""
    return e[1:].copy()


ROUNDING = 1e-10  # relative: what rounding leaves of a quantity that is zero in exact arithmetic


@numba.njit(cache=True)
def _repeated(w, i, j):
    """Whether eigenvalues i and j of the ascending w coincide (to rounding)."""
    scale = max(abs(w[0]), abs(w[w.shape[0] - 1]))
    return abs(w[j] - w[i]) <= 1e-12 * scale


@numba.njit(cache=True)
def eigh_value_tangents(w, m):
    """dw_i = m_ii, m = V^T dA V. The eigenvalues of a repeated one move apart along a direction that
    splits their eigenspace (its block of m is not a multiple of the identity), each by an eigenvalue
    of that block, which is not linear in the direction: NaN there."""
    n = w.shape[0]
    out = np.empty(n, m.dtype)
    for i in range(n):
        out[i] = m[i, i]
    tol = ROUNDING * np.max(np.abs(m))
    for i in range(n):
        for j in range(n):
            if i != j and _repeated(w, i, j) and (abs(m[i, j]) > tol or abs(m[i, i] - m[j, j]) > tol):
                out[i] = np.nan
    return out


@numba.njit(cache=True)
def eigh_value_weights(g, w):
    """The adjoint of the eigenvalues, checked: a function of a repeated eigenvalue's copies that weighs
    them apart (w[0] alone, not their sum) has no derivative there, so this raises."""
    tol = ROUNDING * np.max(np.abs(g))
    for i in range(w.shape[0] - 1):
        if _repeated(w, i, i + 1) and abs(g[i] - g[i + 1]) > tol:
            raise ValueError("np.linalg.eigh: a repeated eigenvalue's copies are used apart (not through a symmetric "
                             "function such as their sum), and have no derivative there (docs/linalg.md)")
    return g.copy()


@numba.njit(cache=True)
def eigh_coupling(w, x, adjoint):
    """The eigenvectors' derivative couples eigenpairs i != j by 1 / (w_j - w_i): the entries x_ij of
    V^T dA V (or, adjoint, of V^T V_bar) scaled by it. At a repeated eigenvalue the eigenvectors of its
    eigenspace have no derivative (which basis the next matrix picks depends on the direction, not
    linearly), and whether the function is blind to their basis cannot be told from one point: so the
    adjoint raises when any of them is used (a column of V_bar there is not zero), and their tangent is
    NaN where the direction splits the eigenspace (x_ij != 0). Other eigenvectors keep their derivatives."""
    n = w.shape[0]
    out = np.zeros_like(x)
    for j in range(n):
        for i in range(n):
            if i == j:
                continue
            if not _repeated(w, i, j):
                out[i, j] = x[i, j] / (w[j] - w[i])
                continue
            if adjoint:
                for k in range(n):
                    if x[k, j] != 0:
                        raise ValueError("np.linalg.eigh: an eigenvector of a repeated eigenvalue is used, and it "
                                         "has no derivative there (docs/linalg.md)")
            elif abs(x[i, j]) > ROUNDING * np.max(np.abs(x)):
                out[i, j] = np.nan
    return out
