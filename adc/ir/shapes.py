"""Shape checks for whole-array arithmetic: numpy's ValueError, with the user's line.

numba reports operands that do not broadcast as "unable to broadcast argument 1 to output array"
at line 1 of the generated file. Before each elementwise op on two arrays a `shapecheck` compares
the arrays whose shapes the operands have (`g * x + y` checks x against y once, at the `+`); a pair
that shares its shape by construction (x and np.zeros_like(x), x and np.sin(x)) is not checked.
"""
from __future__ import annotations

from ..primitives import ELEMENTWISE_OPCODES, SHAPED_LIKE_FIRST
from .core import Function, Op, Region, Value, is_array


def insert_shape_checks(fn: Function) -> Function:
    _insert(fn.body)
    return fn


def shape_root(v: Value) -> Value:
    """The array whose shape v has by construction (x for g * x, np.zeros_like(x), np.copy(x))."""
    while True:
        owner = v.owner
        if isinstance(owner, Op) and owner.opcode in SHAPED_LIKE_FIRST:
            v = owner.operands[0]
            continue
        same = same_shape_operand(v)
        if same is None:
            return v
        v = same


def same_shape_operand(v: Value) -> Value | None:
    """The one array operand of the elementwise op that made v, which v has the shape of (a * y: y)."""
    owner = v.owner
    if not isinstance(owner, Op) or owner.opcode not in ELEMENTWISE_OPCODES:
        return None
    arrays = {o.id: o for o in owner.operands if is_array(o.type)}  # x * x has x's shape
    return next(iter(arrays.values())) if len(arrays) == 1 else None


def _insert(region: Region) -> None:
    ops, checked = [], set()
    for op in region.ops:
        for sub in op.regions:
            _insert(sub)
        arrays = [shape_root(o) for o in op.operands if is_array(o.type)] if op.opcode in ELEMENTWISE_OPCODES else []
        if len(arrays) == 2 and arrays[0] is not arrays[1] and (arrays[0].id, arrays[1].id) not in checked:
            checked.add((arrays[0].id, arrays[1].id))
            text = op.loc.text.strip() if op.loc is not None else ""
            ops.append(Op("shapecheck", arrays, [], {"access": text}, loc=op.loc))
        ops.append(op)
    region.ops[:] = ops
