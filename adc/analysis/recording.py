"""To-be-recorded: what the reverse sweep reads, and how it gets each value back.

A value the reverse sweep needs is either in scope already (defined outside every
loop and branch), recomputed from values it can get (pure arithmetic, loads from
arrays nothing writes), or recorded on a tape in the forward sweep (loop-carried
state, loads from arrays that are overwritten, results of inner loops). Recording
only what cannot be recomputed is what keeps the tape to one value a step for an IIR
filter and to the a-priori error for LMS.

Arrays are values too: an array carried by a loop (`y = a * y + x`) or computed in one
from memory written later is recorded whole, on an array tape. An array a rule reads
whose memory (itself, a view of it, or what it views) is written after the read is
copied at the read (a snapshot), so the reverse sweep sees the contents the read saw.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import CompileError
from ..ir.core import STORES, Function, Loop, Op, Region, Value, is_array, walk
from ..ir.shapes import same_shape_operand
from ..primitives import ACCESSES, FRESH, MEMORY_EFFECTS, PURE_OPCODES, VIEW_OPCODES
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
    snapshots: dict[int, list] = field(default_factory=dict)  # id(op) -> arrays its rule reads, copied at the op
    shaped: set[int] = field(default_factory=set)  # arrays the reverse sweep needs for their shape only
    aliases: dict[int, set[int]] = field(default_factory=dict)  # array id -> ids that may share its memory
    top: Region | None = None
    checkpointed: dict[int, int] = field(default_factory=dict)  # id(loop) -> snapshots: no tape across its steps

    def memory_of(self, v: Value) -> set[int]:
        return self.aliases.get(v.id, {v.id})

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


def analyse_recording(fn: Function, act: Activity, needs, checkpointed: dict | None = None) -> Recording:
    """`needs(op, active)` lists the primal values an op's derivative rule reads. `checkpointed`: the loops
    whose reverse sweep recomputes steps from stored states (a step's tapes hold that step only)."""
    rec = Recording(top=fn.body, aliases=act.aliases, checkpointed=dict(checkpointed or {}))
    _index(fn.body, rec)
    rec.order = {id(op): k for k, op in enumerate(walk(fn.body))}
    rec.stores = [op for op in walk(fn.body) if op.opcode in STORES]
    work, shapes = [], []
    accessed = {op.operands[0].id for op in walk(fn.body) if op.opcode in ACCESSES}
    for op in walk(fn.body):
        work.extend(_plan_snapshots(op, rec, act, needs))
        saved = rec.snapshots.get(id(op), ())
        contents = [v for v in _seeds(op, act, needs, contents_only=True) if v not in saved]
        work.extend(contents)
        shapes.extend(v for v in _seeds(op, act, needs) if v not in saved and v not in contents)
        # an active array in memory made inside a loop needs its value again, for the shape of its adjoint
        shapes.extend(r for r in op.results if is_array(r.type) and act.active(r) and not rec.in_scope(r)
                      and (op.opcode in FRESH or r.id in accessed))
        shapes.extend(_carried_array_shapes(op, act))
        shapes.extend(_adjoints_zeroed_before(op, act))
        shapes.extend(_carried_memory_shapes(op, act, accessed))
    shaped = set()
    while work or shapes:
        while work:
            v = work.pop()
            if v.id not in rec.needed:
                rec.needed.add(v.id)
                work.extend(_sources(v, rec, act))
        v = shapes.pop() if shapes else None
        if v is not None and v.id not in rec.needed and v.id not in shaped:
            shaped.add(v.id)
            more = _shape_sources(v, rec, act)
            shapes.extend(o for o in more if is_array(o.type))
            work.extend(o for o in more if not is_array(o.type))
    rec.shaped = shaped - rec.needed
    rec.needed |= shaped
    _check_carried_aliasing(fn, rec, act)
    return rec


def _check_carried_aliasing(fn: Function, rec: Recording, act: Activity) -> None:
    """A loop's carried array that the program writes into is one array in one step and another in the
    next; the reverse sweep follows it only while nothing else holds its memory across steps: a view of
    it taken before the loop and read in or after it, or an array from outside that a step hands on as
    the new value."""
    readers: dict[int, list[Op]] = {}
    for op in walk(fn.body):
        for v in op.operands:
            readers.setdefault(v.id, []).append(op)
    for loop in walk(fn.body):
        if loop.opcode not in ("for", "while") or not involved(loop, act):
            continue
        body = Loop(loop).body
        for _, a, y, _ in Loop(loop).slots():
            memory, start = rec.memory_of(a), rec.order[id(loop)]
            written = any(st.operands[0].id in memory and rec.order[id(st)] > start for st in rec.stores)
            if not is_array(a.type) or not act.active(a) or not written:
                continue
            outside_view = any(isinstance(v.owner, Op) and v.owner.opcode in VIEW_OPCODES
                               and rec.order[id(v.owner)] < start
                               and any(rec.order[id(op)] > start for op in readers.get(v.id, ()))
                               for v in map(rec.values.get, memory) if v is not None)
            handed_in = y is not a and not _inside(rec.region_of.get(y.id, rec.top), body, rec)
            if outside_view or handed_in:
                loc = loop.loc
                why = "a view taken before the loop still looks into it" if outside_view else \
                    "a step hands on an array from outside the loop as its new value"
                raise CompileError(
                    f"`{a.hint}` is carried by this loop and written into, and {why}: reverse mode cannot tell "
                    "which array each write reaches. Take views inside the loop, and give each step an array of "
                    f"its own (for instance `{a.hint} = {a.hint}.copy()` where the program may change that way)",
                    loc.filename, loc.lineno, loc.col)


def written_in_place_only(v: Value, rec: Recording) -> bool:
    """A loop's carried array that each step yields itself: it changes by element and slice writes only."""
    if isinstance(v.owner, Op) or v.id not in rec.region_of or rec.in_scope(v):
        return False
    loop, _ = rec.parent[id(rec.region_of[v.id])]
    if loop.opcode not in ("for", "while") or rec.region_of[v.id] is not Loop(loop).body:
        return False
    return any(a is v and y is v for _, a, y, _ in Loop(loop).slots())


def _shape_sources(v: Value, rec: Recording, act: Activity) -> list[Value]:
    """What the reverse sweep needs to have an array of v's shape: an array a pure op computes has
    its shape whatever its operands' contents are, so it is recomputed even from memory written since."""
    owner = v.owner
    if not isinstance(owner, Op) and written_in_place_only(v, rec):
        return []  # shaped like the adjoint the loop carries for it
    if rec.in_scope(v) or not isinstance(owner, Op) or owner.opcode not in PURE_OPCODES:
        return _sources(v, rec, act)
    like = same_shape_operand(v)
    return [like] if like is not None else list(owner.operands)  # arrays for their shape, the rest as values


def _carried_memory_shapes(op: Op, act: Activity, accessed: set[int]) -> list[Value]:
    """A carried array read or written by element or slice (its id in `accessed`) has an adjoint buffer per
    reversed step, shaped like it, unless the loop writes it in place only (then the carried adjoint has
    its shape)."""
    if op.opcode not in ("for", "while"):
        return []
    return [a for _, a, y, _ in Loop(op).slots() if y is not a and is_array(a.type) and act.active(a) and a.id in accessed]


def _adjoints_zeroed_before(op: Op, act: Activity) -> list[Value]:
    """Arrays from outside a loop or branch that it adds adjoints into: zeroed before it, like themselves."""
    if op.opcode not in ("for", "while", "if") or not involved(op, act):
        return []
    inside = {a.id for o in [op] + list(walk_regions(op)) for r in o.regions for a in r.args}
    inside |= {r.id for o in walk_regions(op) for r in o.results}
    read = list(op.operands) + [v for o in walk_regions(op) for v in o.operands]
    return [v for v in read if v.id not in inside and is_array(v.type) and act.active(v)]


def walk_regions(op: Op):
    for r in op.regions:
        yield from walk(r)


def _carried_array_shapes(op: Op, act: Activity) -> list[Value]:
    """A loop's carried array adjoints start as zeros shaped like its results, and a block argument
    nothing reads gets zeros shaped like itself."""
    if op.opcode not in ("for", "while") or not involved(op, act):
        return []
    loop, out = Loop(op), []
    for a, r in zip(loop.carried, op.results):
        if is_array(r.type) and (act.active(a) or act.active(r)):
            out.append(r)
            if not any(a in o.operands and involved(o, act) for o in walk(loop.body)):
                out.append(a)
    return out


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
    if op.opcode in STORES:
        return act.active(op.operands[0])
    if any(act.active(r) for r in op.results):
        return True
    return any(involved(o, act) for r in op.regions for o in r.ops)


def _seeds(op: Op, act: Activity, needs, contents_only: bool = False) -> list[Value]:
    if not involved(op, act):
        return []
    if op.opcode == "for":
        return Loop(op).bounds
    if op.opcode == "if":
        return op.operands[:1]
    if op.opcode in ("while", "yield", "return"):
        return []
    if op.opcode in ACCESSES:
        indices = [v for v in op.operands[1:] if not is_array(v.type) and v.type.dtype in ("int64", "bool")]
        value = op.operands[-1]  # a slice write's adjoint is summed down to the shape of what it wrote
        summed = op.opcode == "setslice" and is_array(value.type) and not op.attrs["exact"]
        return indices + ([value] if summed and not contents_only else [])
    return list(needs(op, act.active, contents_only))


def _sources(v: Value, rec: Recording, act: Activity) -> list[Value]:
    """What the reverse sweep needs in order to have v; marks v taped when it must be."""
    if rec.in_scope(v):
        return []
    owner = v.owner
    if not isinstance(owner, Op):  # a block argument
        loop, _ = rec.parent[id(rec.region_of[v.id])]
        view = Loop(loop) if loop.opcode in ("for", "while") else None
        if view is not None and view.is_for and v is view.index:
            return view.bounds  # the reverse loop regenerates the induction variable
        if view is not None and view.is_for and not is_array(v.type) and id(loop) not in rec.checkpointed:
            slot = view.carried.index(v)  # (a checkpointed loop's tape holds one step: no earlier ones to read)
            found = _shift_leaves(view.body.yielded[slot], loop, rec, (v,))
            if found is not None:  # a delay line (x1 = x[n], y2 = y1): last step's value, no tape of its own
                rec.shifted[v.id] = (loop, slot)
                for recurrence in found[1]:
                    _tape(recurrence, rec)
                return found[0] + [view.inits[slot]] + view.bounds
        return _tape(v, rec)
    if recomputable(owner, rec):
        return list(owner.operands)
    return _tape(v, rec)


def recomputable(op: Op, rec: Recording) -> bool:
    """The reverse sweep can compute op again and get what the forward sweep got: a pure op whose
    array operands nothing writes afterwards, or a view (what it looks into is checked at its reads)."""
    if op.opcode in VIEW_OPCODES:
        return True
    if _constant_contents(op):  # np.eye(n) in a loop: made again, not taped, when nothing writes it
        return frozen(op.results[0], op, rec)
    if op.opcode not in PURE_OPCODES and op.opcode != "load":
        return False
    return all(frozen(o, op, rec) for o in op.operands if is_array(o.type))


def _constant_contents(op: Op) -> bool:
    """New memory whose contents its scalar operands decide (np.eye, np.zeros, np.arange; not np.empty)."""
    if op.opcode not in FRESH or any(is_array(o.type) for o in op.operands):
        return False
    return op.opcode != "alloc" or op.attrs["kind"] != "empty"


def _shift_leaves(v: Value, loop: Op, rec: Recording, path: tuple):
    """(values read, carried values read from their tapes) to recompute v as the loop's previous step
    computed it; None when it cannot be. `path`: the carried values being recomputed, whose cycles
    are true recurrences."""
    view = Loop(loop)
    body = view.body
    if v is view.index:
        return [], []
    if v.id not in rec.region_of or not _inside(rec.region_of[v.id], body, rec):
        return [v], []
    if v in view.carried:
        if v in path or len(path) > 6:
            return None
        slot = view.carried.index(v)
        found = _shift_leaves(body.yielded[slot], loop, rec, path + (v,))
        if found is None:
            return [], [v]  # a recurrence: read back from its tape
        rec.shifted[v.id] = (loop, slot)
        return found[0] + [view.inits[slot]], found[1]
    owner = v.owner
    if rec.region_of[v.id] is not body or is_array(v.type) or not recomputable(owner, rec):
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
    rec.taped.add(v.id)
    return []


def frozen(array: Value, op: Op, rec: Recording) -> bool:
    """The reverse sweep gets the contents `op` saw: no store into `array`'s memory can run after `op`.

    An array made inside a branch has no name in the reverse sweep, which rebuilds it from what made
    it: a store into it anywhere in that branch, before `op` too, means the rebuilt one differs."""
    memory = rec.memory_of(array)
    made_here = not rec.in_scope(array)
    return not any(st.operands[0].id in memory and (rec.order[id(st)] > rec.order[id(op)] or _share_loop(st, op, rec)
                                                     or (made_here and _share_control(st, op, rec)))
                   for st in rec.stores)


def recomputable_result(op: Op, rec: Recording) -> bool:
    """An array result written to later, but recomputable from its operands (b = np.tanh(x); b[0] = 0)."""
    result = op.results[0] if op.results else None
    return (result is not None and is_array(result.type) and not frozen(result, op, rec)
            and op.opcode in PURE_OPCODES and all(frozen(o, op, rec) for o in op.operands if is_array(o.type)))


def _plan_snapshots(op: Op, rec: Recording, act: Activity, needs) -> list[Value]:
    """Arrays op's rule reads whose memory is written afterwards: copied at op (a tape in a loop).
    Returns what rebuilding an overwritten result needs instead (b = np.tanh(x); b[0] = 0)."""
    if op.opcode in MEMORY_EFFECTS or not involved(op, act):
        return []
    rebuild = []
    for v in needs(op, act.active, contents_only=True):
        if not is_array(v.type) or frozen(v, op, rec):
            continue
        if v in op.results and recomputable_result(op, rec):
            rebuild.extend(op.operands)
        elif v not in rec.snapshots.setdefault(id(op), []):
            rec.snapshots[id(op)].append(v)
    return rebuild


def _share_loop(a: Op, b: Op, rec: Recording) -> bool:
    return _share_control(a, b, rec, ("for", "while"))


def _share_control(a: Op, b: Op, rec: Recording, kinds=("for", "while", "if")) -> bool:
    def around(op):
        return {id(o) for o in rec.enclosing_ops(rec.op_region[id(op)]) if o.opcode in kinds}
    return bool(around(a) & around(b))
