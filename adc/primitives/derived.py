"""numpy functions written with primitives: np.clip, np.var/np.std, np.diff, np.linalg.norm, np.flip, np.vdot,
np.pad, np.array/np.asarray of numbers, np.fliplr/np.flipud, np.transpose, np.meshgrid. Their derivatives are those of what they
lower to, so each is exact wherever its parts are (np.clip: 1 inside, 0 outside; at a bound, the side
np.maximum and np.minimum pick)."""
from __future__ import annotations

import math

import numpy as np

from ..errors import TypeCheckError, UnsupportedCallError
from ..ir.core import Array, Scalar, is_array, promote, real_part
from .base import derived
from .reductions import reduce_axes

FULL = (None, None, None)


def _array(lw, v, node, what):
    v = lw.as_value(v, node)
    if not is_array(v.type):
        raise lw.not_an_array(v, f"{what} needs an array", node)
    return v


def _lower_clip(lw, name, node, env, this=None):
    a = lw.args(node, env, ["a", "a_min", "a_max"], this)
    x = lw.as_value(a["a"], node)
    if not (lw.given(a.get("a_min")) or lw.given(a.get("a_max"))):
        raise lw.error(UnsupportedCallError, "np.clip needs a lower or an upper bound", node)
    if lw.given(a.get("a_min")):
        x = lw.elementwise("maximum", [x, lw.as_value(a["a_min"], node)], node)
    if lw.given(a.get("a_max")):
        x = lw.elementwise("minimum", [x, lw.as_value(a["a_max"], node)], node)
    return x


derived("clip", np.clip, lower=_lower_clip, methods=("clip",))


def squared_magnitude(lw, d):
    """|d|^2 elementwise: d * d, or for complex d, Re(d conj(d))."""
    if np.dtype(d.type.dtype).kind != "c":
        return lw.binop("mul", d, d)
    product = lw.binop("mul", d, lw.op1("conj", [d], d.type))
    return lw.op1("real", [product], real_part(product.type))


def _lower_moment(lw, name, node, env, this=None):
    """np.var(x, axis, ddof, keepdims) = sum(|x - mean|^2) / (n - ddof); np.std its square root."""
    a = lw.args(node, env, ["a", "axis", "dtype", "out", "ddof", "keepdims"], this)
    if lw.given(a.get("dtype")) or lw.given(a.get("out")):
        raise lw.error(UnsupportedCallError, f"`dtype=` and `out=` of np.{name} are not supported", node)
    x = _array(lw, a["a"], node, f"np.{name}")
    axes = lw.static_axes(a.get("axis"), x, node)
    keepdims = lw.constant_arg(a.get("keepdims"), node, (True, False), "keepdims", False)
    centred = lw.binop("sub", x, reduce_axes(lw, "mean", x, axes, True, node))
    total = reduce_axes(lw, "sum", squared_magnitude(lw, centred), axes, keepdims, node)
    count = lw.const(1)
    for axis in axes:
        count = lw.binop("mul", count, lw.dim(x, axis))
    if lw.given(a.get("ddof")):
        count = lw.binop("sub", count, lw.as_value(a["ddof"], node))
    variance = lw.binop("div", total, count)
    return variance if name == "var" else lw.elementwise("sqrt", [variance], node)


derived("var", np.var, lower=_lower_moment, methods=("var",))
derived("std", np.std, lower=_lower_moment, methods=("std",))


def _along(ndim, axis, part):
    return [FULL] * axis + [part] + [FULL] * (ndim - axis - 1)


def _lower_diff(lw, name, node, env):
    a = lw.args(node, env, ["a", "n", "axis", "prepend", "append"])
    if lw.given(a.get("prepend")) or lw.given(a.get("append")):
        raise lw.error(UnsupportedCallError, "`prepend=` and `append=` of np.diff are not supported: "
                       "np.concatenate first", node)
    x = _array(lw, a["a"], node, "np.diff")
    times = lw.constant_arg(a.get("n"), node, None, "n", 1)
    (axis,) = lw.static_axes(a.get("axis"), x, node, default=(-1,))
    one, minus_one = lw.const(1), lw.const(-1)
    for _ in range(times):
        later = lw.load(x, _along(x.type.ndim, axis, (one, None, None)), node)
        earlier = lw.load(x, _along(x.type.ndim, axis, (None, minus_one, None)), node)
        x = lw.binop("sub", later, earlier)
    return x


derived("diff", np.diff, lower=_lower_diff)


def _lower_norm(lw, name, node, env):
    """Vector norms (ord None, 2, 1, inf, -inf, p > 0) of a 1-d array or along an axis; the Frobenius norm
    (ord None, "fro") and the 1 and inf norms of a matrix. Each is its formula in sums and extremes."""
    a = lw.args(node, env, ["x", "ord", "axis", "keepdims"])
    x = _array(lw, a["x"], node, "np.linalg.norm")
    order = lw.constant_arg(a.get("ord"), node, None, "ord")
    keepdims = lw.constant_arg(a.get("keepdims"), node, (True, False), "keepdims", False)
    if keepdims:
        raise lw.error(UnsupportedCallError, "`keepdims=` of np.linalg.norm is not supported", node)
    magnitude = lw.elementwise("abs", [x], node)
    if lw.given(a.get("axis")):
        axes = lw.static_axes(a["axis"], x, node)
        if len(axes) != 1 or order not in (None, 2):
            raise lw.error(UnsupportedCallError, "np.linalg.norm along an axis is the 2-norm of one axis here", node)
        return lw.elementwise("sqrt", [reduce_axes(lw, "sum", squared_magnitude(lw, x), axes, False, node)], node)
    if x.type.ndim > 2:
        raise lw.error(UnsupportedCallError, "np.linalg.norm takes a 1-d or 2-d array here", node)
    if order is None or order == "fro" or (order == 2 and x.type.ndim == 1):
        if order == "fro" and x.type.ndim != 2:
            raise lw.error(TypeCheckError, "the Frobenius norm is of a matrix", node)
        return lw.elementwise("sqrt", [lw.op1("sum", [squared_magnitude(lw, x)], Scalar(magnitude.type.dtype))], node)
    if x.type.ndim == 2:
        if order not in (1, math.inf):
            raise lw.error(UnsupportedCallError, f"the matrix norm ord={order!r} needs singular values, which adc does not "
                           "differentiate yet: use ord=None ('fro'), 1 or np.inf", node)
        sums = reduce_axes(lw, "sum", magnitude, (0,) if order == 1 else (1,), False, node)
        return lw.op1("max", [sums], Scalar(sums.type.dtype))
    if order == math.inf or order == -math.inf:
        return lw.op1("max" if order > 0 else "min", [magnitude], Scalar(magnitude.type.dtype))
    if order == 1:
        return lw.op1("sum", [magnitude], Scalar(magnitude.type.dtype))
    if not isinstance(order, (int, float)) or order <= 0:
        raise lw.error(UnsupportedCallError, f"the vector norm ord={order!r} is not differentiable: use a positive ord", node)
    powered = lw.binop("pow", magnitude, lw.const(float(order)))
    return lw.binop("pow", lw.op1("sum", [powered], Scalar(magnitude.type.dtype)), lw.const(1.0 / order))


derived("norm", np.linalg.norm, lower=_lower_norm)


def _flipped(lw, x, axes, node):
    """x reversed along `axes`: a view, as np.flip returns."""
    parts = [(None, None, lw.const(-1)) if k in axes else FULL for k in range(x.type.ndim)]
    return lw.load(x, parts, node)


def _lower_flip(lw, name, node, env):
    if name in ("fliplr", "flipud"):
        x = _array(lw, lw.args(node, env, ["m"])["m"], node, f"np.{name}")
        return _flipped(lw, x, {1 if name == "fliplr" else 0}, node)
    a = lw.args(node, env, ["m", "axis"])
    x = _array(lw, a["m"], node, "np.flip")
    return _flipped(lw, x, set(lw.static_axes(a.get("axis"), x, node)), node)


derived("flip", np.flip, np.fliplr, np.flipud, lower=_lower_flip)


def _pad_widths(lw, v, ndim, node):
    """numpy's pad_width: n, (before, after), or one (before, after) per axis, as values."""
    items = lw.items(v)
    if len(items) == 1 and not isinstance(items[0], tuple):
        items = [items[0], items[0]]
    if all(not isinstance(i, tuple) for i in items):
        if len(items) != 2:
            raise lw.error(TypeCheckError, "pad_width is n, (before, after) or one (before, after) per axis", node)
        pairs = [tuple(items)] * ndim
    else:
        pairs = [tuple(lw.items(p)) * (2 if len(lw.items(p)) == 1 else 1) for p in items]
        if len(pairs) == 1:
            pairs = pairs * ndim
    if len(pairs) != ndim or any(len(p) != 2 for p in pairs):
        raise lw.error(TypeCheckError, "pad_width needs one (before, after) per axis", node)
    return [tuple(lw.int_value_of(w, node) for w in p) for p in pairs]


def _lower_pad(lw, name, node, env):
    """mode "constant": the array written into a filled one; "reflect", "symmetric", "wrap", "edge" (1-d):
    the array between slices of itself, with a check that the widths fit, which numpy does not need."""
    a = lw.args(node, env, ["array", "pad_width", "mode", "constant_values"])
    x = _array(lw, a["array"], node, "np.pad")
    mode = lw.constant_arg(a.get("mode"), node, ("constant", "reflect", "symmetric", "wrap", "edge"), "mode", "constant")
    widths = _pad_widths(lw, a["pad_width"], x.type.ndim, node)
    if mode == "constant":
        fill = lw.as_value(a["constant_values"], node) if lw.given(a.get("constant_values")) else lw.const(0)
        if is_array(fill.type):
            raise lw.error(UnsupportedCallError, "constant_values is one number here", node)
        dims = [lw.binop("add", lw.binop("add", lw.dim(x, k), before), after) for k, (before, after) in enumerate(widths)]
        out = lw.full(dims, lw.cast(fill, Scalar(x.type.dtype)))  # the array's dtype, as numpy keeps it
        parts = [(before, lw.binop("add", before, lw.dim(x, k)), None) for k, (before, _) in enumerate(widths)]
        lw.store(out, parts, x, node)
        return out
    if lw.given(a.get("constant_values")):
        raise lw.error(UnsupportedCallError, f"constant_values goes with mode='constant', not {mode!r}", node)
    if x.type.ndim != 1:
        raise lw.error(UnsupportedCallError, f"np.pad in mode {mode!r} takes a 1-d array here: pad each row in a loop", node)
    (before, after), n, zero, one = widths[0], lw.dim(x, 0), lw.const(0), lw.const(1)
    longest = lw.binop("sub", n, one) if mode == "reflect" else n
    for width in (before, after):
        outside = lw.logical("or", [lw.op1("gt", [width, longest], Scalar("bool")), lw.op1("lt", [width, zero], Scalar("bool"))], node)
        lw.check(outside, f"np.pad in mode {mode!r} needs pad widths from 0 to "
                 f"{'len(x) - 1' if mode == 'reflect' else 'len(x)'} here", node)

    def part(lo, hi):
        return lw.load(x, [(lo, hi, None)], node)

    def reversed_part(lo, hi):
        return _flipped(lw, part(lo, hi), {0}, node)

    last = lw.binop("sub", n, one)
    if mode == "wrap":
        left, right = part(lw.binop("sub", n, before), n), part(zero, after)
    elif mode == "edge":
        left = lw.op1("repeat", [part(zero, one), before], Array(x.type.dtype, 1))
        right = lw.op1("repeat", [part(last, n), after], Array(x.type.dtype, 1))
    elif mode == "reflect":  # the edge left out
        left = reversed_part(one, lw.binop("add", before, one))
        right = reversed_part(lw.binop("sub", last, after), last)
    else:  # symmetric: the edge repeated
        left, right = reversed_part(zero, before), reversed_part(lw.binop("sub", n, after), n)
    return lw.op1("concatenate", [left, x, right], Array(x.type.dtype, 1), axis=0)


derived("pad", np.pad, lower=_lower_pad)


def _lower_array(lw, name, node, env):
    """np.array of numbers (nested lists or tuples: a vector, a matrix), of arrays of one shape (stacked),
    or of an array (a copy; np.asarray: the array itself)."""
    a = lw.args(node, env, ["object", "dtype"])
    obj = a["object"]
    dtype = lw.dtype_arg(a["dtype"], node) if lw.given(a.get("dtype")) else None
    if not isinstance(obj, tuple):
        v = lw.as_value(obj, node)
        if not is_array(v.type):
            raise lw.error(TypeCheckError, f"np.{name} of one number is a 0-d array, which adc does not have: "
                           "use the number, or np.array([x])", node)
        cast = lw.cast(v, Array(dtype, v.type.ndim)) if dtype else v
        return cast if name == "asarray" or cast is not v else lw.op1("copy", [v], v.type)  # a cast is a new array
    shape, leaves = _nesting(lw, obj, node)
    if any(is_array(v.type) for v in leaves):
        if len(shape) != 1 or not all(is_array(v.type) for v in leaves):
            raise lw.error(TypeCheckError, f"np.{name} of arrays takes a flat list of arrays of one shape here", node)
        arrays = [lw.cast(v, Array(dtype or promote(*[w.type for w in leaves]).dtype, v.type.ndim)) for v in leaves]
        if len({v.type.ndim for v in arrays}) != 1:
            raise lw.error(TypeCheckError, "the arrays must have one number of dimensions", node)
        return lw.op1("stack", arrays, Array(arrays[0].type.dtype, arrays[0].type.ndim + 1), axis=0)
    t = promote(*[v.type for v in leaves])
    out = lw.op1("alloc", [lw.const(n) for n in shape], Array(dtype or t.dtype, len(shape)), kind="zeros")
    for flat, v in enumerate(leaves):
        index = np.unravel_index(flat, shape)
        lw.store(out, [lw.const(int(i)) for i in index], v, node)
    return out


def _nesting(lw, obj, node):
    """(shape, leaves in order) of nested tuples; ragged nesting is refused, as numpy refuses it."""
    if not isinstance(obj, tuple):
        return (), [lw.as_value(obj, node)]
    if not obj:
        raise lw.error(TypeCheckError, "np.array([]) has no elements: use np.zeros(0)", node)
    parts = [_nesting(lw, item, node) for item in obj]
    if len({p[0] for p in parts}) != 1:
        raise lw.error(TypeCheckError, "the nested lists have different lengths (a ragged array)", node)
    return (len(obj),) + parts[0][0], [leaf for _, leaves in parts for leaf in leaves]


derived("array", np.array, np.asarray, lower=_lower_array)


def _lower_transpose(lw, name, node, env, this=None):
    a = lw.args(node, env, ["a", "axes"], this)
    x = _array(lw, a["a"], node, "np.transpose")
    if lw.given(a.get("axes")) and tuple(lw.static_axes(a["axes"], x, node)) != tuple(reversed(range(x.type.ndim))):
        raise lw.error(UnsupportedCallError, "np.transpose reverses the axes here (x.T): other orders are not supported", node)
    if x.type.ndim > 2:
        raise lw.error(UnsupportedCallError, "np.transpose of a 3-d array is not supported: loop over the leading axis", node)
    return x if x.type.ndim == 1 else lw.view("transpose", x, x.type)


derived("transpose", np.transpose, lower=_lower_transpose, methods=("transpose",))


def _lower_meshgrid(lw, name, node, env):
    """np.meshgrid(x, y) of two 1-d arrays: X[i, j] = x[j], Y[i, j] = y[i] ("xy"; "ij" swaps the roles)."""
    if len(node.args) != 2 or any(k.arg != "indexing" for k in node.keywords):
        raise lw.error(UnsupportedCallError, "np.meshgrid takes two 1-d arrays (and indexing=) here", node)
    x, y = (_array(lw, lw.expr(v, env), node, "np.meshgrid") for v in node.args)
    if x.type.ndim != 1 or y.type.ndim != 1:
        raise lw.error(UnsupportedCallError, "np.meshgrid takes two 1-d arrays here", node)
    indexing = "xy"
    for k in node.keywords:
        indexing = lw.constant_arg(lw.expr(k.value, env), node, ("xy", "ij"), "indexing")
    rows, cols = (y, x) if indexing == "xy" else (x, y)
    dtype = promote(x.type, y.type).dtype
    grid = lw.full([lw.dim(rows, 0), lw.dim(cols, 0)], lw.cast(lw.const(0), Scalar(dtype)))
    along_rows = lw.binop("add", grid, lw.expand_dims(cols, 0))
    along_cols = lw.binop("add", grid, lw.expand_dims(rows, 1))
    return lw.pack((along_rows, along_cols) if indexing == "xy" else (along_cols, along_rows))


derived("meshgrid", np.meshgrid, lower=_lower_meshgrid)


def _lower_vdot(lw, name, node, env):
    """np.vdot(a, b) = conj(a) . b of two 1-d arrays."""
    a = lw.args(node, env, ["a", "b"])
    x, y = _array(lw, a["a"], node, "np.vdot"), _array(lw, a["b"], node, "np.vdot")
    if x.type.ndim != 1 or y.type.ndim != 1:
        raise lw.error(TypeCheckError, "np.vdot takes two 1-d arrays here: write np.sum(np.conj(a) * b) for others", node)
    if np.dtype(x.type.dtype).kind == "c":
        x = lw.op1("conj", [x], x.type)
    return lw.matmul(x, y, node, dot=True)


derived("vdot", np.vdot, lower=_lower_vdot)
