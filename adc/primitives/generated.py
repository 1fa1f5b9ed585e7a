"""Calls of the runtime's helpers (`rt.<fn>`, a `runtime` op with attrs fn): generated code calls them,
and adc lowers its own generated code again for second order, so they have derivatives too."""
from __future__ import annotations

from ..codegen import pyir as P
from .base import declare


def _jvp(c):
    """The helpers are linear in their first argument (prod_of_others, sinc_slope and safe_div are not)."""
    name = f"rt.{c.op.attrs['fn']}"
    if c.op.attrs["fn"] == "safe_div":  # d(a / b) = (da - (a / b) db) / b, zero where b is
        ta = c.t(0) if c.t(0) is not None else P.Lit("0.0")
        tb = c.t(1)
        return P.Call(name, [ta - c.out * tb if tb is not None else ta, c.x(1)])
    if c.op.attrs["fn"] == "record":  # a tape of tangents beside the tape of values, laid out the same
        buf, array = (c.t(i) if c.t(i) is not None else P.Call("np.zeros_like", [c.x(i)]) for i in (0, 2))
        return P.Call(name, [buf, c.x(1), array] + [c.x(i) for i in range(3, len(c.op.operands))])
    if c.op.attrs["fn"] == "sinc_slope":
        return P.Call("rt.sinc_curvature", [c.x(0)]) * c.t(0) if c.t(0) is not None else None
    if c.op.attrs["fn"] == "prod_of_others":  # not linear: the products of the others, differentiated
        return P.Call("rt.prod_of_others_tangent", [c.x(0), c.t(0)]) if c.t(0) is not None else None
    if c.t(0) is None:
        return None
    return P.Call(name, [c.t(0)] + [c.x(i) for i in range(1, len(c.op.operands))])


declare("runtime", spell=lambda op, args: P.Call(f"rt.{op.attrs['fn']}", args), jvp=_jvp)
