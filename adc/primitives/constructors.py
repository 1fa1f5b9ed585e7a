"""Arrays made from nothing or from another's shape: np.zeros/ones/empty(_like), np.copy, np.arange,
np.full_like: their spellings, lowering (arguments, dtypes), spelling in generated code and rules."""
from __future__ import annotations

import numpy as np

from ..codegen import pyir as P
from ..errors import TypeCheckError
from ..ir.core import Array, Scalar, is_array, promote
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


# -- lowering: a call of np.zeros(...) etc. (lw: the frontend's Lowerer) ------------------------------
def _lower_alloc(lw, name, node, env):
    a = lw.args(node, env, ["shape", "dtype"])
    shape = [lw.int_value_of(s, node) for s in lw.items(a["shape"])]
    return lw.op1("alloc", shape, Array(lw.dtype_arg(a.get("dtype"), node), len(shape)), kind=name)


def _like(lw, name, node, env, names):
    a = lw.args(node, env, names)
    src = lw.as_value(a["a"], node)
    if not is_array(src.type):
        raise lw.error(TypeCheckError, f"np.{name} needs an array", node)
    return src, a


def _lower_alloc_like(lw, name, node, env):
    src, a = _like(lw, name, node, env, ["a", "dtype"])
    dtype = lw.dtype_arg(a.get("dtype"), node) if a.get("dtype") else src.type.dtype
    return lw.op1("alloc_like", [src], Array(dtype, src.type.ndim), kind=name[:-len("_like")])


def _lower_copy(lw, name, node, env):
    src, _ = _like(lw, name, node, env, ["a"])  # np.copy's second argument is `order`: refused
    return lw.op1("copy", [src], src.type)


def _lower_arange(lw, name, node, env):
    a = lw.args(node, env, ["start", "stop", "step", "dtype"])
    lo, hi, step = lw.range_parts([lw.as_value(a[k], node) for k in ("start", "stop", "step") if k in a])
    if a.get("dtype"):
        dtype = lw.dtype_arg(a["dtype"], node)
        return lw.op1("arange", [lo, hi, step], Array(dtype, 1), dtype=dtype)
    t = promote(lo.type, hi.type, step.type)
    return lw.op1("arange", [lo, hi, step], Array(t.dtype if t.dtype != "bool" else "int64", 1))


def _lower_full_like(lw, name, node, env):
    a = lw.args(node, env, ["a", "fill_value", "dtype"])
    like, value = lw.as_value(a["a"], node), lw.as_value(a["fill_value"], node)
    t = Array(lw.dtype_arg(a["dtype"], node), like.type.ndim) if a.get("dtype") else like.type
    dtype = {"dtype": t.dtype} if t.dtype != like.type.dtype else {}
    return lw.op1("full_like", [like, lw.cast(value, Scalar(t.dtype))], t, **dtype)


declare("alloc", spell=_alloc, effect="fresh", vjp=no_derivative,
        spellings=(np.zeros, np.ones, np.empty), lower_call=_lower_alloc)
declare("alloc_like", spell=_alloc_like, effect="fresh", shaped_like_first=True, vjp=no_derivative,
        spellings=(np.zeros_like, np.ones_like, np.empty_like), lower_call=_lower_alloc_like)
declare("copy", spell=lambda op, args: P.Call("np.copy", args), effect="fresh", shaped_like_first=True,
        partials=lambda c: [(0, ONE)], spellings=(np.copy,), lower_call=_lower_copy)
declare("arange", spell=lambda op, args: P.Call("np.arange", args + _dtype_argument(op)), effect="fresh",
        vjp=no_derivative, spellings=(np.arange,), lower_call=_lower_arange)
declare("full_like", spell=lambda op, args: P.Call("np.full_like", args + _dtype_argument(op)), shaped_like_first=True,
        jvp=_full_like_jvp, vjp=lambda c: [(1, P.Call("np.sum", [c.g]))],
        spellings=(np.full_like,), lower_call=_lower_full_like)
