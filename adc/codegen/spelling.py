"""How values and a few shared forms are spelled in generated code: literals, zeros, casts, slices."""
from __future__ import annotations

import math

import numpy as np

from ..ir.core import is_array
from . import pyir as P


def literal(value, dtype: str | None = None) -> P.Expr:
    text = repr(value)
    if isinstance(value, float) and not math.isfinite(value):  # np.inf, np.nan: names, not literals
        text = "math.nan" if math.isnan(value) else ("-math.inf" if value < 0 else "math.inf")
    if dtype in ("float32", "complex64"):
        return P.Lit(f"np.{dtype}({text})")
    if text.startswith("-"):  # so that (-0.3) ** 2 keeps its parentheses
        return P.Unary("-", P.Lit(text[1:]))
    return P.Lit(text)


def zero(t) -> P.Expr:
    kind = np.dtype(t.dtype).kind
    return literal(0j if kind == "c" else 0.0, t.dtype)


def cast_expr(arg: P.Expr, source, target) -> P.Expr:
    if is_array(target):
        return P.Call(P.Attr(arg, "astype"), [P.Lit(f"np.{target.dtype}")])
    name = {"float64": "float", "int64": "int", "complex128": "complex", "bool": "bool"}.get(target.dtype)
    if name and source.dtype == "bool" and name != "bool":  # numba has no float(bool)
        name = None
    return P.Call(name, [arg]) if name else P.Call(f"np.{target.dtype}", [arg])


def slice_index(spec, args) -> list:
    """The index of a getslice or setslice: `spec` has "i" for an integer, else which of
    lower:upper:step are given ("110" is `a:b`), their values in `args` in order."""
    out, it = [], iter(args)
    for s in spec:
        if s == "i":
            out.append(next(it))
        else:
            out.append(P.Slice(*[next(it) if present == "1" else None for present in s]))
    return out


def reshaped(e: P.Expr, shape: P.Expr) -> P.Expr:
    """e, copied, with another shape (numba reshapes contiguous arrays only, and e may be a strided view)."""
    return P.Call(P.Attr(P.Call("np.copy", [e]), "reshape"), [shape])
