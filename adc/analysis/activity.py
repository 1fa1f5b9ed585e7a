"""Activity: which values carry derivatives (varied by `wrt` and useful to the result).

Arrays are memory: a store of a varied value makes the whole array varied, and a
useful load makes the whole array useful.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..ir.core import Function, Op, Region, Value, is_differentiable, walk


@dataclass
class Activity:
    varied: set[int] = field(default_factory=set)
    useful: set[int] = field(default_factory=set)
    stored: set[int] = field(default_factory=set)  # ids of arrays written by `store`

    def active(self, v: Value) -> bool:
        return v.id in self.varied and v.id in self.useful and is_differentiable(v.type)


def analyse_activity(fn: Function, wrt: list[int]) -> Activity:
    act = Activity()
    act.stored = {op.operands[0].id for op in walk(fn.body) if op.opcode == "store"}
    act.varied = {fn.params[i].id for i in wrt}
    _fixpoint(lambda: _forward(fn.body, act))
    act.useful = {v.id for v in fn.returned}
    _fixpoint(lambda: _backward(fn.body, act))
    return act


def _fixpoint(step) -> None:
    while step():
        pass


def _mark(s: set[int], v: Value) -> bool:
    if v.id in s or not is_differentiable(v.type):
        return False
    s.add(v.id)
    return True


def _forward(region: Region, act: Activity) -> bool:
    changed = False
    for op in region.ops:
        if op.opcode == "store":
            if op.operands[-1].id in act.varied:
                changed |= _mark(act.varied, op.operands[0])
        elif op.opcode in ("for", "while", "if"):
            changed |= _forward_control(op, act)
        elif any(v.id in act.varied for v in op.operands):
            for r in op.results:
                changed |= _mark(act.varied, r)
    return changed


def _carried(op: Op):
    """(init, block arg, yielded, result) per carried slot of a loop."""
    if op.opcode == "for":
        body = op.regions[0]
        return list(zip(op.operands[3:], body.args[1:], body.yielded, op.results))
    body = op.regions[1]
    return list(zip(op.operands, body.args, body.yielded, op.results)) + \
        [(i, a, None, None) for i, a in zip(op.operands, op.regions[0].args)]


def _forward_control(op: Op, act: Activity) -> bool:
    changed = False
    if op.opcode == "if":
        changed |= any(_forward(r, act) for r in op.regions)
        for r, ys in zip(op.results, zip(*(reg.yielded for reg in op.regions))):
            if any(y.id in act.varied for y in ys):
                changed |= _mark(act.varied, r)
        return changed
    slots = _carried(op)
    for init, arg, _, _ in slots:
        if init.id in act.varied:
            changed |= _mark(act.varied, arg)
    for region in op.regions:
        changed |= _forward(region, act)
    for _, arg, y, r in slots:
        if y is not None and y.id in act.varied:
            changed |= _mark(act.varied, arg) | _mark(act.varied, r)
    return changed


def _backward(region: Region, act: Activity) -> bool:
    changed = False
    for op in reversed(region.ops):
        if op.opcode == "store":
            if op.operands[0].id in act.useful:
                changed |= _mark(act.useful, op.operands[-1])
        elif op.opcode in ("yield", "return"):
            continue
        elif op.opcode in ("for", "while", "if"):
            changed |= _backward_control(op, act)
        elif any(r.id in act.useful for r in op.results) or (op.opcode == "load" and op.result.id in act.useful):
            for v in op.operands:
                changed |= _mark(act.useful, v)
    return changed


def _backward_control(op: Op, act: Activity) -> bool:
    changed = False
    if op.opcode == "if":
        for r, ys in zip(op.results, zip(*(reg.yielded for reg in op.regions))):
            if r.id in act.useful:
                for y in ys:
                    changed |= _mark(act.useful, y)
        return changed | any(_backward(r, act) for r in op.regions)
    slots = _carried(op)
    for _, arg, y, r in slots:
        if y is not None and (r.id in act.useful or arg.id in act.useful):
            changed |= _mark(act.useful, y) | _mark(act.useful, arg)
    for region in op.regions:
        changed |= _backward(region, act)
    for init, arg, _, _ in slots:
        if arg.id in act.useful:
            changed |= _mark(act.useful, init)
    return changed

