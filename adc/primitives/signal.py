"""Signal helpers numpy has: the windows np.hanning/hamming/blackman/bartlett/kaiser, np.interp and np.unwrap:
their spellings, lowering and derivatives. numba compiles each numpy spelling; the derivatives of np.interp and
np.kaiser call runtime/signal.py, whose helpers are declared here too, with tangents of their own, because second
order differentiates the generated code that calls them."""
from __future__ import annotations

import numpy as np

from .. import runtime
from ..codegen import pyir as P
from ..errors import TypeCheckError
from ..ir.core import F64, Array, Scalar, is_array
from .base import ONE, conj, declare, is_complex, sum_terms


# -- windows: arrays of their length M, constant but for kaiser's beta: `window` ops with attrs kind (and order, the
# derivative in beta that rt.kaiser_derivative(M, beta, order) computes; np.kaiser is order 0) ----------------------
def _spell_window(op, args):
    if op.attrs.get("order"):
        return P.Call("rt.kaiser_derivative", args + [P.Lit(str(op.attrs["order"]))])
    return P.Call(f"np.{op.attrs['kind']}", args)


def _in_beta(c):
    """The next derivative of the Kaiser window in beta."""
    return P.Call("rt.kaiser_derivative", [c.x(0), c.x(1), P.Lit(str(c.op.attrs["order"] + 1))])


def _lower_window(lw, name, node, env):
    kaiser = name in ("kaiser", "kaiser_derivative")
    a = lw.args(node, env, ["M", "beta", "order"] if name == "kaiser_derivative" else ["M", "beta"] if kaiser else ["M"])
    operands = [lw.int_value_of(a["M"], node)] + ([lw.cast(lw.as_value(a.get("beta"), node), F64)] if kaiser else [])
    order = {"order": lw.constant_arg(a.get("order"), node, None, "order", default=0)} if kaiser else {}
    return lw.op1("window", operands, Array("float64", 1), kind="kaiser" if kaiser else name, **order)


declare("window", spell=_spell_window,
        jvp=lambda c: _in_beta(c) * c.t(1) if c.op.attrs["kind"] == "kaiser" and c.t(1) is not None else None,
        vjp=lambda c: [(1, c.g * _in_beta(c))] if c.op.attrs["kind"] == "kaiser" else [],
        spellings=(np.hanning, np.hamming, np.blackman, np.bartlett, np.kaiser, runtime.kaiser_derivative),
        lower_call=_lower_window)


# -- np.interp(x, xp, fp), and its slopes in x: `interp` ops with operands x, xp, fp and attrs kind --------------
# y = A(x) fp, hat weights, so dy = S(x) fp dx + A(x) dfp, S(x) fp the slopes (themselves linear in fp, constant in
# x between the knots); xp is not differentiated (the knots are data). The reverse rules are transposes of A and S.
def _interp(kind, x, xp, fp):
    return P.Call("np.interp" if kind == "values" else "rt.interp_slopes", [x, xp, fp])


def _transpose(c, g, x, xp, slopes):
    m = P.Index(P.Attr(c.like(2), "shape"), [P.Lit("0")])
    return P.Call("rt.interp_transpose", [g, x, xp, m, P.Lit(repr(slopes))])


def _interp_jvp(c):
    kind, x, xp = c.op.attrs["kind"], c.x(0), c.x(1)
    moved = _interp(kind, x, xp, c.t(2)) if c.t(2) is not None else None
    if kind == "slopes" or c.t(0) is None:
        return moved
    return sum_terms([c.t(0) * _interp("slopes", x, xp, c.x(2))] + ([moved] if moved is not None else []))


def _interp_vjp(c):
    kind, x, xp = c.op.attrs["kind"], c.x(0), c.x(1)
    to_fp = (2, _transpose(c, c.g, x, xp, kind == "slopes"))
    if kind == "slopes":
        return [to_fp]
    return [(0, c.g * conj(c, _interp("slopes", x, xp, c.x(2)))), to_fp]


def _lower_interp(lw, name, node, env):
    """np.interp(x, xp, fp) (left, right and period are refused: numba has none of them); x a number or an array,
    xp and fp 1-d; the result is x's shape, in fp's float or complex."""
    a = lw.args(node, env, ["x", "xp", "fp"])
    x, xp, fp = (lw.as_value(a.get(k), node) for k in ("x", "xp", "fp"))
    if not all(is_array(v.type) and v.type.ndim == 1 for v in (xp, fp)) or is_complex(x.type) or is_complex(xp.type):
        raise lw.error(TypeCheckError, f"np.{name} needs real x and xp, and 1-d xp and fp", node)
    dtype = "complex128" if is_complex(fp.type) else "float64"
    x = lw.cast(x, Array("float64", x.type.ndim) if is_array(x.type) else F64)
    xp, fp = lw.cast(xp, Array("float64", 1)), lw.cast(fp, Array(dtype, 1))
    result = Array(dtype, x.type.ndim) if is_array(x.type) else Scalar(dtype)
    return lw.op1("interp", [x, xp, fp], result, kind="values" if name == "interp" else "slopes")


declare("interp", spell=lambda op, args: _interp(op.attrs["kind"], *args), jvp=_interp_jvp, vjp=_interp_vjp,
        spellings=(np.interp, runtime.interp_slopes), lower_call=_lower_interp)


# -- the transposes, rt.interp_transpose(g, x, xp, m, slopes): met when second order lowers the adjoint again ----
def _transpose_jvp(c):
    """Linear in g; the hat weights move with x at the slopes' rates, the slopes' weights are constant in x."""
    slopes, x, xp = c.op.attrs["slopes"], c.x(1), c.x(2)
    terms = [_transpose(c, c.t(0), x, xp, slopes)] if c.t(0) is not None else []
    if not slopes and c.t(1) is not None:
        terms.append(_transpose(c, c.x(0) * c.t(1), x, xp, True))
    return sum_terms(terms)


def _lower_transpose(lw, name, node, env):
    a = lw.args(node, env, ["g", "x", "xp", "m", "slopes"])
    g, x, xp, m = (lw.as_value(a[k], node) for k in ("g", "x", "xp", "m"))
    slopes = lw.constant_arg(a["slopes"], node, (True, False), "slopes")
    return lw.op1("interp_transpose", [g, x, xp, m], Array(g.type.dtype, 1), slopes=slopes)


declare("interp_transpose", spell=lambda op, args: P.Call("rt.interp_transpose", args + [P.Lit(repr(op.attrs["slopes"]))]),
        jvp=_transpose_jvp, spellings=(runtime.interp_transpose,), lower_call=_lower_transpose)


# -- np.unwrap(p): adds multiples of the period, piecewise constant, so the derivative is the identity ------------
def _spell_unwrap(op, args):
    discont = args[1] if len(args) > 1 else P.Lit("None")
    period = [P.Lit("-1"), P.Lit(f"period={op.attrs['period']!r}")] if op.attrs["period"] is not None else []
    return P.Call("np.unwrap", [args[0], discont] + period)


def _lower_unwrap(lw, name, node, env):
    """np.unwrap of a 1-d array; `discont` may be computed, `period` must be a constant (numpy takes it by keyword)."""
    a = lw.args(node, env, ["p", "discont", "axis", "period"])
    p = lw.as_value(a.get("p"), node)
    if not is_array(p.type) or p.type.ndim != 1 or is_complex(p.type):
        raise lw.error(TypeCheckError, "np.unwrap needs a real 1-d array", node)
    lw.constant_arg(a.get("axis"), node, (0, -1), "axis")
    operands = [lw.cast(p, Array("float64", 1))]
    if lw.given(a.get("discont")):
        operands.append(lw.cast(lw.as_value(a["discont"], node), F64))
    period = lw.constant_arg(a.get("period"), node, None, "period")
    return lw.op1("unwrap", operands, Array("float64", 1), period=None if period is None else float(period))


declare("unwrap", spell=_spell_unwrap, partials=lambda c: [(0, ONE)], spellings=(np.unwrap,), lower_call=_lower_unwrap)
