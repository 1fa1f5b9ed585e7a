"""SSA ops to Python statements: the primal, and the forward sweep of derivatives.

Single-use temporaries fold back into the expression they came from, so a user's
statement prints as one line; values the user named keep their names.
"""
from __future__ import annotations

import numpy as np

from ..ir.core import Function, Loop, Op, Region, Value, constant_value, has_store, is_array, uses_of, walk
from ..primitives import FRESH, spell
from ..primitives.elementwise import SYMBOLS
from . import pyir as P
from .spelling import slice_index

CONTROL = ("for", "while", "if")


def finite_check(e: P.Expr, v: Value, what: str, sweep: str) -> list:
    """debug=True: stop at the first NaN or Inf, naming the variable and the user's line."""
    if np.dtype(v.type.dtype).kind not in "fc":
        return []
    finite = P.Call("np.isfinite", [e])
    if is_array(v.type) and not isinstance(e, P.Index):
        finite = P.Call("np.all", [finite])
    loc = v.owner.loc if isinstance(v.owner, Op) and v.owner.loc else None
    where = f"{loc}  {loc.text}" if loc else f"the argument {v.hint}"
    return [P.If(P.Unary("not", finite), [P.Raise(
        "FloatingPointError", f"adc debug: NaN or Inf in {what} ({sweep}) at {where}")])]


class ForwardEmitter:
    """Emits regions in program order. Subclasses add tape pushes (the forward sweep)."""

    def __init__(self, body: Region, vars_: dict[int, P.Var], materialize: set[int] = frozenset(),
                 debug: bool = False):
        self.debug = debug
        self.vars = vars_
        self.inlined: dict[int, P.Expr] = {}
        self.uses = uses_of(body)
        self.materialize = materialize
        self.skipped: set[int] = set()  # ops left out (a recomputed step computes only what is read again)

    def ref(self, v: Value) -> P.Expr:
        if v.id in self.inlined:
            return self.inlined[v.id]
        return P.Ref(self.var(v))

    def var(self, v: Value) -> P.Var:
        if v.id not in self.vars:
            self.vars[v.id] = P.Var(v.hint or "t", type=v.type)
        return self.vars[v.id]

    def can_inline(self, op: Op, region: Region, index: int) -> bool:
        v = op.results[0]
        if op.opcode == "const":
            return True
        named = v.hint and op.opcode != "dim"  # x.shape[0] reads as well as a name
        if op.opcode in CONTROL or op.opcode in FRESH or named or v.id in self.materialize:
            return False
        uses = self.uses.get(v.id, [])
        if len(uses) != 1 or uses[0][1] is not region:
            return False
        user = uses[0][0]
        later = region.ops[index + 1:region.ops.index(user)]
        return not any(has_store(o) for o in later)

    def region(self, region: Region, out: list, force_inline: bool = False) -> None:
        for i, op in enumerate(region.ops):
            if op.opcode in ("yield", "return") or id(op) in self.skipped:
                continue
            self.emitting(op, out)
            getattr(self, "op_" + op.opcode, self.op_pure)(op, region, i, out, force_inline)

    def op_pure(self, op, region, i, out, force_inline=False):
        e = spell(op, [self.ref(v) for v in op.operands])
        if force_inline or self.can_inline(op, region, i):
            self.inlined[op.result.id] = e
        else:
            out.append(P.Assign(P.Ref(self.var(op.result)), e))
            self.defined(op.result, out)
        if not force_inline:
            self.emitted(op, out)

    def emitting(self, op: Op, out: list) -> None:
        """Hook: before an op's statement (the forward sweep copies the arrays it reads here)."""

    def defined(self, v: Value, out: list) -> None:
        """A value has just been assigned: in debug mode, check it is finite."""
        if self.debug:
            out.extend(finite_check(P.Ref(self.var(v)), v, v.hint or "a temporary", "forward sweep"))

    def emitted(self, op: Op, out: list) -> None:
        """Hook: an op's statement, if any, is out (forward mode adds the tangent's here)."""

    def op_store(self, op, region, i, out, force_inline=False):
        """`x[i] = v`, or `x[i] += d` for a store lowering marked augmented (when v is not a variable of its own)."""
        array, *index, value = op.operands
        target = P.Index(self.ref(array), [self.ref(x) for x in index])
        if op.attrs.get("augmented") and value.id in self.inlined:
            out.append(P.AugAssign(target, SYMBOLS[op.attrs["augmented"]], self.ref(value.owner.operands[1])))
        else:
            out.append(P.Assign(target, self.ref(value)))
        self.emitted(op, out)

    def op_setslice(self, op, region, i, out, force_inline=False):
        array, *index, value = op.operands
        out.append(P.Assign(P.Index(self.ref(array), slice_index(op.attrs["spec"], [self.ref(x) for x in index])),
                            self.ref(value)))
        self.emitted(op, out)

    def op_boundscheck(self, op, region, i, out, force_inline=False):
        """`if index >= x_len: raise rt.OutOfBounds(...)`, the message put together at run time. `where` names
        the user's file by its name, not its path, so generated code reads the same on any machine."""
        failed, index, length = [self.ref(v) for v in op.operands]
        details = [P.Lit(repr(op.attrs[k])) for k in ("access", "array", "axis", "extent")]
        out.append(P.If(failed, [P.Raise("rt.OutOfBounds", op.attrs["where"], details + [index, length])]))

    def op_shapecheck(self, op, region, i, out, force_inline=False):
        """numpy's broadcasting rule checked where the user wrote the expression (adc/ir/shapes.py)."""
        shapes = [P.Attr(self.ref(v), "shape") for v in op.operands]
        out.append(P.If(P.Unary("not", P.Call("rt.broadcastable", shapes)),
                        [P.Raise("rt.ShapeMismatch", f"{op.loc}:{op.loc.col}", [P.Lit(repr(op.attrs["access"]))] + shapes)]))

    def op_assertion(self, op, region, i, out, force_inline=False):
        """The user's `assert`, or a check of the user's call (np.linalg.solve's singular matrix), where it stood;
        its message names the user's line."""
        error = op.attrs.get("error", "AssertionError")
        out.append(P.If(self.ref(op.operands[0]), [P.Raise(error, op.attrs["message"])]))

    def carry_vars(self, op: Op, args: list[Value], inits: list[Value], out: list) -> None:
        """Loop-carried slots share one variable for init copy, block argument and result.

        An initial value read by nothing else lends its own variable (a sum carried into an inner loop).
        """
        for arg, init, res in zip(args, inits, op.results):
            if self.hands_over(init, res, inits):
                self.vars[arg.id] = self.vars[res.id] = self.vars[init.id]
                continue
            var = P.Var(res.hint or arg.hint or "t", type=res.type)
            self.vars[arg.id] = self.vars[res.id] = var
            out.append(P.Assign(P.Ref(var), self.ref(init)))

    def hands_over(self, init: Value, res: Value, inits: list[Value]) -> bool:
        return (init.id in self.vars and init.id not in self.inlined and init.hint == res.hint
                and len(self.uses.get(init.id, [])) == 1 and inits.count(init) == 1
                and not isinstance(init.owner, Function) and init.id not in self.materialize)

    def coalesce_yields(self, region: Region) -> None:
        """Let a yielded value write its carry's variable directly when the old value is dead."""
        args = region.args[-len(region.yielded):] if region.yielded else []
        position = {id(op): k for k, op in enumerate(region.ops)}
        for arg, y in zip(args, region.yielded):
            if y.id in self.vars or not isinstance(y.owner, Op) or y.owner not in region.ops or y.id in self.materialize:
                continue
            if sum(1 for other in region.yielded if other is y) > 1 or y.owner.opcode == "const" or y.hint not in (None, arg.hint):
                continue
            at = position[id(y.owner)]
            # the results of a loop or branch given arg may take over its variable (`while a < c: ...; s0 = a`)
            sharing = [arg] + [r for op in region.ops if op.opcode in CONTROL and arg in op.operands for r in op.results]
            later_uses = [u for v in sharing for u, _ in self.uses.get(v.id, []) if _top(u, region, position) > at]
            if not later_uses and self.may_coalesce(arg, y):
                self.vars[y.id] = self.vars[arg.id]

    def may_coalesce(self, arg: Value, y: Value) -> bool:
        """Hook: whether statements emitted after y's own may still read the old value of arg."""
        return True

    def yields(self, region: Region, args: list[Value], out: list, kept=None) -> None:
        pairs = [(self.var(a), self.ref(y)) for a, y in zip(args, region.yielded)
                 if not (y.id in self.vars and self.vars[y.id] is self.vars[a.id]) and (kept is None or a in kept)]
        if len(pairs) == 1:
            out.append(P.Assign(P.Ref(pairs[0][0]), pairs[0][1]))
        elif pairs:
            out.append(P.Assign(P.TupleExpr([P.Ref(v) for v, _ in pairs]), P.TupleExpr([e for _, e in pairs])))

    def op_for(self, op, region, i, out, force_inline=False):
        view = Loop(op)
        body, iv, args = view.body, view.index, view.carried
        self.before_loop(op, out)
        self.carry_vars(op, args, view.inits, out)
        self.vars[iv.id] = P.Var(iv.hint)
        loop = P.For(self.vars[iv.id], range_bounds(*(self.ref(b) for b in view.bounds), *view.bounds))
        self.loop_started(op, loop.body)
        self.coalesce_yields(body)
        self.region(body, loop.body)
        self.yields(body, args, loop.body)
        out.append(loop)
        self.loop_finished(op, out)
        for r in op.results:
            self.defined(r, out)

    def op_while(self, op, region, i, out, force_inline=False):
        view = Loop(op)
        cond, body = view.cond, view.body
        self.before_loop(op, out)
        self.carry_vars(op, view.carried, view.inits, out)
        for a, b in zip(cond.args, body.args):
            self.vars[a.id] = self.vars[b.id]
        self.region(cond, [], force_inline=True)
        loop = P.While(self.ref(cond.yielded[0]))
        self.loop_started(op, loop.body)
        self.coalesce_yields(body)
        self.region(body, loop.body)
        self.yields(body, view.carried, loop.body)
        out.append(loop)
        self.loop_finished(op, out)
        for r in op.results:
            self.defined(r, out)

    def before_loop(self, op: Op, out: list) -> None:
        """Hook: statements before a loop (the forward sweep allocates its tapes here)."""

    def loop_started(self, op: Op, body: list) -> None:
        """Hook: first statements of a loop body (the forward sweep counts and records here)."""

    def loop_finished(self, op: Op, out: list) -> None:
        """Hook: right after a loop."""

    def branch_finished(self, op: Op, region: Region, block: list) -> None:
        """Hook: the end of one branch of an `if`, after its results are assigned."""

    def op_if(self, op, region, i, out, force_inline=False):
        then, orelse = op.regions
        for r in op.results:
            self.vars[r.id] = P.Var(r.hint or "t", type=r.type)
        stmt = P.If(self.ref(op.operands[0]))
        for reg, block in ((then, stmt.body), (orelse, stmt.orelse)):
            self.region(reg, block)
            for r, y in zip(op.results, reg.yielded):
                block.append(P.Assign(P.Ref(self.vars[r.id]), self.ref(y)))
            self.branch_finished(op, reg, block)
        out.append(stmt)
        for r in op.results:
            self.defined(r, out)


def _top(op: Op, region: Region, position: dict) -> int:
    """Index in `region` of the top-level op that contains `op`."""
    if id(op) in position:
        return position[id(op)]
    for k, top in enumerate(region.ops):
        if any(o is op for r in top.regions for o in walk(r)):
            return k
    return len(region.ops)


def range_bounds(lo: P.Expr, hi: P.Expr, step: P.Expr, lo_value: Value, hi_value: Value, step_value: Value) -> list:
    """`range(hi)` or `range(lo, hi)` where the constants allow: the way a person writes the loop."""
    if constant_value(step_value) == 1:
        return [hi] if constant_value(lo_value) == 0 else [lo, hi]
    return [lo, hi, step]


def inline_rule(region: Region, values: list, comment: str, out: list, outer: dict | None = None) -> ForwardEmitter:
    """A user's rule (a custom_vjp's bwd, a custom_jvp's jvp) emitted in place, its region's arguments bound
    to variables holding `values`; the emitter returned refers to what the rule computed."""
    bound = dict(outer or {})
    for arg, value in zip(region.args, values):
        var = P.Var(arg.hint or "res", type=arg.type)
        out.append(P.Assign(P.Ref(var), value))
        bound[arg.id] = var
    out.append(P.Comment(comment))
    emitter = ForwardEmitter(region, bound)
    emitter.region(region, out)
    return emitter
