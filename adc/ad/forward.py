"""Forward mode: each active statement followed by its tangent statement.

Tangents ride along in program order, so loops and branches need nothing but
carried tangents beside the carried values. In vector mode every tangent has an
extra leading axis of K directions, and each tangent statement becomes a short loop
over the directions, so one sweep computes K directional derivatives without
allocating inside the user's loops.
"""
from __future__ import annotations

from ..analysis.activity import Activity
from ..codegen import pyir as P
from ..codegen.emit import ForwardEmitter, finite_check, inline_rule
from ..codegen.spelling import slice_index, zero
from ..errors import CompileError
from ..ir.core import STORES, Function, Op, Value, is_array
from ..primitives import ACCESSES, FRESH, VIEW_OPCODES
from ..primitives.elementwise import SYMBOLS
from . import rules


class TangentEmitter(ForwardEmitter):
    def __init__(self, fn: Function, wrt: list[int], act: Activity, vector: bool, unroll: int = 0, debug: bool = False):
        self.fn, self.wrt, self.act, self.vector, self.unroll = fn, wrt, act, vector or unroll > 0, unroll
        vars_ = {p.id: P.Var(p.hint, name=p.hint, type=p.type) for p in fn.params}
        super().__init__(fn.body, vars_, materialize={r.id for r in fn.returned} if vector else frozenset(), debug=debug)
        self.dots: dict[int, P.Var] = {}
        self.dot_inlined: dict[int, P.Expr | None] = {}
        self.direction = P.Var("d")
        self.directions = P.Var("directions")
        self.scalar_dots: dict[P.Var, Value] = {}  # vector mode: one buffer of K directions each
        self.tangent_params = []
        for i in wrt:
            p = fn.params[i]
            var = P.Var(f"{p.hint}__dot", name=f"{p.hint}__dot", array=is_array(p.type) or self.vector,
                        type=None if self.vector else p.type)
            self.dots[p.id] = var
            self.tangent_params.append(var)

    # -- tangents -----------------------------------------------------------------
    def dot(self, v: Value) -> P.Var:
        if v.id not in self.dots:
            self.dots[v.id] = P.Var(f"{v.hint or 't'}__dot", array=is_array(v.type) or self.vector,
                                    type=None if self.vector else v.type)
            if self.vector and not is_array(v.type):
                self.scalar_dots[self.dots[v.id]] = v
        return self.dots[v.id]

    def tref(self, v: Value):
        """The tangent of v as an expression (one direction's, in vector mode); None if it has none."""
        if not self.act.active(v):
            return None
        if v.id in self.dot_inlined:
            return self.dot_inlined[v.id]
        ref = P.Ref(self.dot(v))
        return P.Index(ref, [P.Ref(self.direction)]) if self.vector else ref

    def tangent_target(self, v: Value, index=()) -> P.Expr:
        ref = P.Ref(self.dot(v))
        index = list(index)
        return P.Index(ref, ([P.Ref(self.direction)] if self.vector else []) + index) if (self.vector or index) else ref

    def assign_tangent(self, target: P.Expr, value, v: Value, out: list) -> None:
        """target = value (v's tangent, or zero when None), per direction in vector mode."""
        if value is None:
            value = P.Call("np.zeros_like", [self.ref(v)]) if is_array(v.type) else zero(v.type)
        stmt = P.Assign(target, value)
        out.append(P.For(self.direction, [P.Ref(self.directions)], [stmt]) if self.vector else stmt)
        if self.debug and not self.vector:
            out.extend(finite_check(target, v, f"the tangent of {v.hint or 'a temporary'}", "forward mode"))

    def op_store(self, op, region, i, out, force_inline=False):
        """The tangent store goes first: its expressions may read the element the store overwrites."""
        array, *index, value = op.operands
        if self.act.active(array):
            target = self.tangent_target(array, [self.ref(i) for i in index])
            update = self.tangent_update(op)
            if update is None:
                self.assign_tangent(target, self.tref(value), value, out)
            elif update:
                stmt = P.AugAssign(target, *update)
                out.append(P.For(self.direction, [P.Ref(self.directions)], [stmt]) if self.vector else stmt)
        super().op_store(op, region, i, out, force_inline)

    def tangent_update(self, store: Op):
        """`x[i] += d` updates x_dot[i] by d_dot (nothing to do when d has no tangent), and `x[i] *= c` for a c
        without one by c: (operator, operand) of the tangent's own update, () when it stays, None when the tangent is
        assigned as usual."""
        augmented, value = store.attrs.get("augmented"), store.operands[-1]
        if augmented is None or not self.act.active(value):
            return None
        delta = value.owner.operands[1]
        if augmented in ("add", "sub"):
            return (SYMBOLS[augmented], self.tref(delta)) if self.tref(delta) is not None else ()
        if augmented in ("mul", "div") and self.tref(delta) is None:
            return SYMBOLS[augmented], self.ref(delta)
        return None

    def op_setslice(self, op, region, i, out, force_inline=False):
        """x[a:b] = v: the tangent's slice gets v's tangent (zero when v has none), first, as for a store."""
        array, *index, value = op.operands
        if self.act.active(array):
            target = self.tangent_target(array, slice_index(op.attrs["spec"], [self.ref(i) for i in index]))
            tangent = self.tref(value)
            self.assign_tangent(target, tangent if tangent is not None else zero(value.type), value, out)
        super().op_setslice(op, region, i, out, force_inline)

    def emitted(self, op: Op, out: list) -> None:
        if op.opcode in STORES:
            return
        result = op.results[0]
        if not self.act.active(result):
            return
        if op.opcode in FRESH:
            self.fresh_tangent_array(result, out, copy_of=op.operands[0] if op.opcode == "copy" else None)
            return
        if op.opcode == "custom_jvp":
            self.custom_rule(op, out)
            return
        if op.opcode in ACCESSES:
            array, *index = op.operands
            index = [self.ref(i) for i in index]
            if op.opcode == "getslice":
                index = slice_index(op.attrs["spec"], index)
            if array.id in self.dot_inlined:  # a view of a view: x[1:][::2]
                tangent = P.Index(self.dot_inlined[array.id], index)
            else:
                tangent = P.Index(P.Ref(self.dot(array)), ([P.Ref(self.direction)] if self.vector else []) + index)
        else:
            tangent = rules.jvp(rules.RuleContext(op, self.ref, self.tref))
        if result.id in self.inlined:
            self.dot_inlined[result.id] = tangent
            return
        if self.vector and is_array(result.type):
            out.append(P.Assign(P.Ref(self.dot(result)), P.Call(
                "np.empty", [P.BinOp("+", P.TupleExpr([P.Ref(self.directions)]), P.Attr(self.ref(result), "shape")),
                             P.Lit(f"np.{result.type.dtype}")])))
        elif is_array(result.type) and op.opcode not in VIEW_OPCODES and isinstance(tangent, (P.Ref, P.Index, P.Attr)):
            tangent = P.Call("np.copy", [tangent])  # b = a[:2] + c with only a moving: b's tangent is new memory
        self.assign_tangent(self.tangent_target(result), tangent, result, out)

    def custom_rule(self, op: Op, out: list) -> None:
        """The user's jvp rule (adc.custom_jvp), emitted here with the primals and tangents bound to variables."""
        rule, args, result = op.attrs["rule"], op.operands[1:], op.results[0]
        if self.vector:
            loc = op.loc
            raise CompileError(f"`{rule.name}` has a custom forward-mode rule (adc.custom_jvp), which adc applies to "
                               "one direction at a time: call jvp once per direction instead of "
                               "jacobian(mode='fwd')", loc.filename, loc.lineno, loc.col)
        tangents = [self.tref(a) if self.act.active(a) else None for a in args]
        values = [self.ref(a) for a in args] + [t if t is not None else zero(a.type) for t, a in zip(tangents, args)]
        emitter = inline_rule(rule.region, values, f"the rule of {rule.name} (adc.custom_jvp)", out)
        self.assign_tangent(self.tangent_target(result), emitter.ref(rule.tangent), result, out)

    def fresh_tangent_array(self, v: Value, out: list, copy_of: Value | None = None) -> None:
        """The tangent of newly allocated memory: zeros, or the source's tangent for a copy."""
        source = self.tref(copy_of) if copy_of is not None else None
        if source is not None and not self.vector:
            out.append(P.Assign(P.Ref(self.dot(v)), P.Call("np.copy", [source])))
            return
        shape = P.Attr(self.ref(v), "shape")
        if self.vector:
            shape = P.BinOp("+", P.TupleExpr([P.Ref(self.directions)]), shape)
        out.append(P.Assign(P.Ref(self.dot(v)), P.Call("np.zeros", [shape, P.Lit(f"np.{v.type.dtype}")])))
        if source is not None:
            self.assign_tangent(self.tangent_target(v), source, v, out)

    # -- loops and branches: tangents carried beside the values ---------------------
    def refuse_rebound_arrays(self, op: Op, values) -> None:
        """Vector mode keeps one buffer per tangent; an array rebound in a loop would need a new one."""
        if self.vector and any(is_array(v.type) and self.act.active(v) for v in values):
            loc = op.loc
            raise CompileError("an array rebound inside a loop or branch is not differentiable yet: "
                               "allocate it before and write its elements in place", loc.filename, loc.lineno, loc.col)

    def carry_vars(self, op, args, inits, out):
        super().carry_vars(op, args, inits, out)
        self.refuse_rebound_arrays(op, op.results)
        for (a, init), r in zip(zip(args, inits), op.results):
            if self.act.active(a) or self.act.active(r):
                if self.vars[r.id] is self.vars.get(init.id) and init.id in self.dots:
                    self.dots[a.id] = self.dots[r.id] = self.dots[init.id]
                    continue
                self.dots[a.id] = self.dots[r.id] = self.dot(r)
                self.assign_tangent(self.tangent_target(r), self.tref(init), init, out)

    def may_coalesce(self, arg, y):
        """Only accumulations: a tangent statement follows y's and must not read the overwritten arg."""
        if not (self.act.active(arg) or self.act.active(y)):
            return True
        uses = self.uses.get(arg.id, [])
        return y.owner.opcode in ("add", "sub") and len(uses) == 1 and uses[0][0] is y.owner

    def coalesce_yields(self, region):
        super().coalesce_yields(region)
        args = region.args[-len(region.yielded):] if region.yielded else []
        for a, y in zip(args, region.yielded):
            if y.id in self.vars and self.vars[y.id] is self.vars.get(a.id) and a.id in self.dots:
                self.dots[y.id] = self.dots[a.id]

    def yields(self, region, args, out):
        super().yields(region, args, out)
        pairs = [(a, y) for a, y in zip(args, region.yielded)
                 if a.id in self.dots and self.dots.get(y.id) is not self.dots[a.id]]
        if not pairs:
            return
        targets = P.TupleExpr([self.tangent_target(a) for a, _ in pairs])
        values = P.TupleExpr([self.tref(y) if self.tref(y) is not None else
                              (P.Call("np.zeros_like", [self.ref(y)]) if is_array(y.type) else zero(y.type))
                              for _, y in pairs])
        stmt = P.Assign(targets, values) if len(pairs) > 1 else P.Assign(targets.items[0], values.items[0])
        out.append(P.For(self.direction, [P.Ref(self.directions)], [stmt]) if self.vector else stmt)

    def op_if(self, op, region, i, out, force_inline=False):
        self.refuse_rebound_arrays(op, op.results)
        super().op_if(op, region, i, out, force_inline)

    def branch_finished(self, op, region, block):
        for r, y in zip(op.results, region.yielded):
            if self.act.active(r):
                self.assign_tangent(self.tangent_target(r), self.tref(y), y, block)

    # -- the whole function ------------------------------------------------------------
    def build(self, name: str) -> P.FunctionDef:
        fn = self.fn
        setup: list = []
        for p in fn.params:  # arguments written with active values, but not in wrt: tangents start at zero
            if p.id not in self.dots and self.act.active(p) and is_array(p.type):
                self.fresh_tangent_array(p, setup)
        body: list = []
        self.region(fn.body, body)
        if self.vector:
            first = self.tangent_params[0]
            setup.append(P.Assign(P.Ref(self.directions), P.Index(P.Attr(P.Ref(first), "shape"), [P.Lit("0")])))
            for var, v in self.scalar_dots.items():
                setup.append(P.Assign(P.Ref(var), P.Call("np.zeros", [P.Ref(self.directions), P.Lit(f"np.{v.type.dtype}")])))
        returned = fn.returned
        values = [self.ref(r) for r in returned]
        tangents = [self._result_tangent(r) for r in returned]
        value = values[0] if len(values) == 1 else P.TupleExpr(values)
        tangent = tangents[0] if len(tangents) == 1 else P.TupleExpr(tangents)
        body.append(P.Return(P.TupleExpr([value, tangent])))
        params = [self.vars[p.id] for p in fn.params] + self.tangent_params
        if self.unroll:
            setup, body = self.unrolled(setup, body)
        return P.FunctionDef(name, params, setup + body)

    def unrolled(self, setup: list, body: list):
        """A fixed number of directions, each scalar tangent in a variable of its own per direction.

        The loops over directions disappear, so numba keeps every direction's tangent in registers.
        """
        k = self.unroll
        scalars = {var: v.type for var, v in self.scalar_dots.items()}
        for i, var in zip(self.wrt, self.tangent_params):
            if not is_array(self.fn.params[i].type):
                scalars[var] = self.fn.params[i].type
        split = {var: [P.Var(f"{var.hint}{d}") for d in range(k)] for var in scalars}
        prologue = [P.Assign(P.Ref(split[var][d]), P.Index(P.Ref(var), [P.Lit(str(d))]))
                    for var in self.tangent_params if var in split for d in range(k)]
        prologue += [P.Assign(P.Ref(part), zero(t)) for var, t in scalars.items() if var not in self.tangent_params
                     for part in split[var]]
        setup = [s for s in setup if not (isinstance(s, P.Assign) and isinstance(s.target, P.Ref)
                                          and (s.target.var in split or s.target.var is self.directions))]
        unroll = _Unroll(k, self.direction, self.directions, split)
        return prologue + unroll.stmts(setup), unroll.stmts(body)

    def _result_tangent(self, r: Value) -> P.Expr:
        if self.act.active(r):
            return P.Ref(self.dot(r)) if r.id not in self.dot_inlined else self.dot_inlined[r.id]
        shape = P.Ref(self.directions) if self.vector else None
        if is_array(r.type):
            base = P.Attr(self.ref(r), "shape")
            shape = P.BinOp("+", P.TupleExpr([shape]), base) if self.vector else base
            return P.Call("np.zeros", [shape, P.Lit(f"np.{r.type.dtype}")])
        return P.Call("np.zeros", [shape, P.Lit(f"np.{r.type.dtype}")]) if self.vector else zero(r.type)


def tangent_function(fn: Function, wrt: list[int], act: Activity, name: str, debug: bool = False, vector: bool = False,
                     unroll: int = 0) -> P.FunctionDef:
    """debug: the primal's floats are checked for NaN and Inf as in the primal kernel, and so are the tangents
    (not in vector mode, where one check per direction would be a loop of its own)."""
    return TangentEmitter(fn, wrt, act, vector, unroll, debug).build(name)


class _Unroll:
    """Rewrites `for d in range(directions)` loops into one copy per direction."""

    def __init__(self, k: int, direction: P.Var, directions: P.Var, split: dict):
        self.k, self.direction, self.directions, self.split = k, direction, directions, split

    def stmts(self, stmts: list, d=None) -> list:
        out = []
        for s in stmts:
            if isinstance(s, P.For) and s.var is self.direction:
                for k in range(self.k):
                    out.extend(self.stmts(s.body, k))
            else:
                out.append(self.stmt(s, d))
        return out

    def stmt(self, s, d):
        e = lambda x: self.expr(x, d)  # noqa: E731
        if isinstance(s, P.Assign):
            return P.Assign(e(s.target), e(s.value))
        if isinstance(s, P.AugAssign):
            return P.AugAssign(e(s.target), s.op, e(s.value))
        if isinstance(s, P.For):
            return P.For(s.var, [e(b) for b in s.bounds], self.stmts(s.body, d))
        if isinstance(s, P.While):
            return P.While(e(s.test), self.stmts(s.body, d))
        if isinstance(s, P.If):
            return P.If(e(s.test), self.stmts(s.body, d), self.stmts(s.orelse, d))
        if isinstance(s, P.Return):
            return P.Return(self.gathered(e(s.value)))
        return s

    def gathered(self, e):
        """A returned per-direction scalar tangent, gathered back into an array."""
        if isinstance(e, P.Ref) and e.var in self.split:
            return P.Call("np.array", [P.ListExpr([P.Ref(v) for v in self.split[e.var]])])
        if isinstance(e, P.TupleExpr):
            return P.TupleExpr([self.gathered(i) for i in e.items])
        return e

    def expr(self, e, d):
        """e for direction d: the direction index a number, a per-direction scalar its own variable."""
        if isinstance(e, P.Ref):
            if e.var is self.direction:
                return P.Lit(str(d))
            return P.Lit(str(self.k)) if e.var is self.directions else e
        if isinstance(e, P.Index) and isinstance(e.base, P.Ref) and e.base.var in self.split and d is not None \
                and len(e.index) == 1:
            return P.Ref(self.split[e.base.var][d])
        return P.map_expr(e, lambda x: self.expr(x, d))
