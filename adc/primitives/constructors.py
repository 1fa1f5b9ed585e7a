"""Arrays made from nothing or from another's shape: np.zeros/ones/empty(_like), np.copy, np.arange,
np.full_like, np.full, np.eye/np.identity, np.linspace: their spellings, lowering (arguments, dtypes),
spelling in generated code and rules."""
from __future__ import annotations

import numpy as np

from ..codegen import pyir as P
from ..errors import TypeCheckError, UnsupportedCallError
from ..ir.core import Array, Scalar, as_float, is_array, promote
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



def _lower_full(lw, name, node, env):
    a = lw.args(node, env, ["shape", "fill_value", "dtype"])
    value = lw.as_value(a["fill_value"], node)
    if is_array(value.type):
        raise lw.error(TypeCheckError, "np.full fills with a number here: for an array, broadcast it (x + np.zeros(shape))", node)
    shape = [lw.int_value_of(s, node) for s in lw.items(a["shape"])]
    dtype = lw.dtype_arg(a["dtype"], node) if a.get("dtype") else value.type.dtype
    return lw.full(shape, lw.cast(value, Scalar(dtype)))


def _spell_full(op, args):
    shape = args[1:]
    return P.Call("np.full", [P.TupleExpr(shape) if len(shape) != 1 else shape[0], args[0]])


def _lower_eye(lw, name, node, env):
    a = lw.args(node, env, ["N", "M", "k", "dtype"] if name == "eye" else ["n", "dtype"])
    rows = lw.int_value_of(a["N" if name == "eye" else "n"], node)
    cols = lw.int_value_of(a["M"], node) if lw.given(a.get("M")) else rows
    diagonal = lw.int_value_of(a["k"], node) if lw.given(a.get("k")) else lw.const(0)
    return lw.op1("eye", [rows, cols, diagonal], Array(lw.dtype_arg(a.get("dtype"), node), 2))


def _weights(op, num):
    """Where each point of np.linspace lies between start (0) and stop (1)."""
    if op.attrs["endpoint"]:
        return P.Call("np.linspace", [P.Lit("0.0"), P.Lit("1.0"), num])
    return P.Index(P.Call("np.linspace", [P.Lit("0.0"), P.Lit("1.0"), num + P.Lit("1")]), [P.Slice(None, P.Lit("-1"), None)])


def _spell_linspace(op, args):
    start, stop, num = args
    if op.attrs["endpoint"]:
        return P.Call("np.linspace", args)
    return P.Index(P.Call("np.linspace", [start, stop, num + P.Lit("1")]), [P.Slice(None, P.Lit("-1"), None)])


def _linspace_jvp(c):
    w = _weights(c.op, c.x(2))
    terms = [(1.0 - w) * c.t(0) if c.t(0) is not None else None, w * c.t(1) if c.t(1) is not None else None]
    terms = [t for t in terms if t is not None]
    return terms[0] if len(terms) == 1 else terms[0] + terms[1]


def _lower_linspace(lw, name, node, env):
    a = lw.args(node, env, ["start", "stop", "num", "endpoint", "retstep", "dtype", "axis"])
    for unsupported in ("retstep", "dtype", "axis"):
        if lw.given(a.get(unsupported)):
            raise lw.error(UnsupportedCallError, f"`{unsupported}=` of np.linspace is not supported", node)
    start, stop = (lw.as_value(a[k], node) for k in ("start", "stop"))
    if is_array(start.type) or is_array(stop.type):
        raise lw.error(TypeCheckError, "np.linspace takes numbers as start and stop here", node)
    t = as_float(promote(start.type, stop.type))
    num = lw.int_value_of(a["num"], node) if lw.given(a.get("num")) else lw.const(50)
    endpoint = lw.constant_arg(a.get("endpoint"), node, (True, False), "endpoint", True)
    return lw.op1("linspace", [lw.cast(start, Scalar(t.dtype)), lw.cast(stop, Scalar(t.dtype)), num], Array(t.dtype, 1),
                  endpoint=endpoint)


declare("full", spell=_spell_full, jvp=lambda c: _spell_full(c.op, [c.t(0)] + [c.x(i) for i in range(1, len(c.op.operands))]),
        vjp=lambda c: [(0, P.Call("np.sum", [c.g]))], spellings=(np.full,), lower_call=_lower_full)
declare("eye", spell=lambda op, args: P.Call("np.eye", args + [P.Lit(f"np.{op.results[0].type.dtype}")]), effect="fresh",
        vjp=no_derivative, spellings=(np.eye, np.identity), lower_call=_lower_eye)
declare("linspace", spell=_spell_linspace, jvp=_linspace_jvp,
        vjp=lambda c: [(0, P.Call("np.sum", [c.g * (1.0 - _weights(c.op, c.x(2)))])),
                       (1, P.Call("np.sum", [c.g * _weights(c.op, c.x(2))]))],
        spellings=(np.linspace,), lower_call=_lower_linspace)
