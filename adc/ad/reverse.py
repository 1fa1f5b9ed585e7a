"""Reverse mode: a forward sweep that records what it must, then the adjoint sweep.

The generated function reads like a hand-written adjoint: the forward sweep is the
primal plus tape pushes; the reverse sweep runs each loop backwards, first getting
back the values its rules read (popped from a tape or recomputed), then the adjoint
statements of each user statement in reverse order, under a comment citing it.
"""
from __future__ import annotations

import numpy as np

from ..analysis.activity import Activity
from ..analysis.recording import Recording, involved, recomputable_result
from ..codegen import pyir as P
from ..codegen.emit import CONTROL, ForwardEmitter, finite_check, inline_rule
from ..codegen.spelling import slice_index, zero
from ..errors import CompileError
from ..ir.core import (
    STORES,
    Function,
    Loop,
    Op,
    Region,
    Value,
    constant_value,
    is_array,
    uses_of,
    walk,
)
from ..ir.shapes import same_shape_operand
from ..primitives import ACCESSES, ELEMENT_VIEWS, EXPENSIVE, FRESH, VIEW_OPCODES, spell
from . import rules


class _Tape:
    def __init__(self, hint: str, dtype: str, exact: bool):
        self.buf = P.Var(f"{hint}__tape")
        self.top = P.Var(f"{hint}__top")
        self.dtype = "bool_" if dtype == "bool" else dtype
        self.exact = exact

    def alloc(self, capacity: P.Expr) -> list:
        return [P.Assign(P.Ref(self.buf), P.Call("rt.tape", [capacity, P.Lit(f"np.{self.dtype}")])),
                P.Assign(P.Ref(self.top), P.Lit("0"))]

    def push(self, value: P.Expr) -> list:
        out = []
        if not self.exact:
            full = P.BinOp("==", P.Ref(self.top), P.Index(P.Attr(P.Ref(self.buf), "shape"), [P.Lit("0")]))
            out.append(P.If(full, [P.Assign(P.Ref(self.buf), P.Call("rt.grow", [P.Ref(self.buf)]))]))
        out.append(P.Assign(P.Index(P.Ref(self.buf), [P.Ref(self.top)]), value))
        out.append(P.Assign(P.Ref(self.top), P.Ref(self.top) + 1))
        return out

    def pop(self, var: P.Var) -> list:
        return [P.Assign(P.Ref(self.top), P.Ref(self.top) - 1),
                P.Assign(P.Ref(var), P.Index(P.Ref(self.buf), [P.Ref(self.top)]))]


class _ArrayTape:
    """Whole arrays, one after another in a flat buffer that grows (each followed by its shape).

    In `for` loops whose bounds are known before them, `pushes` holds how many arrays the loops
    push: the first push then sizes the buffer for all of them (exactly when the shape stays put),
    instead of doubling from 16 and copying on the way."""

    def __init__(self, hint: str, type_, counted: bool):
        self.buf = P.Var(f"{hint}__tape")
        self.top = P.Var(f"{hint}__top")
        self.pushes = P.Var(f"{hint}__pushes") if counted else None
        self.type = type_
        self.exact = False

    def alloc(self, capacity: P.Expr) -> list:
        dtype = "int64" if self.type.dtype == "bool" else self.type.dtype
        return [P.Assign(P.Ref(self.buf), P.Call("rt.tape", [capacity, P.Lit(f"np.{dtype}")])),
                P.Assign(P.Ref(self.top), P.Lit("0"))]

    def push(self, value: P.Expr) -> list:
        count = [P.Ref(self.pushes)] if self.pushes is not None else []
        return [P.Assign(P.Ref(self.buf), P.Call("rt.record", [P.Ref(self.buf), P.Ref(self.top), value] + count)),
                P.AugAssign(P.Ref(self.top), "+", self.extent(value))]

    def pop(self, var: P.Var) -> list:
        return [P.Assign(P.Ref(var), P.Call(f"rt.recorded_{self.type.ndim}", [P.Ref(self.buf), P.Ref(self.top)])),
                P.AugAssign(P.Ref(self.top), "-", self.extent(P.Ref(var)))]

    def extent(self, value: P.Expr) -> P.Expr:
        return P.Attr(value, "size") + self.type.ndim


def trip_count(lo: P.Expr, hi: P.Expr, step: P.Expr, loop: Op) -> P.Expr:
    lo_value, hi_value, step_value = Loop(loop).bounds
    if constant_value(step_value) == 1 and constant_value(lo_value) == 0 and isinstance(hi_value.owner, Op) and hi_value.owner.opcode == "dim":
        return hi  # an array length: never negative
    if constant_value(step_value) == 1:
        return P.Call("max", [P.Lit("0"), hi if constant_value(lo_value) == 0 else hi - lo])
    return P.Call("rt.trip_count", [lo, hi, step])


class _ForwardSweep(ForwardEmitter):
    def __init__(self, builder: "ReverseBuilder"):
        rec = builder.rec
        in_scope = {v for v in rec.needed if rec.region_of.get(v, rec.top) is rec.top}
        returned = {v.id for v in builder.fn.returned}
        snapshot = {v.id for vs in rec.snapshots.values() for v in vs}
        super().__init__(builder.fn.body, builder.fwd_vars, materialize=rec.taped | in_scope | returned | snapshot,
                         debug=builder.debug)
        self.b = builder
        self.taping = True  # off while a checkpointed loop's steps run as the primal does

    def defined(self, v, out):
        super().defined(v, out)
        tape = self.b.tapes.get(v.id)
        if tape and self.taping:
            out.extend(tape.push(P.Ref(self.var(v))))

    def op_for(self, op, region, i, out, force_inline=False):
        if id(op) not in self.b.checkpoints:
            return super().op_for(op, region, i, out, force_inline)
        self.taping = False
        super().op_for(op, region, i, out, force_inline)
        self.taping = True

    def step(self, op: Op, index: P.Var, taping: bool) -> list:
        """One step of a checkpointed loop, its index `index`, in variables of its own: recomputing it leaves
        the primal's alone (the loop's results, which the rest of the function read)."""
        view = Loop(op)
        body = view.body
        saved_vars, saved_inlined = dict(self.vars), dict(self.inlined)
        for v in _defined_within(body):
            self.vars.pop(v.id, None)
            self.inlined.pop(v.id, None)
        checkpoint = self.b.checkpoints[id(op)]
        self.vars[view.index.id] = index
        for a in view.carried:  # (one not in the state is neither computed nor read)
            self.vars[a.id] = checkpoint.state_vars.get(a.id) or P.Var(a.hint or "t")
        self.taping = taping
        self.skipped = checkpoint.skipped
        out: list = []
        if taping:
            for a in checkpoint.carried:
                tape = self.b.tapes.get(a.id)
                if tape:
                    out.extend(tape.push(P.Ref(self.var(a))))
        self.coalesce_yields(body)
        self.region(body, out)
        self.yields(body, view.carried, out, kept=checkpoint.carried)
        self.taping = True
        self.skipped = set()
        self.vars.clear()
        self.vars.update(saved_vars)
        self.inlined = saved_inlined
        return out

    def emitting(self, op, out):
        if self.taping:
            self.snapshot(op, [v for v in self.b.rec.snapshots.get(id(op), ()) if v not in op.results], out)

    def emitted(self, op, out):
        if self.taping:
            self.snapshot(op, [v for v in self.b.rec.snapshots.get(id(op), ()) if v in op.results], out)

    def snapshot(self, op, values, out):
        """Copies of arrays op's rule reads, before op for its operands (the statement may reuse an
        operand's variable for its result) and after it for its result."""
        for v in values:
            key = ("snapshot", id(op), v.id)
            if key in self.b.tapes:
                out.extend(self.b.tapes[key].push(self.ref(v)))
            else:
                out.append(P.Assign(P.Ref(self.b.snapshot_vars[key]), P.Call("np.copy", [self.ref(v)])))

    def before_loop(self, op, out):
        for tape, chain in self.b.exact_allocations.get(id(op), []):
            out.extend(tape.alloc(self.capacity(chain)))
        for tape, chain in self.b.push_counts.get(id(op), []):
            out.append(P.Assign(P.Ref(tape.pushes), self.capacity(chain)))
        if id(op) in self.b.checkpoints:
            out.extend(self.b.checkpoints[id(op)].allocate(self))
        if op.opcode == "while" and id(op) in self.b.trips:
            out.append(P.Assign(P.Ref(self.b.trips[id(op)]), P.Lit("0")))

    def capacity(self, chain: list[Op]) -> P.Expr:
        """Exact tape size: the product of the trip counts of the loops around the push (inside a
        checkpointed loop, one step's)."""
        capacity = None if chain else P.Lit("1")
        for loop in chain:
            lo, hi, step = (self.hoisted(b) for b in Loop(loop).bounds)
            trips = trip_count(lo, hi, step, loop)
            capacity = trips if capacity is None else capacity * trips
        return capacity

    def hoisted(self, v: Value) -> P.Expr:
        if self.b.rec.in_scope(v):
            return self.ref(v)
        return spell(v.owner, [self.hoisted(o) for o in v.owner.operands])

    def loop_started(self, op, body):
        if id(op) in self.b.checkpoints and not self.b.checkpoints[id(op)].stateless:
            body.append(self.b.checkpoints[id(op)].store_when_due(self))
        for a in Loop(op).carried:
            tape = self.b.tapes.get(a.id)
            if tape and self.taping:
                body.extend(tape.push(P.Ref(self.var(a))))
        if op.opcode == "while" and id(op) in self.b.trips:
            counter = self.b.trips[id(op)]
            body.append(P.Assign(P.Ref(counter), P.Ref(counter) + 1))

    def loop_finished(self, op, out):
        tape = self.b.tapes.get(("trips", id(op)))
        if tape and self.taping:
            out.extend(tape.push(P.Ref(self.b.trips[id(op)])))
        if id(op) in self.b.checkpoints:
            out.extend(self.b.checkpoints[id(op)].keep_final(self))


class _Checkpoint:
    """One checkpointed loop: its schedule (runtime/checkpoint.py) and the state it stores, which is the
    loop's carried values and the arrays from before the loop that its steps write and later steps read."""

    def __init__(self, builder: "ReverseBuilder", op: Op):
        self.op, self.snapshots = op, builder.rec.checkpointed[id(op)]
        view = Loop(op)
        self.ck = P.Var("ck")
        read_again = _read_again(view.body, builder.rec)
        self.skipped = {id(o) for o in walk(view.body) if id(o) not in read_again}
        self.carried = [a for a in view.carried if a.id in read_again]
        self.memory = builder.stored_state(op)
        self.written = {a.id for a in self.carried if is_array(a.type) and builder.written_in(op, a)}
        self.slots = {v.id: P.Var(f"{v.hint or 't'}__snaps") for v in self.carried + self.memory}
        self.final = {v.id: P.Var(f"{v.hint or 't'}__final", array=True) for v in self.memory}
        self.state_vars = {a.id: P.Var(a.hint or "t", type=a.type) for a in self.carried}
        self.step_number = P.Var("step")

    @property
    def stateless(self) -> bool:
        """A loop whose steps carry nothing a later step reads: each step is recomputed on its own."""
        return not self.carried and not self.memory

    def allocate(self, fwd: _ForwardSweep) -> list:
        if self.stateless:
            return []
        lo, hi, step = (fwd.ref(b) for b in Loop(self.op).bounds)
        trips = trip_count(lo, hi, step, self.op)
        out = [P.Assign(P.Ref(self.ck), P.Call("rt.schedule", [trips, P.Lit(str(self.snapshots))]))]
        first_of = {a.id: first for a, first in zip(Loop(self.op).carried, Loop(self.op).inits)}
        for v in self.carried:
            first = first_of[v.id]
            room = P.Call("rt.array_slots" if is_array(v.type) else "np.full", [P.Lit(str(self.snapshots)), fwd.ref(first)])
            out.append(P.Assign(P.Ref(self.slots[v.id]), room))
        for v in self.memory:
            out.append(P.Assign(P.Ref(self.slots[v.id]), P.Call("rt.array_slots", [P.Lit(str(self.snapshots)), fwd.ref(v)])))
        return out

    def depth(self) -> P.Expr:
        return P.Index(P.Ref(self.ck), [P.Lit("rt.DEPTH")])

    def store(self, state: dict, slot: P.Expr | None = None) -> list:
        """The state into `slot`, by default the one the schedule names (copies of arrays that steps write into)."""
        out = []
        for v in self.carried + self.memory:
            value = P.Ref(state[v.id])
            if is_array(v.type) and (v.id in self.written or v in self.memory):
                value = P.Call("np.copy", [value])
            out.append(P.Assign(P.Index(P.Ref(self.slots[v.id]), [slot or self.depth()]), value))
        return out

    def load(self, state: dict, slot: P.Expr | None = None) -> list:
        out = []
        for v in self.carried + self.memory:
            stored = P.Index(P.Ref(self.slots[v.id]), [slot or self.depth()])
            if v in self.memory:
                out.append(P.Assign(P.Index(P.Ref(state[v.id]), [P.Slice(None, None, None)] * v.type.ndim), stored))
            else:
                out.append(P.Assign(P.Ref(state[v.id]), P.Call("np.copy", [stored]) if v.id in self.written else stored))
        return out

    def primal_state(self, fwd: _ForwardSweep) -> dict:
        return {v.id: fwd.var(v) for v in self.carried + self.memory}

    def counts_from_zero(self) -> bool:
        lo_v, _, step_v = Loop(self.op).bounds
        return constant_value(lo_v) == 0 and constant_value(step_v) == 1

    def step_of(self, fwd: _ForwardSweep, index: P.Expr) -> P.Expr:
        """The step number, from 0, of loop index `index`."""
        if self.counts_from_zero():
            return index
        lo, _, step = (fwd.ref(b) for b in Loop(self.op).bounds)
        return index - lo if constant_value(Loop(self.op).step) == 1 else P.BinOp("//", index - lo, step)

    def index_of(self, fwd: _ForwardSweep, number: P.Expr) -> P.Expr:
        if self.counts_from_zero():
            return number
        lo, _, step = (fwd.ref(b) for b in Loop(self.op).bounds)
        return lo + number if constant_value(Loop(self.op).step) == 1 else lo + number * step

    def store_when_due(self, fwd: _ForwardSweep) -> P.If:
        """In the primal sweep: the state at the steps the schedule stores (the first of its descents)."""
        index = fwd.var(Loop(self.op).index)
        number = self.step_of(fwd, P.Ref(index))
        # the test before the call: a call per step costs 4 ns, twice an IIR step, inlined or not
        due = P.BinOp("and", P.BinOp("==", number, P.Index(P.Ref(self.ck), [P.Lit("rt.NEXT")])),
                      P.Call("rt.snapshot_due", [P.Ref(self.ck), number]))
        return P.If(due, self.store(self.primal_state(fwd)))

    def keep_final(self, fwd: _ForwardSweep) -> list:
        """The arrays the steps write, as the primal left them: the reverse sweep's recomputation leaves
        them as an early step did, and they are put back after it."""
        return [P.Assign(P.Ref(self.final[v.id]), P.Call("np.copy", [fwd.ref(v)])) for v in self.memory]

    def put_back_final(self, fwd: _ForwardSweep) -> list:
        return [P.Assign(P.Index(fwd.ref(v), [P.Slice(None, None, None)] * v.type.ndim), P.Ref(self.final[v.id]))
                for v in self.memory]

    def steps(self, fwd: _ForwardSweep, bounds: list, after) -> P.For:
        """The primal steps numbered `bounds` (from 0), recording nothing, each followed by `after(number)`."""
        view = Loop(self.op)
        if self.counts_from_zero():
            loop = P.For(P.Var(view.index.hint), bounds)
            loop.body = fwd.step(self.op, loop.var, taping=False) + after(P.Ref(loop.var))
            return loop
        loop = P.For(P.Var("step"), bounds)
        index = P.Var(view.index.hint)
        loop.body = [P.Assign(P.Ref(index), self.index_of(fwd, P.Ref(loop.var)))] + \
            fwd.step(self.op, index, taping=False) + after(P.Ref(loop.var))
        return loop

    def reverse(self, b: "ReverseBuilder", carries, out: list) -> None:
        """The schedule's actions, one after another, until every step's adjoint has run."""
        fwd, op = b.forward, self.op
        view = Loop(op)
        state = {**self.state_vars, **{v.id: fwd.var(v) for v in self.memory}}
        index = b.rev_vars[view.index.id]
        reverse_step: list = []
        b._iteration(view.body, carries, reverse_step)
        if self.stateless:
            loop = P.For(index, b.reversed_range(op))
            loop.body = fwd.step(op, index, taping=True) + reverse_step
            out.append(loop)
            return
        field = lambda name: P.Index(P.Ref(self.ck), [P.Lit(f"rt.{name}")])  # noqa: E731
        first, end = field("FROM"), field("END")
        advance = self.steps(fwd, [first, field("CUR")], lambda number: [
            P.If(P.BinOp("<", number, field("STORED")), self.store(state, self.depth() + 1 + number - first))])
        leaf = P.For(self.step_number, [end - 1, field("FIRST") - 1, P.Lit("-1")])
        at_hand = P.BinOp("<", P.Ref(self.step_number), end - 1)
        leaf.body = [P.If(at_hand, self.load(state, self.depth() + P.Ref(self.step_number) - first)),
                     P.Assign(P.Ref(index), self.index_of(fwd, P.Ref(self.step_number)))] + \
            fwd.step(op, index, taping=True) + reverse_step
        action = P.Var("action")
        ask = P.Assign(P.Ref(action), P.Call("rt.action", [P.Ref(self.ck)]))
        stats = P.Ref(b.stats)
        has = lambda name: P.BinOp("&", P.Ref(action), P.Lit(f"rt.{name}"))  # noqa: E731
        dispatch = [P.If(has("RESTORE"), self.load(state)), P.If(has("ADVANCE"), [advance]),
                    P.If(has("SNAPSHOT"), self.store(state)),
                    P.If(has("LEAF"), [P.Comment("from the last step back: each restored, once more recording, "
                                                 "then its adjoint"), leaf])]
        out.append(ask)
        out.append(P.While(P.BinOp("!=", P.Ref(action), P.Lit("rt.DONE")), dispatch + [ask]))
        out.extend(self.put_back_final(fwd))
        used = P.Index(stats, [P.Lit("rt.SNAPSHOTS_USED")])
        out.append(P.Assign(used, P.Call("max", [used, field("USED")])))
        out.append(P.AugAssign(P.Index(stats, [P.Lit("rt.STEPS_RECOMPUTED")]), "+", field("RECOMPUTED")))
        for v in self.carried + self.memory:
            size = P.Call("rt.slots_nbytes", [P.Ref(self.slots[v.id])]) if is_array(v.type) else P.Attr(P.Ref(self.slots[v.id]), "nbytes")
            out.append(P.AugAssign(P.Index(stats, [P.Lit("rt.SNAPSHOT_BYTES")]), "+", size))


class ReverseBuilder:
    def __init__(self, fn: Function, wrt: list[int], act: Activity, rec: Recording, debug: bool = False):
        self.fn, self.wrt, self.act, self.rec, self.debug = fn, wrt, act, rec, debug
        self.fwd_vars = {p.id: P.Var(p.hint, name=p.hint, type=p.type) for p in fn.params}
        self.rev_vars: dict[int, P.Var] = {}
        self.bars: dict[int, P.Var] = {}
        self.pending: dict[int, P.Expr] = {}
        self.init: set[P.Var] = set()
        self.carry_bars: set[P.Var] = set()
        self.handled: set[int] = set()
        self.uses = uses_of(fn.body)
        self.trips: dict[int, P.Var] = {}
        self.tapes: dict = {}
        self.exact_allocations: dict[int, list] = {}
        self.push_counts: dict[int, list] = {}  # array tapes told before their loops how many pushes come
        self.growable: list = []
        self.snapshot_vars: dict[tuple, P.Var] = {}
        self.view_bars: set[int] = set()  # adjoints of views that are views of their base's adjoint
        self.shaped_like: dict[int, P.Expr] = {}  # carried arrays whose adjoint has another's shape
        self.line = None
        self.memory = self._memory_arrays()
        self.checkpoints = {id(op): _Checkpoint(self, op) for op in fn.body.ops if id(op) in rec.checkpointed}
        self.stats = P.Var("checkpoint__stats", name="checkpoint__stats", array=True)  # f.last_stats()
        self._plan_tapes()
        self.forward = _ForwardSweep(self)

    def _memory_arrays(self) -> set[int]:
        """Arrays read or written element-wise: their adjoint is a zeroed buffer, updated in place.

        Other arrays (results of whole-array expressions) accumulate adjoints as values. Views
        (x[1:], m.T) of memory are memory, their adjoint the same view of their base's.
        """
        memory = {p.id for p in self.fn.params if is_array(p.type)}
        for op in walk(self.fn.body):
            if op.opcode in FRESH or (op.opcode in ACCESSES and op.opcode in ELEMENT_VIEWS):  # x[1:]
                memory.add(op.result.id)
            if op.opcode in ACCESSES:
                memory.add(op.operands[0].id)
        for op in walk(self.fn.body):  # a view of memory is memory: its reads are reads of its base, when they happen
            if op.opcode in ELEMENT_VIEWS and op.operands[0].id in memory:
                memory.add(op.result.id)
        return memory

    def written_in(self, op: Op, v: Value) -> bool:
        """Whether a store inside loop `op` may write v's memory."""
        memory = self.rec.memory_of(v)
        return any(st.operands[0].id in memory for st in walk(op.regions[0]) if st.opcode in STORES)

    def stored_state(self, op: Op) -> list[Value]:
        """Arrays from before checkpointed loop `op` that its steps read or write and that something writes
        from the loop on (a step, or the code after the loop): a step recomputed from a stored state must find
        them as they were then. An array each step writes once at its own index and reads only at earlier
        ones (an IIR's output, y[n] = ... y[n - 1]) needs no copy: what a recomputed step reads of it the
        primal wrote already, unchanged since."""
        carried = {i for a in Loop(op).carried for i in self.rec.memory_of(a)}
        start = self.rec.order[id(op)]
        values = {**{p.id: p for p in self.fn.params}, **self.rec.values}
        roots = []
        for o in walk(op.regions[0]):
            for array in o.operands:
                memory = self.rec.memory_of(array)
                if not is_array(array.type) or memory & carried or not any(
                        st.operands[0].id in memory and self.rec.order[id(st)] > start for st in self.rec.stores):
                    continue
                for i in sorted(memory):
                    v = values.get(i)
                    if v is None:
                        continue
                    made_before = not isinstance(v.owner, Op) or self.rec.order[id(v.owner)] < start
                    if self.rec.in_scope(v) and made_before and v not in roots \
                            and not (isinstance(v.owner, Op) and v.owner.opcode in VIEW_OPCODES) \
                            and not _written_once_per_step(op, v, self.rec):
                        roots.append(v)
        return roots

    def is_memory(self, v: Value) -> bool:
        return is_array(v.type) and v.id in self.memory

    # -- tapes ----------------------------------------------------------------------
    def _plan_tapes(self) -> None:
        for op in walk(self.fn.body):
            if op.opcode == "while" and involved(op, self.act):
                self.trips[id(op)] = P.Var("trips")
                if self.rec.enclosing_ops(self.rec.op_region[id(op)]):
                    self.tapes[("trips", id(op))] = _Tape("trips", "int64", exact=False)
                    self.growable.append(self.tapes[("trips", id(op))])
        for vid in sorted(self.rec.taped):
            v = self.rec.values[vid]
            self.tapes[vid] = self._new_tape(v.hint or "t", v.type, self.rec.region_of[vid])
        for op in walk(self.fn.body):
            for v in self.rec.snapshots.get(id(op), ()):
                key = ("snapshot", id(op), v.id)
                region = self.rec.op_region[id(op)]
                if region is self.fn.body:
                    self.snapshot_vars[key] = _snapshot_var(v)
                else:
                    self.tapes[key] = self._new_tape(_snapshot_var(v).hint, v.type, region)

    def _new_tape(self, hint: str, type_, region: Region):
        """A tape for a value of `region`: exact-sized for scalars in `for` loops with bounds known before them.
        In a checkpointed loop it holds one step, allocated before the loop."""
        chain = self.rec.enclosing_ops(region)
        anchor = chain[-1] if chain else None
        for k, o in enumerate(chain):
            if id(o) in self.rec.checkpointed:
                chain, anchor = chain[:k], o
                break
        exact = all(o.opcode == "for" and all(self.hoistable(b) for b in Loop(o).bounds) for o in chain)
        if is_array(type_):
            tape = _ArrayTape(hint, type_, counted=exact and bool(chain))
            self.growable.append(tape)
            if tape.pushes is not None:
                self.push_counts.setdefault(id(anchor), []).append((tape, chain))
            return tape
        tape = _Tape(hint, type_.dtype, exact)
        if exact:
            self.exact_allocations.setdefault(id(anchor), []).append((tape, chain))
        else:
            self.growable.append(tape)
        return tape

    def hoistable(self, v: Value) -> bool:
        """Computable before any loop: in scope, or pure arithmetic on such values (x.shape[0] - 1)."""
        if self.rec.in_scope(v):
            return True
        owner = v.owner
        return isinstance(owner, Op) and owner.opcode in ("const", "dim", "add", "sub", "mul", "floordiv", "neg") \
            and all(self.hoistable(o) for o in owner.operands)

    # -- values in the reverse sweep -------------------------------------------------
    def rref(self, v: Value) -> P.Expr:
        if v.id in self.rev_vars:
            return P.Ref(self.rev_vars[v.id])
        owner = v.owner
        if isinstance(owner, Op) and owner.opcode == "const":
            return spell(owner, [])
        if self.rec.in_scope(v):
            return self.forward.ref(v)
        if not isinstance(owner, Op) or v.id not in self.rec.needed:
            # read only by a contribution to an inactive operand, which is dropped; a syntax error otherwise
            return P.Lit(f"<unavailable {v!r}>")
        # a recomputable temporary: rebuilt inline where it is read
        return spell(owner, [self.rref(o) for o in owner.operands])

    def restore(self, region: Region, out: list) -> None:
        """Get back the values of one iteration that the adjoint statements read."""
        if region is self.fn.body:
            return
        for a in region.args:
            if a.id in self.rec.taped:
                self.rev_vars[a.id] = P.Var(a.hint or "t", type=a.type)
                out.extend(self.tapes[a.id].pop(self.rev_vars[a.id]))
        for a in region.args:
            if a.id in self.rec.shifted and a.id not in self.rec.taped and a.id in self.rec.needed:
                self.rev_vars[a.id] = P.Var(a.hint or "t", type=a.type)
                out.append(P.Assign(P.Ref(self.rev_vars[a.id]), self.carried_back(a, 0)))
        for a in region.args:
            if self.is_memory(a) and self.act.active(a):  # a carried array read by element or slice
                self.memory_bar(a, out)
        for op in region.ops:
            for v in self.rec.snapshots.get(id(op), ()):
                key = ("snapshot", id(op), v.id)
                self.snapshot_vars[key] = _snapshot_var(v)
                out.extend(self.tapes[key].pop(self.snapshot_vars[key]))
            for r in op.results:
                if r.id not in self.rec.needed:
                    continue
                if r.id in self.rec.taped:
                    self.rev_vars[r.id] = P.Var(r.hint or "t", type=r.type)
                    out.extend(self.tapes[r.id].pop(self.rev_vars[r.id]))
                elif (r.hint or op.opcode in EXPENSIVE) and op.opcode not in ("const", "dim") and r.id not in self.rec.shaped:
                    expr = spell(op, [self.rref(o) for o in op.operands])
                    self.rev_vars[r.id] = P.Var(r.hint or op.opcode, type=r.type)
                    out.append(P.Assign(P.Ref(self.rev_vars[r.id]), expr))
            for r in op.results:
                if self.is_memory(r) and self.act.active(r):
                    self.memory_bar(r, out)

    def memory_bar(self, v: Value, out: list) -> None:
        """The adjoint buffer of an array in memory: zeros, or for a view, the same view of its base's adjoint
        (so that a store through either kills the same entries)."""
        self.bars[v.id] = P.Var(f"{v.hint or 't'}__bar", type=v.type, adjoint=True)
        owner = v.owner
        if isinstance(owner, Op) and owner.opcode in ELEMENT_VIEWS and owner.operands[0].id in self.bars \
                and self.is_memory(owner.operands[0]):
            start = spell(owner, [P.Ref(self.bars[owner.operands[0].id])] + [self.rref(o) for o in owner.operands[1:]])
            self.view_bars.add(v.id)
        else:
            start = P.Call("np.zeros_like", [self.shape_ref(v)])
        out.append(P.Assign(P.Ref(self.bars[v.id]), start))
        self.init.add(self.bars[v.id])

    def carried_back(self, a: Value, back: int) -> P.Expr:
        """Block argument a as it was `back` steps before this one: its initial value on the first
        step, else what the step before yielded (a delay line needs no tape)."""
        loop, slot = self.rec.shifted[a.id]
        view = Loop(loop)
        first = P.BinOp("==", self.at_step(view.index, back, loop), self.rref(view.bounds[0]))
        previous = self.at_step(view.body.yielded[slot], back + 1, loop)
        return P.Cond(first, self.rref(view.inits[slot]), previous)

    def at_step(self, v: Value, back: int, loop: Op) -> P.Expr:
        """v as computed `back` steps before the current one of `loop`."""
        view = Loop(loop)
        body, iv, step = view.body, view.index, view.step
        if v is iv:
            if back == 0:
                return self.rref(iv)
            shift = P.Lit(str(back)) if constant_value(step) == 1 else P.Lit(str(back)) * self.rref(step)
            return self.rref(iv) - shift
        if v in body.args:
            if v.id in self.rec.taped:  # the tape holds earlier steps just below the current one
                tape = self.tapes[v.id]
                return P.Index(P.Ref(tape.buf), [P.Ref(tape.top) - back]) if back else self.rref(v)
            return self.carried_back(v, back)
        if back == 0 or v.id not in self.rec.region_of or self.rec.region_of[v.id] is not body:
            return self.rref(v)
        return spell(v.owner, [self.at_step(o, back, loop) for o in v.owner.operands])

    # -- adjoints ---------------------------------------------------------------------
    def bar_var(self, v: Value) -> P.Var:
        if v.id not in self.bars:
            self.bars[v.id] = P.Var(f"{v.hint or 't'}__bar", type=v.type, adjoint=True)
        return self.bars[v.id]

    def take_bar(self, v: Value):
        if self.is_memory(v):
            return P.Ref(self.bars[v.id]) if v.id in self.bars else None
        if v.id in self.pending:
            return self.pending.pop(v.id)
        var = self.bars.get(v.id)
        return P.Ref(var) if var is not None and var in self.init else None

    def pendable(self, v: Value) -> bool:
        if v.hint or is_array(v.type) or not isinstance(v.owner, Op) or v.owner.opcode in CONTROL:
            return False
        uses = self.uses.get(v.id, [])
        return len(uses) == 1 and uses[0][1] is self.rec.region_of[v.id] and uses[0][0].opcode not in CONTROL + ("yield",)

    def contribute(self, v: Value, expr: P.Expr, out: list, pendable: bool = True) -> None:
        if not self.act.active(v):
            return
        if isinstance(expr, P.Ref) and self.bars.get(v.id) is expr.var:
            return  # v's adjoint is this very variable, passed through a loop
        expr = _pull_negation(expr)
        if self.is_memory(v):
            out.append(P.AugAssign(P.Ref(self.bars[v.id]), "+", expr))
            self.check(P.Ref(self.bars[v.id]), v, out)
            return
        if pendable and self.pendable(v) and not set(P.expr_vars(expr)) & self.carry_bars:
            self.pending[v.id] = expr
            return
        var = self.bar_var(v)
        if var in self.init and is_array(v.type):  # never in place: the adjoint may alias another
            out.append(P.Assign(P.Ref(var), P.Ref(var) + expr))
        elif var in self.init:
            if isinstance(expr, P.Unary) and expr.op == "-":
                out.append(P.AugAssign(P.Ref(var), "-", expr.operand))
            else:
                out.append(P.AugAssign(P.Ref(var), "+", expr))
        else:
            out.append(P.Assign(P.Ref(var), expr))
            self.init.add(var)
        self.check(P.Ref(var), v, out)

    def check(self, e: P.Expr, v: Value, out: list) -> None:
        if self.debug:
            out.extend(finite_check(e, v, f"the adjoint of {v.hint or 'a temporary'}", "reverse sweep"))

    def preinit(self, op: Op, out: list) -> None:
        """Zero the adjoints a nested loop or branch adds into, before it starts."""
        inside = {a.id for r in op.regions for a in r.args}
        for r in op.regions:
            for o in walk(r):
                inside.update(res.id for res in o.results)
                inside.update(a.id for sub in o.regions for a in sub.args)
        referenced = list(op.operands)
        for r in op.regions:
            for o in walk(r):
                referenced.extend(o.operands)
        for v in referenced:
            if v.id in inside or self.is_memory(v) or not self.act.active(v):
                continue
            var = self.bar_var(v)
            if var not in self.init and v.id not in self.pending:
                start = self.zeros_like(v)
                out.append(P.Assign(P.Ref(var), start))
                self.init.add(var)

    def reverse_region(self, region: Region, out: list) -> None:
        for op in reversed(region.ops):
            if op.opcode in ("yield", "return") or id(op) in self.handled or not involved(op, self.act):
                continue
            stmts: list = []
            if op.opcode in CONTROL:
                getattr(self, "reverse_" + op.opcode)(op, stmts)
            elif op.opcode == "store":
                self.reverse_store(op, stmts)
            elif op.opcode == "setslice":
                self.reverse_setslice(op, stmts)
            else:
                self.reverse_op(op, stmts)
            if stmts:
                if op.loc and op.loc.lineno != self.line and op.opcode not in CONTROL:
                    self.line = op.loc.lineno
                    stmts.insert(0, P.Comment(f"{op.loc}  {op.loc.text}"))
                out.extend(stmts)

    def primal_for(self, op: Op):
        """How op's rule reads primal values: copies taken at op, a rebuilt overwritten result, or as usual."""
        saved = {v.id: self.snapshot_vars[("snapshot", id(op), v.id)] for v in self.rec.snapshots.get(id(op), ())}
        rebuilt = recomputable_result(op, self.rec)

        def primal(v):
            if v.id in saved:
                return P.Ref(saved[v.id])
            if rebuilt and v is op.results[0]:
                return spell(op, [self.rref(o) for o in op.operands])
            return self.rref(v)
        return primal

    def shape_ref(self, v: Value, primal=None) -> P.Expr:
        """An array of v's shape, the cheapest there is: v itself when the sweep has it, an elementwise result's
        one array operand, the adjoint an in-place carried array is shaped like, or else v's op computed again
        from arrays of its operands' shapes (what it computes is wrong where its operands were written since,
        its shape is not)."""
        primal = primal or self.rref
        if v.id not in self.rev_vars and v.id in self.shaped_like:
            return self.shaped_like[v.id]
        if v.id in self.rev_vars or self.rec.in_scope(v) or v.id not in self.rec.shaped:
            return primal(v)
        if same_shape_operand(v) is not None:
            return self.shape_ref(same_shape_operand(v), primal)
        owner = v.owner
        return spell(owner, [self.shape_ref(o, primal) if is_array(o.type) else primal(o) for o in owner.operands])

    def reverse_op(self, op: Op, out: list) -> None:
        if op.results and op.results[0].id in self.view_bars:
            return  # the view's adjoint is a view of its base's: contributions are there already
        g = self.take_bar(op.results[0])
        if g is None:
            return
        result_type = op.results[0].type
        primal = self.primal_for(op)
        if op.opcode == "custom_vjp":
            self.reverse_custom(op, g, primal, out)
            return
        context = rules.RuleContext(op, primal, g=g, shape=lambda v: self.shape_ref(v, primal))
        contributions = [c for c in rules.vjp(context) if self.act.active(op.operands[c[0]])]
        for contribution in _computed_once(contributions, out):
            i, expr = contribution[:2]
            v = op.operands[i]
            if len(contribution) == 3:  # into the array's adjoint at the read position
                index = [self.rref(x) for x in op.operands[1:]]
                if op.opcode == "getslice":
                    index = slice_index(op.attrs["spec"], index)
                out.append(P.AugAssign(P.Index(P.Ref(self.bars[v.id]), index), "+", expr))
                self.check(P.Index(P.Ref(self.bars[v.id]), index), v, out)
                continue
            if np.dtype(result_type.dtype).kind == "c" and np.dtype(v.type.dtype).kind != "c":
                expr = P.Attr(expr, "real")  # a real operand of a complex op: dL/dRe only
            if is_array(result_type) and not is_array(v.type):
                expr = P.Call("np.sum", [expr])
            elif rules.broadcasts(op, v):
                expr = unbroadcast(expr, result_type.ndim, v.type.ndim, self.shape_ref(v, primal), op.loc)
            self.contribute(v, expr, out)

    def reverse_custom(self, op: Op, g: P.Expr, primal, out: list) -> None:
        """The user's bwd rule (adc.custom_vjp), emitted here with its residuals and g bound to variables."""
        rule = op.attrs["rule"]
        values = [primal(v) for v in op.operands[1:1 + rule.residuals]] + [g]
        emitter = inline_rule(rule.region, values, f"the rule of {rule.name} (adc.custom_vjp)", out, self.fwd_vars)
        first = 1 + rule.residuals
        for i, t in enumerate(rule.cotangents):
            if t is not None:
                self.contribute(op.operands[first + i], emitter.ref(t), out)

    def reverse_store(self, op: Op, out: list) -> None:
        array, *index, value = op.operands
        element = P.Index(P.Ref(self.bars[array.id]), [self.rref(x) for x in index])
        increment = self.increment(op)
        if increment:
            delta, sign = increment
            self.contribute(delta, element if sign > 0 else -element, out, pendable=False)
            return
        self.contribute(value, element, out, pendable=False)
        out.append(P.Assign(P.Index(P.Ref(self.bars[array.id]), [self.rref(x) for x in index]), zero(value.type)))

    def reverse_setslice(self, op: Op, out: list) -> None:
        """x[s] = v: v gets (a copy of) the adjoint of the slice it wrote, summed down to its shape; the slice's
        adjoint is then zero (the old contents were overwritten)."""
        array, *index, value = op.operands
        where = slice_index(op.attrs["spec"], [self.rref(x) for x in index])
        written = P.Index(P.Ref(self.bars[array.id]), where)
        if self.act.active(value):
            if not is_array(value.type):
                part = P.Call("np.sum", [written])
            elif op.attrs["exact"]:
                part = P.Call("np.copy", [written])
            else:
                view_ndim = array.type.ndim - op.attrs["spec"].count("i")
                part = unbroadcast(P.Call("np.copy", [written]), view_ndim, value.type.ndim,
                                   self.shape_ref(value, self.rref), op.loc)
            self.contribute(value, part, out, pendable=False)
        out.append(P.Assign(written, zero(array.type)))

    def increment(self, store: Op):
        """`a[i] += d`, a store that lowering marked (attrs augmented: ops load, add, store): its adjoint is
        d_bar += a_bar[i], and the element's adjoint passes through unchanged."""
        if store.attrs.get("augmented") not in ("add", "sub"):
            return None
        add = store.operands[-1].owner
        self.handled.update({id(add), id(add.operands[0].owner)})
        return add.operands[1], (1 if add.opcode == "add" else -1)

    def _seed_carries(self, op: Op, slots, out: list):
        """Carried adjoints: one variable per slot, shared by the result and the block argument.

        `slots` holds (initial value, block argument, yielded value, result) per carried value (Loop.slots).
        A block argument that another slot yields (a delay line: x2 = x1) gets an adjoint
        variable of its own, since seeding that slot writes into it.
        """
        slots = [s for s in slots if self.act.active(s[3]) or self.act.active(s[1])]
        carries = []
        for init, a, y, r in slots:
            var = self.bar_var(r)
            if var not in self.init:
                out.append(P.Assign(P.Ref(var), self.zeros_like(r)))
                self.init.add(var)
            self.carry_bars.add(var)
            shifted = any(other is a and b is not a for _, b, other, _ in slots)
            if self.is_memory(a):
                self.bars.pop(a.id, None)  # each reversed step zeroes a buffer of its own (restore)
                if y is a:  # written in place only: shaped like the adjoint carried in
                    self.shaped_like[a.id] = P.Ref(var)
            else:
                self.bars[a.id] = P.Var(f"{a.hint or 't'}__bar", type=a.type, adjoint=True) if shifted else var
            carries.append((a, y, var, init))
        return carries

    def zeros_like(self, v: Value) -> P.Expr:
        return P.Call("np.zeros_like", [self.shape_ref(v)]) if is_array(v.type) else zero(v.type)

    def accumulation(self, a: Value, y: Value, region: Region):
        """`s += t` carried by a loop (an add or sub that lowering marked, attrs accumulates, whose old value
        is the block argument): the carried adjoint passes through unchanged, t gets it."""
        add = y.owner
        if not isinstance(add, Op) or "accumulates" not in add.attrs or self.rec.region_of.get(y.id) is not region:
            return None
        old = add.attrs["accumulates"]
        if add.operands[old] is not a or len(self.uses.get(y.id, [])) != 1 or len(self.uses.get(a.id, [])) != 1 \
                or self.bars[a.id] is not self.bars.get(y.id, self.bars[a.id]):
            return None
        return add.operands[1 - old], add.opcode == "add"

    def through_inner_loop(self, a: Value, y: Value, region: Region) -> bool:
        """A carried value handed to an inner loop and taken back from it (a sum over a 2-d grid)."""
        loop = y.owner
        if not isinstance(loop, Op) or loop.opcode not in ("for", "while") or self.rec.region_of.get(y.id) is not region:
            return False
        k = loop.results.index(y)
        return Loop(loop).inits[k] is a and len(self.uses.get(a.id, [])) == 1 and len(self.uses.get(y.id, [])) == 1

    def _iteration(self, region: Region, carries, body: list) -> None:
        outer = set(self.init)
        self.restore(region, body)
        accumulations = {id(a): self.accumulation(a, y, region) for a, y, var, _ in carries if self.bars[a.id] is var}
        if any(acc and acc[0] in region.args for acc in accumulations.values()):
            accumulations = {}  # `a += s` with s carried too: adding into s's adjoint before it is read is wrong
        for a, y, var, _ in carries:  # seeds first: they read the incoming adjoints
            if accumulations.get(id(a)):
                continue
            if self.bars[a.id] is var and self.through_inner_loop(a, y, region):
                self.bars[y.id] = var  # the inner loop carries the same adjoint variable
            elif y is not a or self.is_memory(a) or self.bars[a.id] is not var:  # (a = a, and another slot yields a)
                if self.bars[a.id] is var:
                    self.init.discard(var)
                self.contribute(y, P.Ref(var), body, pendable=False)
        for a, y, var, _ in carries:  # then accumulations `s += t`: s's adjoint passes through, t gets it
            if accumulations.get(id(a)):
                term, positive = accumulations[id(a)]
                self.handled.add(id(y.owner))
                self.carry_bars.discard(var)
                self.contribute(term, P.Ref(var) if positive else -P.Ref(var), body)
        self.reverse_region(region, body)
        for a, _, var, _ in carries:
            arg_bar = self.bars[a.id]
            if arg_bar is not var:
                body.append(P.Assign(P.Ref(var), P.Ref(arg_bar) if arg_bar in self.init else self.zeros_like(a)))
            elif var not in self.init:
                body.append(P.Assign(P.Ref(var), self.zeros_like(a)))
        self.init = outer

    def _finish_loop(self, op: Op, loop: P.For, carries, out: list, forwards: bool = False) -> None:
        out.append(P.Comment(f"{op.loc}  {op.loc.text}  ({'adjoint, iterations in any order' if forwards else 'reversed'})"))
        out.append(loop)
        self.line = None
        for _, _, var, init in carries:
            self.contribute(init, P.Ref(var), out, pendable=False)

    def reverse_for(self, op: Op, out: list) -> None:
        view = Loop(op)
        self.preinit(op, out)
        carries = self._seed_carries(op, view.slots(), out)
        self.rev_vars[view.index.id] = P.Var(view.index.hint)
        if id(op) in self.checkpoints:
            how = "each step recomputed alone: it carries nothing" if self.checkpoints[id(op)].stateless else \
                f"reversed from {self.rec.checkpointed[id(op)]} stored states"
            out.append(P.Comment(f"{op.loc}  {op.loc.text}  ({how})"))
            self.checkpoints[id(op)].reverse(self, carries, out)
            self.line = None
            for _, _, var, init in carries:
                self.contribute(init, P.Ref(var), out, pendable=False)
            return
        loop = P.For(self.rev_vars[view.index.id], self.reversed_range(op))
        self._iteration(view.body, carries, loop.body)
        forwards = iterations_commute(loop.body, {var for _, _, var, _ in carries})
        if forwards:
            loop.bounds = self.forward_range(op)  # the order LLVM vectorises best
        self._finish_loop(op, loop, carries, out, forwards)

    def forward_range(self, op: Op) -> list:
        lo_v, hi_v, step_v = Loop(op).bounds
        lo, hi, step = (self.rref(v) for v in (lo_v, hi_v, step_v))
        if constant_value(step_v) == 1:
            return [hi] if constant_value(lo_v) == 0 else [lo, hi]
        return [lo, hi, step]

    def reversed_range(self, op: Op) -> list:
        lo_v, hi_v, step_v = Loop(op).bounds
        lo, hi, step = (self.rref(v) for v in (lo_v, hi_v, step_v))
        if constant_value(step_v) == 1:
            return [hi - 1, lo - 1 if constant_value(lo_v) != 0 else P.Lit("-1"), P.Lit("-1")]
        if constant_value(step_v) == -1:
            return [hi + 1, lo + 1]
        trips = P.Call("rt.trip_count", [lo, hi, step])
        return [lo + (trips - 1) * step, lo - step, -step]

    def reverse_while(self, op: Op, out: list) -> None:
        view = Loop(op)
        body = view.body
        self.preinit(op, out)
        carries = self._seed_carries(op, view.slots(), out)
        trips = self.trips[id(op)]
        tape = self.tapes.get(("trips", id(op)))
        if tape:
            trips = P.Var("trips")
            out.extend(tape.pop(trips))
        loop = P.For(P.Var("_"), [P.Ref(trips)])
        self._iteration(body, carries, loop.body)
        self._finish_loop(op, loop, carries, out)

    def reverse_if(self, op: Op, out: list) -> None:
        self.preinit(op, out)
        stmt = P.If(self.rref(op.operands[0]))
        seeds = [self.take_bar(r) for r in op.results]
        for region, block in zip(op.regions, (stmt.body, stmt.orelse)):
            outer = set(self.init)
            self.restore(region, block)
            for g, y in zip(seeds, region.yielded):
                if g is not None:
                    self.contribute(y, g, block, pendable=False)
            self.reverse_region(region, block)
            self.init = outer
        self.line = None
        if stmt.body or stmt.orelse:
            out.append(stmt)

    # -- the whole function --------------------------------------------------------
    def build(self, name: str) -> P.FunctionDef:
        fn = self.fn
        body: list = [P.Comment("forward sweep")]
        for tape in self.growable:
            body.extend(tape.alloc(P.Lit("16")))
        self.forward.region(fn.body, body)
        returned = fn.returned
        seeds = [P.Var(f"{r.hint or 'result'}__bar", type=r.type, adjoint=True) for r in returned]
        used = set()
        for s in seeds:
            while s.hint in used or s.hint in {p.hint for p in fn.params}:
                s.hint += "_"
            used.add(s.hint)
            s.name = s.hint
        body.append(P.Comment("reverse sweep"))
        for v in fn.params + [r for op in fn.body.ops for r in op.results]:
            if self.is_memory(v) and self.act.active(v):
                self.memory_bar(v, body)
        for r, seed in zip(returned, seeds):
            if is_array(r.type):  # a cotangent of another shape would be read past its end, or in part
                mismatch = P.BinOp("!=", P.Attr(P.Ref(seed), "shape"), P.Attr(self.forward.ref(r), "shape"))
                part = f" `{r.hint}`" if r.hint != "result" else ""
                body.append(P.If(mismatch, [P.Raise("ValueError", f"vjp: the cotangent of the result{part} must have "
                                                                  "its shape, np.shape(f(*args))")]))
            if self.is_memory(r) and self.act.active(r):
                body.append(P.AugAssign(P.Ref(self.bars[r.id]), "+", P.Ref(seed)))
            elif self.act.active(r):
                if r.id in self.bars or fn.params.count(r) or returned.count(r) > 1:
                    self.contribute(r, P.Ref(seed), body, pendable=False)
                else:
                    self.bars[r.id] = seed
                    self.init.add(seed)
        self.reverse_region(fn.body, body)
        grads = []
        for i in self.wrt:
            p = fn.params[i]
            bar = self.bars.get(p.id)
            if bar is not None and (bar in self.init or is_array(p.type)):
                grads.append(P.Ref(bar))
            else:  # the result does not depend on it
                grads.append(P.Call("np.zeros_like", [P.Ref(self.fwd_vars[p.id])]) if is_array(p.type) else zero(p.type))
        value = self.forward.ref(returned[0]) if len(returned) == 1 else P.TupleExpr([self.forward.ref(r) for r in returned])
        if self.checkpoints:
            tapes = list({id(t): t for t in self.tapes.values()}.values())
            total = P.Lit("0")
            for tape in tapes:
                total = total + P.Attr(P.Ref(tape.buf), "nbytes")
            body.append(P.Assign(P.Index(P.Ref(self.stats), [P.Lit("rt.TAPE_BYTES")]), total))
        body.append(P.Return(P.TupleExpr([value, P.TupleExpr(grads)])))
        params = [self.fwd_vars[p.id] for p in fn.params] + seeds + ([self.stats] if self.checkpoints else [])
        return P.FunctionDef(name, params, body)


def _defined_within(region: Region) -> list[Value]:
    """The values a region and the regions in it define: its arguments and its ops' results."""
    out = list(region.args)
    for op in region.ops:
        out.extend(op.results)
        for sub in op.regions:
            out.extend(_defined_within(sub))
    return out


def _read_again(body: Region, rec: Recording) -> set[int]:
    """What a recomputed step of a checkpointed loop must compute (ids of values and ops): its writes into
    memory, the values its adjoint reads (and the copies and trip counts it pops), and what those are
    computed from, back through the carried values. The rest (a loss summed across the steps, a check the
    primal made) the primal computed once already. A loop or branch inside the step is kept whole."""
    inside = {v.id for v in _defined_within(body)}
    yielded_of = {a.id: y for a, y in zip(body.args[1:], body.yielded)}
    ops = list(walk(body))
    owner = {r.id: o for o in ops for r in o.results}
    parent = {id(x): o for o in ops for r in o.regions for x in r.ops}
    keep: set[int] = set()
    values = [v for v in _defined_within(body) if v.id in rec.needed]
    pending = [o for o in ops if o.opcode in STORES or o.opcode == "while" or id(o) in rec.snapshots]
    while values or pending:
        while pending:
            o = pending.pop()
            if id(o) in keep:
                continue
            keep.add(id(o))
            values.extend(o.operands)
            for r in o.regions:
                values.extend(r.args)
                values.extend(r.yielded)
                pending.extend(r.ops)
            if id(o) in parent:
                pending.append(parent[id(o)])
        v = values.pop() if values else None
        if v is None or v.id in keep or v.id not in inside:
            continue
        keep.add(v.id)
        if v.id in yielded_of:
            values.append(yielded_of[v.id])
        if v.id in owner:
            pending.append(owner[v.id])
    return keep


def _offset(index: Value, iv: Value):
    """c where index is iv + c (c an integer constant), else None."""
    if index is iv:
        return 0
    owner = index.owner
    if isinstance(owner, Op) and owner.opcode in ("add", "sub") and owner.operands[0] is iv:
        c = constant_value(owner.operands[1])
        if isinstance(c, int) and not isinstance(c, bool):
            return c if owner.opcode == "add" else -c
    return None


def _written_once_per_step(op: Op, array: Value, rec: Recording) -> bool:
    """Every write of array's memory from the loop on is `array[t + c]` in the loop's own body (t its index,
    one c, step +1), and every read of it inside the loop is `array[t + d]` with d < c: a recomputed step
    reads only what earlier steps wrote, as the primal left it."""
    view = Loop(op)
    if constant_value(view.step) != 1 or array.type.ndim != 1:
        return False
    memory, start = rec.memory_of(array), rec.order[id(op)]
    written = None
    for st in rec.stores:
        if st.operands[0].id not in memory or rec.order[id(st)] < start:
            continue
        c = _offset(st.operands[1], view.index) if st.opcode == "store" and st in view.body.ops else None
        if c is None or written not in (None, c):
            return False
        written = c
    for o in walk(view.body):
        reads = [v for v in o.operands if v.id in memory]
        if not reads or o.opcode in STORES and o.operands[0].id in memory and reads == [o.operands[0]]:
            continue
        d = _offset(o.operands[1], view.index) if o.opcode == "load" and o.operands[0].id in memory else None
        if d is None or written is None or d >= written:
            return False
    return written is not None


def _snapshot_var(v: Value) -> P.Var:
    """The copy of array v that an op's rule reads (v is written after the op)."""
    return P.Var(f"{v.hint or 't'}__saved", type=v.type)


def unbroadcast(g: P.Expr, result_ndim: int, operand_ndim: int, operand: P.Expr, loc) -> P.Expr:
    if (result_ndim, operand_ndim) in ((1, 1), (2, 1), (2, 2), (3, 1), (3, 2), (3, 3)):
        return P.Call(f"rt.unbroadcast_{result_ndim}_{operand_ndim}", [g, operand])
    if result_ndim == operand_ndim:
        return P.Call("rt.same_shape", [g, operand])
    raise CompileError(f"broadcasting a {operand_ndim}-d array against {result_ndim}-d is not differentiable yet: "
                       "add the missing axes explicitly with reshape outside the function",
                       loc.filename, loc.lineno, loc.col)


def _pull_negation(e: P.Expr) -> P.Expr:
    """(-a) * b  ->  -(a * b), so accumulations print as `x__bar -= a * b`."""
    if isinstance(e, P.BinOp) and e.op in ("*", "/"):
        left = _pull_negation(e.left)
        if isinstance(left, P.Unary) and left.op == "-":
            return P.Unary("-", P.BinOp(e.op, left.operand, e.right))
    return e


def iterations_commute(body: list, carried) -> bool:
    """Whether a reversed loop body may run its iterations in any order: every statement adds into an array
    element or a number (`h__bar[k] += g * x[n - k]`) that nothing in the body reads, or sets a temporary
    before the body reads it; no carried adjoint is set, nothing is popped from a tape, no nested control.
    Such a loop (a tap loop's adjoint) then runs forwards, which LLVM vectorises where it does not vectorise
    the reversed one; sums into one element may round in another order, nothing else changes."""
    added, assigned, read = set(), set(), set()
    for stmt in body:
        if isinstance(stmt, P.Comment):
            continue
        if isinstance(stmt, P.AugAssign) and stmt.op in ("+", "-"):
            target = stmt.target.base if isinstance(stmt.target, P.Index) else stmt.target
            if not isinstance(target, P.Ref):
                return False
            added.add(target.var)
            index = stmt.target.index if isinstance(stmt.target, P.Index) else []
            parts = [e for i in index for e in ((i.lower, i.upper, i.step) if isinstance(i, P.Slice) else (i,))]
            read.update(v for e in [stmt.value, *parts] if e is not None for v in P.expr_vars(e))
        elif isinstance(stmt, P.Assign) and isinstance(stmt.target, P.Ref):
            var, value_vars = stmt.target.var, set(P.expr_vars(stmt.value))
            if var in read or var in carried or var in value_vars:  # `top = top - 1`: a tape popped, LIFO
                return False
            read.update(value_vars)
            assigned.add(var)
        else:
            return False
    return not (added & (read | assigned))


def _computed_once(contributions: list, out: list) -> list:
    """A sub-expression that a rule uses in several contributions (a solve's b_bar, also in A_bar) is
    computed once, into a variable, before them."""
    seen, shared = {}, {}

    def count(e):
        if isinstance(e, P.Call):
            seen[id(e)] = seen.get(id(e), 0) + 1
            if seen[id(e)] > 1:
                shared[id(e)] = e
                return
        for child in P.children(e):
            if isinstance(child, P.Expr) or isinstance(child, P.Slice):
                count(child)
    for c in contributions:
        count(c[1])
    if not shared:
        return contributions
    names = {}

    def replace(e):
        if id(e) in names:
            return P.Ref(names[id(e)])
        if id(e) in shared:
            inner = P.map_expr(e, replace)
            names[id(e)] = P.Var("t", array=True)
            out.append(P.Assign(P.Ref(names[id(e)]), inner))
            return P.Ref(names[id(e)])
        return P.map_expr(e, replace) if isinstance(e, (P.Expr, P.Slice)) else e
    return [(c[0], replace(c[1]), *c[2:]) for c in contributions]
