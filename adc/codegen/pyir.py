"""The imperative target of code generation: statements over mutable variables.

Primal and derivative emitters build these trees from the SSA IR; then one naming
pass gives every variable a Python name (the user's name where it is free, reusing a
name once its previous holder is dead), and one printer writes the source. Expression
nodes overload arithmetic so derivative rules read like the mathematics.
"""
from __future__ import annotations

import bisect
import keyword
from dataclasses import dataclass, field

from ..ir.core import is_array


class Var:
    __slots__ = ("hint", "name", "array", "type", "adjoint")

    def __init__(self, hint: str, name: str | None = None, array: bool = False, type=None, adjoint: bool = False):
        self.hint = hint
        self.name = name  # fixed for parameters; set by assign_names otherwise
        self.type = type  # the IR type of what it holds, where the emitter knows it (codegen/fusion.py reads it)
        self.array = array or is_array(type)  # `a = a * b` on an array must not print as `a *= b`: it may alias
        self.adjoint = adjoint  # a reverse sweep's adjoint (x__bar): no primal value is computed from it

    def __repr__(self) -> str:
        return f"Var({self.name or self.hint})"


class Expr:
    precedence = 100

    def _wrap(self, other):
        return other if isinstance(other, Expr) else Lit(repr(other))

    def __add__(self, o): return BinOp("+", self, self._wrap(o))
    def __radd__(self, o): return BinOp("+", self._wrap(o), self)
    def __sub__(self, o): return BinOp("-", self, self._wrap(o))
    def __rsub__(self, o): return BinOp("-", self._wrap(o), self)
    def __mul__(self, o): return BinOp("*", self, self._wrap(o))
    def __rmul__(self, o): return BinOp("*", self._wrap(o), self)
    def __truediv__(self, o): return BinOp("/", self, self._wrap(o))
    def __rtruediv__(self, o): return BinOp("/", self._wrap(o), self)
    def __pow__(self, o): return BinOp("**", self, self._wrap(o))
    def __neg__(self): return Unary("-", self)


@dataclass(eq=False)
class Ref(Expr):
    var: Var


@dataclass(eq=False)
class Lit(Expr):
    text: str


@dataclass(eq=False)
class Call(Expr):
    fn: "str | Expr"  # a name, or an expression such as a method (x.astype)
    args: list


@dataclass(eq=False)
class Attr(Expr):
    base: Expr
    attr: str


@dataclass(eq=False)
class Index(Expr):
    base: Expr
    index: list  # of Expr or Slice


@dataclass(eq=False)
class Slice:
    lower: Expr | None
    upper: Expr | None
    step: Expr | None


@dataclass(eq=False)
class TupleExpr(Expr):
    items: list


@dataclass(eq=False)
class ListExpr(Expr):
    items: list


PRECEDENCE = {"or": 1, "and": 2, "not": 3, "<": 4, "<=": 4, ">": 4, ">=": 4, "==": 4, "!=": 4, "&": 5,
              "+": 6, "-": 6, "*": 7, "/": 7, "//": 7, "%": 7, "@": 7, "neg": 8, "**": 9}


@dataclass(eq=False)
class BinOp(Expr):
    op: str
    left: Expr
    right: Expr

    @property
    def precedence(self):
        return PRECEDENCE[self.op]


@dataclass(eq=False)
class Unary(Expr):
    op: str  # "-" or "not"
    operand: Expr

    @property
    def precedence(self):
        return PRECEDENCE["neg" if self.op == "-" else "not"]


@dataclass(eq=False)
class Cond(Expr):
    test: Expr
    body: Expr
    orelse: Expr
    precedence = 0


# -- statements -----------------------------------------------------------------
@dataclass(eq=False)
class Assign:
    target: Expr  # Ref, Index or TupleExpr of Refs
    value: Expr


@dataclass(eq=False)
class AugAssign:
    target: Expr
    op: str
    value: Expr


@dataclass(eq=False)
class For:
    var: Var
    bounds: list
    body: list = field(default_factory=list)


@dataclass(eq=False)
class While:
    test: Expr
    body: list = field(default_factory=list)


@dataclass(eq=False)
class If:
    test: Expr
    body: list = field(default_factory=list)
    orelse: list = field(default_factory=list)
    guard: bool = False  # fusion's shape test: the body is the fused loop, orelse the statements as written


@dataclass(eq=False)
class Return:
    value: Expr


@dataclass(eq=False)
class Comment:
    text: str


@dataclass(eq=False)
class Raise:
    exception: str
    message: str
    args: list = field(default_factory=list)  # expressions after the message, read at run time


@dataclass(eq=False)
class FunctionDef:
    name: str
    params: list  # of Var with fixed names
    body: list
    docstring: str = ""


# -- traversal -----------------------------------------------------------------
def children(e) -> list:
    """The sub-expressions of e (and the parts of a slice), in order; None where a part is absent."""
    if isinstance(e, (Ref, Lit)) or e is None:
        return []
    if isinstance(e, Call):
        return ([e.fn] if isinstance(e.fn, Expr) else []) + list(e.args)
    if isinstance(e, Attr):
        return [e.base]
    if isinstance(e, Index):
        return [e.base] + list(e.index)
    if isinstance(e, Slice):
        return [e.lower, e.upper, e.step]
    if isinstance(e, (TupleExpr, ListExpr)):
        return list(e.items)
    if isinstance(e, BinOp):
        return [e.left, e.right]
    if isinstance(e, Unary):
        return [e.operand]
    if isinstance(e, Cond):
        return [e.test, e.body, e.orelse]
    raise TypeError(e)


def map_expr(e, f):
    """A copy of e whose sub-expressions are f of e's (leaves, and None, are returned as they are)."""
    if isinstance(e, (Ref, Lit)) or e is None:
        return e
    if isinstance(e, Call):
        return Call(f(e.fn) if isinstance(e.fn, Expr) else e.fn, [f(a) for a in e.args])
    if isinstance(e, Attr):
        return Attr(f(e.base), e.attr)
    if isinstance(e, Index):
        return Index(f(e.base), [f(i) for i in e.index])
    if isinstance(e, Slice):
        return Slice(*[f(p) if p is not None else None for p in (e.lower, e.upper, e.step)])
    if isinstance(e, (TupleExpr, ListExpr)):
        return type(e)([f(i) for i in e.items])
    if isinstance(e, BinOp):
        return BinOp(e.op, f(e.left), f(e.right))
    if isinstance(e, Unary):
        return Unary(e.op, f(e.operand))
    if isinstance(e, Cond):
        return Cond(f(e.test), f(e.body), f(e.orelse))
    raise TypeError(e)


def statements(stmts):
    """Every statement of a block, those of nested loops and branches included, in order."""
    for s in stmts:
        yield s
        for block in (getattr(s, "body", None), getattr(s, "orelse", None)):
            if isinstance(block, list):
                yield from statements(block)


def expr_vars(e) -> list[Var]:
    if isinstance(e, Ref):
        return [e.var]
    return [v for c in children(e) for v in expr_vars(c)]


def _target_defs_uses(target):
    """Variables a target defines, and those it reads (an indexed store reads its base)."""
    if isinstance(target, Ref):
        return [target.var], []
    if isinstance(target, TupleExpr):
        defs = [d for t in target.items for d in _target_defs_uses(t)[0]]
        return defs, []
    return [], expr_vars(target)


# -- naming ----------------------------------------------------------------------
RESERVED = set(keyword.kwlist) | {"np", "math", "cmath", "rt", "range", "abs", "min", "max", "int", "float",
                                  "complex", "bool", "len", "True", "False", "None"}


def assign_names(fn: FunctionDef, reserved: set[str] = frozenset()) -> None:
    """Give each variable a name: its hint when free, reusing names of dead variables.

    Live ranges are intervals over a linear walk; a variable read in a loop before
    (or without) being written there is live over the whole loop. A second `t` is `t1`, never
    `t_1`: numba names the versions of a reassigned `t` `t.1`, and its array-expression pass turns
    `t.1.1` into `t_1_1`, which must not meet `t_1.1` (numba's "not unique" assertion).
    """
    occurrences: dict[Var, list[tuple[int, bool]]] = {}
    loops: list[tuple[int, int]] = []
    counter = [0]

    def note(var, use):
        pos = 2 * counter[0] + (0 if use else 1)
        occurrences.setdefault(var, []).append((pos, use))

    def visit(stmts):
        for s in stmts:
            counter[0] += 1
            if isinstance(s, Assign):
                for v in expr_vars(s.value):
                    note(v, True)
                defs, uses = _target_defs_uses(s.target)
                for v in uses:
                    note(v, True)
                for v in defs:
                    note(v, False)
            elif isinstance(s, AugAssign):
                for v in expr_vars(s.value) + expr_vars(s.target):
                    note(v, True)
                if isinstance(s.target, Ref):
                    note(s.target.var, False)
            elif isinstance(s, For):
                for b in s.bounds:
                    for v in expr_vars(b):
                        note(v, True)
                start = 2 * counter[0]
                note(s.var, False)
                visit(s.body)
                loops.append((start, 2 * counter[0] + 1))
            elif isinstance(s, While):
                start = 2 * counter[0]
                for v in expr_vars(s.test):
                    note(v, True)
                visit(s.body)
                loops.append((start, 2 * counter[0] + 1))
            elif isinstance(s, If):
                for v in expr_vars(s.test):
                    note(v, True)
                visit(s.body)
                visit(s.orelse)
            elif isinstance(s, Return):
                for v in expr_vars(s.value):
                    note(v, True)
            elif isinstance(s, Raise):
                for v in (v for a in s.args for v in expr_vars(a)):
                    note(v, True)

    for p in fn.params:
        occurrences[p] = [(-1, False)]
    visit(fn.body)
    intervals = {}
    for var, occ in occurrences.items():
        start, end = min(p for p, _ in occ), max(p for p, _ in occ)
        intervals[var] = [start, end]
    # each loop looks only at the variables that occur in it (found by bisection), so that generated code with
    # many small loops (vector mode's loop per tangent statement) is named in n log n, not n^2
    positions = {var: [p for p, _ in occ] for var, occ in occurrences.items()}  # in program order already
    timeline = sorted((p, k) for k, var in enumerate(occurrences) for p in positions[var])
    order = list(occurrences)
    changed = True
    while changed:
        changed = False
        for ls, le in loops:
            inside_loop = {order[k] for _, k in timeline[bisect.bisect_left(timeline, (ls, -1)):
                                                         bisect.bisect_right(timeline, (le, len(order)))]}
            for var in inside_loop:
                occ = occurrences[var]
                s, e = intervals[var]
                first_inside = occ[bisect.bisect_left(positions[var], ls)]
                new_s, new_e = s, e
                if s < ls:
                    new_e = max(e, le)
                if first_inside[1]:  # first occurrence in the loop is a read: live around the back edge
                    new_s, new_e = min(s, ls), max(e, le)
                if e > le and s >= ls:  # defined in the loop, read after it
                    new_s = min(s, ls)
                if [new_s, new_e] != [s, e]:
                    intervals[var] = [new_s, new_e]
                    changed = True
    holders: dict[str, int] = {}  # name -> end of its latest interval
    kinds: dict[str, bool] = {}  # name -> whether it holds arrays: arrays never share a name (numba types a name
    # once per loop, and two arrays may differ in rank or layout), scalars only with scalars
    for p in fn.params:
        holders[p.name] = intervals[p][1]
        kinds[p.name] = p.array
    taken = set(reserved) | RESERVED
    for var in sorted((v for v in intervals if v.name is None), key=lambda v: intervals[v][0]):
        start, end = intervals[var]
        base = var.hint if var.hint.isidentifier() else "t"
        k = 0
        while True:
            candidate = base if k == 0 else f"{base}{k}" if base[-1].isalpha() else f"{base}__{k}"
            free = candidate not in holders or (holders[candidate] < start and not var.array and not kinds[candidate])
            if candidate not in taken and free:
                break
            k += 1
        var.name = candidate
        holders[candidate] = end
        kinds[candidate] = var.array


# -- printing --------------------------------------------------------------------
def format_expr(e, parent: int = 0) -> str:
    text = _format(e)
    return f"({text})" if getattr(e, "precedence", 100) < parent else text


def _format(e) -> str:
    if isinstance(e, Ref):
        return e.var.name
    if isinstance(e, Lit):
        return e.text
    if isinstance(e, Call):
        fn = e.fn if isinstance(e.fn, str) else format_expr(e.fn, 99)
        return f"{fn}({', '.join(format_expr(a) for a in e.args)})"
    if isinstance(e, Attr):
        return f"{format_expr(e.base, 99)}.{e.attr}"
    if isinstance(e, Index):
        return f"{format_expr(e.base, 99)}[{', '.join(_format_index(i) for i in e.index)}]"
    if isinstance(e, TupleExpr):
        items = [format_expr(i) for i in e.items]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if isinstance(e, ListExpr):
        return "[" + ", ".join(format_expr(i) for i in e.items) + "]"
    if isinstance(e, BinOp):
        p = e.precedence
        if e.op == "**":  # right-associative, binds tighter than unary minus on its left
            return f"{format_expr(e.left, p + 1)} ** {format_expr(e.right, p)}"
        if p == PRECEDENCE["<"]:  # (a > 0) != (b > 0): a comparison of comparisons is not a chain
            return f"{format_expr(e.left, p + 1)} {e.op} {format_expr(e.right, p + 1)}"
        return f"{format_expr(e.left, p)} {e.op} {format_expr(e.right, p + 1)}"
    if isinstance(e, Unary):
        if e.op == "not":
            return f"not {format_expr(e.operand, e.precedence)}"
        if isinstance(e.operand, BinOp) and e.operand.op in ("*", "/"):  # -(a * b) reads as -a * b
            return f"-{format_expr(e.operand.left, e.precedence)} {e.operand.op} {format_expr(e.operand.right, PRECEDENCE['*'] + 1)}"
        return f"-{format_expr(e.operand, e.precedence)}"
    if isinstance(e, Cond):
        return f"{format_expr(e.body, 1)} if {format_expr(e.test, 1)} else {format_expr(e.orelse, 0)}"
    raise TypeError(e)


def _format_index(i) -> str:
    if isinstance(i, Slice):
        parts = [format_expr(x) if x is not None else "" for x in (i.lower, i.upper, i.step)]
        return ":".join(parts[:2]) + (f":{parts[2]}" if i.step is not None else "")
    return format_expr(i)


def format_function(fn: FunctionDef, decorator: str = "") -> str:
    lines = [decorator] if decorator else []
    lines.append(f"def {fn.name}({', '.join(p.name for p in fn.params)}):")
    if fn.docstring:
        lines.append(f'    """{fn.docstring}"""')
    _format_block(fn.body, 1, lines)
    return "\n".join(lines)


def _format_block(stmts, depth, lines):
    pad = "    " * depth
    start = len(lines)
    for s in stmts:
        if isinstance(s, Assign):
            if isinstance(s.target, Ref) and isinstance(s.value, Ref) and s.target.var.name == s.value.var.name:
                continue
            aug = _as_augmented(s)
            if aug:
                lines.append(pad + aug)
            else:
                target = format_expr(s.target)[1:-1] if isinstance(s.target, TupleExpr) else format_expr(s.target)
                value = format_expr(s.value)[1:-1] if isinstance(s.value, TupleExpr) else format_expr(s.value)
                lines.append(f"{pad}{target} = {value}")
        elif isinstance(s, AugAssign):
            lines.append(f"{pad}{format_expr(s.target)} {s.op}= {format_expr(s.value)}")
        elif isinstance(s, For):
            lines.append(f"{pad}for {s.var.name} in range({', '.join(format_expr(b) for b in s.bounds)}):")
            _format_block(s.body, depth + 1, lines)
        elif isinstance(s, While):
            lines.append(f"{pad}while {format_expr(s.test)}:")
            _format_block(s.body, depth + 1, lines)
        elif isinstance(s, If):
            lines.append(f"{pad}if {format_expr(s.test)}:")
            _format_block(s.body, depth + 1, lines)
            if s.orelse:
                if len(s.orelse) == 1 and isinstance(s.orelse[0], If):
                    lines.append(f"{pad}el" + _block_text(s.orelse, depth).lstrip())
                else:
                    lines.append(f"{pad}else:")
                    _format_block(s.orelse, depth + 1, lines)
        elif isinstance(s, Return) and s.value is None:
            lines.append(f"{pad}return")
        elif isinstance(s, Return):
            value = format_expr(s.value)
            lines.append(f"{pad}return {value[1:-1] if isinstance(s.value, TupleExpr) and value.startswith('(') else value}")
        elif isinstance(s, Comment):
            lines.append(f"{pad}# {s.text}")
        elif isinstance(s, Raise):
            lines.append(f"{pad}raise {s.exception}({', '.join([repr(s.message)] + [format_expr(a) for a in s.args])})")
    if all(line.lstrip().startswith("#") for line in lines[start:]):
        lines.append(pad + "pass")


def _block_text(stmts, depth) -> str:
    lines: list[str] = []
    _format_block(stmts, depth, lines)
    return "\n".join(lines)


def _as_augmented(s: Assign) -> str | None:
    """`v = v + e` of a scalar variable prints as `v += e`, the way a person writes an accumulation (an
    array's `a = a * b` must not: it may alias, or change dtype). Element updates are AugAssign already."""
    v = s.value
    if isinstance(s.target, Ref) and not s.target.var.array and isinstance(v, BinOp) and v.op in ("+", "-", "*", "/") \
            and isinstance(v.left, Ref) and v.left.var is s.target.var:
        return f"{format_expr(s.target)} {v.op}= {format_expr(v.right)}"
    return None
