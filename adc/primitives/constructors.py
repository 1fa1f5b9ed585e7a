"""Arrays made from nothing or from another's shape: np.zeros/ones/empty(_like), np.copy, np.arange,
np.full_like."""
from __future__ import annotations

from ..codegen import pyir as P
from .base import ONE, declare, no_derivative


def _dtype_argument(op) -> list:
    """A dtype given explicitly, spelled as numpy's last argument."""
    return [P.Lit(f"np.{op.attrs['dtype']}")] if "dtype" in op.attrs else []


def _alloc(op, args):
    shape = P.TupleExpr(args) if len(args) != 1 else args[0]
    return P.Call(f"np.{op.attrs['kind']}", [shape, P.Lit(f"np.{op.results[0].type.dtype}")])


def _alloc_like(op, args):
    return P.Call(f"np.{op.attrs['kind']}", [P.Attr(args[0], "shape"), P.Lit(f"np.{op.results[0].type.dtype}")])


def _full_like_jvp(c):
    return P.Call("np.full_like", [c.x(0), c.t(1)] + _dtype_argument(c.op)) if c.t(1) is not None else None


declare("alloc", spell=_alloc, effect="fresh", vjp=no_derivative)
declare("alloc_like", spell=_alloc_like, effect="fresh", shaped_like_first=True, vjp=no_derivative)
declare("copy", spell=lambda op, args: P.Call("np.copy", args), effect="fresh", shaped_like_first=True,
        partials=lambda c: [(0, ONE)])
declare("arange", spell=lambda op, args: P.Call("np.arange", args + _dtype_argument(op)), effect="fresh",
        vjp=no_derivative)
declare("full_like", spell=lambda op, args: P.Call("np.full_like", args + _dtype_argument(op)), shaped_like_first=True,
        jvp=_full_like_jvp, vjp=lambda c: [(1, P.Call("np.sum", [c.g]))])
