"""Reductions: np.sum, np.mean, np.max, np.min (whole array or along an axis, keepdims), np.prod,
np.argmax/np.argmin, np.cumsum, np.trace (also as methods, `x.sum(axis=0)`, `x.max()`)."""
from __future__ import annotations

import numpy as np

from ..codegen import pyir as P
from ..codegen.spelling import reshaped
from ..errors import UnsupportedCallError
from ..ir.core import I64, Array, Scalar, as_float, is_array
from .base import declare


def _total(t):
    """numpy's sum of bools counts them."""
    return Scalar(t.dtype if t.dtype != "bool" else "int64")


def _axis(op):
    return op.attrs.get("axis")


def _length(c, axis):
    return P.Index(P.Attr(c.like(0), "shape"), [P.Lit(str(axis))])


def _spread(c, g):
    """A cotangent of the reduction, spread back over the array: along the reduced axis, or everywhere."""
    axis = _axis(c.op)
    if axis is None:
        return P.Call("np.full_like", [c.like(0), g])
    return P.Call("np.zeros_like", [c.like(0)]) + P.Call("np.expand_dims", [g, P.Lit(str(axis))])


def _spell_sum(op, args):
    axis = _axis(op)
    return P.Call("np.sum", args if axis is None else args + [P.Lit(str(axis))])


def _spell_mean(op, args):
    axis = _axis(op)
    if axis is None:
        return P.Call("np.mean", args)
    return _spell_sum(op, args) / P.Index(P.Attr(args[0], "shape"), [P.Lit(str(axis))])  # numba: no axis


def _mean_vjp(c):
    axis = _axis(c.op)
    count = P.Attr(c.like(0), "size") if axis is None else _length(c, axis)
    return [(0, _spread(c, c.g / count))]


def lower_reduction(lw, name, node, env, this=None):
    """np.sum(x, axis, keepdims=...), np.mean likewise: over every axis, one (negative counts from the end),
    or a tuple of them; keepdims leaves each reduced axis with length 1."""
    a = lw.args(node, env, ["a", "axis", "dtype", "out", "keepdims"], this)
    if lw.given(a.get("dtype")):
        raise lw.error(UnsupportedCallError, f"`dtype=` of np.{name} is not supported: cast the array first "
                       "(x.astype(np.float64))", node)
    if lw.given(a.get("out")):
        raise lw.error(UnsupportedCallError, f"`out=` of np.{name} is not supported: assign the result", node)
    x = lw.as_value(a["a"], node)
    keepdims = lw.constant_arg(a.get("keepdims"), node, (True, False), "keepdims", False)
    if not is_array(x.type):
        return lw.cast(x, CALLED_RESULT[name](Scalar(x.type.dtype)))
    return reduce_axes(lw, name, x, lw.static_axes(a.get("axis"), x, node), keepdims, node)


def reduce_axes(lw, opcode: str, x, axes: tuple, keepdims: bool, node):
    """A sum or mean of x over `axes` (normalised, non-negative): one op per axis, the whole array at once."""
    if len(set(axes)) != len(axes):
        raise lw.error(UnsupportedCallError, "an axis is repeated", node)
    if sorted(axes) == list(range(x.type.ndim)):
        total = lw.op1(opcode, [x], CALLED_RESULT[opcode](Scalar(x.type.dtype)))
        return lw.full([lw.const(1)] * x.type.ndim, total) if keepdims else total
    result = x
    for axis in sorted(axes, reverse=True):  # the later axes first, so the earlier keep their numbers
        t = CALLED_RESULT[opcode](Scalar(result.type.dtype))
        result = lw.op1(opcode, [result], Array(t.dtype, result.type.ndim - 1), axis=axis)
    for axis in sorted(axes) if keepdims else ():
        result = lw.expand_dims(result, axis)
    return result


CALLED_RESULT = {"sum": _total, "mean": lambda t: as_float(_total(t))}

declare("sum", spellings=(np.sum,), methods=("sum",), lower_call=lower_reduction, spell=_spell_sum,
        jvp=lambda c: _spell_sum(c.op, [c.t(0)]), vjp=lambda c: [(0, _spread(c, c.g))])
declare("mean", spellings=(np.mean,), methods=("mean",), lower_call=lower_reduction, spell=_spell_mean,
        jvp=lambda c: _spell_mean(c.op, [c.t(0)]), vjp=_mean_vjp)


# -- products and extremes of the whole array --------------------------------------------
def _spell(name):
    return lambda op, args: P.Call(f"np.{name}", args)


# the product of the other elements (the partial), computed without dividing, so zeros are fine
declare("prod", spellings=(np.prod,), result=_total, spell=_spell("prod"),
        jvp=lambda c: P.Call("np.sum", [c.t(0) * P.Call("rt.prod_of_others", [c.x(0)])]),
        vjp=lambda c: [(0, c.g * P.Call("rt.prod_of_others", [c.x(0)]))])


def _extreme(name, spelling):
    """The maximum or minimum, of the whole array or along an axis (of a 2-d array): its derivative is
    shared equally by the elements that attain it (as JAX and PyTorch do), so a tie gives each the same share."""
    def winners(c):
        axis = _axis(c.op)
        out = c.out if axis is None else P.Call("np.expand_dims", [c.out, P.Lit(str(axis))])
        hit = P.BinOp("==", c.x(0), out)
        if axis is None:
            return hit / P.Call("np.sum", [hit])
        return hit / P.Call("np.expand_dims", [P.Call("np.sum", [hit, P.Lit(str(axis))]), P.Lit(str(axis))])

    def spell(op, args):
        axis = _axis(op)
        if axis is None:
            return P.Call(f"np.{name}", args)
        return P.Call(f"rt.{name}_along", args + [P.Lit(str(axis))])  # numba's np.max takes no axis

    def jvp(c):
        shares = c.t(0) * winners(c)
        return P.Call("np.sum", [shares] if _axis(c.op) is None else [shares, P.Lit(str(_axis(c.op)))])

    def vjp(c):
        axis = _axis(c.op)
        return [(0, (c.g if axis is None else P.Call("np.expand_dims", [c.g, P.Lit(str(axis))])) * winners(c))]

    def lower(lw, called, node, env, this=None):
        a = lw.args(node, env, ["a", "axis", "out", "keepdims"], this)
        if lw.given(a.get("out")):
            raise lw.error(UnsupportedCallError, f"`out=` of np.{name} is not supported", node)
        x = lw.as_value(a["a"], node)
        if not is_array(x.type):
            return x
        if np.dtype(x.type.dtype).kind == "c":
            raise lw.error(UnsupportedCallError, f"np.{name} of complex numbers is not supported: take abs() or .real", node)
        keepdims = lw.constant_arg(a.get("keepdims"), node, (True, False), "keepdims", False)
        axes = lw.static_axes(a.get("axis"), x, node)
        if sorted(axes) == list(range(x.type.ndim)):
            result = lw.op1(name, [x], Scalar(x.type.dtype))
            return lw.full([lw.const(1)] * x.type.ndim, result) if keepdims else result
        if len(axes) != 1 or x.type.ndim != 2:
            raise lw.error(UnsupportedCallError, f"np.{name} along an axis takes a 2-d array and one axis here: "
                           "loop over the others", node)
        result = lw.op1(name, [x], Array(x.type.dtype, 1), axis=axes[0])
        return lw.expand_dims(result, axes[0]) if keepdims else result

    declare(name, spellings=(spelling,), methods=(name,), lower_call=lower, spell=spell, jvp=jvp, vjp=vjp)


_extreme("max", np.max)
_extreme("min", np.min)
for _name in ("argmax", "argmin"):  # integer results: no derivative
    declare(_name, spellings=(getattr(np, _name),), result=lambda t: I64, spell=_spell(_name),
            vjp=lambda c: [])


# -- running sums and the trace ------------------------------------------------------------
def _reversed(e, axis):
    return P.Index(e, [P.Slice(None, None, None)] * axis + [P.Slice(None, None, P.Lit("-1"))])


def _spell_cumsum(op, args):
    axis = _axis(op)
    return P.Call("np.cumsum", args if axis is None else args + [P.Lit(str(axis))])


def _cumsum_vjp(c):
    """The adjoint of a running sum is the running sum from the end."""
    axis = _axis(c.op)
    back = _reversed(_spell_cumsum(c.op, [_reversed(c.g, axis or 0)]), axis or 0)
    if axis is None and c.op.operands[0].type.ndim > 1:  # np.cumsum flattens first
        back = reshaped(back, P.Attr(c.like(0), "shape"))
    return [(0, back)]


def _lower_cumsum(lw, name, node, env, this=None):
    a = lw.args(node, env, ["a", "axis"], this)
    x = lw.as_value(a["a"], node)
    if not is_array(x.type):
        raise lw.not_an_array(x, "np.cumsum needs an array", node)
    dtype = _total(Scalar(x.type.dtype)).dtype
    if not lw.given(a.get("axis")):
        return lw.op1("cumsum", [x], Array(dtype, 1))
    (axis,) = lw.static_axes(a["axis"], x, node)
    return lw.op1("cumsum", [x], Array(dtype, x.type.ndim), axis=axis)


declare("cumsum", spellings=(np.cumsum,), methods=("cumsum",), lower_call=_lower_cumsum, spell=_spell_cumsum,
        jvp=lambda c: _spell_cumsum(c.op, [c.t(0)]), vjp=_cumsum_vjp)


def _eye_like(m):
    shape = P.Attr(m, "shape")
    return P.Call("np.eye", [P.Index(shape, [P.Lit("0")]), P.Index(shape, [P.Lit("1")])])


def _lower_trace(lw, name, node, env, this=None):
    x = lw.as_value(lw.args(node, env, ["a"], this)["a"], node)
    if not is_array(x.type) or x.type.ndim != 2:
        raise lw.error(UnsupportedCallError, "np.trace needs a 2-d array here (offset and axes are not supported)", node)
    return lw.op1("trace", [x], _total(Scalar(x.type.dtype)))


declare("trace", spellings=(np.trace,), methods=("trace",), lower_call=_lower_trace, spell=_spell("trace"),
        jvp=lambda c: P.Call("np.trace", [c.t(0)]), vjp=lambda c: [(0, c.g * _eye_like(c.like(0)))])
