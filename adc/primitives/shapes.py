"""Shapes and assembly: reshape (and ravel, flatten), np.squeeze, new axes, np.concatenate and np.stack (and
hstack, vstack), np.roll, np.diag, np.tril/np.triu, np.sort, np.repeat: spellings, lowering, rules.

reshape and new axes are views, as in numpy (a write through them writes the array); the others
make new arrays."""
from __future__ import annotations

import numpy as np

from ..codegen import pyir as P
from ..codegen.spelling import reshaped
from ..errors import TypeCheckError, UnsupportedCallError
from ..ir.core import Array, Op, Scalar, constant_value, is_array, promote, with_dtype
from .base import declare, derived

FULL = P.Slice(None, None, None)


def _shape(c, i, axis):
    return P.Index(P.Attr(c.like(i), "shape"), [P.Lit(str(axis))])


def _array_arg(lw, v, node, what):
    v = lw.as_value(v, node)
    if not is_array(v.type):
        raise lw.not_an_array(v, f"{what} needs an array", node)
    return v


# -- reshape: a view with other dimensions ---------------------------------------------------
def _strided(v) -> bool:
    """A view numba cannot reshape in place (numpy would copy it): m.T, z.real, and slices other than
    integer indices followed by at most one slice with step 1 (x[1:], m[0], m[0, 2:], m[1:3]; not
    m[:, 0], m[1:, :], x[::2]), numba's rule for the views of a contiguous array it keeps contiguous."""
    owner = v.owner
    if not isinstance(owner, Op):
        return False
    if owner.opcode in ("transpose", "real", "imag"):
        return owner.operands[0].type.ndim > 1 or owner.opcode != "transpose"
    if owner.opcode == "getslice":
        *leading, last = owner.attrs["spec"]
        return any(s != "i" for s in leading) or (last != "i" and last[2] == "1") or _strided(owner.operands[0])
    return owner.opcode in ("reshape", "expand_dims") and _strided(owner.operands[0])


def lower_reshape(lw, x, dims, node):
    """x with dimensions `dims` (values; one may be the constant -1, computed from the size)."""
    if _strided(x):
        raise lw.error(TypeCheckError, "reshape needs a contiguous array, and this may be a strided view "
                       "(m.T, x[::2], m[:, 0], m[1:, :]; m[1:] is contiguous): copy it first, np.copy(...).reshape(...)", node)
    unknown = [k for k, d in enumerate(dims) if constant_value(d) == -1]
    if len(unknown) > 1:
        raise lw.error(TypeCheckError, "reshape can infer one dimension only (one -1)", node)
    if unknown:
        known = lw.const(1)
        for k, d in enumerate(dims):
            if k != unknown[0]:
                known = lw.binop("mul", known, d)
        dims = list(dims)
        dims[unknown[0]] = lw.binop("floordiv", lw.size(x), known)
    return lw.op1("reshape", [x, *dims], Array(x.type.dtype, len(dims)))


def _lower_reshape_call(lw, name, node, env, this=None):
    if name in ("ravel", "flatten"):
        x = _array_arg(lw, lw.args(node, env, ["a"], this)["a"], node, f"{name}()")
        flat = lower_reshape(lw, x, [lw.size(x)], node)
        return lw.op1("copy", [flat], flat.type) if name == "flatten" else flat  # flatten copies, as in numpy
    if this is not None and len(node.args) != 1:  # x.reshape(2, 3)
        if node.keywords:
            raise lw.error(UnsupportedCallError, "write x.reshape((rows, cols)) here", node)
        dims = [lw.int_value(a, env) for a in node.args]
        return lower_reshape(lw, this, dims, node)
    a = lw.args(node, env, ["a", "newshape"], this)
    x = _array_arg(lw, a["a"], node, "reshape")
    return lower_reshape(lw, x, [lw.int_value_of(d, node) for d in lw.items(a["newshape"])], node)


def _lower_squeeze(lw, name, node, env, this=None):
    """x without the named axes of length 1: the view x[:, 0] (for axis=1), after checking the length."""
    a = lw.args(node, env, ["a", "axis"], this)
    x = _array_arg(lw, a["a"], node, "np.squeeze")
    if not lw.given(a.get("axis")):
        raise lw.error(UnsupportedCallError, "np.squeeze needs `axis=` here (which axes have length 1 is known only "
                       "when it runs): write np.squeeze(x, axis=0), or index, x[0]", node)
    axes = set(lw.static_axes(a["axis"], x, node))
    for axis in sorted(axes):
        lw.check(lw.op1("ne", [lw.dim(x, axis), lw.const(1)], Scalar("bool")),
                 f"np.squeeze: axis {axis} does not have length 1", node)
    parts = [lw.const(0) if k in axes else (None, None, None) for k in range(x.type.ndim)]
    return lw.load(x, parts, node)


def _spell_reshape(op, args):
    return P.Call("rt.reshape", [args[0], P.TupleExpr(args[1:])])


declare("reshape", spell=_spell_reshape, view="layout",
        jvp=lambda c: _spell_reshape(c.op, [c.t(0)] + [c.x(i) for i in range(1, len(c.op.operands))]),
        vjp=lambda c: [(0, reshaped(c.g, P.Attr(c.like(0), "shape")))],
        spellings=(np.reshape, np.ravel), methods=("reshape", "ravel", "flatten"), lower_call=_lower_reshape_call)
derived("squeeze", np.squeeze, lower=_lower_squeeze, methods=("squeeze",))


# -- a new axis of length 1: x[:, None], np.expand_dims ----------------------------------------------
def _spell_expand(op, args):
    return P.Call("np.expand_dims", [args[0], P.Lit(str(op.attrs["axis"]))])


def _lower_expand_dims(lw, name, node, env):
    a = lw.args(node, env, ["a", "axis"])
    x = _array_arg(lw, a["a"], node, "np.expand_dims")
    axis = lw.constant_arg(a["axis"], node, None, "axis")
    if not isinstance(axis, int) or not -x.type.ndim - 1 <= axis <= x.type.ndim:
        raise lw.error(UnsupportedCallError, "np.expand_dims takes one constant axis here", node)
    return lw.expand_dims(x, axis % (x.type.ndim + 1))


declare("expand_dims", spell=_spell_expand, view="layout", jvp=lambda c: _spell_expand(c.op, [c.t(0)]),
        vjp=lambda c: [(0, P.Index(c.g, [FULL] * c.op.attrs["axis"] + [P.Lit("0")]))],
        spellings=(np.expand_dims,), lower_call=_lower_expand_dims)


# -- assembly ------------------------------------------------------------------------------------------
def _arrays(lw, v, node, what):
    """The arrays of a tuple or list argument, cast to one dtype (numba's concatenate wants one)."""
    arrays = [_array_arg(lw, a, node, what) for a in lw.items(v)]
    dtype = promote(*[a.type for a in arrays]).dtype
    return [lw.cast(a, with_dtype(a.type, dtype)) for a in arrays]


def _join(opcode, arrays, axis, lw, node):
    ndims = {a.type.ndim for a in arrays}
    if len(ndims) != 1:
        raise lw.error(TypeCheckError, f"np.{opcode} needs arrays of one number of dimensions", node)
    ndim = ndims.pop() + (opcode == "stack")
    if not -ndim <= axis < ndim:
        raise lw.error(TypeCheckError, f"axis {axis} is out of bounds for the {ndim}-d result", node)
    return lw.op1(opcode, arrays, Array(arrays[0].type.dtype, ndim), axis=axis % ndim)


def _lower_join(lw, name, node, env):
    a = lw.args(node, env, ["arrays", "axis"])
    arrays = _arrays(lw, a["arrays"], node, f"np.{name}")
    if name in ("concatenate", "stack"):
        axis = lw.constant_arg(a.get("axis"), node, None, "axis", 0)
        return _join(name, arrays, axis, lw, node)
    ndim = arrays[0].type.ndim
    if name == "hstack":
        return _join("concatenate", arrays, 0 if ndim == 1 else 1, lw, node)
    if name == "vstack":
        return _join("stack", arrays, 0, lw, node) if ndim == 1 else _join("concatenate", arrays, 0, lw, node)
    return _join("stack", arrays, 1, lw, node) if ndim == 1 else _join("concatenate", arrays, 1, lw, node)  # column_stack


def _spell_join(op, args):
    return P.Call(f"np.{op.opcode}", [P.TupleExpr(args), P.Lit(str(op.attrs["axis"]))])


def _concatenate_vjp(c):
    """Each operand's part of the cotangent, at its offset along the axis."""
    axis, out, start = c.op.attrs["axis"], [], P.Lit("0")
    for i in range(len(c.op.operands)):
        stop = _shape(c, i, axis) if i == 0 else start + _shape(c, i, axis)
        out.append((i, P.Index(c.g, [FULL] * axis + [P.Slice(None if i == 0 else start, stop, None)])))
        start = stop
    return out


def _join_jvp(c):
    tangents = [c.t(i) if c.t(i) is not None else P.Call("np.zeros_like", [c.x(i)]) for i in range(len(c.op.operands))]
    return _spell_join(c.op, tangents)


declare("concatenate", spell=_spell_join, jvp=_join_jvp, vjp=_concatenate_vjp,
        spellings=(np.concatenate, np.hstack, np.vstack, np.column_stack), lower_call=_lower_join)
declare("stack", spell=_spell_join, jvp=_join_jvp, spellings=(np.stack,), lower_call=_lower_join,
        vjp=lambda c: [(i, P.Index(c.g, [FULL] * c.op.attrs["axis"] + [P.Lit(str(i))])) for i in range(len(c.op.operands))])


# -- rearrangements ---------------------------------------------------------------------------------------
def _lower_roll(lw, name, node, env):
    a = lw.args(node, env, ["a", "shift", "axis"])
    if lw.given(a.get("axis")):
        raise lw.error(UnsupportedCallError, "np.roll with `axis=` is not supported: roll a 1-d array, or "
                       "concatenate the two slices (np.concatenate((x[-k:], x[:-k])))", node)
    x = _array_arg(lw, a["a"], node, "np.roll")
    return lw.op1("roll", [x, lw.int_value_of(a["shift"], node)], Array(x.type.dtype, 1) if x.type.ndim == 1 else x.type)


declare("roll", spell=lambda op, args: P.Call("np.roll", args), shaped_like_first=True,
        jvp=lambda c: P.Call("np.roll", [c.t(0), c.x(1)]), vjp=lambda c: [(0, P.Call("np.roll", [c.g, -c.x(1)]))],
        spellings=(np.roll,), lower_call=_lower_roll)


def _lower_diag(lw, name, node, env):
    a = lw.args(node, env, ["v", "k"])
    x = _array_arg(lw, a["v"], node, "np.diag")
    if lw.given(a.get("k")) and lw.constant_arg(a["k"], node, None, "k") != 0 or x.type.ndim > 2:
        raise lw.error(UnsupportedCallError, "np.diag takes a 1-d or 2-d array and the main diagonal (k=0) here", node)
    return lw.op1("diag", [x], Array(x.type.dtype, 3 - x.type.ndim))


def _diag_vjp(c):
    if c.op.operands[0].type.ndim == 1:
        return [(0, P.Call("np.diag", [c.g]))]
    return [(0, P.Call("rt.embed_diagonal", [c.g, c.like(0)]))]  # the diagonal of an m x n matrix


declare("diag", spell=lambda op, args: P.Call("np.diag", args), jvp=lambda c: P.Call("np.diag", [c.t(0)]), vjp=_diag_vjp,
        spellings=(np.diag,), lower_call=_lower_diag)


def _lower_triangle(lw, name, node, env):
    a = lw.args(node, env, ["m", "k"])
    x = _array_arg(lw, a["m"], node, f"np.{name}")
    if x.type.ndim != 2:
        raise lw.error(UnsupportedCallError, f"np.{name} takes a 2-d array here", node)
    k = lw.int_value_of(a["k"], node) if lw.given(a.get("k")) else lw.const(0)
    return lw.op1("triangle", [x, k], x.type, kind=name)


def _triangle(kind, e, k):
    return P.Call(f"np.{kind}", [e, k])


declare("triangle", spell=lambda op, args: _triangle(op.attrs["kind"], *args), shaped_like_first=True,
        jvp=lambda c: _triangle(c.op.attrs["kind"], c.t(0), c.x(1)),
        vjp=lambda c: [(0, _triangle(c.op.attrs["kind"], c.g, c.x(1)))], spellings=(np.tril, np.triu),
        lower_call=_lower_triangle)


def _lower_sort(lw, name, node, env, this=None):
    a = lw.args(node, env, ["a", "axis", "kind", "order"], this)
    x = _array_arg(lw, a["a"], node, "np.sort")
    if x.type.ndim != 1 or any(lw.given(a.get(k)) for k in ("kind", "order")) or \
            lw.given(a.get("axis")) and lw.constant_arg(a["axis"], node, None, "axis") not in (0, -1):
        raise lw.error(UnsupportedCallError, "np.sort takes a 1-d array here (no kind or order): sort rows in a loop", node)
    if np.dtype(x.type.dtype).kind == "c":
        raise lw.error(TypeCheckError, "complex numbers cannot be sorted here: sort abs(z) or z.real", node)
    return lw.op1("sort", [x], x.type)


# the derivative moves with the element: the tangent is permuted like the values, the cotangent back
declare("sort", spell=lambda op, args: P.Call("np.sort", args), shaped_like_first=True,
        jvp=lambda c: P.Index(c.t(0), [P.Call("np.argsort", [c.x(0)])]),
        vjp=lambda c: [(0, P.Call("rt.unpermute", [c.g, P.Call("np.argsort", [c.x(0)])]))],
        spellings=(np.sort,), lower_call=_lower_sort)
def _lower_argsort(lw, name, node, env):
    x = _array_arg(lw, lw.args(node, env, ["a"])["a"], node, "np.argsort")
    if x.type.ndim != 1:
        raise lw.error(UnsupportedCallError, "np.argsort takes a 1-d array here: sort rows in a loop", node)
    return lw.op1("argsort", [x], Array("int64", 1))


declare("argsort", spell=lambda op, args: P.Call("np.argsort", args), vjp=lambda c: [], spellings=(np.argsort,),
        lower_call=_lower_argsort)


def _lower_repeat(lw, name, node, env, this=None):
    a = lw.args(node, env, ["a", "repeats", "axis"], this)
    x = _array_arg(lw, a["a"], node, "np.repeat")
    repeats = lw.as_value(a["repeats"], node)
    if lw.given(a.get("axis")) or is_array(repeats.type):
        raise lw.error(UnsupportedCallError, "np.repeat takes one count for every element here (no axis)", node)
    return lw.op1("repeat", [x, lw.int_value_of(repeats, node)], Array(x.type.dtype, 1))


def _repeat_vjp(c):
    """Each element's copies, summed."""
    rows = P.TupleExpr([P.Attr(c.like(0), "size"), c.x(1)])
    total = P.Call("np.sum", [reshaped(c.g, rows), P.Lit("1")])
    return [(0, total if c.op.operands[0].type.ndim == 1 else reshaped(total, P.Attr(c.like(0), "shape")))]


declare("repeat", spell=lambda op, args: P.Call("np.repeat", args), jvp=lambda c: P.Call("np.repeat", [c.t(0), c.x(1)]),
        vjp=_repeat_vjp, spellings=(np.repeat,), methods=("repeat",), lower_call=_lower_repeat)
