"""Reductions of a whole array to a number: np.sum, np.mean."""
from __future__ import annotations

from ..codegen import pyir as P
from .base import declare

declare("sum", spell=lambda op, args: P.Call("np.sum", args),
        jvp=lambda c: P.Call("np.sum", [c.t(0)]),
        vjp=lambda c: [(0, P.Call("np.full_like", [c.like(0), c.g]))])
declare("mean", spell=lambda op, args: P.Call("np.mean", args),
        jvp=lambda c: P.Call("np.mean", [c.t(0)]),
        vjp=lambda c: [(0, P.Call("np.full_like", [c.like(0), c.g / P.Attr(c.like(0), "size")]))])
