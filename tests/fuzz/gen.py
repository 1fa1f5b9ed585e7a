"""Random programs in adc's differentiable subset, built by hypothesis and printed as Python.

A program is a small tree (statements with string expressions) printed as a module: helpers, then
`main`, which ends with one `return` of a real scalar. Its inputs are drawn from a seed.

Every choice is one `draw` of a small integer, and the draws are grouped so that hypothesis's
shrinker can work on whole statements: a statement list is a linked list of (flag, statement,
rest) units, so putting the rest in a unit's place deletes a statement; statements and expressions
are labelled units, so a loop or branch can be replaced by one of its own statements and an
expression by a subexpression; a statement kind is drawn with the same weights in every block, so
it means the same thing when moved. Smaller integers mean simpler choices (the first kind, form,
constant). Constructs: scalar recurrences, element reads/writes (argument and local arrays,
overwrites of elements already read), for loops of ten range forms (negative steps, triangular
`range(i)`/`range(i, n)`, 2-d row loops), while loops with a counter (on a scalar, or scanning an
array), if/elif/else on data (against constants or data), break/continue, helpers (scalar, with
a branch, calling helpers, reducing an array, a while loop reassigning an argument, writing into
an array argument), whole-array expressions and np.sum/mean/dot, complex locals and recurrences
with real losses, np.fft.fft/rfft (of arrays or expressions) with |X|**2 losses.

Generation keeps to the subset by construction:

- locals are given a value at the top level before any loop or branch assigns them; a
  temporary first assigned inside a block is used only later in that block;
- arrays are created only at the top level; an array read as a whole (np.sum, np.copy, fft,
  whole-array arithmetic) is never written afterwards: argument arrays are either writable
  (element reads and writes only) or read-only, and a local array read whole is frozen;
- math stays in smooth domains (exp of bounded values, log(1 + v*v), sqrt(1 + v*v), division by
  constants or 1 + v*v), branch thresholds are constants, `while` loops have a counter bound.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st

CONSTS = ("0.5", "1.5", "-0.3", "2.0", "0.25", "-1.2", "0.8", "3.0")
THRESHOLDS = ("0.1", "-0.2", "0.5", "0.0", "0.3", "-0.6", "1.0", "2.0")
SCALAR_PARAMS = ("a", "c")
VECTOR_PARAMS = ("x", "y", "w")
MATRIX_PARAM = "A"
LOOP_VARS = ("i", "j", "l")


# -- the program tree ------------------------------------------------------------------------

@dataclass
class Cmp:
    left: str
    op: str
    right: str

    def render(self) -> str:
        return f"{self.left} {self.op} {self.right}"


@dataclass
class BoolOp:
    op: str  # "and" / "or"
    parts: list  # of Cmp

    def render(self) -> str:
        return f" {self.op} ".join(p.render() for p in self.parts)


@dataclass
class Line:
    text: str


@dataclass
class If:
    branches: list  # [(condition or None for else, [statements])]


@dataclass
class For:
    var: str
    range_text: str
    body: list


@dataclass
class While:
    cond: object
    body: list


def render_block(stmts, indent: int) -> list[str]:
    pad = "    " * indent
    out = []
    for s in stmts:
        if isinstance(s, Line):
            out.append(pad + s.text)
        elif isinstance(s, For):
            out.append(f"{pad}for {s.var} in {s.range_text}:")
            out += render_block(s.body, indent + 1)
        elif isinstance(s, While):
            out.append(f"{pad}while {s.cond.render()}:")
            out += render_block(s.body, indent + 1)
        elif isinstance(s, If):
            for k, (cond, body) in enumerate(s.branches):
                if cond is None:
                    out.append(f"{pad}else:")
                else:
                    out.append(f"{pad}{'if' if k == 0 else 'elif'} {cond.render()}:")
                out += render_block(body, indent + 1)
        else:  # pragma: no cover
            raise TypeError(s)
    return out


@dataclass
class Helper:
    name: str
    params: list
    body: list
    ret: str
    writes: bool = False  # writes into its array argument


@dataclass
class Param:
    name: str
    kind: str  # "scalar", "vector" (length n), "matrix" (m x n)


@dataclass
class Checks:
    """Which of the costlier oracle checks run for this program."""
    hvp: bool = False
    numba: bool = False


@dataclass
class Program:
    helpers: list
    params: list
    body: list
    ret: str
    n: int
    m: int
    seed: int
    wrt: tuple
    checks: Checks
    tags: frozenset = field(default_factory=frozenset)
    name: str = "main"

    def source(self) -> str:
        lines = ["import numpy as np", ""]
        for h in self.helpers:
            lines += ["", f"def {h.name}({', '.join(h.params)}):"]
            lines += render_block(h.body, 1)
            lines.append(f"    return {h.ret}")
            lines.append("")
        lines += ["", f"def {self.name}({', '.join(p.name for p in self.params)}):"]
        lines += render_block(self.body, 1)
        lines.append(f"    return {self.ret}")
        return "\n".join(lines) + "\n"

    def args(self) -> tuple:
        return make_args(self.params, self.n, self.m, self.seed)

    def __repr__(self) -> str:  # what hypothesis prints for a falsifying example
        return (f"Program(wrt={self.wrt}, n={self.n}, m={self.m}, seed={self.seed}, checks={self.checks})\n"
                + self.source())

    def digest(self) -> str:
        return hashlib.sha1(self.source().encode()).hexdigest()[:12]


def make_args(params, n: int, m: int, seed: int) -> tuple:
    rng = np.random.default_rng(seed)
    out = []
    for p in params:
        if p.kind == "scalar":
            out.append(round(float(rng.uniform(-1.5, 1.5)), 6))
        elif p.kind == "vector":
            out.append(np.round(rng.standard_normal(n), 6))
        else:
            out.append(np.round(rng.standard_normal((m, n)), 6))
    return tuple(out)


# -- profiles: how often each construct is drawn ----------------------------------------------

@dataclass(frozen=True)
class Profile:
    stmt: tuple  # weights of the statement kinds, in KINDS order
    matrix: int = 1  # weight of having a 2-d argument (against 3)
    max_top: int = 5
    max_body: int = 3
    max_depth: int = 3
    budget: int = 12  # statements in all (not counting initialisations)
    hvp: tuple = (1, 1)  # odds of running the hvp check (for, against)
    numba: tuple = (0, 1)  # odds of also checking the numba backend (for, against)


# "temp" is a new local at the top level, a temporary in a block; break/continue only in loops;
# local arrays, complex locals and ffts only at the top level
KINDS = ("update", "elem_write", "temp", "for", "if", "while", "break", "complex_update", "local_array", "complex",
         "fft")

PROFILES = {
    #                 update write temp for if while break cplx_upd local cplx fft
    "mixed": Profile(stmt=(25, 15, 8, 20, 10, 4, 5, 3, 6, 3, 3)),
    "loops": Profile(stmt=(25, 20, 8, 30, 12, 6, 7, 0, 5, 0, 0)),
    "arrays": Profile(stmt=(20, 25, 6, 18, 6, 2, 3, 0, 14, 0, 6), matrix=2),
    "complex": Profile(stmt=(20, 12, 8, 16, 8, 3, 3, 12, 4, 12, 10), matrix=0),
    "numba": Profile(stmt=(25, 15, 8, 20, 10, 4, 5, 3, 6, 3, 3), max_top=4, numba=(1, 0)),
}


# -- the generator -----------------------------------------------------------------------------

@dataclass
class LoopVar:
    name: str
    dim: str | None  # "n" (indexes vectors / matrix columns), "m" (matrix rows) or None
    indices: tuple  # index expressions valid for arrays of length `dim`


@dataclass
class Scope:
    scalars: list  # readable real scalars
    assignable: list  # scalars that may be assigned in this block (top-level locals and temps)
    complexes: list
    loops: list  # LoopVar of the enclosing for loops
    in_loop: bool = False  # inside a for or while (break/continue allowed)
    depth: int = 0
    top: bool = True
    helper: bool = False  # a helper's body: its parameters only, no arrays or calls

    def child(self, loop: LoopVar | None = None, in_loop: bool = False) -> "Scope":
        return Scope(list(self.scalars), list(self.assignable), list(self.complexes),
                     self.loops + ([loop] if loop else []), self.in_loop or in_loop, self.depth + 1, False,
                     self.helper)


@dataclass
class ArrayInfo:
    name: str
    kind: str  # "vector" / "matrix"
    writable: bool  # element writes allowed (and so no whole reads before the end)
    local: bool
    frozen: bool = False  # read as a whole: no more writes
    busy: bool = False  # the target of the statement being drawn: not to be read whole in it


@dataclass
class Expr:
    text: str
    prec: int  # 100 atom/call, 90 power, 80 unary minus, 70 * /, 60 + -


ATOM, POW, NEG, MUL, ADD = 100, 90, 80, 70, 60


def paren(e: Expr, need: bool) -> str:
    return f"({e.text})" if need else e.text


class Gen:
    def __init__(self, draw, profile: Profile):
        self.draw = draw
        self.p = profile
        self.arrays: list[ArrayInfo] = []
        self.helpers: list[Helper] = []
        self.counter = 0
        self.tags: set[str] = set()
        self.ffts: list[str] = []  # complex fft arrays (never written)
        self.top_scalars: list[str] = []  # locals summed into the result
        self.top_complex: list[str] = []
        self.budget = profile.budget

    # -- drawing ------------------------------------------------------------------------------
    def int(self, lo: int, hi: int) -> int:
        return self.draw(st.integers(lo, hi))

    def pick(self, options):
        options = list(options)
        return options[self.int(0, len(options) - 1)]

    def weighted(self, kinds, weights):
        """One of `kinds` with the given weights; shrinks towards the first kind with weight."""
        pairs = [(k, w) for k, w in zip(kinds, weights) if w > 0]
        total = sum(w for _, w in pairs)
        r = self.int(0, total - 1)
        for k, w in pairs:
            if r < w:
                return k
            r -= w
        raise AssertionError  # pragma: no cover

    def chance(self, weight: int, against: int = 1) -> bool:
        """True with probability weight / (weight + against); shrinks towards False."""
        if weight <= 0:
            return False
        if against <= 0:
            return True
        return self.int(0, weight + against - 1) >= against

    def span(self, fn, kind=None):
        """fn() drawn as one unit of the choice sequence, labelled by its kind (statement, expression,
        list), so that the shrinker can put a smaller unit of the same kind in its place."""
        return self.draw((kind or _stmt)(self, fn))

    def seq(self, lo: int, hi: int, make) -> list:
        """lo..hi results of make(), as a linked list: each cell holds a 'one more' flag, an item and
        the rest, so that the shrinker deletes an item by putting the rest in its cell's place."""
        def rest(k):
            stop = self.int(0, 3) == 0
            if k >= hi or (stop and k >= lo):
                return []
            item = self.span(make)
            return [item] + self.span(lambda: rest(k + 1), _list)
        return self.span(lambda: rest(0), _list)

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    # -- arrays and indices ----------------------------------------------------------------------
    def vectors(self, readable_whole: bool = False, writable: bool = False, top: bool = True):
        out = []
        for a in self.arrays:
            if a.kind != "vector":
                continue
            if writable and not (a.writable and not a.frozen):
                continue
            if readable_whole and not self.whole_readable(a, top):
                continue
            out.append(a)
        return out

    def whole_readable(self, a: ArrayInfo, top: bool) -> bool:
        if a.busy:
            return False
        if a.local:
            return a.frozen or top  # at the top level a local is frozen by reading it whole
        return not a.writable

    def read_whole(self, a: ArrayInfo) -> str:
        if a.local:
            a.frozen = True
        return a.name

    def vector_index(self, scope: Scope) -> str:
        options = [ix for lv in scope.loops if lv.dim == "n" for ix in lv.indices]
        options += ["0", "-1", "1"]
        return self.pick(options)

    def row_index(self, scope: Scope) -> str:
        options = [ix for lv in scope.loops if lv.dim == "m" for ix in lv.indices]
        return self.pick(options + ["0", "-1"])

    def element(self, a: ArrayInfo, scope: Scope) -> str:
        if a.kind == "vector":
            return f"{a.name}[{self.vector_index(scope)}]"
        return f"{a.name}[{self.row_index(scope)}, {self.vector_index(scope)}]"

    # -- expressions --------------------------------------------------------------------------
    def atom(self, scope: Scope) -> Expr:
        kinds = ["const", "scalar", "element"]
        weights = [2, 4 if scope.scalars else 0, 6 if self.arrays and not scope.helper else 0]
        kind = self.weighted(kinds, weights)
        if kind == "const":
            c = self.pick(CONSTS)
            return Expr(c, NEG if c.startswith("-") else ATOM)
        if kind == "scalar":
            return Expr(self.pick(scope.scalars), ATOM)
        a = self.pick(self.arrays)
        return Expr(self.element(a, scope), ATOM)

    def expr(self, scope: Scope, depth: int = 2) -> Expr:
        return self.span(lambda: self._expr(scope, depth), _expr)

    def _expr(self, scope: Scope, depth: int) -> Expr:
        if depth <= 0:
            return self.atom(scope)
        kinds = ["atom", "binop", "func", "pow", "div", "neg", "helper", "complex_real", "reduce", "fft_loss"]
        whole = self.vectors(readable_whole=True, top=scope.top) and not scope.helper
        calls = 0 if scope.helper else 1
        weights = [30, 30, 18, 5, 5, 2, 4 * calls, 4 if scope.complexes or self.ffts and calls else 0, 3 if whole else 0,
                   3 * calls if self.ffts else 0]
        kind = self.weighted(kinds, weights)
        if kind == "atom":
            return self.atom(scope)
        if kind == "binop":
            op = self.pick("+-*")
            left, right = self.expr(scope, depth - 1), self.expr(scope, depth - 1)
            prec = MUL if op == "*" else ADD
            return Expr(f"{paren(left, left.prec < prec)} {op} {paren(right, right.prec <= prec)}", prec)
        if kind == "func":
            return self.func(scope, depth)
        if kind == "pow":
            base = self.expr(scope, depth - 1) if self.chance(1, 2) else self.atom(scope)
            self.tags.add("pow")
            return Expr(f"{paren(base, base.prec < ATOM)} ** {self.pick('23')}", POW)
        if kind == "div":
            num = self.expr(scope, depth - 1)
            form = self.int(0, 2)
            self.tags.add("div")
            if form == 0:
                den = self.pick(("2.0", "3.0", "4.0"))
            elif form == 1:
                v = self.atom(scope)
                den = f"(1.0 + {paren(v, v.prec < ATOM)} * {paren(v, v.prec < ATOM)})"
            else:
                den = f"(2.0 + np.cos({self.expr(scope, depth - 1).text}))"
            return Expr(f"{paren(num, num.prec < MUL)} / {den}", MUL)
        if kind == "neg":
            e = self.atom(scope)
            return Expr(f"-{paren(e, e.prec <= NEG)}", NEG)
        if kind == "helper":
            return self.helper_call(scope)
        if kind == "complex_real":
            return self.complex_real(scope)
        if kind == "reduce":
            return self.reduction(scope)
        self.tags.add("fft_loss")
        X = self.pick(self.ffts)
        form = self.int(0, 1)
        if form == 0:
            return Expr(f"np.sum(np.abs({X}) ** 2)", ATOM)
        return Expr(f"abs({X}[{self.pick(('1', '0', '-1'))}]) ** 2", POW)

    def func(self, scope: Scope, depth: int) -> Expr:
        name = self.pick(("np.sin", "np.cos", "np.tanh", "np.arctan", "exp", "log", "sqrt"))
        self.tags.add(name.replace("np.", ""))
        if name in ("log", "sqrt"):
            v = self.atom(scope) if self.chance(3, 1) else self.expr(scope, depth - 1)
            t = paren(v, v.prec < ATOM)
            return Expr(f"np.{name}(1.0 + {t} * {t})", ATOM)
        arg = self.expr(scope, depth - 1)
        if name == "exp":
            inner = self.pick(("np.tanh", "np.sin", "np.cos"))
            return Expr(f"np.exp({inner}({arg.text}))", ATOM)
        return Expr(f"{name}({arg.text})", ATOM)

    def complex_expr(self, scope: Scope) -> str:
        values = list(scope.complexes) + [f"{X}[{self.pick(('1', '0', '-1'))}]" for X in self.ffts if not scope.helper]
        z = self.pick(values)
        form = self.int(0, 3)
        if form == 0:
            return f"{z} * {z} + 1.0"
        if form == 1:
            w = self.pick(values)
            return f"{z} * {w}"
        if form == 2:
            return f"{z} * complex(0.5, -0.4)"
        e = self.atom(scope)
        return f"{z} * {z} - {paren(e, e.prec <= ADD)}"

    def complex_real(self, scope: Scope) -> Expr:
        self.tags.add("complex")
        ce = self.complex_expr(scope)
        if self.chance(1, 1):
            return Expr(f"({ce}).real", ATOM)
        return Expr(f"abs({ce}) ** 2", POW)

    def array_expr(self, scope: Scope, depth: int = 1, bare: bool = True) -> Expr:
        """A whole-array expression over arrays that may be read whole here (freezes locals); not a
        bare array name unless `bare` (`b = x` would alias x, not copy it)."""
        candidates = self.vectors(readable_whole=True, top=scope.top)
        form = self.int(0, 4) if depth > 0 else 0
        if form == 0 and not bare:
            form = 3
        first = Expr(self.read_whole(self.pick(candidates)), ATOM)
        self.tags.add("whole_array")
        if form == 0:
            return first
        if form == 1:
            return Expr(f"{self.pick(('np.tanh', 'np.sin', 'np.cos'))}({first.text})", ATOM)
        if form == 2:
            other = self.array_expr(scope, depth - 1)
            op = self.pick("*+-")
            prec = MUL if op == "*" else ADD
            return Expr(f"{first.text} {op} {paren(other, other.prec <= prec)}", prec)
        if form == 3:
            s = self.atom(scope)
            return Expr(f"{first.text} * {paren(s, s.prec <= MUL)}", MUL)
        other = self.array_expr(scope, depth - 1)
        return Expr(f"np.tanh({first.text}) * {paren(other, other.prec <= MUL)}", MUL)

    def reduction(self, scope: Scope) -> Expr:
        form = self.pick(("sum", "dot", "mean"))
        self.tags.add(form)
        if form == "dot":
            u = self.read_whole(self.pick(self.vectors(readable_whole=True, top=scope.top)))
            v = self.read_whole(self.pick(self.vectors(readable_whole=True, top=scope.top)))
            return Expr(f"np.dot({u}, {v})", ATOM)
        e = self.array_expr(scope)
        return Expr(f"np.{form}({e.text})", ATOM)

    def helper_call(self, scope: Scope) -> Expr:
        self.tags.add("helper")
        if self.helpers and self.chance(1, 1):
            h = self.pick(self.helpers)
        else:
            h = self.new_helper()
        if h.params[0] == "v" and h.writes and not self.vectors(writable=True):
            h = self.new_scalar_helper()
        args = []
        for p in h.params:
            if p == "v":
                options = self.vectors(writable=True) if h.writes else self.vectors()
                args.append(self.pick(options).name)
            else:
                args.append(self.expr(scope, 1).text)
        return Expr(f"{h.name}({', '.join(args)})", ATOM)

    def new_helper(self) -> Helper:
        form = self.int(0, 5) if self.vectors() else 0
        if form in (0, 3):
            return self.new_scalar_helper()
        name = f"helper{len(self.helpers)}"
        if form == 1 or (form == 5 and not self.vectors(writable=True)):  # a reduction over an array argument
            self.tags.add("helper_loop")
            update = self.pick(("acc = u * acc + np.tanh(v[i])", "acc += v[i] * v[i] * u",
                                "acc = 0.5 * acc + np.sin(u * v[i])"))
            h = Helper(name, ["v", "u"], [Line("acc = 0.0"), For("i", "range(v.shape[0])", [Line(update)])], "acc")
        elif form == 2:  # a loop with a data-dependent exit, on a scalar argument it reassigns
            self.tags.add("helper_while")
            body = [Line("k = 0"),
                    While(BoolOp("and", [Cmp("k", "<", "v.shape[0] - 1"),
                                          Cmp("u", "<", self.pick(("1.0", "0.5", "2.0")))]),
                          [Line("k += 1"), Line("u = u + 0.3 * np.tanh(v[k] * u) + 0.25")])]
            h = Helper(name, ["v", "u"], body, "u * v[0]")
        elif form == 4:  # a branch inside the helper
            self.tags.add("helper_if")
            hscope = Scope(["u", "v2"], [], [], [], top=False, helper=True)
            cond = Cmp(self.pick(("u", "v2", "u * v2")), self.pick("<>"), self.pick(THRESHOLDS))
            body = [If([(cond, [Line(f"r = {self.expr(hscope, 2).text}")]),
                        (None, [Line(f"r = {self.expr(hscope, 2).text}")])])]
            h = Helper(name, ["u", "v2"], body, "r")
        else:  # writes into its array argument: the caller's array changes
            self.tags.add("helper_writes")
            update = self.pick(("v[i] = 0.5 * v[i] + u", "v[i] = v[i] * np.tanh(u + v[i])", "v[i] += u * u"))
            h = Helper(name, ["v", "u"], [For("i", "range(v.shape[0])", [Line(update)])], "v[0]")
            h.writes = True
        self.helpers.append(h)
        return h

    def new_scalar_helper(self) -> Helper:
        name = f"helper{len(self.helpers)}"
        hscope = Scope(["u", "v2"], [], [], [], top=False, helper=True)
        body = []
        if self.chance(1, 1):
            body.append(Line(f"r = {self.expr(hscope, 2).text}"))
            hscope.scalars.append("r")
        ret = self.expr(hscope, 2).text
        scalar_helpers = [h for h in self.helpers if h.params == ["u", "v2"]]
        if scalar_helpers and self.chance(1, 2):  # a helper calling a helper
            self.tags.add("helper_nested")
            ret = f"{self.pick(scalar_helpers).name}({ret}, u) * 0.5"
        h = Helper(name, ["u", "v2"], body, ret)
        self.helpers.append(h)
        return h

    def condition(self, scope: Scope):
        def one():
            left = self.expr(scope, 1) if self.chance(1, 3) else self.atom(scope)
            for _ in range(4):  # a condition on data, not on constants
                if re.search(r"[A-Za-z_]", re.sub(r"np\.\w+", "", left.text)):
                    break
                left = self.atom(scope)
            if self.chance(1, 5):  # data against data
                self.tags.add("cmp_data")
                right = self.atom(scope)
                if re.search(r"[A-Za-z_]", right.text) and right.text != left.text:
                    return Cmp(left.text, self.pick("><"), right.text)
            return Cmp(left.text, self.pick("><"), self.pick(THRESHOLDS))
        first = one()
        if self.chance(1, 4):
            self.tags.add("boolop")
            return BoolOp(self.pick(("and", "or")), [first, one()])
        return first

    # -- statements -----------------------------------------------------------------------------
    def update(self, scope: Scope) -> Line:
        s = self.pick(scope.assignable)
        form = self.int(0, 6 if scope.loops or scope.in_loop else 7)
        if form == 5:
            return Line(f"{s} *= {self.pick(('0.9', '0.5'))}")
        e = self.expr(scope)
        t = paren(e, e.prec <= ADD)
        if form == 4:
            return Line(f"{s} = {self.pick(('0.9', '-0.4', '0.3'))} * {s} + {t}")
        if form == 6:
            return Line(f"{s} = {s} * np.tanh({e.text})")
        if form == 7:  # not in loops: squaring a recurrence would overflow
            return Line(f"{s} = 0.1 * {s} * {s} + {t}")
        return Line((f"{s} += {e.text}", f"{s} = 0.5 * {s} + {t}", f"{s} = {e.text}", f"{s} -= {e.text}")[form])

    def elem_write(self, scope: Scope) -> Line:
        a = self.pick([a for a in self.arrays if a.writable and not a.frozen])
        target = self.element(a, scope)
        a.busy = True  # `b[0] = np.sum(np.sin(b))` reads b whole, then writes it: refused, as documented
        try:
            e = self.expr(scope)
        finally:
            a.busy = False
        form = self.int(0, 3)
        self.tags.add("param_write" if not a.local else "local_write")
        if form == 0:
            return Line(f"{target} = {e.text}")
        if form == 1:
            return Line(f"{target} += {e.text}")
        if form == 2:
            return Line(f"{target} = 0.5 * {target} + {paren(e, e.prec <= ADD)}")
        src = self.element(a, scope)
        return Line(f"{target} = {src} * {paren(e, e.prec < MUL)}")

    def writable_exists(self) -> bool:
        return any(a.writable and not a.frozen for a in self.arrays)

    def for_loop(self, scope: Scope) -> For:
        var = LOOP_VARS[min(len(scope.loops), len(LOOP_VARS) - 1)]
        outer = [lv for lv in scope.loops if lv.dim == "n"]
        forms = ["n", "n_from1", "n_rev", "n_step2", "n_rev_step2", "n_short", "const", "n_odd", "n_rev_short"]
        if outer:
            forms += ["tri", "tri_upper"]
        if any(a.kind == "matrix" for a in self.arrays) and not any(lv.dim == "m" for lv in scope.loops):
            forms.append("m")
        form = self.pick(forms)
        self.tags.add(f"for_{form}")
        o = outer[-1].name if outer else None
        table = {
            "n": ("range(n)", "n", (var, f"n - 1 - {var}")),
            "n_from1": ("range(1, n)", "n", (var, f"{var} - 1", f"n - 1 - {var}")),
            "n_rev": ("range(n - 1, -1, -1)", "n", (var, f"n - 1 - {var}")),
            "n_step2": ("range(0, n, 2)", "n", (var,)),
            "n_rev_step2": ("range(n - 1, 0, -2)", "n", (var, f"{var} - 1")),
            "n_short": ("range(n - 1)", "n", (var, f"{var} + 1")),
            "const": (f"range({self.pick('32')})", None, ()),
            "tri": (f"range({o})", "n", (var, f"{var} + 1")),
            "tri_upper": (f"range({o}, n)", "n", (var, f"{var} - {o}")),
            "m": ("range(m)", "m", (var, f"m - 1 - {var}")),
            "n_odd": ("range(1, n, 2)", "n", (var, f"{var} - 1")),
            "n_rev_short": ("range(n - 2, -1, -1)", "n", (var, f"{var} + 1")),
        }
        range_text, dim, indices = table[form]
        if len(scope.loops) > 0:
            self.tags.add("nested")
        lv = LoopVar(var, dim, indices)
        inner = scope.child(lv, in_loop=True)
        return For(var, range_text, self.block(inner))

    def while_loop(self, scope: Scope) -> list:
        self.tags.add("while")
        k = self.fresh("k")
        if self.chance(1, 2):  # walk an array while its elements pass a test
            return self.while_scan(scope, k)
        s = self.pick(scope.assignable)
        cond = BoolOp("and", [Cmp(k, "<", self.pick("453")), Cmp(s, self.pick("<>"), self.pick(THRESHOLDS))])
        inner = scope.child(in_loop=True)
        body = [Line(f"{k} += 1")]
        # the loop variable's own update keeps the condition in play
        e = self.expr(inner, 1)
        body.append(Line(f"{s} = {s} + 0.3 * np.tanh({e.text}) + {self.pick(('0.2', '-0.2', '0.4'))}"))
        body += self.block(inner, max_len=2, min_len=0)
        return [Line(f"{k} = 0"), While(cond, body)]

    def while_scan(self, scope: Scope, k: str) -> list:
        self.tags.add("while_scan")
        v = self.pick(self.vectors())
        cond = BoolOp("and", [Cmp(k, "<", "n - 1"), Cmp(f"{v.name}[{k}]", self.pick("<>"), self.pick(THRESHOLDS))])
        inner = scope.child(LoopVar(k, "n", (k, f"{k} - 1")), in_loop=True)  # k in 1..n-1 after the increment
        body = [Line(f"{k} += 1")] + self.block(inner, max_len=2)
        return [Line(f"{k} = 0"), While(cond, body)]

    def if_stmt(self, scope: Scope) -> If:
        self.tags.add("if")
        branches = [(self.condition(scope), self.block(scope.child()))]
        if self.chance(1, 2):
            self.tags.add("elif")
            branches.append((self.condition(scope), self.block(scope.child())))
        if self.chance(1, 1):
            self.tags.add("else")
            branches.append((None, self.block(scope.child())))
        return If(branches)

    def break_stmt(self, scope: Scope) -> If:
        word = self.pick(("break", "continue"))
        self.tags.add(word)
        body = [Line(word)]
        if self.chance(1, 2) and scope.assignable:
            body.insert(0, self.update(scope.child()))
        return If([(self.condition(scope), body)])

    def complex_update(self, scope: Scope) -> Line:
        self.tags.add("complex_recurrence")
        z = self.pick(scope.complexes)
        e = self.expr(scope, 1)
        pole = self.pick(("complex(0.6, 0.3)", "complex(0.2, -0.7)", "complex(0.5, 0.5)"))
        return Line(f"{z} = {z} * {pole} + {paren(e, e.prec <= ADD)}")

    def stmt(self, scope: Scope) -> list:
        """One statement. The kind is drawn with the same weights everywhere (a kind not allowed here
        becomes an update), so that a statement's choices mean the same thing in any block: the
        shrinker can then move a statement out of the loop or branch around it."""
        self.budget -= 1
        kind = self.weighted(KINDS, self.p.stmt)
        allowed = {"update": bool(scope.assignable), "elem_write": self.writable_exists(), "temp": True,
                   "for": True, "if": True, "while": bool(scope.assignable),
                   "break": scope.in_loop, "complex_update": bool(scope.complexes),
                   "local_array": scope.top, "complex": scope.top, "fft": scope.top and bool(self.vectors(True))}
        if scope.depth >= self.p.max_depth or self.budget < 2:
            allowed["for"] = allowed["if"] = allowed["while"] = False
        if not allowed[kind]:
            kind = "update" if allowed["update"] else "temp"
        if kind == "update":
            return [self.update(scope)]
        if kind == "elem_write":
            return [self.elem_write(scope)]
        if kind == "temp":
            if scope.top:  # a local of the function, summed into the result
                name = f"s{len(self.top_scalars)}"
                self.top_scalars.append(name)
            else:  # used only later in its block
                name = self.fresh("t")
            line = Line(f"{name} = {self.expr(scope).text}")
            scope.scalars.append(name)
            scope.assignable.append(name)
            return [line]
        if kind == "for":
            return [self.for_loop(scope)]
        if kind == "if":
            return [self.if_stmt(scope)]
        if kind == "while":
            return self.while_loop(scope)
        if kind == "break":
            return [self.break_stmt(scope)]
        if kind == "complex_update":
            return [self.complex_update(scope)]
        if kind == "local_array":
            return [self.local_array(scope)]
        if kind == "fft":
            return [self.fft(scope)]
        z = f"z{len(self.top_complex)}"
        line = Line(f"{z} = complex({self.expr(scope, 1).text}, {self.expr(scope, 1).text})")
        self.tags.add("complex")
        self.top_complex.append(z)
        scope.complexes.append(z)
        return [line]

    def block(self, scope: Scope, max_len: int | None = None, min_len: int = 1) -> list:
        most = max_len if max_len is not None else self.p.max_body
        out = []
        for stmts in self.seq(min_len, max(min_len, min(most, self.budget)), lambda: self.stmt(scope)):
            out += stmts
        return out or [Line("pass")]

    def local_array(self, scope: Scope) -> Line:
        name = f"b{sum(1 for a in self.arrays if a.local)}"
        forms = ["zeros", "copy", "expr"]
        whole = self.vectors(readable_whole=True)
        form = self.pick(forms if whole else forms[:1])
        self.tags.add(f"local_{form}")
        if form == "zeros":
            text = f"{name} = np.zeros(n)"
        elif form == "copy":
            text = f"{name} = np.copy({self.read_whole(self.pick(whole))})"
        else:
            text = f"{name} = {self.array_expr(scope, bare=False).text}"
        self.arrays.append(ArrayInfo(name, "vector", writable=True, local=True))
        return Line(text)

    def fft(self, scope: Scope) -> Line:
        X = f"X{len(self.ffts)}"
        kind = self.pick(("fft", "rfft"))
        self.tags.add(kind)
        if self.chance(1, 2):
            src = self.array_expr(scope).text
        else:
            src = self.read_whole(self.pick(self.vectors(readable_whole=True)))
        self.ffts.append(X)
        return Line(f"{X} = np.fft.{kind}({src})")

    # -- the whole program ------------------------------------------------------------------------
    def program(self) -> Program:
        nv = self.int(1, 3)
        ns = self.int(0, 2)
        has_matrix = self.chance(self.p.matrix, 3)
        params = [Param(v, "vector") for v in VECTOR_PARAMS[:nv]]
        params += [Param(s, "scalar") for s in SCALAR_PARAMS[:ns]]
        if has_matrix:
            params.append(Param(MATRIX_PARAM, "matrix"))
            self.tags.add("matrix")
        for p in params:
            if p.kind != "scalar":
                writable = self.chance(1, 2)
                self.arrays.append(ArrayInfo(p.name, p.kind, writable=writable, local=False))
        n = self.int(2, 6)
        m = self.int(1, 4) if has_matrix else 0
        body = [Line("n = x.shape[0]")]
        if has_matrix:
            body.append(Line("m = A.shape[0]"))
        scalars = [p.name for p in params if p.kind == "scalar"]
        init = self.expr(Scope(scalars, [], [], []), 1).text if self.chance(1, 2) else "0.0"
        body.append(Line(f"s0 = {init}"))
        self.top_scalars.append("s0")
        scope = Scope(scalars + ["s0"], ["s0"] + scalars, [], [])  # scalar arguments may be reassigned too
        for stmts in self.seq(1, self.p.max_top, lambda: self.stmt(scope) if self.budget > 0 else []):
            body += stmts
        ret = self.result_expression()
        wrt = tuple(p.name for p in params if self.chance(2, 1))
        if not wrt:
            wrt = (params[0].name,)
        checks = Checks(hvp=self.chance(*self.p.hvp), numba=self.chance(*self.p.numba))
        seed = self.int(0, 2 ** 16)
        return Program(self.helpers, params, body, ret, n, m, seed, wrt, checks, frozenset(self.tags))

    def result_expression(self) -> str:
        terms = list(self.top_scalars)
        terms += [f"np.sum({a.name} * {a.name})" for a in self.arrays if a.local]
        terms += [f"abs({z}) ** 2" for z in self.top_complex]
        terms += [f"np.sum(np.abs({X}) ** 2)" for X in self.ffts]
        terms += [f"np.sum({a.name} * {a.name})" for a in self.arrays if not a.local and a.writable
                  and a.kind == "vector"]
        return " + ".join(terms)


def _in_span(draw, gen: Gen, fn):
    outer, gen.draw = gen.draw, draw
    try:
        return fn()
    finally:
        gen.draw = outer


@st.composite
def _stmt(draw, gen: Gen, fn):
    return _in_span(draw, gen, fn)


@st.composite
def _expr(draw, gen: Gen, fn):
    return _in_span(draw, gen, fn)


@st.composite
def _list(draw, gen: Gen, fn):
    return _in_span(draw, gen, fn)


@st.composite
def programs(draw, profile: str | Profile = "mixed") -> Program:
    """A random program of the subset with its inputs, `wrt` and which extra checks to run."""
    p = PROFILES[profile] if isinstance(profile, str) else profile
    return Gen(draw, p).program()
