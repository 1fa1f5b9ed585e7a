"""Scratch buffers: an array that a loop makes afresh on every step is made once and written over.

numba puts every array a statement makes on the heap (about 16 ns with its reference counting), and a
small-matrix recurrence makes a dozen a step: a 2-state Kalman step's arithmetic takes less time than its
allocations, and its reverse sweep makes forty. This pass, a function from pyir to pyir run after fusion for the
numba backend, gives such an array a buffer made before its loop:

    K = np.empty((0, 0), np.float64)             (before the loop)
    for k in range(n):                         for k in range(n):
        K = rt.matmat(P, Ht)                       if not rt.matmat_into(P, Ht, K):
                                                       K = rt.matmat(P, Ht)

`rt.matmat_into` writes into K where K has the product's shape; on the first step, and wherever shapes change
from step to step (as a Haar transform's halving arrays do), the statement runs as written. The write returns a
flag, not the array: a returned array costs an atomic reference-count pair per call, as much as a 2x2 product.

Writing over last step's value is exact only where nothing can still read it, so an array gets a buffer only
where it, and every variable its memory may reach (an alias, a view, the result of a call adc does not know), is
named inside the loop alone and read in each step only after that step has assigned it. A recurrence's state, read before it is written or after the loop, keeps its
allocations. A product nested in an expression (`P = F @ P @ F.T`) is first given a variable of its own
(`name_products`, before fusion, so that what is left of the expression fuses).
"""
from __future__ import annotations

from collections import Counter

from ..ir.core import Array, Scalar, is_array
from . import pyir as P
from .fusion import ALLOCATING

# products that make a new array, and the form that writes into a buffer
INTO = {"rt.matmat": "rt.matmat_into", "rt.matvec": "rt.matvec_into", "rt.vecmat": "rt.vecmat_into",
        "rt.outer": "rt.outer_into"}
NDIM = {"rt.matmat": 2, "rt.matvec": 1, "rt.vecmat": 1, "rt.outer": 2}
DTYPES = ("float64", "float32", "complex128", "complex64", "int64")
# calls whose result may share memory with the arguments listed, and with no other (a default: all of them)
ALIASED_ARGUMENTS = {"rt.record": (0,), "rt.recorded_1": (0,), "rt.recorded_2": (0,), "rt.recorded_3": (0,)}
FRESH = ALLOCATING | set(INTO) | set(INTO.values())
SHAPE_ATTRIBUTES = ("shape", "size", "ndim", "dtype")


def name_products(fn: P.FunctionDef) -> P.FunctionDef:
    """Each product in a loop computed into a variable of its own, before fusion: `P = P + rt.matmat(a, b)` becomes
    `matmul = rt.matmat(a, b)` and `P = P + matmul`, which fuses, and then both may get buffers."""
    return P.FunctionDef(fn.name, fn.params, _hoist_block(fn.body, in_loop=False), fn.docstring)


def reuse_scratch(fn: P.FunctionDef) -> P.FunctionDef:
    return P.FunctionDef(fn.name, fn.params, _rewrite_block(fn.body, Facts(fn.body)), fn.docstring)


# -- products nested in expressions get variables of their own ------------------------------------------
def _hoist_block(stmts: list, in_loop: bool) -> list:
    out = []
    for s in stmts:
        if isinstance(s, (P.For, P.While)):
            body = _hoist_block(s.body, True)
            out.append(P.For(s.var, s.bounds, body) if isinstance(s, P.For) else P.While(s.test, body))
        elif isinstance(s, P.If):
            out.append(P.If(s.test, _hoist_block(s.body, in_loop),
                            _hoist_block(s.orelse, in_loop), s.guard))
        elif in_loop and isinstance(s, (P.Assign, P.AugAssign)):
            before: list = []
            direct = isinstance(s, P.Assign) and isinstance(s.target, P.Ref) and _product_type(s.value) is not None
            value = _hoisted_args(s.value, before) if direct else _hoisted(s.value, before)
            out += before + [P.Assign(s.target, value) if isinstance(s, P.Assign) else P.AugAssign(s.target, s.op, value)]
        else:
            out.append(s)
    return out


def _hoisted(e, before: list):
    """e with each product in it (outside a conditional expression) read from a new variable assigned in `before`."""
    if isinstance(e, P.Cond) or isinstance(e, P.BinOp) and e.op in ("and", "or"):
        return e
    t = _product_type(e)
    if t is not None:
        var = P.Var("matmul", type=t)
        before.append(P.Assign(P.Ref(var), _hoisted_args(e, before)))
        return P.Ref(var)
    if isinstance(e, (P.Expr, P.Slice)):
        return P.map_expr(e, lambda c: _hoisted(c, before))
    return e


def _hoisted_args(e: P.Call, before: list) -> P.Call:
    return P.Call(e.fn, [_hoisted(a, before) for a in e.args])


def _product_type(e):
    """The array type of a product adc's runtime makes (its operands have one dtype), None for anything else."""
    if not (isinstance(e, P.Call) and e.fn in INTO and len(e.args) == 2):
        return None
    operand = _array_type(e.args[0])
    if operand is None or operand.dtype not in DTYPES:
        return None
    return Array(operand.dtype, NDIM[e.fn])


def _array_type(e):
    if isinstance(e, P.Ref):
        return e.var.type if is_array(e.var.type) else None
    if isinstance(e, P.Attr) and e.attr == "T" or isinstance(e, P.Unary) and e.op == "-":
        return _array_type(e.base if isinstance(e, P.Attr) else e.operand)
    return _product_type(e)


# -- what may share memory with what ---------------------------------------------------------------------
class Facts:
    """Over the whole function: where each array's memory may flow (flow-insensitive), how often each variable
    is named and assigned."""

    def __init__(self, body: list):
        self.flows: dict[P.Var, set[P.Var]] = {}
        self.occurrences: Counter = Counter()
        self.assignments: Counter = Counter()
        for s in P.statements(body):
            self.occurrences.update(_named([s]))
            if isinstance(s, P.Assign):
                targets = s.target.items if isinstance(s.target, P.TupleExpr) else [s.target]
                for target in targets:
                    if isinstance(target, P.Ref):
                        self.assignments[target.var] += 1
                        self._flow(_sources(s.value), target.var)
                    elif isinstance(target, P.Index) and isinstance(target.base, P.Ref) \
                            and not is_array(target.base.var.type):
                        self._flow(_sources(s.value), target.base.var)  # an element of something not an array
            elif isinstance(s, P.AugAssign) and isinstance(s.target, P.Ref) and not is_array(s.target.var.type):
                self._flow(_sources(s.value), s.target.var)
            for call in _calls([s]):
                if isinstance(call.fn, P.Attr):  # a method may keep its arguments in its object
                    for base in P.expr_vars(call.fn):
                        self._flow({v for a in call.args for v in _sources(a)}, base)

    def _flow(self, sources: set, target: P.Var) -> None:
        if isinstance(target.type, Scalar):
            return  # a scalar holds no array's memory
        for v in sources:
            self.flows.setdefault(v, set()).add(target)

    def reach(self, var: P.Var) -> set:
        seen, todo = {var}, [var]
        while todo:
            for w in self.flows.get(todo.pop(), ()):
                if w not in seen:
                    seen.add(w)
                    todo.append(w)
        return seen


def _sources(e) -> set:
    """The variables whose memory e's value may share."""
    if isinstance(e, P.Ref):
        return {e.var}
    if isinstance(e, P.Lit) or e is None:
        return set()
    if isinstance(e, P.BinOp) and e.op not in ("and", "or") or isinstance(e, P.Unary):
        return set()  # arithmetic makes a new array, or a scalar
    if isinstance(e, P.Attr) and e.attr in SHAPE_ATTRIBUTES:
        return set()
    if isinstance(e, P.Index) and isinstance(e.base, P.Ref) and is_array(e.base.var.type) \
            and len(e.index) == e.base.var.type.ndim and not any(isinstance(i, P.Slice) for i in e.index):
        return set()  # an element
    if isinstance(e, P.Call) and isinstance(e.fn, str):
        if e.fn in FRESH:
            return set()
        if e.fn in ALIASED_ARGUMENTS:
            return {v for k in ALIASED_ARGUMENTS[e.fn] if k < len(e.args) for v in _sources(e.args[k])}
    if isinstance(e, P.Index):
        return _sources(e.base)
    return {v for c in P.children(e) if isinstance(c, P.Expr) for v in _sources(c)}


def _calls(stmts) -> list:
    out = []

    def visit(e):
        if isinstance(e, P.Call):
            out.append(e)
        for c in P.children(e) if isinstance(e, (P.Expr, P.Slice)) else ():
            visit(c)
    for s in stmts:
        for e in _expressions(s):
            visit(e)
    return out


def _expressions(s) -> list:
    if isinstance(s, (P.Assign, P.AugAssign)):
        return [s.target, s.value]
    if isinstance(s, P.For):
        return list(s.bounds)
    if isinstance(s, (P.While, P.If)):
        return [s.test]
    if isinstance(s, P.Return):
        return [s.value]
    if isinstance(s, P.Raise):
        return list(s.args)
    return []


def _named(stmts) -> list:
    """Every variable each statement names, read or assigned (nested blocks not included)."""
    out = []
    for s in stmts:
        out += [v for e in _expressions(s) for v in P.expr_vars(e)]
        if isinstance(s, P.For):
            out.append(s.var)
    return out


# -- the loops --------------------------------------------------------------------------------------------
def _rewrite_block(stmts: list, facts: Facts) -> list:
    out = []
    for s in stmts:
        if isinstance(s, (P.For, P.While)):
            buffers, loop = _rewrite_loop(s, facts)
            out += buffers + [loop]
        elif isinstance(s, P.If):
            out.append(P.If(s.test, _rewrite_block(s.body, facts),
                            _rewrite_block(s.orelse, facts), s.guard))
        else:
            out.append(s)
    return out


def _rewrite_loop(loop, facts: Facts):
    """(the buffers to make before the loop, the loop with its arrays written into them)."""
    inside = Counter()
    for s in P.statements(loop.body):
        inside.update(_named([s]))
    local = _assigned_before_read(loop.body)
    contained = {v for v, n in inside.items() if n == facts.occurrences[v]}
    buffers = []

    def eligible(var: P.Var) -> bool:
        return facts.assignments[var] == 1 and var.type.dtype in DTYPES and facts.reach(var) <= local & contained

    def rewrite(stmts: list) -> list:
        out = []
        for s in stmts:
            if isinstance(s, (P.For, P.While)):
                inner_buffers, inner = _rewrite_loop(s, facts)
                out += inner_buffers + [inner]
            elif isinstance(s, P.If):
                out.append(P.If(s.test, rewrite(s.body), rewrite(s.orelse), s.guard))
            elif isinstance(s, P.Assign) and isinstance(s.target, P.Ref) and is_array(s.target.var.type) \
                    and (written := _written_into(s)) is not None and eligible(s.target.var):
                var = s.target.var
                shape = P.Lit("(0,)" if var.type.ndim == 1 else f"({', '.join(['0'] * var.type.ndim)})")
                buffers.append(P.Assign(P.Ref(var), P.Call("np.empty", [shape, P.Lit(f"np.{var.type.dtype}")])))
                out.append(written)
            else:
                out.append(s)
        return out

    body = rewrite(loop.body)
    rebuilt = P.For(loop.var, loop.bounds, body) if isinstance(loop, P.For) else P.While(loop.test, body)
    return buffers, rebuilt


def _written_into(s: P.Assign):
    """s as a write into its target's buffer, made afresh only where the buffer has not the shape (on the first
    step, and where shapes change); None where s does not make an array adc knows to be new."""
    var, value = s.target.var, s.value
    if not isinstance(value, P.Call) or not isinstance(value.fn, str):
        return None
    if value.fn in INTO and len(value.args) == 2:
        return P.If(P.Unary("not", P.Call(INTO[value.fn], value.args + [P.Ref(var)])), [s])
    if value.fn in ("np.empty", "np.zeros") and len(value.args) == 2 and _is_shape(value.args[0], var.type.ndim) \
            and isinstance(value.args[1], P.Lit) and value.args[1].text == f"np.{var.type.dtype}":
        if value.fn == "np.empty":
            return P.If(P.BinOp("!=", P.Attr(P.Ref(var), "shape"), value.args[0]), [s])
        return P.If(P.Unary("not", P.Call("rt.zeroed", [P.Ref(var), value.args[0]])), [s])
    if value.fn == "np.zeros_like" and len(value.args) == 1 and isinstance(value.args[0], P.Ref) \
            and value.args[0].var.type == var.type:
        return P.If(P.Unary("not", P.Call("rt.zeroed", [P.Ref(var), P.Attr(value.args[0], "shape")])), [s])
    return None


def _is_shape(e, ndim: int) -> bool:
    """A shape as a tuple (`x.shape`, or `(a, b)`): what rt.scratch compares with its buffer's."""
    if isinstance(e, P.Attr) and e.attr == "shape" and isinstance(e.base, P.Ref) and is_array(e.base.var.type):
        return e.base.var.type.ndim == ndim
    return isinstance(e, P.TupleExpr) and len(e.items) == ndim


def _assigned_before_read(body: list) -> set:
    """The variables that, wherever the loop body reads them, the same step has assigned first."""
    read_early: set = set()

    def reads(exprs, assigned):
        for e in exprs:
            read_early.update(v for v in P.expr_vars(e) if v not in assigned)

    def walk(stmts, assigned: set) -> set:
        for s in stmts:
            if isinstance(s, P.Assign):
                reads([s.value], assigned)
                targets = s.target.items if isinstance(s.target, P.TupleExpr) else [s.target]
                reads([t for t in targets if not isinstance(t, P.Ref)], assigned)
                assigned = assigned | {t.var for t in targets if isinstance(t, P.Ref)}
            elif isinstance(s, P.AugAssign):
                reads([s.value, s.target], assigned)
            elif isinstance(s, P.For):
                reads(s.bounds, assigned)
                walk(s.body, assigned | {s.var})
            elif isinstance(s, P.While):
                reads([s.test], assigned)
                walk(s.body, assigned)
            elif isinstance(s, P.If):
                reads([s.test], assigned)
                assigned = walk(s.body, assigned) & walk(s.orelse, assigned)
            elif isinstance(s, (P.Return, P.Raise)):
                reads(_expressions(s), assigned)
        return assigned

    assigned = walk(body, set())
    named = {v for s in P.statements(body) for v in _named([s])}
    return (named | assigned) - read_early
