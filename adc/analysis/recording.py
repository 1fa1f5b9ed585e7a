"""To-be-recorded: what the reverse sweep reads, and how it gets each value back.

A value the reverse sweep needs is either in scope already (defined outside every
loop and branch), recomputed from values it can get (pure arithmetic, loads from
arrays nothing writes), or recorded on a tape in the forward sweep (loop-carried
state, loads from arrays that are overwritten, results of inner loops). Recording
only what cannot be recomputed is what keeps the tape to one value a step for an IIR
filter and to the a-priori error for LMS.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import CompileError
from ..ir.core import PURE_OPCODES, Function, Op, Region, Value, is_array, walk
from .activity import Activity


@dataclass
class Recording:
    needed: set[int] = field(default_factory=set)
    taped: set[int] = field(default_factory=set)
    region_of: dict[int, Region] = field(default_factory=dict)
    values: dict[int, Value] = field(default_factory=dict)
    parent: dict[int, tuple[Op, Region]] = field(default_factory=dict)  # id(region) -> (op, region of op)
    op_region: dict[int, Region] = field(default_factory=dict)  # id(op) -> region holding it
    order: dict[int, int] = field(default_factory=dict)  # id(op) -> position in program order
    stores: list = field(default_factory=list)
    shifted: dict[int, tuple] = field(default_factory=dict)  # block arg id -> (loop, slot): last step's yield
    top: Region | None = None

    def in_scope(self, v: Value) -> bool:
        """Defined in the function body itself: the reverse sweep reads it by name."""
        return self.region_of.get(v.id, self.top) is self.top

    def enclosing_ops(self, region: Region) -> list[Op]:
        """The control ops around a region, innermost first."""
        ops = []
        while region is not self.top:
            op, region = self.parent[id(region)]
            ops.append(op)
        return ops


def analyse_recording(fn: Function, act: Activity, needs) -> Recording:
    """`needs(op, active)` lists the primal values an op's derivative rule reads."""
    rec = Recording(top=fn.body)
    _index(fn.body, rec)
    rec.order = {id(op): k for k, op in enumerate(walk(fn.body))}
    rec.stores = [op for op in walk(fn.body) if op.opcode == "store"]
    work = []
    for op in walk(fn.body):
        work.extend(_seeds(op, act, needs))
        # an active array made inside a loop needs its value again, for the shape of its adjoint
        work.extend(r for r in op.results if is_array(r.type) and act.active(r) and not rec.in_scope(r))
    while work:
        v = work.pop()
        if v.id in rec.needed:
            continue
        rec.needed.add(v.id)
        work.extend(_sources(v, rec, act))
    _check_array_contents(fn, rec, act, needs)
    return rec


def _index(region: Region, rec: Recording) -> None:
    for a in region.args:
        rec.region_of[a.id] = region
        rec.values[a.id] = a
    for op in region.ops:
        rec.op_region[id(op)] = region
        for r in op.results:
            rec.region_of[r.id] = region
            rec.values[r.id] = r
        for sub in op.regions:
            rec.parent[id(sub)] = (op, region)
            _index(sub, rec)


def involved(op: Op, act: Activity) -> bool:
    """Whether the reverse sweep has work for this op (it or something inside is active)."""
    if op.opcode == "store":
        return act.active(op.operands[0])
    if any(act.active(r) for r in op.results):
        return True
    return any(involved(o, act) for r in op.regions for o in r.ops)


def _seeds(op: Op, act: Activity, needs) -> list[Value]:
    if not involved(op, act):
        return []
    if op.opcode == "for":
        return op.operands[:3]
    if op.opcode == "if":
        return op.operands[:1]
    if op.opcode in ("while", "yield", "return"):
        return []
    if op.opcode in ("load", "store", "getslice"):
        return [v for v in op.operands[1:] if not is_array(v.type) and v.type.dtype in ("int64", "bool")]
    return list(needs(op, act.active))


def _sources(v: Value, rec: Recording, act: Activity) -> list[Value]:
    """What the reverse sweep needs in order to have v; marks v taped when it must be."""
    if rec.in_scope(v):
        return []
    owner = v.owner
    if not isinstance(owner, Op):  # a block argument
        loop, _ = rec.parent[id(rec.region_of[v.id])]
        if loop.opcode == "for" and v is loop.regions[0].args[0]:
            return loop.operands[:3]  # the reverse loop regenerates the induction variable
        if loop.opcode == "for":
            slot = loop.regions[0].args.index(v) - 1
            found = _shift_leaves(loop.regions[0].yielded[slot], loop, rec, (v,))
            if found is not None:  # a delay line (x1 = x[n], y2 = y1): last step's value, no tape of its own
                rec.shifted[v.id] = (loop, slot)
                for recurrence in found[1]:
                    _tape(recurrence, rec)
                return found[0] + [loop.operands[3 + slot]] + loop.operands[:3]
        return _tape(v, rec)
    recomputable = owner.opcode in PURE_OPCODES or (owner.opcode == "load" and frozen(owner.operands[0], owner, rec))
    if recomputable:
        return list(owner.operands)
    return _tape(v, rec)


def _shift_leaves(v: Value, loop: Op, rec: Recording, path: tuple):
    """(values read, carried values read from their tapes) to recompute v as the loop's previous step
    computed it; None when it cannot be. `path`: the carried values being recomputed, whose cycles
    are true recurrences."""
    body = loop.regions[0]
    if v is body.args[0]:
        return [], []
    if v.id not in rec.region_of or not _inside(rec.region_of[v.id], body, rec):
        return [v], []
    if v in body.args:
        if v in path or len(path) > 6:
            return None
        slot = body.args.index(v) - 1
        found = _shift_leaves(body.yielded[slot], loop, rec, path + (v,))
        if found is None:
            return [], [v]  # a recurrence: read back from its tape
        rec.shifted[v.id] = (loop, slot)
        return found[0] + [loop.operands[3 + slot]], found[1]
    owner = v.owner
    if rec.region_of[v.id] is not body or not (owner.opcode in PURE_OPCODES or
                                               (owner.opcode == "load" and frozen(owner.operands[0], owner, rec))):
        return None
    leaves, tapes = [], []
    for o in owner.operands:
        found = _shift_leaves(o, loop, rec, path)
        if found is None:
            return None
        leaves += found[0]
        tapes += found[1]
    return leaves, tapes


def _inside(region: Region, outer: Region, rec: Recording) -> bool:
    while region is not rec.top:
        if region is outer:
            return True
        region = rec.parent[id(region)][1]
    return False


def _tape(v: Value, rec: Recording) -> list[Value]:
    if is_array(v.type):
        loc = v.owner.loc if isinstance(v.owner, Op) else None
        raise CompileError(
            f"reverse mode would have to record the whole array `{v.hint or 'temporary'}` at every step of a loop: "
            "allocate it once before the loop and write its elements in place",
            loc.filename if loc else "<unknown>", loc.lineno if loc else 0, loc.col if loc else 0)
    rec.taped.add(v.id)
    return []


def frozen(array: Value, op: Op, rec: Recording) -> bool:
    """No store to `array` can run after `op`: the reverse sweep sees the contents `op` saw."""
    return not any(st.operands[0] is array and (rec.order[id(st)] > rec.order[id(op)] or _share_loop(st, op, rec))
                   for st in rec.stores)


def recomputable_result(op: Op, rec: Recording) -> bool:
    """An array result written to later, but recomputable from its operands (b = np.tanh(x); b[0] = 0)."""
    result = op.results[0] if op.results else None
    return (result is not None and is_array(result.type) and not frozen(result, op, rec)
            and op.opcode in PURE_OPCODES and all(frozen(o, op, rec) for o in op.operands if is_array(o.type)))


def _check_array_contents(fn: Function, rec: Recording, act: Activity, needs) -> None:
    """A whole-array read that a rule needs must see the same contents in the reverse sweep."""
    for op in walk(fn.body):
        if op.opcode in ("load", "store") or not involved(op, act):
            continue
        for v in needs(op, act.active, contents_only=True):
            if v in op.results and recomputable_result(op, rec):
                rec.needed.update(o.id for o in op.operands)
                continue
            if is_array(v.type) and not frozen(v, op, rec):
                loc = op.loc
                raise CompileError(
                    f"`{v.hint}` is read as a whole array here and written to afterwards, so reverse mode cannot "
                    f"read the contents it had here: use `{v.hint}.copy()` at this point",
                    loc.filename, loc.lineno, loc.col)


def _share_loop(a: Op, b: Op, rec: Recording) -> bool:
    def loops(op):
        return {id(o) for o in rec.enclosing_ops(rec.op_region[id(op)]) if o.opcode in ("for", "while")}
    return bool(loops(a) & loops(b))
