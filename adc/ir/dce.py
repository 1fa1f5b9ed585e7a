"""Dead-code elimination: drop pure ops whose results nothing reads.

Lowering is literal (`x.shape` makes every dimension, a helper's unused locals stay), so
this pass keeps generated code free of statements that compute nothing used.
"""
from __future__ import annotations

from ..primitives import REMOVABLE
from .core import Function, Region, walk


def eliminate_dead_code(fn: Function) -> Function:
    eliminate_dead_code_in(fn.body)
    return fn


def eliminate_dead_code_in(region: Region, live: frozenset = frozenset()) -> Region:
    """A region, or one of its own (a custom rule's) whose values `live` (ids) are read from outside it."""
    while True:
        used = {v.id for op in walk(region) for v in op.operands} | live
        if not _sweep(region, used):
            return region


def _sweep(region: Region, used: set[int]) -> bool:
    kept, removed = [], False
    for op in region.ops:
        if op.opcode in REMOVABLE and op.results and not any(r.id in used for r in op.results):
            removed = True
            continue
        for sub in op.regions:
            removed |= _sweep(sub, used)
        kept.append(op)
    region.ops[:] = kept
    return removed
