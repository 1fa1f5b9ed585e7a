"""Shape checks for whole-array arithmetic: numpy's ValueError, with the user's line.

numba reports operands that do not broadcast as "unable to broadcast argument 1 to output array"
at line 1 of the generated file. Before each elementwise op on two arrays a `shapecheck` compares
the arrays whose shapes the operands have (`g * x + y` checks x against y once, at the `+`); a pair
that shares its shape by construction (x and np.zeros_like(x), x and np.sin(x)) is not checked.
"""
from __future__ import annotations

from .core import ELEMENTWISE_OPCODES, Function, Op, Region, Value, is_array, same_shape_operand


def insert_shape_checks(fn: Function) -> Function:
    _insert(fn.body)
    return fn


def shape_root(v: Value) -> Value:
    """The array whose shape v has by construction (x for g * x, np.zeros_like(x), np.copy(x))."""
    while True:
        owner = v.owner
        if isinstance(owner, Op) and owner.opcode in ("alloc_like", "copy", "full_like"):
            v = owner.operands[0]
            continue
        same = same_shape_operand(v)
        if same is None:
            return v
        v = same


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
