"""Elementwise fusion: consecutive whole-array statements over arrays of one shape become one loop.

numba fuses the expression of one statement into one loop (its array-expression rewrite), but each
statement still allocates its result, and a reduction (`np.sum(e)`) allocates `e` first. A reverse sweep
writes about three array statements for each primal one, and on the small arrays of DSP state (a
64-channel filter bank, a 2x2 covariance) allocation, not arithmetic, sets the time. This pass, a function
from pyir to pyir run for the numba backend, rewrites a run of such statements as

    views the run reads                          t = x[n, :]
    if <the arrays have one shape>:              if t.shape == y.shape and rt.independent(g, t):
        one loop over the elements                   for i in range(y.shape[0]): ...
    else:                                        else:
        the statements as they were                  <the run, unchanged: numpy's broadcasting and errors>

The loop keeps an element's intermediate values in scalars; only arrays read after the run (or carried
around an enclosing loop) are allocated, and a sum accumulates in element order, as numba's np.sum does,
so the result is the unfused one to the last bit but for `**` (numba's scalar power multiplies). Inside a
loop that counts down (a reverse sweep's), the elements go from the last too: a reverse sweep visits the rows
of its arrays from the last, and with each row read forwards the hardware prefetches none of it (the leaky
integrators' reverse step took 4.1 ms for 10^4 rows of 64, 0.85 ms with the rows read backwards); its sums
then add in that order, when they are adjoints: a sum of primal values keeps the forward order, so that
a value the reverse sweep computes again is the one the forward sweep made, to the bit.
A statement joins a run only when every array it touches has the run's rank and is read at the element
the loop is at: elementwise arithmetic and ufuncs, views, in-place accumulations, sums, and the shape
checks (which hold when all shapes are equal). An in-place update is fused only where, at run time, its
array shares no memory with another one the loop reads (`rt.independent`); anything else ends the run.
"""
from __future__ import annotations

import operator
from collections import Counter
from functools import lru_cache

import numpy as np

from ..ir.core import Array, Scalar, is_array
from . import pyir as P

# numpy functions that apply per element, and numba accepts on scalars as well as on arrays
UFUNCS = {f"np.{name}" for name in (
    "exp", "expm1", "log", "log1p", "log2", "log10", "sqrt", "cbrt", "square", "sin", "cos", "tan", "arcsin",
    "arccos", "arctan", "arctan2", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh", "abs", "absolute",
    "fabs", "sign", "maximum", "minimum", "fmax", "fmin", "hypot", "conj", "conjugate", "floor", "ceil", "trunc",
    "rint", "copysign", "reciprocal", "negative", "logaddexp", "sinc")}
BINARY = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "**": operator.pow,
          "//": operator.floordiv, "%": operator.mod, "<": operator.lt, "<=": operator.le, ">": operator.gt,
          ">=": operator.ge, "==": operator.eq, "!=": operator.ne, "&": operator.and_}
IN_PLACE = ("+", "-", "*", "/")
ZERO = {"float64": "0.0", "complex128": "0j", "int64": "0"}


class NotFusable(Exception):
    """The statement (or expression) cannot be computed one element at a time: it ends the run."""


def fuse_elementwise(fn: P.FunctionDef, every_run: bool = False) -> P.FunctionDef:
    """every_run: fuse a run even where that saves no allocation (a lone `t = np.sin(x)`), as device code,
    which cannot run whole-array statements, needs (codegen/device.py)."""
    facts = Facts(Counter(_reads_of(fn.body)), {s.var for s in P.statements(fn.body) if isinstance(s, P.For)},
                  _origins(fn), every_run)
    return P.FunctionDef(fn.name, fn.params, _fuse_block(fn.body, facts), fn.docstring)


class Facts:
    """What the pass knows of the whole function: how often each variable is read, the loop indices, and
    where each variable's memory may come from (`_origins`)."""

    def __init__(self, reads: Counter, loop_vars: set, origins: dict, every_run: bool = False):
        self.reads, self.loop_vars, self.origins, self.every_run = reads, loop_vars, origins, every_run
        self.backwards: list[bool] = []  # for each loop around the block being fused: whether it counts down


def _fuse_block(stmts: list, facts: Facts) -> list:
    out: list = []
    run = Run(facts)
    for s in stmts:
        s = _fuse_nested(s, facts)
        if run.add(s):
            continue
        out += run.close()
        run = Run(facts)
        if not run.add(s):
            out.append(s)
            run = Run(facts)
    return out + run.close()


def _fuse_nested(s, facts: Facts):
    if isinstance(s, (P.For, P.While)):
        facts.backwards.append(isinstance(s, P.For) and _counts_down(s))
        body = _fuse_block(s.body, facts)
        facts.backwards.pop()
        return P.For(s.var, s.bounds, body) if isinstance(s, P.For) else P.While(s.test, body)
    if isinstance(s, P.If) and not _is_shape_check(s):
        return P.If(s.test, _fuse_block(s.body, facts), _fuse_block(s.orelse, facts), s.guard)
    return s


class Run:
    """The fused loop being built from consecutive statements; `add` takes a statement or leaves the run as it was."""

    def __init__(self, facts: Facts):
        self.facts = facts
        self.statements: list = []     # as written: the run's fallback
        self.ndim: int | None = None
        self.index: list[P.Var] = []
        self.operands: list[P.Var] = []  # arrays from outside the run, read or updated at the loop's element
        self.updated: list[P.Var] = []  # those updated in place
        self.views: list = []           # (key, var, assignment): views taken before the loop
        self.before: list = []          # the loop's accumulators and outputs
        self.body: list = []
        self.after: list = []
        self.current: dict[P.Var, P.Var] = {}  # array defined in the run -> the scalar holding its element
        self.read_before_defined: set[P.Var] = set()
        self.written: set[P.Var] = set()   # every variable the run assigns or updates
        self.read: set[P.Var] = set()
        self.summed: set[P.Var] = set()    # scalars a sum adds to after the loop
        self.allocations = 0               # arrays the statements allocate as written
        self.backwards = bool(facts.backwards and facts.backwards[-1])  # the elements from the last
        self.arrays: set[P.Var] = set()    # every array variable the statements name
        self.only_zeros = True             # the statements so far only make arrays like others (np.zeros_like)

    # -- statements ---------------------------------------------------------------
    def add(self, s) -> bool:
        saved = {k: (list(v) if isinstance(v, list) else set(v) if isinstance(v, set) else dict(v)
                     if isinstance(v, dict) else v) for k, v in vars(self).items() if k != "facts"}
        try:
            self._add(s)
            self._join(s)
        except NotFusable:
            vars(self).update(saved)
            return False
        self.statements.append(s)
        return True

    def _join(self, s) -> None:
        """An array made like another (a reverse sweep's `x__bar = np.zeros_like(x)`) joins only statements
        that name one of its arrays: otherwise nothing says the shapes agree, and where they do not (the
        adjoints of a signal and of its filter's taps) the loop's guard fails on every call and the run
        goes unfused."""
        names = {v for v in _reads_of([s]) if is_array(v.type)}
        if isinstance(s, (P.Assign, P.AugAssign)) and isinstance(s.target, P.Ref) and is_array(s.target.var.type):
            names.add(s.target.var)
        if not names:
            return
        zeros = isinstance(s, P.Assign) and isinstance(s.value, P.Call) and s.value.fn in ("np.zeros_like", "np.full_like")
        if self.arrays and not names & self.arrays and (zeros or self.only_zeros):
            raise NotFusable
        self.arrays |= names
        self.only_zeros = self.only_zeros and zeros

    def _add(self, s) -> None:
        if isinstance(s, P.Comment):
            self.body.append(s)
        elif isinstance(s, P.If) and _is_shape_check(s):
            for shape in s.test.operand.args:  # holds inside the loop's guard: every array has its shape
                self._array_operand(shape.base)
        elif isinstance(s, P.Assign) and isinstance(s.target, P.Ref):
            var = s.target.var
            if is_array(var.type):
                self._assign_array(var, s.value)
            elif isinstance(var.type, Scalar) and _sums(s.value):
                self._sum_into(var, s, s.value)
            else:
                raise NotFusable
        elif isinstance(s, P.AugAssign) and isinstance(s.target, P.Ref) and isinstance(s.target.var.type, Scalar) \
                and _sums(s.value):
            self._sum_into(s.target.var, s, s.value)
        elif isinstance(s, P.AugAssign) and s.op in IN_PLACE:
            self._update(s)
        else:
            raise NotFusable

    def _assign_array(self, var: P.Var, value) -> None:
        if isinstance(value, P.Ref) or _is_view(value):  # an alias or a view: taken before the loop, no data moves
            if var in self.read or var in self.written:
                raise NotFusable
            self._view(value, var)
            return
        element, t = self.element(value)
        if not is_array(t) or t != var.type or t.dtype == "bool":
            raise NotFusable
        self.allocations += _allocations(value)
        holder = P.Var(var.hint, type=Scalar(t.dtype))
        self.body.append(P.Assign(P.Ref(holder), element))
        self._define(var, holder)

    def _define(self, var: P.Var, holder: P.Var) -> None:
        self.current[var] = holder
        self.written.add(var)

    def _sum_into(self, var: P.Var, s, value) -> None:
        """`s += np.sum(e)` (or any scalar expression of sums): the sums accumulate in the loop, the statement
        runs after it. Nothing later in the run may read `s`: it changes only after the loop."""
        sums = {}
        for call in _sums(value):
            element, t = self.element(call.args[0])
            if not is_array(t) or t.dtype not in ZERO and t.dtype not in ("float32", "complex64"):
                raise NotFusable
            self.allocations += _allocations(call.args[0])
            total = P.Var(f"{var.hint}__sum", type=Scalar(t.dtype))
            self.before.append(P.Assign(P.Ref(total), P.Lit(ZERO.get(t.dtype, f"np.{t.dtype}(0)"))))
            self.body.append(P.AugAssign(P.Ref(total), "+", element))
            sums[id(call)] = P.Ref(total)
        rest = _replace(s, sums)
        for v in _reads_of([rest]):
            if not (isinstance(v.type, Scalar) or v in self.facts.loop_vars):
                raise NotFusable  # the statement after the loop reads scalars only
        self.after.append(rest)
        self.summed.add(var)
        self.written.add(var)

    def _update(self, s) -> None:
        """`a += e` on an array or a view of one: in place, at the loop's element."""
        target = s.target
        if isinstance(target, P.Ref) and target.var in self.current:
            element, t = self.element(s.value)
            var = target.var
            if _result_dtype(s.op, var.type.dtype, t) != var.type.dtype:
                raise NotFusable
            holder = P.Var(var.hint, type=Scalar(var.type.dtype))
            self.allocations += _allocations(s.value)
            self.body.append(P.Assign(P.Ref(holder), P.BinOp(s.op, P.Ref(self.current[var]), element)))
            self._define(var, holder)
            return
        if not (isinstance(target, P.Ref) and is_array(target.var.type) or _is_view(target)):
            raise NotFusable
        var = self._view(target) if _is_view(target) else target.var
        self._array_operand(P.Ref(var))
        element, t = self.element(s.value)
        if _result_dtype(s.op, var.type.dtype, t) != var.type.dtype:
            raise NotFusable
        self.allocations += _allocations(s.value)
        self.body.append(P.AugAssign(P.Index(P.Ref(var), self._at()), s.op, element))
        if var not in self.updated:
            self.updated.append(var)
        self.written.add(var)

    # -- expressions --------------------------------------------------------------
    def element(self, e):
        """(the scalar expression of e at the loop's element, e's IR type); NotFusable outside the vocabulary."""
        if isinstance(e, P.Lit):
            return e, _literal_type(e.text)
        if isinstance(e, P.Ref):
            var = e.var
            self.read.add(var)
            if var in self.current:
                return P.Ref(self.current[var]), Array(var.type.dtype, self.ndim)
            if is_array(var.type):
                self._array_operand(e)
                if var not in self.written:
                    self.read_before_defined.add(var)
                return P.Index(e, self._at()), var.type
            if var in self.facts.loop_vars:
                return e, Scalar("int64", weak=True)
            if isinstance(var.type, Scalar) and var not in self.summed:
                return e, var.type
            raise NotFusable
        if _is_view(e):
            var = self._view(e)
            return P.Index(P.Ref(var), self._at()), var.type
        if isinstance(e, P.BinOp) and e.op in BINARY:
            (left, lt), (right, rt_) = self.element(e.left), self.element(e.right)
            return P.BinOp(e.op, left, right), _result_type(e.op, lt, rt_)
        if isinstance(e, P.Unary) and e.op == "-":
            inner, t = self.element(e.operand)
            return P.Unary("-", inner), t
        if isinstance(e, P.Attr) and e.attr in ("real", "imag"):
            inner, t = self.element(e.base)
            return P.Attr(inner, e.attr), _apply(f"np.{e.attr}", t)
        if isinstance(e, P.Call) and isinstance(e.fn, str):
            return self._call(e)
        raise NotFusable

    def _call(self, e: P.Call):
        name, args = e.fn, e.args
        if name in UFUNCS:
            parts = [self.element(a) for a in args]
            return P.Call(name, [p for p, _ in parts]), _apply(name, *[t for _, t in parts])
        if name.startswith(("math.", "cmath.")):
            parts = [self.element(a) for a in args]
            if any(is_array(t) for _, t in parts):
                raise NotFusable
            return P.Call(name, [p for p, _ in parts]), _apply(name, *[t for _, t in parts])
        if name.startswith("rt.unbroadcast_") and len(set(name.split("_")[-2:])) == 1:
            element, t = self.element(args[0])  # the identity when the operand has the result's shape: both have S
            _, like = self.element(args[1])
            if not (is_array(t) and is_array(like)):
                raise NotFusable
            return element, t
        if name in ("np.full_like", "np.zeros_like") and len(args) == (2 if name == "np.full_like" else 1):
            _, like = self.element(args[0])
            if not is_array(like) or like.dtype not in ("float64", "complex128"):
                raise NotFusable
            if name == "np.zeros_like":
                return P.Lit(ZERO[like.dtype]), like
            value, t = self.element(args[1])
            if is_array(t):
                raise NotFusable
            cast = {"float64": "float", "complex128": "complex"}[like.dtype]
            return (value if t.dtype == like.dtype else P.Call(cast, [value])), like
        if name == "np.where" and len(args) == 3:
            (test, tt), (yes, yt), (no, nt) = [self.element(a) for a in args]
            return P.Cond(test, yes, no), _apply(name, tt, yt, nt)
        raise NotFusable

    def _array_operand(self, e) -> None:
        if not isinstance(e, P.Ref) or not is_array(e.var.type):
            raise NotFusable
        var = e.var
        if self.ndim is None:
            self.ndim = var.type.ndim
            self.index = [P.Var("i" if self.ndim == 1 else f"i{k}") for k in range(self.ndim)]
        if var.type.ndim != self.ndim:
            raise NotFusable
        if var not in self.current and var not in self.operands:
            self.operands.append(var)

    def _view(self, e, var: P.Var | None = None) -> P.Var:
        """A view (or an alias) taken before the loop; its sources must not change in the run."""
        sources = P.expr_vars(e)
        if any(v in self.written or v in self.summed for v in sources):
            raise NotFusable
        base = e if isinstance(e, P.Ref) else e.base
        if not isinstance(base, P.Ref) or not is_array(base.var.type):
            raise NotFusable
        kept = base.var.type.ndim if isinstance(e, P.Ref) else sum(isinstance(i, P.Slice) for i in e.index)
        for v in sources[1:]:
            if not (v in self.facts.loop_vars or isinstance(v.type, Scalar) and v.type.dtype == "int64"):
                raise NotFusable
        key = _key(e)
        for k, v, _ in self.views:
            if k == key and var is None:
                self._array_operand(P.Ref(v))
                return v
        view = var or P.Var(base.var.hint, type=Array(base.var.type.dtype, kept))
        if var is not None and var.type != Array(base.var.type.dtype, kept):
            raise NotFusable
        if var is None:
            self.facts.origins[view] = _expr_origins(e, self.facts.origins)
        self._array_operand(P.Ref(view))
        self.views.append((key, view, P.Assign(P.Ref(view), e)))
        self.read.update(sources)
        if var is not None:
            self.written.add(var)
        return view

    def _at(self) -> list:
        return [P.Ref(i) for i in self.index]

    # -- the fused statements -----------------------------------------------------------
    def close(self) -> list:
        statements = self.statements
        outputs = [v for v in self.current if self.facts.reads[v] > _count_reads(statements, v)
                   or v in self.read_before_defined]
        if not self.operands or not self.body or (self.allocations <= len(outputs) and not self.facts.every_run):
            return statements
        first = P.Ref(self.operands[0])
        shape = P.Attr(first, "shape")
        before, after = list(self.before), []
        loop_body = list(self.body)
        for v in outputs:
            out = P.Var(v.hint, type=v.type)
            before.append(P.Assign(P.Ref(out), P.Call("np.empty", [shape, P.Lit(f"np.{v.type.dtype}")])))
            loop_body.append(P.Assign(P.Index(P.Ref(out), self._at()), P.Ref(self.current[v])))
            after.append(P.Assign(P.Ref(v), P.Ref(out)))
        loop = loop_body
        # a sum of primal values keeps its order: the reverse sweep recomputes the value the forward sweep made
        backwards = self.backwards and all(v.adjoint for v in self.summed)
        for k in reversed(range(self.ndim)):
            length = P.Index(shape, [P.Lit(str(k))])
            bounds = [length - 1, P.Lit("-1"), P.Lit("-1")] if backwards else [length]
            loop = [P.For(self.index[k], bounds, loop)]
        fused = before + loop + after + self.after
        tests = [P.BinOp("==", P.Attr(P.Ref(v), "shape"), shape) for v in self.operands[1:]]
        origins = self.facts.origins
        tests += [P.Call("rt.independent", [P.Ref(u), P.Ref(v)]) for u in self.updated for v in self.operands
                  if v is not u and not _apart(origins.get(u), origins.get(v))]
        views = [assignment for _, _, assignment in self.views]
        if not tests:
            return views + fused
        test = tests[0]
        for t in tests[1:]:
            test = P.BinOp("and", test, t)
        return views + [P.If(test, fused, statements, guard=True)]


# -- helpers ----------------------------------------------------------------------
def _is_shape_check(s) -> bool:
    """`if not rt.broadcastable(a.shape, b.shape): raise ...` (emit.op_shapecheck)."""
    t = s.test if isinstance(s, P.If) else None
    return isinstance(t, P.Unary) and t.op == "not" and isinstance(t.operand, P.Call) \
        and t.operand.fn == "rt.broadcastable" and not s.orelse \
        and all(isinstance(a, P.Attr) and a.attr == "shape" and isinstance(a.base, P.Ref) for a in t.operand.args)


def _counts_down(s: P.For) -> bool:
    step = s.bounds[2] if len(s.bounds) == 3 else None
    if isinstance(step, P.Unary) and step.op == "-":
        step = step.operand
        return isinstance(step, P.Lit) and step.text.isdigit() and int(step.text) > 0
    return isinstance(step, P.Lit) and step.text.startswith("-") and step.text[1:].isdigit()


def _is_view(e) -> bool:
    return isinstance(e, P.Index) and isinstance(e.base, P.Ref) and any(isinstance(i, P.Slice) for i in e.index)


def _sums(e) -> list:
    if isinstance(e, P.Call) and e.fn == "np.sum" and len(e.args) == 1:
        return [e]
    return [c for child in P.children(e) if isinstance(child, P.Expr) for c in _sums(child)]


def _replace(s, by_id: dict):
    def swap(e):
        if id(e) in by_id:
            return by_id[id(e)]
        return P.map_expr(e, swap) if isinstance(e, (P.Expr, P.Slice)) else e
    if isinstance(s, P.Assign):
        return P.Assign(s.target, swap(s.value))
    return P.AugAssign(s.target, s.op, swap(s.value))


def _allocations(e) -> int:
    """The arrays numba allocates to evaluate e: one per maximal elementwise expression (its array-expression
    rewrite fuses those), one per np.full_like or np.zeros_like; none for a variable or a view."""
    if isinstance(e, (P.Ref, P.Lit)) or _is_view(e):
        return 0
    if isinstance(e, P.Call) and e.fn in ("np.full_like", "np.zeros_like"):
        return 1 + sum(_allocations(a) for a in e.args)
    if isinstance(e, P.Call) and isinstance(e.fn, str) and e.fn.startswith("rt.unbroadcast_"):
        return sum(_allocations(a) for a in e.args)
    return 1


def _key(e):
    if isinstance(e, P.Ref):
        return ("ref", id(e.var))
    if isinstance(e, P.Lit):
        return ("lit", e.text)
    if e is None:
        return None
    return (type(e).__name__, getattr(e, "op", None), getattr(e, "attr", None),
            e.fn if isinstance(getattr(e, "fn", None), str) else None, tuple(_key(c) for c in P.children(e)))


def _literal_type(text: str):
    try:
        value = eval(text, {"np": np, "math": __import__("math")})  # noqa: S307  a literal adc printed
    except Exception as exc:  # noqa: BLE001
        raise NotFusable from exc
    if isinstance(value, bool):
        return Scalar("bool", weak=True)
    if isinstance(value, (int, float, complex)):
        return Scalar({int: "int64", float: "float64", complex: "complex128"}[type(value)], weak=True)
    if isinstance(value, np.generic):
        return Scalar(value.dtype.name)
    raise NotFusable


def _example(t):
    if is_array(t):
        return np.ones(1, t.dtype)
    if t.weak:
        return {"bool": True, "int64": 1, "float64": 1.0, "complex128": 1j}[t.dtype]
    return np.dtype(t.dtype).type(1)


def _apply(name: str, *types):
    """The type numpy gives name(*types): it is run on an example of each (NEP 50 promotion, weak scalars)."""
    return _applied(name, *[(t.dtype, t.ndim if is_array(t) else None, getattr(t, "weak", False)) for t in types])


@lru_cache(maxsize=None)
def _applied(name: str, *described):  # a Scalar's hash leaves out whether it is weak: the cache is keyed by all three
    types = [Array(d, n) if n is not None else Scalar(d, weak=w) for d, n, w in described]
    fn = {"np.real": np.real, "np.imag": np.imag}.get(name)
    if fn is None:
        module, attr = name.split(".")
        fn = BINARY[attr] if module == "op" else getattr({"np": np, "math": __import__("math"),
                                                           "cmath": __import__("cmath")}[module], attr)
    try:
        with np.errstate(all="ignore"):
            value = fn(*[_example(t) for t in types])
    except Exception as exc:  # noqa: BLE001
        raise NotFusable from exc
    ndim = max((t.ndim for t in types if is_array(t)), default=None)
    dtype = np.asarray(value).dtype.name
    if ndim is None:
        weak = all(getattr(t, "weak", False) for t in types)
        return Scalar(dtype, weak=weak and not isinstance(value, np.generic))
    return Array(dtype, ndim)


def _result_type(op: str, left, right):
    if is_array(left) and is_array(right) and left.ndim != right.ndim:
        raise NotFusable
    return _apply(f"op.{op}", left, right)


def _result_dtype(op: str, dtype: str, value_type) -> str:
    return _result_type(op, Array(dtype, 1), value_type if not is_array(value_type) else Array(value_type.dtype, 1)).dtype


def _reads_of(stmts) -> list:
    """Every read of a variable in stmts, once per occurrence (nested blocks included)."""
    out = []
    for s in P.statements(stmts):
        if isinstance(s, (P.Assign, P.AugAssign)):
            out += P.expr_vars(s.value)
            target = s.target
            if isinstance(s, P.AugAssign) or not isinstance(target, (P.Ref, P.TupleExpr)):
                out += P.expr_vars(target)
        elif isinstance(s, P.For):
            out += [v for b in s.bounds for v in P.expr_vars(b)]
        elif isinstance(s, (P.While, P.If)):
            out += P.expr_vars(s.test)
        elif isinstance(s, P.Return):
            out += P.expr_vars(s.value)
        elif isinstance(s, P.Raise):
            out += [v for a in s.args for v in P.expr_vars(a)]
    return out


def _count_reads(stmts, var) -> int:
    return sum(1 for v in _reads_of(stmts) if v is var)


# -- where memory comes from ------------------------------------------------------------
ALLOCATING = {"np.zeros", "np.ones", "np.empty", "np.full", "np.zeros_like", "np.ones_like", "np.empty_like",
              "np.full_like", "np.copy"} | UFUNCS - {"np.conj", "np.conjugate"}


def _origins(fn: P.FunctionDef) -> dict:
    """Variable -> the places its memory may come from: ("param", p) for an argument's, (id of the expression,)
    for an allocation in the function. Views and aliases take their base's; a call adc does not know takes all its
    arguments' and its own. Flow-insensitive (every assignment, to a fixed point), so an answer holds anywhere."""
    origins: dict = {p: {("param", id(p))} for p in fn.params}
    assignments = []
    for s in P.statements(fn.body):
        if isinstance(s, P.Assign):
            targets = s.target.items if isinstance(s.target, P.TupleExpr) else [s.target]
            assignments += [(t.var, s.value) for t in targets if isinstance(t, P.Ref)]
    changed = True
    while changed:
        changed = False
        for var, value in assignments:
            found = _expr_origins(value, origins)
            if not found <= origins.setdefault(var, set()):
                origins[var] |= found
                changed = True
    return origins


def _expr_origins(e, origins: dict) -> set:
    if isinstance(e, P.Ref):
        return set(origins.get(e.var, ()))
    if isinstance(e, P.Lit) or e is None:
        return set()
    if isinstance(e, P.Index) and isinstance(e.base, P.Ref) and is_array(e.base.var.type) \
            and not any(isinstance(i, P.Slice) for i in e.index) and len(e.index) == e.base.var.type.ndim:
        return set()  # an element
    inner = set().union(*[_expr_origins(c, origins) for c in P.children(e) if isinstance(c, (P.Expr, P.Slice))])
    if isinstance(e, P.Call) and e.fn in ALLOCATING:
        return {(id(e),)}
    if isinstance(e, (P.BinOp, P.Unary)):
        return {(id(e),)} if inner else set()  # numpy's arithmetic on arrays allocates; on scalars there is none
    if isinstance(e, P.Call):
        return inner | {(id(e),)}
    return inner  # a view, an alias, a choice of two


def _apart(a: set | None, b: set | None) -> bool:
    """Whether memory from origins a and from origins b never overlaps: no common origin, and not an argument
    on both sides (two arguments may be one array)."""
    if not a or not b or a & b:
        return False
    return not (any(o[0] == "param" for o in a) and any(o[0] == "param" for o in b))
