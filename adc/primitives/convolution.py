"""np.convolve and np.correlate of 1-d arrays: a `convolution` op with attr kind ("convolve" or
"correlate") and operands (x, h, s, n), n entries from entry s of the runtime's windowed kernels
(runtime/convolve.py):

    convolve:   y[i] = sum_j x[j] h[s + i - j]        correlate:   z[k] = sum_i x[i] h[s + i - k]

numpy's modes are windows of these: the frontend computes s and n from the lengths, as numpy does
(convolve swaps its arguments when v is the longer; correlate then correlates the other way round and
reverses the result), and conjugates v for a complex correlate. Both kernels are bilinear, and the
adjoint of each in either operand is a correlation (or, for correlate's first operand, a convolution)
of the cotangent with the other operand, from the same s, as long as that operand."""
from __future__ import annotations

import numpy as np

from ..codegen import pyir as P
from ..errors import TypeCheckError, UnsupportedCallError
from ..ir.core import BOOL, Array, is_array, promote
from .base import conj, declare, sum_terms

DEFAULT_MODE = {"convolve": "full", "correlate": "valid"}


def _jvp(c):
    """d(x * h) = dx * h + x * dh, by the same kernel over the same window."""
    kernel, window = f"rt.{c.op.attrs['kind']}", [c.x(2), c.x(3)]
    terms = [P.Call(kernel, [c.t(0), c.x(1)] + window) if c.t(0) is not None else None,
             P.Call(kernel, [c.x(0), c.t(1)] + window) if c.t(1) is not None else None]
    return sum_terms([t for t in terms if t is not None])


def _vjp(c):
    """y = convolve(x, h):   x_bar = correlate(y_bar, conj h),   h_bar = correlate(y_bar, conj x);
    z = correlate(x, h):     x_bar = convolve(z_bar, conj h),    h_bar = correlate(conj x, z_bar)."""
    s = c.x(2)
    x, h = conj(c, c.x(0)), conj(c, c.x(1))

    def length(i):
        return P.Index(P.Attr(c.like(i), "shape"), [P.Lit("0")])
    if c.op.attrs["kind"] == "convolve":
        return [(0, P.Call("rt.correlate", [c.g, h, s, length(0)])), (1, P.Call("rt.correlate", [c.g, x, s, length(1)]))]
    return [(0, P.Call("rt.convolve", [c.g, h, s, length(0)])), (1, P.Call("rt.correlate", [x, c.g, s, length(1)]))]


def _window(lw, name, mode, na, nv, node):
    """Where numpy's result starts in the full convolution (which has na + nv - 1 entries), as the
    kernel's s, and its length."""
    def op(opcode, a, b):
        return lw.binop(opcode, a, b, node)
    one = lw.const(1)
    if mode == "full":
        lead, length = None, op("sub", op("add", na, nv), one)
    else:
        short, longer = (lw.elementwise(f, [na, nv], node) for f in ("minimum", "maximum"))
        lead = op("sub", short, one)
        if mode == "same":
            if name == "correlate":  # numpy correlates v with a when v is longer, then reverses
                lead = op("add", lead, lw.op1("lt", [na, nv], BOOL))
            lead, length = op("floordiv", lead, lw.const(2)), longer
        else:
            length = op("add", op("sub", longer, short), one)
    if name == "convolve":
        return (lead if lead is not None else lw.const(0)), length
    last = op("sub", nv, one)  # correlate's full result starts at s = nv - 1
    return (op("sub", last, lead) if lead is not None else last), length


def _lower(lw, name, node, env):
    """np.convolve(a, v, mode) or np.correlate(a, v, mode), mode a constant: the arrays cast to their common
    dtype (float or complex; numpy's integer results would not be differentiable), the window from their lengths."""
    a = lw.args(node, env, ["a", "v", "mode"])
    x, v = lw.as_value(a["a"], node), lw.as_value(a["v"], node)
    if not (is_array(x.type) and is_array(v.type) and x.type.ndim == v.type.ndim == 1):
        raise lw.error(TypeCheckError, f"np.{name} needs two 1-d arrays", node)
    dtype = promote(x.type, v.type).dtype
    if np.dtype(dtype).kind not in "fc":
        raise lw.error(TypeCheckError, f"np.{name} needs float or complex arrays: cast with .astype(np.float64) first", node)
    mode = lw.constant_arg(a.get("mode"), node, None, "mode", default=DEFAULT_MODE[name])
    if mode not in ("full", "same", "valid"):
        raise lw.error(UnsupportedCallError, f"np.{name}'s mode must be 'full', 'same' or 'valid', not {mode!r}", node)
    x, v = lw.cast(x, Array(dtype, 1)), lw.cast(v, Array(dtype, 1))
    if name == "correlate" and np.dtype(dtype).kind == "c":
        v = lw.op1("conj", [v], v.type)
    s, n = _window(lw, name, mode, lw.dim(x, 0), lw.dim(v, 0), node)
    return lw.op1("convolution", [x, v, s, n], x.type, kind=name)


declare("convolution", spell=lambda op, args: P.Call(f"rt.{op.attrs['kind']}", args), jvp=_jvp, vjp=_vjp,
        spellings=(np.convolve, np.correlate), lower_call=_lower)
