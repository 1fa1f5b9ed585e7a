"""Reductions of a whole array to a number: np.sum, np.mean (also as methods, `x.sum()`)."""
from __future__ import annotations

import numpy as np

from ..codegen import pyir as P
from ..ir.core import Scalar, as_float
from .base import declare


def _total(t):
    """numpy's sum of bools counts them."""
    return Scalar(t.dtype if t.dtype != "bool" else "int64")


declare("sum", spellings=(np.sum,), result=_total, spell=lambda op, args: P.Call("np.sum", args),
        jvp=lambda c: P.Call("np.sum", [c.t(0)]),
        vjp=lambda c: [(0, P.Call("np.full_like", [c.like(0), c.g]))])
declare("mean", spellings=(np.mean,), result=lambda t: as_float(_total(t)), spell=lambda op, args: P.Call("np.mean", args),
        jvp=lambda c: P.Call("np.mean", [c.t(0)]),
        vjp=lambda c: [(0, P.Call("np.full_like", [c.like(0), c.g / P.Attr(c.like(0), "size")]))])
