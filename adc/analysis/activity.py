"""Activity: which values carry derivatives (varied by `wrt` and useful to the result).

Arrays are memory: a store of a varied value makes the whole array varied, and a
useful load makes the whole array useful. Array values that may share memory (a view
and the array it looks into, a loop's carried array and its initial value, a branch's
results, a grown tape) are one class: marking one marks all.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..ir.core import STORES, Function, Loop, Op, Region, Value, is_array, is_differentiable, walk
from ..primitives import VIEW_OPCODES


@dataclass
class Activity:
    varied: set[int] = field(default_factory=set)
    useful: set[int] = field(default_factory=set)
    stored: set[int] = field(default_factory=set)  # ids of arrays written by `store`
    aliases: dict[int, set[int]] = field(default_factory=dict)  # array id -> ids that may share its memory

    def active(self, v: Value) -> bool:
        return v.id in self.varied and v.id in self.useful and is_differentiable(v.type)


def analyse_activity(fn: Function, wrt: list[int]) -> Activity:
    act = Activity(aliases=alias_classes(fn))
    act.stored = {op.operands[0].id for op in walk(fn.body) if op.opcode in STORES}
    act.varied = set()
    for i in wrt:
        _mark(act.varied, fn.params[i], act)
    _fixpoint(lambda: _forward(fn.body, act))
    act.useful = set()
    for v in fn.returned:
        _mark(act.useful, v, act)
    _fixpoint(lambda: _backward(fn.body, act))
    return act


def alias_classes(fn: Function) -> dict[int, set[int]]:
    parent: dict[int, int] = {}

    def find(i):
        while parent.setdefault(i, i) != i:
            i = parent[i]
        return i

    def union(a: Value, b: Value):
        if is_array(a.type) and is_array(b.type):
            parent[find(a.id)] = find(b.id)

    for op in walk(fn.body):
        if op.opcode in ("for", "while", "if"):
            for slot in _carried(op) if op.opcode != "if" else []:
                init, arg, y, r = slot
                union(init, arg)
                if y is not None:
                    union(arg, y)
                    union(y, r)
            if op.opcode == "if":
                for r, ys in zip(op.results, zip(*(reg.yielded for reg in op.regions))):
                    for y in ys:
                        union(r, y)
        elif op.opcode in VIEW_OPCODES or (op.opcode == "runtime" and op.attrs["fn"] in ("grow", "record")):
            union(op.operands[0], op.result)
    classes: dict[int, set[int]] = {}
    for i in list(parent):
        classes.setdefault(find(i), set()).add(i)
    return {i: classes[find(i)] for i in parent}


def _fixpoint(step) -> None:
    while step():
        pass


def _mark(s: set[int], v: Value, act: Activity) -> bool:
    if v.id in s or not is_differentiable(v.type):
        return False
    s.update(act.aliases.get(v.id, (v.id,)))
    return True


def _forward(region: Region, act: Activity) -> bool:
    changed = False
    for op in region.ops:
        if op.opcode in STORES:
            if op.operands[-1].id in act.varied:
                changed |= _mark(act.varied, op.operands[0], act)
        elif op.opcode in ("for", "while", "if"):
            changed |= _forward_control(op, act)
        elif any(v.id in act.varied for v in op.operands):
            for r in op.results:
                changed |= _mark(act.varied, r, act)
    return changed


def _carried(op: Op):
    """(init, block arg, yielded, result) per carried slot of a loop, and a while's condition arguments
    as slots of their own (init, arg, None, None)."""
    loop = Loop(op)
    slots = loop.slots()
    return slots if loop.is_for else slots + [(i, a, None, None) for i, a in zip(loop.inits, loop.cond.args)]


def _forward_control(op: Op, act: Activity) -> bool:
    changed = False
    if op.opcode == "if":
        changed |= any(_forward(r, act) for r in op.regions)
        for r, ys in zip(op.results, zip(*(reg.yielded for reg in op.regions))):
            if any(y.id in act.varied for y in ys):
                changed |= _mark(act.varied, r, act)
        return changed
    slots = _carried(op)
    for init, arg, _, _ in slots:
        if init.id in act.varied:
            changed |= _mark(act.varied, arg, act)
    for region in op.regions:
        changed |= _forward(region, act)
    for _, arg, y, r in slots:
        if y is not None and y.id in act.varied:
            changed |= _mark(act.varied, arg, act) | _mark(act.varied, r, act)
        if r is not None and arg.id in act.varied:  # a loop that runs no step returns its initial value
            changed |= _mark(act.varied, r, act)
    return changed


def _backward(region: Region, act: Activity) -> bool:
    changed = False
    for op in reversed(region.ops):
        if op.opcode in STORES:
            if op.operands[0].id in act.useful:
                changed |= _mark(act.useful, op.operands[-1], act)
        elif op.opcode in ("yield", "return"):
            continue
        elif op.opcode in ("for", "while", "if"):
            changed |= _backward_control(op, act)
        elif any(r.id in act.useful for r in op.results) or (op.opcode == "load" and op.result.id in act.useful):
            for v in op.operands[1:] if op.opcode == "custom_jvp" else op.operands:  # its rule, not its body
                changed |= _mark(act.useful, v, act)
    return changed


def _backward_control(op: Op, act: Activity) -> bool:
    changed = False
    if op.opcode == "if":
        for r, ys in zip(op.results, zip(*(reg.yielded for reg in op.regions))):
            if r.id in act.useful:
                for y in ys:
                    changed |= _mark(act.useful, y, act)
        return changed | any(_backward(r, act) for r in op.regions)
    slots = _carried(op)
    for _, arg, y, r in slots:
        if y is not None and (r.id in act.useful or arg.id in act.useful):
            changed |= _mark(act.useful, y, act) | _mark(act.useful, arg, act)
    for region in op.regions:
        changed |= _backward(region, act)
    for init, arg, _, _ in slots:
        if arg.id in act.useful:
            changed |= _mark(act.useful, init, act)
    return changed

