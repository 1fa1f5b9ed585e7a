"""Small dense linear algebra: np.linalg.solve/inv, det/slogdet, cholesky, eigh/eigvalsh, np.outer.

A factorisation is a value of its own (runtime/decompositions.py packs it in one array): `lu` and `eigh`
compute it and have no derivative, and the ops that read it (`lu_solve`, `lu_det`, `eigh_values`, ...)
take the matrix A as an operand too, unread by the kernel, so that their rules send derivatives to A.
So the adjoint of a solve is one transpose solve with the primal's factorisation (the seed's custom rule),
never LU differentiated, and np.linalg.inv(A) is the solve of A X = I, with its rules.

Cholesky and eigh read the lower triangle of A, as numpy's LAPACK calls do, so their derivatives are of
that function: the adjoint is folded into the lower triangle (rt.fold_lower), and along a symmetric
direction both modes give what JAX and PyTorch give. docs/linalg.md states the policies at singular
matrices and repeated eigenvalues."""
from __future__ import annotations

import numpy as np

from ..codegen import pyir as P
from ..errors import TypeCheckError, UnsupportedCallError
from ..ir.core import BOOL, Array, Scalar, constant_value, is_array, promote
from .base import conj, declare, no_derivative, runtime_call, sum_terms
from .products import PRODUCTS

ADJOINT = {False: P.Lit("False"), True: P.Lit("True")}
LINALG_ERROR = "np.linalg.LinAlgError"  # what numpy raises at a singular or non-square matrix, with the user's line here


def _product(a, b, ndims):
    return P.Call(PRODUCTS[ndims], [a, b])


def _transposed(c, e):
    return P.Attr(conj(c, e), "T")


def _matrix(lw, v, name, node, real=False):
    """The square-matrix operand of np.linalg.<name>, as float (or complex) of its own precision."""
    v = lw.as_value(v, node)
    if not is_array(v.type) or v.type.ndim != 2:
        raise lw.error(TypeCheckError, f"np.linalg.{name} takes one 2-d matrix here (stacks of matrices: loop over them)", node)
    kind = np.dtype(v.type.dtype).kind
    if kind == "c" and real:
        raise lw.error(UnsupportedCallError, f"np.linalg.{name} of a complex matrix is not supported: adc's is for real "
                       "symmetric (or real) matrices", node)
    if kind not in "fc":
        v = lw.cast(v, Array("float64", 2))
    square = lw.op1("ne", [lw.dim(v, 0), lw.dim(v, 1)], BOOL)
    lw.check(square, f"np.linalg.{name} needs a square matrix", node, error=LINALG_ERROR)
    return v


def _factor(lw, a, name, node):
    f = lw.once(("lu", a.id), lambda: lw.op1("lu", [a], Array(a.type.dtype, 2)))
    if name in ("solve", "inv"):  # det and slogdet are 0 there, as numpy's are
        singular = lw.op1("runtime", [f], BOOL, fn="lu_singular")
        lw.check(singular, f"np.linalg.{name}: the matrix is singular (a zero pivot in its LU factorisation)", node,
                 error=LINALG_ERROR)
    return f


# -- solve and inv -----------------------------------------------------------------------
def _solve_name(op):
    return "rt.lu_solve" if op.operands[2].type.ndim == 2 else "rt.lu_solve_vector"


def _solve(c, rhs, adjoint):
    return P.Call(_solve_name(c.op), [c.x(0), c.x(1), rhs, ADJOINT[adjoint]])


def _unmasked(c, e):
    return e


def _solve_tangent(c, solve, matrix: int, rhs: int, read=_unmasked):
    """x = M^-1 b:  dx = M^-1 (db - dM x);   x = M^-H b:  dx = M^-H (db - dM^H x), dM the part of the matrix's
    tangent the solve reads (`read`: all of it, or its triangle)."""
    adjoint, ndims = c.op.attrs["adjoint"], (2, c.op.results[0].type.ndim)
    moved = None
    if c.t(matrix) is not None:
        dm = read(c, c.t(matrix))
        moved = _product(_transposed(c, dm) if adjoint else dm, c.out, ndims)
    terms = [e for e in (c.t(rhs), None if moved is None else -moved) if e is not None]
    return solve(c, sum_terms(terms), adjoint)


def _solve_adjoints(c, solve, matrix: int, rhs: int, read=_unmasked):
    """x = M^-1 b:  b_bar = M^-H x_bar,  M_bar = -b_bar x^H;   x = M^-H b:  b_bar = M^-1 x_bar,  M_bar = -x b_bar^H
    (of the part the solve reads)."""
    adjoint, vector = c.op.attrs["adjoint"], c.op.results[0].type.ndim == 1
    b_bar = solve(c, c.g, not adjoint)
    left, right = (c.out, b_bar) if adjoint else (b_bar, c.out)
    if vector:
        m_bar = P.Call("rt.outer", [left, conj(c, right)])
    else:
        m_bar = P.Call("rt.matmat", [left, _transposed(c, right)])
    return [(rhs, b_bar), (matrix, -read(c, m_bar))]


def _lower_solve(lw, name, node, env):
    """np.linalg.solve(a, b) for b of one or two dimensions, np.linalg.inv(a) as the solve of A X = I."""
    if name == "inv":
        a = lw.args(node, env, ["a"])
        matrix = _matrix(lw, a["a"], name, node)
        n = lw.dim(matrix, 0)
        b = lw.op1("eye", [n, n, lw.const(0)], matrix.type)
    else:
        a = lw.args(node, env, ["a", "b"])
        matrix, b = _matrix(lw, a["a"], name, node), lw.as_value(a["b"], node)
        if not is_array(b.type) or b.type.ndim > 2:
            raise lw.error(TypeCheckError, "np.linalg.solve's b is a vector or a matrix here", node)
        dtype = promote(matrix.type, b.type).dtype
        dtype = dtype if np.dtype(dtype).kind in "fc" else "float64"
        matrix, b = lw.cast(matrix, Array(dtype, 2)), lw.cast(b, Array(dtype, b.type.ndim))
    return lw.op1("lu_solve", [_factor(lw, matrix, name, node), matrix, b], b.type, adjoint=False)


declare("lu", expensive=True, spell=lambda op, args: P.Call("rt.lu_factor", args), jvp=lambda c: None, vjp=no_derivative)
declare("lu_solve", expensive=True, spell=lambda op, args: P.Call(_solve_name(op), args + [ADJOINT[op.attrs["adjoint"]]]),
        jvp=lambda c: _solve_tangent(c, _solve, 1, 2), vjp=lambda c: _solve_adjoints(c, _solve, 1, 2),
        spellings=(np.linalg.solve, np.linalg.inv), lower_call=_lower_solve)


# -- det and slogdet ---------------------------------------------------------------------
def _inverse_transpose(c):
    """A^-H from the factorisation (A^-T for a real A): d det A = det A tr(A^-1 dA)."""
    a = c.x(1)
    n = P.Index(P.Attr(a, "shape"), [P.Lit("0")])
    identity = P.Call("np.eye", [n, n, P.Lit("0"), P.Lit(f"np.{c.op.operands[1].type.dtype}")])
    return P.Call("rt.lu_solve", [c.x(0), a, identity, ADJOINT[True]])


def _trace_of_solve(c):
    """tr(A^-1 dA)."""
    return P.Call("np.trace", [P.Call("rt.lu_solve", [c.x(0), c.x(1), c.t(1), ADJOINT[False]])])


def _lower_det(lw, name, node, env):
    """np.linalg.det(a); np.linalg.slogdet(a) of a real a, as the pair (sign, logabsdet)."""
    a = lw.args(node, env, ["a"])
    matrix = _matrix(lw, a["a"], name, node, real=name == "slogdet")
    f = _factor(lw, matrix, name, node)
    scalar = Scalar(matrix.type.dtype)
    if name == "det":
        return lw.op1("lu_det", [f, matrix], scalar)
    return lw.pack([lw.op1("lu_sign", [f], scalar), lw.op1("lu_logabsdet", [f, matrix], scalar)])


declare("lu_det", spell=lambda op, args: P.Call("rt.lu_det", args),
        jvp=lambda c: c.out * _trace_of_solve(c) if c.t(1) is not None else None,
        vjp=lambda c: [(1, c.g * conj(c, c.out) * _inverse_transpose(c))],
        spellings=(np.linalg.det, np.linalg.slogdet), lower_call=_lower_det)
declare("lu_sign", spell=lambda op, args: P.Call("rt.lu_sign", args), jvp=lambda c: None, vjp=no_derivative)
declare("lu_logabsdet", spell=lambda op, args: P.Call("rt.lu_logabsdet", args),
        jvp=lambda c: _trace_of_solve(c) if c.t(1) is not None else None,
        vjp=lambda c: [(1, c.g * _inverse_transpose(c))])


# -- cholesky and triangular solves --------------------------------------------------------
def _trisolve(low, b, adjoint):
    """L^-1 b (adjoint: L^-H b) for a lower-triangular L and a matrix b."""
    return P.Call("rt.trisolve", [low, b, ADJOINT[True], ADJOINT[adjoint]])


def _cholesky_jvp(c):
    """dL = L Phi(L^-1 dA L^-T), dA read as the symmetric matrix of its lower triangle, Phi the lower
    triangle with the diagonal halved (Murray 2016)."""
    low, sym = c.out, P.Call("rt.symmetric_from_lower", [c.t(0)])
    half = _trisolve(low, P.Attr(_trisolve(low, sym, False), "T"), False)  # L^-1 (L^-1 dA)^T = L^-1 dA L^-T
    return P.Call("rt.matmat", [low, P.Call("rt.halved_lower", [half])])


def _cholesky_vjp(c):
    """A_bar = fold_lower(L^-T Phi(L^T L_bar) L^-1)."""
    low = c.out
    inner = P.Call("rt.halved_lower", [P.Call("rt.matmat", [P.Attr(low, "T"), c.g])])
    left = _trisolve(low, inner, True)  # L^-T Phi
    return [(0, P.Call("rt.fold_lower", [P.Attr(_trisolve(low, P.Attr(left, "T"), True), "T")]))]


def _lower_cholesky(lw, name, node, env):
    a = lw.args(node, env, ["a", "upper"])
    if lw.constant_arg(a.get("upper"), node, (False, True), "upper", default=False):
        raise lw.error(UnsupportedCallError, "np.linalg.cholesky(a, upper=True) is not supported: "
                       "write np.linalg.cholesky(a).T", node)
    matrix = _matrix(lw, a["a"], name, node, real=True)
    low = lw.op1("cholesky", [matrix], matrix.type)
    failed = lw.op1("runtime", [low], BOOL, fn="not_positive_definite")
    lw.check(failed, "np.linalg.cholesky: the matrix is not positive definite", node, error=LINALG_ERROR)
    return low


def _trisolve_spell(op, args):
    vector = op.operands[1].type.ndim == 1
    return P.Call("rt.trisolve_vector" if vector else "rt.trisolve",
                  args + [P.Lit(repr(op.attrs["lower"])), ADJOINT[op.attrs["adjoint"]]])


def _trisolve_call(c, rhs, adjoint):
    vector = c.op.operands[1].type.ndim == 1
    return P.Call("rt.trisolve_vector" if vector else "rt.trisolve",
                  [c.x(0), rhs, P.Lit(repr(c.op.attrs["lower"])), ADJOINT[adjoint]])


def _triangle(c, e):
    return P.Call("np.tril" if c.op.attrs["lower"] else "np.triu", [e])


declare("cholesky", expensive=True, spell=lambda op, args: P.Call("rt.cholesky", args), jvp=_cholesky_jvp, vjp=_cholesky_vjp,
        spellings=(np.linalg.cholesky,), lower_call=_lower_cholesky)
declare("trisolve", expensive=True, spell=_trisolve_spell, jvp=lambda c: _solve_tangent(c, _trisolve_call, 0, 1, _triangle),
        vjp=lambda c: _solve_adjoints(c, _trisolve_call, 0, 1, _triangle))


# -- eigh --------------------------------------------------------------------------------
def _congruence(c, m):
    """V^T m V, the tangent of A seen in the eigenbasis."""
    v = P.Call("rt.eigh_vectors", [c.x(0), c.x(1)])
    return v, P.Call("rt.matmat", [P.Attr(v, "T"), P.Call("rt.matmat", [m, v])])


def _values_jvp(c):
    """dw_i = (V^T dA V)_ii (NaN where a repeated eigenvalue splits: rt.eigh_value_tangents)."""
    _, m = _congruence(c, P.Call("rt.symmetric_from_lower", [c.t(1)]))
    return P.Call("rt.eigh_value_tangents", [c.out, m])


def _values_vjp(c):
    """A_bar = fold_lower(V diag(w_bar) V^T) (raising where it depends on a repeated eigenvalue's basis)."""
    v = P.Call("rt.eigh_vectors", [c.x(0), c.x(1)])
    weights = P.Call("rt.eigh_value_weights", [c.g, c.out])
    return [(1, P.Call("rt.fold_lower", [P.Call("rt.matmat", [v * weights, P.Attr(v, "T")])]))]


def _vectors_jvp(c):
    """dV = V (F o V^T dA V), F_ij = 1 / (w_j - w_i) off the diagonal (rt.eigh_coupling)."""
    v, m = _congruence(c, P.Call("rt.symmetric_from_lower", [c.t(1)]))
    w = P.Call("rt.eigh_values", [c.x(0), c.x(1)])
    return P.Call("rt.matmat", [v, P.Call("rt.eigh_coupling", [w, m, ADJOINT[False]])])


def _vectors_vjp(c):
    """A_bar = fold_lower(V (F o V^T V_bar) V^T)."""
    v = c.out
    w = P.Call("rt.eigh_values", [c.x(0), c.x(1)])
    coupled = P.Call("rt.eigh_coupling", [w, P.Call("rt.matmat", [P.Attr(v, "T"), c.g]), ADJOINT[True]])
    return [(1, P.Call("rt.fold_lower", [P.Call("rt.matmat", [P.Call("rt.matmat", [v, coupled]), P.Attr(v, "T")])]))]


def _lower_eigh(lw, name, node, env):
    """w, V = np.linalg.eigh(a) (UPLO='L'), or w = np.linalg.eigvalsh(a), of a real symmetric a."""
    a = lw.args(node, env, ["a", "UPLO"])
    if lw.constant_arg(a.get("UPLO"), node, ("L", "U"), "UPLO", default="L") == "U":
        raise lw.error(UnsupportedCallError, f"np.linalg.{name}(a, UPLO='U') is not supported: "
                       f"write np.linalg.{name}(a.T), which reads the same triangle", node)
    matrix = _matrix(lw, a["a"], name, node, real=True)
    e = lw.once(("eigh", matrix.id), lambda: lw.op1("eigh", [matrix], matrix.type))
    w = lw.op1("eigh_values", [e, matrix], Array(matrix.type.dtype, 1))
    if name == "eigvalsh":
        return w
    return lw.pack([w, lw.op1("eigh_vectors", [e, matrix], matrix.type)])


declare("eigh", expensive=True, spell=lambda op, args: P.Call("rt.eigh_factor", args), jvp=lambda c: None, vjp=no_derivative,
        spellings=(np.linalg.eigh, np.linalg.eigvalsh), lower_call=_lower_eigh)
declare("eigh_values", expensive=True, spell=lambda op, args: P.Call("rt.eigh_values", args), jvp=_values_jvp, vjp=_values_vjp)
declare("eigh_vectors", expensive=True, spell=lambda op, args: P.Call("rt.eigh_vectors", args), jvp=_vectors_jvp, vjp=_vectors_vjp)


# -- np.outer ----------------------------------------------------------------------------
def _outer_jvp(c):
    terms = [P.Call("rt.outer", [c.t(0), c.x(1)]) if c.t(0) is not None else None,
             P.Call("rt.outer", [c.x(0), c.t(1)]) if c.t(1) is not None else None]
    return sum_terms([t for t in terms if t is not None])


def _lower_outer(lw, name, node, env):
    a = lw.args(node, env, ["a", "b"])
    u, v = lw.as_value(a["a"], node), lw.as_value(a["b"], node)
    if not (is_array(u.type) and is_array(v.type) and u.type.ndim == v.type.ndim == 1):
        raise lw.error(TypeCheckError, "np.outer takes two 1-d arrays here: flatten others with .ravel() first", node)
    dtype = promote(u.type, v.type).dtype
    return lw.op1("outer", [lw.cast(u, Array(dtype, 1)), lw.cast(v, Array(dtype, 1))], Array(dtype, 2))


declare("outer", spell=lambda op, args: P.Call("rt.outer", args), jvp=_outer_jvp,
        vjp=lambda c: [(0, P.Call("rt.matvec", [c.g, conj(c, c.x(1))])), (1, P.Call("rt.vecmat", [conj(c, c.x(0)), c.g]))],
        spellings=(np.outer,), lower_call=_lower_outer)


# -- adc's own generated code, lowered again (second order) ------------------------------
def _again(opcode, result, **attrs):
    def lower(lw, args, node):
        return lw.op1(opcode, args, result(args), **attrs)
    return lower


def _solve_again(lw, args, node):
    f, a, b, adjoint = args
    return lw.op1("lu_solve", [f, a, b], b.type, adjoint=bool(constant_value(adjoint)))


def _trisolve_again(lw, args, node):
    t, b, lower, adjoint = args
    return lw.op1("trisolve", [t, b], b.type, lower=bool(constant_value(lower)), adjoint=bool(constant_value(adjoint)))


def _scalar(args):
    return Scalar(args[0].type.dtype)


def _same(args):
    return args[0].type


for _name in ("lu_solve", "lu_solve_vector"):
    runtime_call(_name, _solve_again)
for _name in ("trisolve", "trisolve_vector"):
    runtime_call(_name, _trisolve_again)
runtime_call("lu_factor", _again("lu", _same))
runtime_call("lu_det", _again("lu_det", _scalar))
runtime_call("lu_sign", _again("lu_sign", _scalar))
runtime_call("lu_logabsdet", _again("lu_logabsdet", _scalar))
runtime_call("cholesky", _again("cholesky", _same))
runtime_call("eigh_factor", _again("eigh", _same))
runtime_call("eigh_values", _again("eigh_values", lambda args: Array(args[0].type.dtype, 1)))
runtime_call("eigh_vectors", _again("eigh_vectors", _same))
runtime_call("outer", _again("outer", lambda args: Array(promote(args[0].type, args[1].type).dtype, 2)))
for _name, _result in (("lu_singular", lambda args: BOOL), ("not_positive_definite", lambda args: BOOL),
                      ("column_sums", lambda args: Array(args[0].type.dtype, 1))):
    runtime_call(_name, lambda lw, args, node, _name=_name, _result=_result: lw.op1("runtime", args, _result(args), fn=_name))


def _coupling_again(lw, args, node):
    raise lw.error(UnsupportedCallError, "second derivatives through np.linalg.eigh's eigenvectors are not supported "
                   "(its eigenvalues have them)", node)


runtime_call("eigh_coupling", _coupling_again)
