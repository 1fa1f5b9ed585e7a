"""Products of vectors and matrices: np.dot, np.matmul, `@`, of stacks of matrices too. Generated code
calls the runtime's loops (runtime/linalg.py), operands cast to the result's dtype."""
from __future__ import annotations

from ..codegen import pyir as P
from ..codegen.spelling import cast_expr
from ..ir.core import with_dtype
from .base import conj, declare, sum_terms

PRODUCTS = {(1, 1): "rt.dot", (2, 1): "rt.matvec", (1, 2): "rt.vecmat", (2, 2): "rt.matmat",
            (3, 3): "rt.matmat_33", (3, 2): "rt.matmat_32", (2, 3): "rt.matmat_23"}


def _spell(op, args):
    (ta, tb), result = (o.type for o in op.operands), op.results[0].type
    a = args[0] if ta.dtype == result.dtype else cast_expr(args[0], ta, with_dtype(ta, result.dtype))
    b = args[1] if tb.dtype == result.dtype else cast_expr(args[1], tb, with_dtype(tb, result.dtype))
    return P.Call(PRODUCTS[ta.ndim, tb.ndim], [a, b])


def _jvp(c):
    a, b = c.op.operands
    product = PRODUCTS[a.type.ndim, b.type.ndim]
    terms = [P.Call(product, [c.t(0), c.x(1)]) if c.t(0) is not None else None,
             P.Call(product, [c.x(0), c.t(1)]) if c.t(1) is not None else None]
    return sum_terms([t for t in terms if t is not None])


def _swapped(e):
    """Each matrix of a stack transposed."""
    return P.Call("rt.swap_last", [e])


def _stacked(a):
    """The sum over a stack of products, for the operand that every matrix of the other stack multiplied."""
    return P.Call("np.sum", [a, P.Lit("0")])


def _matmul_vjp(c):
    """C = A @ B:  A_bar = C_bar @ B^H,  B_bar = A^H @ C_bar, spelled with the runtime's products."""
    a, b = c.op.operands
    g, x, y = c.g, conj(c, c.x(0)), conj(c, c.x(1))
    ndims = a.type.ndim, b.type.ndim
    if ndims == (3, 3):
        return [(0, P.Call("rt.matmat_33", [g, _swapped(y)])), (1, P.Call("rt.matmat_33", [_swapped(x), g]))]
    if ndims == (3, 2):
        return [(0, P.Call("rt.matmat_32", [g, P.Attr(y, "T")])), (1, _stacked(P.Call("rt.matmat_33", [_swapped(x), g])))]
    if ndims == (2, 3):
        return [(0, _stacked(P.Call("rt.matmat_33", [g, _swapped(y)]))), (1, P.Call("rt.matmat_23", [P.Attr(x, "T"), g]))]
    if a.type.ndim == 2 and b.type.ndim == 1:
        return [(0, P.Call("rt.outer", [g, y])), (1, P.Call("rt.vecmat", [g, x]))]
    if a.type.ndim == 1:
        return [(0, P.Call("rt.matvec", [y, g])), (1, P.Call("rt.outer", [x, g]))]
    return [(0, P.Call("rt.matmat", [g, P.Attr(y, "T")])), (1, P.Call("rt.matmat", [P.Attr(x, "T"), g]))]


declare("dot", spell=_spell, jvp=_jvp, vjp=lambda c: [(0, c.g * conj(c, c.x(1))), (1, c.g * conj(c, c.x(0)))])
declare("matmul", expensive=True, spell=_spell, jvp=_jvp, vjp=_matmul_vjp)
