"""Indexing and memory: lengths, element and slice reads and writes, transposes, boolean masks."""
from __future__ import annotations

from ..codegen import pyir as P
from ..codegen.spelling import slice_index
from ..ir.core import STORES
from .base import declare


def _index_vjp(c):
    """Into the array's adjoint at the position read."""
    return [(0, c.g, "index")]


declare("dim", spell=lambda op, args: P.Index(P.Attr(args[0], "shape"), [P.Lit(str(op.attrs["axis"]))]))
declare("load", spell=lambda op, args: P.Index(args[0], args[1:]), effect="reads", accesses=True, vjp=_index_vjp)
declare("getslice", spell=lambda op, args: P.Index(args[0], slice_index(op.attrs["spec"], args[1:])),
        view="slice", accesses=True, vjp=_index_vjp)
declare("store", effect="writes", accesses=True)  # their derivatives are the transforms' own (ad/reverse.py)
declare("setslice", effect="writes", accesses=True)
declare("transpose", spell=lambda op, args: P.Attr(args[0], "T"), view="layout",
        jvp=lambda c: P.Attr(c.t(0), "T"), vjp=lambda c: [(0, P.Attr(c.g, "T"))])

assert {"store", "setslice"} == set(STORES)


def _spell_masked(op, args):
    """x[mask]; numba indexes by 1-d masks only, so an n-d pair is flattened first."""
    x, mask = args
    if op.operands[0].type.ndim == 1:
        return P.Index(x, [mask])
    return P.Index(P.Call(P.Attr(x, "ravel"), []), [P.Call(P.Attr(mask, "ravel"), [])])


declare("masked", spell=_spell_masked, jvp=lambda c: _spell_masked(c.op, [c.t(0), c.x(1)]),
        vjp=lambda c: [(0, P.Call("rt.unmask", [c.g, c.x(1)]))])
