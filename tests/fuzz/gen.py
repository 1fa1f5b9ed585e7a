"""Random programs in adc's differentiable subset, built by hypothesis and printed as Python.

A program is a small tree (statements with string expressions) printed as a module: helpers, then
`main`, which ends with one `return` of a real scalar. Its inputs are drawn from a seed.

Every choice is one `draw` of a small integer, and the draws are grouped so that hypothesis's
shrinker can work on whole statements: a statement list is a linked list of (flag, statement,
rest) units, so putting the rest in a unit's place deletes a statement; statements and expressions
are labelled units, so a loop or branch can be replaced by one of its own statements and an
expression by a subexpression; a statement kind is drawn with the same weights in every block, so
it means the same thing when moved. Smaller integers mean simpler choices (the first kind, form,
constant).

Constructs:

- scalars: recurrences (`s = 0.9 * s + ...`, `s = e + s`, `s *= 0.5`, a phase `s = (s + e) % 6.283`), float
  `%` and `//` in expressions, complex locals and recurrences with real losses;
- control flow: for loops of fourteen range forms (negative steps, triangular `range(i)` /
  `range(i, n)`, 2-d row loops, sliding windows `range(n - K + 1)` / `range(K, n)` with
  `x[i:i + K]` / `x[i - K:i]`), while loops with a counter (on a scalar, or scanning an array),
  if/elif/else on data (against constants or data), `and`/`or` whose right side may call a helper
  that writes an array (so it runs only when Python's short-circuit says so), break/continue;
  one top-level for loop in three (any range form, any body but `break`) marked
  `adc.checkpoint(range(...), snapshots=s)` with s in 1, 2, 3, 5 (tag "checkpoint"): the reverse
  sweep recomputes its steps from stored states, so carried scalars and arrays, arrays written in
  place and read by later steps, nested loops, branches and helpers all go through the schedule;
- element reads and writes of argument arrays, local arrays, views and block temporaries, with
  indices valid by construction (loop indices only on axes at least as long as the loop's range);
- indices near and past the bounds (profile `edge`): `x[i + 1]`, `x[i - 2]`, `x[n - i]`,
  `x[-1 - i]`, `x[i - n - 1]`, `x[int(1.5 * i)]`, `x[n]`, `x[-n - 1]`, on any array (also shorter
  ones: views, slices), in reads, writes, rows and columns (`A[m, :]`), while loops, helpers and
  branches, mostly in bounds
  (negative indices wrap around) and past them with the odds `oob`; the generator knows the values
  each loop index takes and so which of them may raise (tag "may_raise"); guarded reads
  `(x[i + 1] if i + 1 < x.shape[0] else c)` and `if i + 1 < n:` blocks that may read `x[i + 1]`
  (now and then with an off-by-one guard); loops whose ranges pass the arrays' ends
  (`range(n + 1)`, `range(1, n + 1)`, `range(3)` with n = 2) and strides of 3; while loops that
  scan to the end. The oracle checks that adc raises IndexError exactly when Python does;
- whole-array reads, anywhere, of arrays written before, after or in the same loop: the array or a
  slice of it (`x[1:]`, `x[:-1]`, `x[::2]`, `x[1::2]`, `x[1:-1]`, `x[:2]`, `x[::-1]`,
  `x[n - K:n]`, windows in loops), rows `A[i, :]`, columns `A[:, j]`, transposes `A.T`, in
  elementwise expressions of matching concrete length, `np.sum` / `np.mean` / `np.dot`,
  `A @ v`, `A.T @ u`, matrix products and sums of matrix expressions; element writes whose value
  reads the written array whole (`x[i] = np.sum(x) * x[i]`, `b[0] = np.dot(x, b)`); element updates
  `x[i] += e`, `-=`, `*= 0.9 + 0.1 * np.tanh(e)`, `/= 1.5 + np.tanh(e)`;
- named views `v = x[1:]`, `v = A[:, 0]`, `v = A.T` (read after their base is written, and
  written through: `v[0] = ...` changes the base);
- arrays as values: local arrays (zeros, copies of arrays or slices, expressions), matrix state
  (`P = A.T @ A * 0.1`, mostly with a loop that carries it), whole arrays reassigned in any
  block, so carried by loops (`y = 0.9 * y + x`, `y = np.tanh(c * y) + ...`, `y = np.sin(y)`
  then `y[0] = ...`,
  `P = A.T @ (A @ P @ A.T) @ A * 0.05 + 0.5 * P`, `y = helper(y, c)`; views of this step's product
  carried to the next, `P = (np.tanh(P) @ (0.3 * M)).T`, `y = (A.T @ np.tanh(A @ y * 0.3))[::-1]`, which
  the numba backend must not give a loop buffer), also of argument arrays
  and inside branches; array temporaries inside blocks; Haar-like halving `h = 0.5 * (h[0::2] +
  h[1::2])` of a length-8/16 local for at most log2 levels (for, or while with a counter);
- helpers: scalar, with a branch, calling helpers, reducing an array (also over slices), a while
  loop reassigning an argument, writing into an array argument (then returning an element or
  reading it whole), returning arrays (`c * v + np.sin(v)`, a filter loop into a copy, writing
  into the argument and returning it, `0.5 * (v[1:] + v[:-1])`), predicates that write an element
  and compare it; array arguments may be named arrays or slices (views: the writes go through);
- np.fft.fft/rfft (of arrays, slices or expressions) with |X|**2 losses.

Generation keeps to the subset and to valid numpy by construction:

- locals are given a value at the top level before any loop or branch assigns them; a
  temporary (scalar or array) first assigned inside a block is used only later in that block;
- every array has a concrete shape at generation time (the program runs at one n and m), and
  whole-array expressions combine only operands of equal shape; arrays whose length a loop
  changes by a data-dependent number of steps are only summed into the result;
- argument arrays are either writable or never written (not even through views or helpers);
  views are never reassigned; argument arrays are never passed twice to one call (but a helper
  that writes into its argument and returns it, `y = h(x, c)`, makes y an alias of x);
- math stays in smooth domains (exp of bounded values, log(1 + v*v), sqrt(1 + v*v), division by
  constants or 1 + v*v, tanh around matrix recurrences), branch thresholds are constants,
  `while` loops have a counter bound.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from hypothesis import strategies as st

CONSTS = ("0.5", "1.5", "-0.3", "2.0", "0.25", "-1.2", "0.8", "3.0")
THRESHOLDS = ("0.1", "-0.2", "0.5", "0.0", "0.3", "-0.6", "1.0", "2.0")
SCALAR_PARAMS = ("a", "c")
VECTOR_PARAMS = ("x", "y", "w")
MATRIX_PARAM = "A"
LOOP_VARS = ("i", "j", "l")
# slices of a vector, simplest first: (text after the name, the slice)
SLICES = (("[1:]", slice(1, None)), ("[:-1]", slice(None, -1)), ("[::2]", slice(None, None, 2)),
          ("[1::2]", slice(1, None, 2)), ("[1:-1]", slice(1, -1)), ("[:2]", slice(None, 2)),
          ("[::-1]", slice(None, None, -1)))


# np.linalg of a matrix M built from a vector e, as a real number (numpy_reduction)
LINALG_FORMS = {
    "solve": "np.dot(np.linalg.solve({m}, {e}), {e})",
    "inv": "np.sum(np.linalg.inv({m}) @ {e})",
    "det": "np.log(np.linalg.det({m}))",
    "slogdet": "np.linalg.slogdet({m})[1]",
    "cholesky": "np.sum(np.linalg.cholesky({m})[:, 0] * {e})",
    "eigvalsh": "np.sum(np.linalg.eigvalsh({m}) ** 3)",
}


# scalar helpers (u, v2) with a custom reverse-mode rule that is their exact derivative: (return expression,
# the fwd and bwd definitions, NAME standing for the helper's)
CUSTOM_RULES = (
    ("np.tanh(u) * v2", """
def NAME_fwd(u, v2):
    return NAME(u, v2), (np.tanh(u), v2)


def NAME_bwd(res, g):
    y, w = res
    return (g * w * (1.0 - y * y), g * y)
"""),
    ("u * np.sin(v2)", """
def NAME_fwd(u, v2):
    return u * np.sin(v2), (u, v2)


def NAME_bwd(res, g):
    a, b = res
    total = 0.0 * g
    for _ in range(2):
        total = total + 0.5 * g * a * np.cos(b)
    return (g * np.sin(b), total)
"""),
    ("np.exp(0.5 * u) + v2", """
def NAME_fwd(u, v2):
    y = np.exp(0.5 * u)
    return y + v2, y


def NAME_bwd(y, g):
    return (0.5 * g * y, g)
"""),
)

# scalar helpers (u, v2) with a custom forward-mode rule (adc.custom_jvp) that is their exact derivative:
# (return expression, the rule's definition); reverse mode refuses programs that call them
CUSTOM_JVP_RULES = (
    ("np.tanh(u) * v2", """
def NAME_jvp(primals, tangents):
    u, v2 = primals
    du, dv = tangents
    y = np.tanh(u)
    return y * v2, (1.0 - y * y) * v2 * du + y * dv
"""),
    ("u * np.sin(v2)", """
def NAME_jvp(primals, tangents):
    u, v2 = primals
    du, dv = tangents
    total = 0.0 * du
    for _ in range(2):
        total = total + 0.5 * u * np.cos(v2) * dv
    return u * np.sin(v2), np.sin(v2) * du + total
"""),
    ("np.log1p(np.exp(u)) * v2", """
def NAME_jvp(primals, tangents):
    u, v2 = primals
    du, dv = tangents
    return NAME(u, v2), v2 * du / (1.0 + np.exp(-u)) + np.log1p(np.exp(u)) * dv
"""),
)


# -- the program tree ------------------------------------------------------------------------

@dataclass
class Cmp:
    left: str
    op: str
    right: str

    def render(self) -> str:
        return f"{self.left} {self.op} {self.right}"


@dataclass
class Call:
    """A condition that is a call (a predicate helper)."""
    text: str

    def render(self) -> str:
        return self.text


@dataclass
class BoolOp:
    op: str  # "and" / "or"
    parts: list  # of Cmp / Call

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
    # "scalar" (u, v2) -> float; "vec" (v, u) -> float; "array" (v, u) -> array of len(v) + delta;
    # "pred" (v, k) -> bool
    kind: str = "scalar"
    delta: int = 0
    alias: bool = False  # returns its argument itself
    rule: str = ""  # an adc.custom_vjp rule: the source of NAME_fwd and NAME_bwd (CUSTOM_RULES)
    jvp_rule: str = ""  # an adc.custom_jvp rule: the source of NAME_jvp (CUSTOM_JVP_RULES)


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
        if any(h.rule or h.jvp_rule for h in self.helpers) or "checkpoint" in self.tags \
                or any(t.startswith("dsp_") for t in self.tags):
            lines[1:1] = ["", "import adc"]
        for h in self.helpers:
            decorator = ["@adc.custom_vjp"] if h.rule else ["@adc.custom_jvp"] if h.jvp_rule else []
            lines += [""] + decorator + [f"def {h.name}({', '.join(h.params)}):"]
            lines += render_block(h.body, 1)
            lines.append(f"    return {h.ret}")
            lines.append("")
            if h.rule:
                lines += h.rule.replace("NAME", h.name).splitlines() + [f"{h.name}.defvjp({h.name}_fwd, {h.name}_bwd)", ""]
            if h.jvp_rule:
                lines += h.jvp_rule.replace("NAME", h.name).splitlines() + [f"{h.name}.defjvp({h.name}_jvp)", ""]
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
    min_top: int = 1  # top-level statements at least (the shrinker cannot go below)
    max_body: int = 3
    max_depth: int = 3
    budget: int = 12  # statements in all (not counting initialisations)
    hvp: tuple = (1, 1)  # odds of running the hvp check (for, against)
    numba: tuple = (0, 1)  # odds of also checking the numba backend (for, against)
    slices: tuple = (1, 2)  # odds that an array operand is a slice, row, column or window (for, against)
    reduce: int = 4  # weight of np.sum/mean/dot among the expression kinds (about 100 in all)
    mod: int = 1  # weight of float % and // among the expression kinds; odds (against 30) of a % update
    self_read: tuple = (1, 6)  # odds that an element write's value reads the written array whole
    cond_helper: tuple = (1, 3)  # odds that the right side of and/or calls a helper writing an array
    boolop: tuple = (1, 3)  # odds that a branch condition is an and/or of two
    view_write: tuple = (1, 3)  # odds that an element write goes through a view (when there is one)
    edge: tuple = (0, 1)  # odds that an element index is drawn near or past the bounds
    oob: tuple = (1, 10)  # odds that such an index, a guard or a scan may go past the bounds
    guarded: int = 0  # weight of guarded reads `(x[i + 1] if i + 1 < x.shape[0] else c)` among atoms (12 in all)
    guard_if: tuple = (0, 1)  # odds that an `if` in a loop guards an index (`if i + 1 < n:`)
    edge_loops: bool = False  # loops past the arrays' ends, strides of 3, while scans to the end
    scan_end: tuple = (1, 10)  # odds that a while scan (with edge_loops) runs its counter to n
    # rows and columns selected by near/past-the-bounds indices (A[m, :], A[:, -n - 1]); checked
    # since c546fa4 (numba read past the array before; tests/test_bounds.py)
    edge_rows: bool = False
    # odds that a whole-array expression or a reduction is one of numpy's vocabulary ([4/10]): np.where,
    # np.clip, masks, np.flip/roll/cumsum/sort/diff/pad/concatenate, np.max/min/var/std/norm, sums along axes
    numpy: tuple = (0, 1)


# "temp" is a new local at the top level, a temporary in a block; break/continue only in loops;
# local arrays, complex locals, ffts, views, halving loops and matrix state only at the top level
# ("array_temp" there is a local array); "array_update" reassigns a whole array in any block
KINDS = ("update", "elem_write", "temp", "for", "if", "while", "break", "complex_update", "local_array", "complex",
         "fft", "view", "array_update", "array_temp", "halving", "matrix_state")

# indices near and past the bounds, at the rates of the everyday profiles
EDGES = dict(edge=(1, 12), oob=(1, 10), guarded=1, guard_if=(1, 6), edge_loops=True, edge_rows=True, numpy=(1, 6))

PROFILES = {
    #                 update write temp for if while break cplx_upd local cplx fft view arr_upd arr_tmp halve mat
    "mixed": Profile(stmt=(25, 15, 8, 20, 10, 4, 5, 3, 6, 3, 3, 3, 4, 2, 1, 1), **EDGES),
    "loops": Profile(stmt=(25, 20, 8, 30, 12, 6, 7, 0, 5, 0, 0, 2, 6, 3, 1, 0), **EDGES),
    "arrays": Profile(stmt=(20, 25, 6, 18, 6, 2, 3, 0, 14, 0, 6, 6, 8, 4, 2, 2), matrix=2, slices=(1, 1), reduce=6,
                      **EDGES),
    "complex": Profile(stmt=(20, 12, 8, 16, 8, 3, 3, 12, 4, 12, 10, 2, 3, 1, 1, 0), matrix=0),
    "numba": Profile(stmt=(25, 15, 8, 20, 10, 4, 5, 3, 6, 3, 3, 3, 4, 2, 1, 1), max_top=4, numba=(1, 0), **EDGES),
    # arrays as values: slices and views of arrays written before, after and in the same loop,
    # arrays carried by loops and helpers, writes after whole reads, % and //, writing predicates
    "views": Profile(stmt=(15, 22, 6, 18, 6, 3, 3, 1, 8, 1, 3, 10, 14, 6, 5, 5), matrix=2, slices=(3, 1),
                     reduce=8, mod=2, self_read=(1, 2), cond_helper=(2, 1), boolop=(1, 1), view_write=(1, 1),
                     min_top=3, max_top=6, **EDGES),
    # indices near and past the bounds everywhere: offsets, wrap-around, guards, writes, while
    # scans, loops past the ends, shorter arrays (views, slices, local arrays)
    # numpy's vocabulary everywhere, over views, arrays written before and after, loops and helpers
    "numpy": Profile(stmt=(15, 20, 8, 18, 6, 3, 3, 0, 8, 0, 2, 8, 12, 6, 3, 3), matrix=2, slices=(2, 1), reduce=10,
                     view_write=(1, 1), self_read=(1, 2), min_top=2, numpy=(2, 1)),
    "bounds": Profile(stmt=(25, 22, 6, 30, 14, 8, 5, 0, 8, 0, 0, 5, 4, 2, 0, 1), matrix=2, slices=(1, 1),
                      edge=(1, 1), oob=(1, 7), guarded=6, guard_if=(1, 1), edge_loops=True, scan_end=(1, 2),
                      edge_rows=True),
}


# -- the generator -----------------------------------------------------------------------------

@dataclass
class LoopVar:
    name: str
    dim: str | None  # "n" (the range is within 0..n-1), "m" (within 0..m-1) or None
    indices: tuple  # index expressions in 0..n-1 (or 0..m-1)
    windows: tuple = ()  # (slice text, length) of windows `x[i:i + K]` valid for arrays of length >= n
    values: tuple = ()  # every value the index may take (all iterations of the loops around), for edge indices


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
    temps: list = field(default_factory=list)  # array temporaries of this block (ArrayInfo)

    def child(self, loop: LoopVar | None = None, in_loop: bool = False) -> "Scope":
        return Scope(list(self.scalars), list(self.assignable), list(self.complexes),
                     self.loops + ([loop] if loop else []), self.in_loop or in_loop, self.depth + 1, False,
                     self.helper, list(self.temps))


@dataclass
class ArrayInfo:
    name: str
    shape: tuple | None  # concrete; None: unknown (only summed into the result)
    writable: bool  # element writes allowed (argument arrays: half of them are never written)
    local: bool
    view: bool = False  # names (part of) another array's memory; never reassigned

    @property
    def kind(self) -> str:
        return "vector" if self.shape is not None and len(self.shape) == 1 else "matrix"


@dataclass
class Source:
    """An array operand of a whole-array expression: an array or a view of it."""
    length: int
    whole: bool
    make: Callable  # () -> text (draws the indices of rows and columns)
    base: ArrayInfo
    window: bool = False  # x[i:i + K] of an enclosing window loop


@dataclass
class Expr:
    text: str
    prec: int  # 100 atom/call, 90 power, 80 unary minus, 70 * / @ % //, 60 + -


ATOM, POW, NEG, MUL, ADD = 100, 90, 80, 70, 60


def paren(e: Expr, need: bool) -> str:
    return f"({e.text})" if need else e.text


class Gen:
    def __init__(self, draw, profile: Profile):
        self.draw = draw
        self.p = profile
        self.arrays: list[ArrayInfo] = []  # top-level arrays (arguments, locals, views)
        self.helpers: list[Helper] = []
        self.counter = 0
        self.tags: set[str] = set()
        self.ffts: list[str] = []  # complex fft arrays (never written)
        self.top_scalars: list[str] = []  # locals summed into the result
        self.top_complex: list[str] = []
        self.budget = profile.budget
        self.n = self.m = 0
        self.edges = 0  # indices drawn near or past the bounds so far

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
    def arrays_in(self, scope: Scope) -> list:
        """The arrays of known shape visible in `scope` (none in a helper's body)."""
        if scope.helper:
            return []
        return [a for a in self.arrays + scope.temps if a.shape is not None]

    def vectors(self, scope: Scope, writable: bool = False, min_len: int = 1) -> list:
        return [a for a in self.arrays_in(scope) if a.kind == "vector" and a.shape[0] >= min_len
                and (a.writable or not writable)]

    def matrices(self, scope: Scope) -> list:
        return [a for a in self.arrays_in(scope) if a.kind == "matrix"]

    def param_matrix(self) -> ArrayInfo | None:
        return next((a for a in self.arrays if a.name == MATRIX_PARAM), None)

    def bound(self, dim: str | None) -> int:
        return {"n": self.n, "m": self.m}.get(dim, 1 << 30)

    def index(self, length: int, scope: Scope, edge: bool = True) -> str:
        """An index valid on an axis of this length: a loop index whose range fits, or a constant; or
        (with the profile's odds `edge`) one near or past the bounds."""
        if edge and self.chance(*self.p.edge):
            return self.edge_index(length, scope)
        options = [ix for lv in scope.loops if lv.dim and self.bound(lv.dim) <= length for ix in lv.indices]
        return self.pick(options + ["0", "-1"] + (["1"] if length >= 2 else []))

    def edge_indices(self, length: int, scope: Scope) -> tuple[list, list]:
        """(in bounds, maybe past them): indices near the ends of an axis of this length, from the
        loop indices (judged on every value they may take) and n, m. Negative ones wrap around."""
        good, bad = [], []

        def add(text, f, values=(0,)):
            (good if all(-length <= f(t) < length for t in values) else bad).append(text)

        sizes = [("n", self.n)] + ([("m", self.m)] if self.m else [])
        for lv in scope.loops:
            if not lv.values:
                continue
            v, values = lv.name, lv.values
            add(v, lambda t: t, values)
            for c in (1, 2):
                add(f"{v} + {c}", lambda t, c=c: t + c, values)
                add(f"{v} - {c}", lambda t, c=c: t - c, values)
            add(f"-1 - {v}", lambda t: -1 - t, values)
            add(f"-{v} - 2", lambda t: -t - 2, values)
            for name, size in sizes:
                add(f"{name} - 1 - {v}", lambda t, size=size: size - 1 - t, values)
                add(f"{name} - {v}", lambda t, size=size: size - t, values)
                add(f"{v} - {name}", lambda t, size=size: t - size, values)
                add(f"{v} - {name} - 1", lambda t, size=size: t - size - 1, values)
            add(f"int(0.5 * {v})", lambda t: int(0.5 * t), values)
            add(f"int(1.5 * {v})", lambda t: int(1.5 * t), values)
        for name, size in sizes:
            for text, value in ((f"{name} - 2", size - 2), (f"{name} - 1", size - 1), (name, size), (f"-{name}", -size),
                                (f"-{name} - 1", -size - 1), (f"1 - {name}", 1 - size)):
                add(text, lambda t, value=value: value)
        add("2", lambda t: 2)
        add("-2", lambda t: -2)
        return good, bad

    def edge_index(self, length: int, scope: Scope) -> str:
        self.edges += 1
        good, bad = self.edge_indices(length, scope)
        if bad and (not good or self.chance(*self.p.oob)):
            self.tags.update(("oob_index", "may_raise"))
            return self.pick(bad)
        self.tags.add("edge_index")
        return self.pick(good or ["0"])

    def element(self, a: ArrayInfo, scope: Scope) -> str:
        return f"{a.name}[{', '.join(self.index(d, scope) for d in a.shape)}]"

    def guarded_read(self, scope: Scope) -> Expr:
        """`(x[i + 1] if i + 1 < x.shape[0] else c)`: a read past the end unless guarded (now and
        then with an off-by-one guard, with the odds `oob`)."""
        lv = self.pick([lv for lv in scope.loops if lv.values])
        a = self.pick(self.arrays_in(scope))
        axis = self.int(0, len(a.shape) - 1)
        v, d = lv.name, self.int(1, 2)
        size = f"{a.name}.shape[{axis}]"
        default = self.atom(scope) if self.chance(1, 1) else Expr(self.pick(CONSTS[:3]), ATOM)
        form = self.int(0, 2)
        if self.chance(*self.p.oob):  # off by one
            self.tags.update(("oob_guard", "may_raise"))
            text, cond = f"{v} + {d}", f"{v} + {d} <= {size}"
        elif form == 0:
            text, cond = f"{v} + {d}", f"{v} + {d} < {size}"
        elif form == 1:
            text, cond = f"{v} + {d}", f"{v} < {size} - {d}"
        else:
            text, cond = f"{v} - {d}", f"{v} >= {d}"
        indices = [self.index(n, scope, edge=False) for n in a.shape]
        indices[axis] = text
        self.tags.add("guarded_read")
        return Expr(f"({a.name}[{', '.join(indices)}] if {cond} else {paren(default, default.prec <= NEG)})", ATOM)

    def sources(self, scope: Scope, length: int | None = None, min_len: int = 1, writable: bool = False) -> list:
        """The array operands of a given length: whole vectors, their slices and windows, matrix rows
        and columns (all views of an array of this scope)."""
        out = []
        for a in self.arrays_in(scope):
            if writable and not a.writable:
                continue
            if a.kind == "vector":
                size = a.shape[0]
                out.append(Source(size, True, lambda a=a: a.name, a))
                for text, sl in SLICES:
                    k = len(range(size)[sl])
                    if k:
                        out.append(Source(k, False, lambda a=a, t=text: self._tag(a.name + t, "slice"), a))
                if size >= self.n:
                    for k in (2, 3):
                        if k <= self.n:
                            out.append(Source(k, False, lambda a=a, k=k: self._tag(f"{a.name}[n - {k}:n]", "slice_end"),
                                              a))
                    for lv in scope.loops:
                        for w, k in lv.windows:
                            out.append(Source(k, False, lambda a=a, w=w: self._tag(f"{a.name}[{w}]", "window"), a,
                                              window=True))
            else:
                r, c = a.shape
                out.append(Source(c, False, lambda a=a, r=r: self._tag(f"{a.name}[{self.row(r, scope)}, :]",
                                                                       "matrix_row"), a))
                out.append(Source(r, False, lambda a=a, c=c: self._tag(f"{a.name}[:, {self.row(c, scope)}]",
                                                                       "matrix_col"), a))
        return [s for s in out if (length is None or s.length == length) and s.length >= min_len]

    def row(self, length: int, scope: Scope) -> str:
        """The index of a row or column selection (A[r, :], A[:, c])."""
        return self.index(length, scope, edge=self.p.edge_rows)

    def _tag(self, text: str, tag: str) -> str:
        self.tags.add(tag)
        return text

    def pick_source(self, scope: Scope, length: int | None = None, min_len: int = 1, writable: bool = False,
                    base: ArrayInfo | None = None, window: bool = False):
        """(text, length, source) of an array operand; a slice with the profile's odds."""
        options = self.sources(scope, length, min_len, writable)
        if base is not None:
            options = [s for s in options if s.base is base] or options
        if window:
            options = [s for s in options if s.window] or options
        whole = [s for s in options if s.whole]
        parts = [s for s in options if not s.whole]
        pool = parts if parts and (not whole or self.chance(*self.p.slices)) else whole
        windows = [s for s in pool if s.window]
        if windows and len(windows) < len(pool) and self.chance(1, 1):  # the loop's own window
            pool = windows
        s = self.pick(pool)
        return s.make(), s.length, s

    # -- expressions --------------------------------------------------------------------------
    def atom(self, scope: Scope) -> Expr:
        kinds = ["const", "scalar", "element", "guarded"]
        arrays = self.arrays_in(scope)
        guards = self.p.guarded if arrays and any(lv.values for lv in scope.loops) else 0
        weights = [2, 4 if scope.scalars else 0, 6 if arrays else 0, guards]
        kind = self.weighted(kinds, weights)
        if kind == "guarded":
            return self.guarded_read(scope)
        if kind == "const":
            c = self.pick(CONSTS)
            return Expr(c, NEG if c.startswith("-") else ATOM)
        if kind == "scalar":
            return Expr(self.pick(scope.scalars), ATOM)
        a = self.pick(arrays)
        return Expr(self.element(a, scope), ATOM)

    def expr(self, scope: Scope, depth: int = 2) -> Expr:
        return self.span(lambda: self._expr(scope, depth), _expr)

    def _expr(self, scope: Scope, depth: int) -> Expr:
        if depth <= 0:
            return self.atom(scope)
        kinds = ["atom", "binop", "func", "pow", "div", "neg", "helper", "complex_real", "reduce", "fft_loss", "mod"]
        whole = bool(self.arrays_in(scope))
        calls = 0 if scope.helper else 1
        weights = [30, 30, 18, 5, 5, 2, 4 * calls, 4 if scope.complexes or self.ffts and calls else 0,
                   self.p.reduce if whole else 0, 3 * calls if self.ffts else 0, self.p.mod]
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
        if kind == "mod":
            e = self.expr(scope, depth - 1)
            if self.chance(1, 2):
                self.tags.add("floordiv")
                return Expr(f"0.5 * ({paren(e, e.prec < MUL)} // {self.pick(('1.5', '0.7'))})", MUL)
            self.tags.add("mod")
            return Expr(f"{paren(e, e.prec < MUL)} % {self.pick(('2.0', '6.283', '1.5'))}", MUL)
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

    # -- whole-array expressions ------------------------------------------------------------------
    def array_expr(self, scope: Scope, length: int | None = None, depth: int = 1, bare: bool = True,
                   first: Expr | None = None):
        """(Expr, length): a vector expression of the given length (any, if None) over the arrays,
        slices, rows and columns of this scope; not a bare array or view unless `bare` (`b = x[1:]`
        would alias x, not copy it). `first`, a source's text, is its first operand."""
        return self.span(lambda: self._array_expr(scope, length, depth, bare, first), _expr)

    def _array_expr(self, scope: Scope, length, depth, bare, first):
        self.tags.add("whole_array")
        form = self.int(0, 6) if depth > 0 else 0
        if form == 5 and first is None:  # a matrix times a vector
            options = [(a, False) for a in self.matrices(scope) if length in (None, a.shape[0])]
            options += [(a, True) for a in self.matrices(scope) if length in (None, a.shape[1])]
            if options:
                a, transposed = self.pick(options)
                self.tags.add("matvec")
                if transposed:
                    self.tags.add("transpose")
                inner, _ = self.array_expr(scope, a.shape[0] if transposed else a.shape[1], 0)
                name = f"{a.name}.T" if transposed else a.name
                return Expr(f"{name} @ {paren(inner, inner.prec <= MUL)}", MUL), a.shape[1] if transposed else a.shape[0]
        if form == 6 and first is None:  # a helper returning an array
            call = self.array_helper_call(scope, length)
            if call is not None:
                e, size, h = call
                if h.alias and not bare:  # `b = helper(x, c)` would alias x
                    return Expr(f"{e.text} * 1.0", MUL), size
                return e, size
        if form >= 5:
            form = 3
        if first is None:
            text, length, _ = self.pick_source(scope, length)
            first = Expr(text, ATOM)
        if form == 0 and not bare:
            form = 3
        if form > 0 and self.chance(*self.p.numpy):
            return self.numpy_map(scope, first, length, bare)
        if form == 0:
            return first, length
        if form == 1:
            return Expr(f"{self.pick(('np.tanh', 'np.sin', 'np.cos'))}({first.text})", ATOM), length
        if form == 2:
            other, _ = self.array_expr(scope, length, depth - 1)
            op = self.pick("*+-")
            prec = MUL if op == "*" else ADD
            return Expr(f"{first.text} {op} {paren(other, other.prec <= prec)}", prec), length
        if form == 3:
            s = self.atom(scope)
            return Expr(f"{first.text} * {paren(s, s.prec <= MUL)}", MUL), length
        other, _ = self.array_expr(scope, length, depth - 1)
        return Expr(f"np.tanh({first.text}) * {paren(other, other.prec <= MUL)}", MUL), length

    def numpy_map(self, scope: Scope, first: Expr, length: int, bare: bool):
        """(Expr, length) of one of numpy's array-to-array functions applied to `first` (a view, np.flip,
        only where the result may alias)."""
        forms = ["where", "clip", "maximum", "roll", "cumsum", "sort", "rotate", "compare"] + (["flip"] if bare else [])
        forms += ["dsp_smooth_l1", "dsp_huber", "dsp_smooth_clip", "dsp_soft_threshold", "dsp_delay", "dsp_interp"]
        form = self.pick(forms)
        self.tags.add(form if form.startswith("dsp_") else f"np_{form}")
        f = first.text
        if form.startswith("dsp_"):  # adc.dsp's library, inlined: array to array of the same length
            t = self.atom(scope)
            return Expr({"dsp_smooth_l1": f"adc.dsp.smooth_l1({f}, 0.1)",
                         "dsp_huber": f"adc.dsp.huber({f}, 0.5)",
                         "dsp_smooth_clip": f"adc.dsp.smooth_clip({f}, -0.8, 0.9)",
                         "dsp_soft_threshold": f"adc.dsp.soft_threshold({f}, 0.15)",
                         "dsp_delay": f"adc.dsp.fractional_delay({f}, 0.3 + 0.2 * np.tanh({t.text}))",
                         "dsp_interp": f"adc.dsp.interp_cubic({f}, 0.4 + 0.5 * np.arange({length}))",
                         }[form], ATOM), length
        if form == "where":
            other, _ = self.array_expr(scope, length, 0)
            t = self.atom(scope)
            return Expr(f"np.where({f} > {paren(t, t.prec < ADD)}, {f}, {other.text})", ATOM), length
        if form == "clip":
            c = self.pick(("0.3", "0.6", "1.0"))
            return Expr(f"np.clip({f}, -{c}, {c})", ATOM), length
        if form == "maximum":
            t = self.atom(scope)
            return Expr(f"np.maximum({f}, {t.text})", ATOM), length
        if form == "roll":
            return Expr(f"np.roll({f}, {self.pick(('1', '-1', '2'))})", ATOM), length
        if form == "cumsum":
            return Expr(f"0.3 * np.cumsum({f})", MUL), length
        if form == "sort":
            return Expr(f"np.sort({f})", ATOM), length
        if form == "rotate":
            return Expr(f"np.concatenate(({f}[1:], {f}[:1]))", ATOM), length
        if form == "compare":
            other, _ = self.array_expr(scope, length, 0)
            return Expr(f"({f} < {other.text}) * {paren(first, first.prec <= MUL)}", MUL), length
        return Expr(f"np.flip({f})", ATOM), length

    def oriented(self, scope: Scope) -> list:
        """(text, shape) of the matrices of this scope and their transposes."""
        out = []
        for a in self.matrices(scope):
            out.append((a.name, a.shape))
            out.append((f"{a.name}.T", a.shape[::-1]))
        return out

    def matrix_expr(self, scope: Scope, shape: tuple, depth: int = 1) -> Expr:
        """A matrix expression of this shape: matrices, transposes, products, elementwise maps."""
        return self.span(lambda: self._matrix_expr(scope, shape, depth), _expr)

    def _matrix_expr(self, scope: Scope, shape: tuple, depth: int) -> Expr:
        oriented = self.oriented(scope)
        direct = [t for t, s in oriented if s == shape]
        products = [f"{t1} @ {t2}" for t1, s1 in oriented for t2, s2 in oriented
                    if s1[0] == shape[0] and s2[1] == shape[1] and s1[1] == s2[0]]
        if products and (not direct or self.chance(1, 2)):
            self.tags.add("matmat")
            first = Expr(self.pick(products), MUL)
        else:
            first = Expr(self.pick(direct), ATOM)
        if ".T" in first.text:
            self.tags.add("transpose")
        form = self.int(0, 4) if depth > 0 else 0
        if form == 0:
            return first
        if form == 1:
            return Expr(f"{self.pick(('np.tanh', 'np.sin', 'np.cos'))}({first.text})", ATOM)
        if form == 2:
            s = self.atom(scope)
            return Expr(f"{paren(first, first.prec < MUL)} * {paren(s, s.prec <= MUL)}", MUL)
        other = self.matrix_expr(scope, shape, depth - 1)
        if form == 3:
            return Expr(f"{first.text} + {paren(other, other.prec <= ADD)}", ADD)
        return Expr(f"np.tanh({first.text}) * {paren(other, other.prec <= MUL)}", MUL)

    def reduction(self, scope: Scope, base: ArrayInfo | None = None, window: bool = False) -> Expr:
        """np.sum / np.mean / np.dot of vector expressions (of `base`'s memory first, if given; of
        the enclosing loop's window if `window`), or np.sum / np.mean of a matrix expression."""
        forms = ["sum", "dot", "mean"] + (["matrix"] if self.matrices(scope) and base is None and not window else [])
        form = self.pick(forms)
        if self.chance(*self.p.numpy):
            return self.numpy_reduction(scope, base, window)
        if form == "matrix":
            shape = self.pick([s for _, s in self.oriented(scope)])
            e = self.matrix_expr(scope, shape)
            self.tags.add("matrix_sum")
            red = self.pick(("sum", "mean"))
            if self.chance(1, 1):
                f = self.matrix_expr(scope, shape, 0)
                return Expr(f"np.{red}({paren(e, e.prec < MUL)} * {paren(f, f.prec <= MUL)})", ATOM)
            return Expr(f"np.{red}({e.text})", ATOM)
        self.tags.add(form)
        first = None
        length = None
        if base is not None or window:
            text, length, _ = self.pick_source(scope, base=base, window=window)
            first = Expr(text, ATOM)
        if form == "dot":
            if first is None:
                first, length = self.array_expr(scope, None, 0)
            other, _ = self.array_expr(scope, length, 1 if self.chance(1, 2) else 0)
            return Expr(f"np.dot({first.text}, {other.text})", ATOM)
        e, _ = self.array_expr(scope, length, first=first)
        return Expr(f"np.{form}({e.text})", ATOM)

    def numpy_reduction(self, scope: Scope, base: ArrayInfo | None, window: bool) -> Expr:
        """One of numpy's reductions beyond sum/mean/dot: extremes, moments, norms, masks, differences,
        padding, sums along an axis of a matrix."""
        forms = ["max", "min", "var", "std", "norm", "norm1", "mask", "diff", "pad", "solve", "inv", "det", "slogdet",
                 "cholesky", "eigvalsh"]
        if self.matrices(scope) and base is None and not window:
            forms += ["axis", "keepdims"]
        form = self.pick(forms)
        self.tags.add(f"np_{form}")
        if form in ("axis", "keepdims"):
            shape = self.pick([s for _, s in self.oriented(scope)])
            e = self.matrix_expr(scope, shape)
            axis = self.int(0, 1)
            if form == "axis":
                v, _ = self.array_expr(scope, shape[1 - axis], 0)
                return Expr(f"np.dot(np.sum({e.text}, axis={axis}), {v.text})", ATOM)
            return Expr(f"np.sum(({paren(e, e.prec < ADD)} - np.mean({e.text}, axis={axis}, keepdims=True)) ** 2)", ATOM)
        first = None
        length = None
        if base is not None or window:
            text, length, _ = self.pick_source(scope, base=base, window=window)
            first = Expr(text, ATOM)
        e, length = self.array_expr(scope, length, first=first)
        if form in LINALG_FORMS:  # of an SPD matrix with distinct eigenvalues: diag(1..n) + 0.1 e e^T
            matrix = f"(np.diag(np.arange(1.0, {length + 1}.0)) + 0.1 * np.outer({e.text}, {e.text}))"
            return Expr(LINALG_FORMS[form].format(m=matrix, e=e.text), ATOM)
        if form == "norm":
            return Expr(f"np.linalg.norm({e.text})", ATOM)
        if form == "norm1":
            return Expr(f"np.linalg.norm({e.text}, 1)", ATOM)
        if form == "mask":
            return Expr(f"np.sum({paren(e, e.prec < ATOM)}[{e.text} > 0.0] ** 2)", ATOM)
        if form == "diff":
            return Expr(f"np.sum(np.diff({e.text}) ** 2)", ATOM) if length >= 2 else Expr(f"np.sum({e.text})", ATOM)
        if form == "pad":
            return Expr(f"np.dot(np.pad({e.text}, 1)[:-2], np.pad({e.text}, 1)[2:])", ATOM)
        if form in ("var", "std") and length < 2:
            form = "max"
        return Expr(f"np.{form}({e.text})", ATOM)

    # -- helpers ------------------------------------------------------------------------------------
    def helper_call(self, scope: Scope) -> Expr:
        """A call of a helper returning a real scalar."""
        self.tags.add("helper")
        callable_ = [h for h in self.helpers if h.kind in ("scalar", "vec")]
        if callable_ and self.chance(1, 1):
            h = self.pick(callable_)
        else:
            h = self.new_helper(scope)
        if h.kind == "vec" and not self.vectors(scope, writable=h.writes):
            h = self.new_scalar_helper()
        args = []
        for p in h.params:
            if p == "v":
                args.append(self.array_argument(scope, None, h.writes)[0])
            else:
                args.append(self.expr(scope, 1).text)
        return Expr(f"{h.name}({', '.join(args)})", ATOM)

    def array_argument(self, scope: Scope, length: int | None, writes: bool, min_len: int = 1):
        """(text, length) of an array passed to a helper: a named vector or (with the profile's
        odds) a slice, row or column; a view of a writable array when the helper writes into it."""
        if self.chance(*self.p.slices):
            options = self.sources(scope, length, min_len, writable=writes)
            if options:
                s = self.pick(options)
                self.tags.add("view_argument")
                return s.make(), s.length
        options = [a for a in self.vectors(scope, writable=writes, min_len=min_len)
                   if length in (None, a.shape[0])]
        if options:
            a = self.pick(options)
            return a.name, a.shape[0]
        text, size, _ = self.pick_source(scope, length, min_len, writable=writes)
        return text, size

    def new_helper(self, scope: Scope) -> Helper:
        form = self.int(0, 7) if self.vectors(scope) else 0
        if form in (0, 3):
            return self.new_scalar_helper()
        name = f"helper{len(self.helpers)}"
        writable = bool(self.vectors(scope, writable=True))
        if form in (5, 6) and not writable:
            form = 1
        if form == 1:  # a reduction over an array argument
            self.tags.add("helper_loop")
            updates = ["acc = u * acc + np.tanh(v[i])", "acc += v[i] * v[i] * u", "acc = 0.5 * acc + np.sin(u * v[i])"]
            if self.p.edge[0] > 0:  # neighbours: wrapping around, guarded, or (with the odds oob) past the end
                updates += ["acc += v[i] * v[i - 1] * u", "acc += (v[i + 1] if i + 1 < v.shape[0] else u) * v[i]",
                            "acc = 0.5 * acc + v[-1 - i] * v[i]"]
                if self.chance(*self.p.oob):
                    updates = ["acc += v[i + 1] * u"]
                    self.tags.update(("oob_helper", "may_raise"))
            update = self.pick(updates)
            if "v[i + 1]" in update or "v[i - 1]" in update or "v[-1 - i]" in update:
                self.tags.add("helper_edge")
            h = Helper(name, ["v", "u"], [Line("acc = 0.0"), For("i", "range(v.shape[0])", [Line(update)])], "acc",
                       kind="vec")
        elif form == 2:  # a loop with a data-dependent exit, on a scalar argument it reassigns
            self.tags.add("helper_while")
            body = [Line("k = 0"),
                    While(BoolOp("and", [Cmp("k", "<", "v.shape[0] - 1"),
                                          Cmp("u", "<", self.pick(("1.0", "0.5", "2.0")))]),
                          [Line("k += 1"), Line("u = u + 0.3 * np.tanh(v[k] * u) + 0.25")])]
            h = Helper(name, ["v", "u"], body, "u * v[0]", kind="vec")
        elif form == 4:  # a branch inside the helper
            self.tags.add("helper_if")
            hscope = Scope(["u", "v2"], [], [], [], top=False, helper=True)
            cond = Cmp(self.pick(("u", "v2", "u * v2")), self.pick("<>"), self.pick(THRESHOLDS))
            body = [If([(cond, [Line(f"r = {self.expr(hscope, 2).text}")]),
                        (None, [Line(f"r = {self.expr(hscope, 2).text}")])])]
            h = Helper(name, ["u", "v2"], body, "r")
        elif form == 7:  # slices of its argument, read whole
            self.tags.add("helper_slices")
            ret = self.pick(("np.sum(v[1:] * v[:-1]) * u", "np.dot(v[::-1], v) + u", "np.mean(np.sin(u * v[::2]))"))
            h = Helper(name, ["v", "u"], [], ret, kind="vec")
        else:  # writes into its array argument: the caller's array changes
            self.tags.add("helper_writes")
            update = self.pick(("v[i] = 0.5 * v[i] + u", "v[i] = v[i] * np.tanh(u + v[i])", "v[i] += u * u"))
            ret = "v[0]" if form == 5 else self.pick(("np.sum(v * v) * u", "np.dot(v[1:], v[:-1]) + u"))
            if form == 6:
                self.tags.add("helper_writes_then_reads")
            h = Helper(name, ["v", "u"], [For("i", "range(v.shape[0])", [Line(update)])], ret, writes=True, kind="vec")
        self.helpers.append(h)
        return h

    def new_scalar_helper(self) -> Helper:
        name = f"helper{len(self.helpers)}"
        if self.chance(1, 5):  # a rule of the user's (adc.custom_vjp), the exact derivative: FD judges it
            self.tags.add("custom_rule")
            ret, rule = self.pick(CUSTOM_RULES)
            h = Helper(name, ["u", "v2"], [], ret, rule=rule)
            self.helpers.append(h)
            return h
        if self.chance(1, 2) and "custom_rule" not in self.tags:  # a forward-mode rule: FD judges jvp
            self.tags.add("custom_jvp")
            ret, rule = self.pick(CUSTOM_JVP_RULES)
            h = Helper(name, ["u", "v2"], [], ret, jvp_rule=rule)
            self.helpers.append(h)
            return h
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

    def new_array_helper(self) -> Helper:
        """A helper taking an array and a scalar and returning an array."""
        name = f"helper{len(self.helpers)}"
        self.tags.add("array_helper")
        form = self.int(0, 5)
        if form == 0:
            h = Helper(name, ["v", "u"], [], self.pick(("u * v + np.sin(v)", "np.tanh(u * v) + 0.5 * v",
                                                         "0.5 * v + u * np.cos(v)")), kind="array")
        elif form == 1:  # a filter loop into a copy
            self.tags.add("array_helper_loop")
            body = [Line("r = np.copy(v)"),
                    For("i", "range(1, v.shape[0])",
                        [Line(self.pick(("r[i] = 0.5 * r[i - 1] + u * v[i]", "r[i] = np.tanh(u * r[i - 1]) + v[i]")))])]
            h = Helper(name, ["v", "u"], body, "r", kind="array")
        elif form == 2:  # writes into its argument and returns it
            self.tags.add("array_helper_writes")
            body = [For("i", "range(v.shape[0])", [Line(self.pick(("v[i] = np.tanh(v[i] + u)",
                                                                    "v[i] = 0.5 * v[i] + u * v[0]")))])]
            h = Helper(name, ["v", "u"], body, "v", writes=True, kind="array", alias=True)
        elif form == 3:  # reads slices: one shorter
            self.tags.add("array_helper_slices")
            h = Helper(name, ["v", "u"], [], self.pick(("0.5 * (v[1:] + v[:-1]) * u", "u * v[1:] - np.sin(v[:-1])")),
                       kind="array", delta=-1)
        elif form == 4:  # reads its argument whole, writes it, returns a new array
            self.tags.add("array_helper_writes")
            body = [Line("s = np.sum(v[1:] * v[:-1])"), Line("v[0] = np.tanh(s) * u")]
            h = Helper(name, ["v", "u"], body, "v * 0.5", writes=True, kind="array")
        else:  # a whole-array recurrence inside the helper
            self.tags.add("array_helper_loop")
            body = [Line("r = v * 1.0"), For("i", "range(2)", [Line("r = np.tanh(u * r) + v")])]
            h = Helper(name, ["v", "u"], body, "r", kind="array")
        self.helpers.append(h)
        return h

    def array_helper_call(self, scope: Scope, length: int | None, delta: int | None = None):
        """(Expr, length, helper) of a call of an array helper whose result has this length, or None."""
        options = [h for h in self.helpers if h.kind == "array" and delta in (None, h.delta)]
        h = self.pick(options) if options and self.chance(1, 1) else self.new_array_helper()
        if delta is not None and h.delta != delta:
            return None
        need = None if length is None else length - h.delta
        min_len = 1 - h.delta
        if need is None and h.delta:  # an argument long enough for a nonempty result
            options = self.sources(scope, None, min_len)
            if not options:
                return None
            need = self.pick(sorted({o.length for o in options}))
        if not self.sources(scope, need, min_len, writable=h.writes):
            if h.writes:  # a temporary to write into
                if not self.sources(scope, need, min_len):
                    return None
                arg, size = self.array_expr(scope, need, 0)
                text = f"{paren(arg, arg.prec < MUL)} * 1.0"
            else:
                return None
        elif h.writes:
            text, size = self.array_argument(scope, need, True, min_len)
        else:
            arg, size = self.array_expr(scope, need, 1 if self.chance(1, 2) else 0)
            text = arg.text
        return Expr(f"{h.name}({text}, {self.expr(scope, 1).text})", ATOM), size + h.delta, h

    def predicate_call(self, scope: Scope):
        """A condition calling a helper that writes into an array: a predicate `v[k] = ...; return
        v[k] > t`, or a writing helper compared with a threshold."""
        self.tags.add("cond_helper")
        if self.chance(1, 1):
            preds = [h for h in self.helpers if h.kind == "pred"]
            if preds and self.chance(1, 1):
                h = self.pick(preds)
            else:
                update = self.pick(("v[k] = 2.0 * v[k]", "v[k] = 0.5 * v[k] + 0.3", "v[k] = np.tanh(v[k]) + 0.1"))
                h = Helper(f"helper{len(self.helpers)}", ["v", "k"], [Line(update)],
                           f"v[k] > {self.pick(('0.0', '0.2', '-0.1'))}", writes=True, kind="pred")
                self.helpers.append(h)
            text, size = self.array_argument(scope, None, True)
            return Call(f"{h.name}({text}, {self.index(size, scope)})")
        writers = [h for h in self.helpers if h.kind == "vec" and h.writes]
        if writers and self.chance(1, 1):
            h = self.pick(writers)
        else:
            self.tags.add("helper_writes")
            update = self.pick(("v[i] = 0.5 * v[i] + u", "v[i] = v[i] * np.tanh(u + v[i])", "v[i] += u * u"))
            h = Helper(f"helper{len(self.helpers)}", ["v", "u"], [For("i", "range(v.shape[0])", [Line(update)])],
                       "v[0]", writes=True, kind="vec")
            self.helpers.append(h)
        text, _ = self.array_argument(scope, None, True)
        return Cmp(f"{h.name}({text}, {self.expr(scope, 1).text})", self.pick("<>"), self.pick(THRESHOLDS))

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
        if self.chance(*self.p.boolop):
            self.tags.add("boolop")
            if self.vectors(scope, writable=True) and self.chance(*self.p.cond_helper):
                second = self.predicate_call(scope)
            else:
                second = one()
            return BoolOp(self.pick(("and", "or")), [first, second])
        return first

    # -- statements -----------------------------------------------------------------------------
    def update(self, scope: Scope) -> Line:
        s = self.pick(scope.assignable)
        if self.p.mod > 0 and self.chance(self.p.mod, 30):  # a phase accumulator
            self.tags.add("mod_update")
            e = self.expr(scope, 1)
            return Line(f"{s} = ({s} + {e.text}) % {self.pick(('6.283', '2.0'))}")
        if self.chance(1, 10):  # an accumulation with the old value second
            e = self.expr(scope)
            return Line(f"{s} = {paren(e, e.prec <= ADD)} + {s}")
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

    def writable_arrays(self, scope: Scope) -> list:
        return [a for a in self.arrays_in(scope) if a.writable]

    def elem_write(self, scope: Scope, a: ArrayInfo | None = None) -> Line:
        if a is None:
            options = self.writable_arrays(scope)
            views = [v for v in options if v.view]
            if views and len(views) < len(options) and self.chance(*self.p.view_write):
                options = views
            a = self.pick(options)
        edges = self.edges
        target = self.element(a, scope)
        if self.edges > edges:
            self.tags.add("edge_write")
        self.tags.add("view_write" if a.view else "param_write" if not a.local else "local_write")
        if a.kind == "vector" and self.chance(*self.p.self_read):  # reads the array it writes, whole
            self.tags.add("write_after_whole_read")
            red = self.reduction(scope, base=a)
            form = self.int(0, 2)
            if form == 0:
                return Line(f"{target} = {red.text} * {target}")
            if form == 1:
                return Line(f"{target} = {red.text}")
            return Line(f"{target} += 0.1 * {red.text}")
        e = self.expr(scope)
        form = self.int(0, 6)
        if form == 0:
            return Line(f"{target} = {e.text}")
        if form == 1:
            return Line(f"{target} += {e.text}")
        if form == 2:
            return Line(f"{target} = 0.5 * {target} + {paren(e, e.prec <= ADD)}")
        if form == 4:  # augmented stores other than +=: lowering marks them, the transforms use the mark
            return Line(f"{target} -= {e.text}")
        if form == 5:
            return Line(f"{target} *= 0.9 + 0.1 * np.tanh({e.text})")
        if form == 6:
            return Line(f"{target} /= 1.5 + np.tanh({e.text})")
        src = self.element(a, scope)
        return Line(f"{target} = {src} * {paren(e, e.prec < MUL)}")

    def carried(self, scope: Scope) -> list:
        """Arrays that may be reassigned whole: not views."""
        return [a for a in self.arrays_in(scope) if not a.view]

    def array_update(self, scope: Scope, a: ArrayInfo | None = None) -> list:
        """A whole array reassigned (in a loop: carried by it), sometimes followed by an element write."""
        if a is None:
            options = self.carried(scope)
            local = [a for a in options if a.local]
            if local and len(local) < len(options) and self.chance(2, 1):
                options = local
            a = self.pick(options)
        y = a.name
        self.tags.add("array_update" if scope.top else "carried_array")
        if not a.local:
            self.tags.add("param_rebound")
        out = []
        if a.kind == "matrix":
            self.tags.add("matrix_update")
            form = self.int(0, 4)
            square = a.shape[0] == a.shape[1]
            A = self.param_matrix()
            if form == 1 and A is not None and a.shape in ((self.n, self.n), (self.m, self.m)):
                self.tags.add("sandwich")
                if a.shape == (self.n, self.n):
                    core = f"A.T @ (A @ {y} @ A.T) @ A"
                else:
                    core = f"A @ (A.T @ {y} @ A) @ A.T"
                if self.chance(1, 1):
                    out.append(Line(f"{y} = np.tanh({core} * 0.05) + 0.5 * {y}"))
                else:
                    out.append(Line(f"{y} = {core} * 0.02 + 0.5 * {y}"))
            elif form == 1 and square:
                out.append(Line(f"{y} = np.tanh({y} @ {y}.T * {paren(self.atom(scope), True)}) + "
                                f"{paren(self.matrix_expr(scope, a.shape), True)}"))
            elif form == 2:
                out.append(Line(f"{y} = {self.pick(('np.sin', 'np.tanh', 'np.cos'))}({y})"))
            elif form == 3 and square:
                out.append(Line(f"{y} = 0.5 * ({y} + {y}.T) + {paren(self.matrix_expr(scope, a.shape), True)} * 0.1"))
            elif form == 4 and square:  # a view of this step's product carried to the next (no loop buffer)
                self.tags.add("view_of_product")
                out.append(Line(f"{y} = (np.tanh({y}) @ (0.3 * {paren(self.matrix_expr(scope, a.shape), True)})).T"))
            else:
                e = self.matrix_expr(scope, a.shape)
                out.append(Line(f"{y} = {self.pick(('0.5', '0.9', '-0.4'))} * {y} + {paren(e, e.prec <= ADD)}"))
        else:
            size = a.shape[0]
            form = self.int(0, 6)
            A = self.param_matrix()
            if form == 6 and A is not None and size in A.shape:  # a view of this step's product, carried
                self.tags.add("view_of_product")
                inner, outer = ("A", "A.T") if size == A.shape[1] else ("A.T", "A")
                out.append(Line(f"{y} = ({outer} @ np.tanh({inner} @ {y} * 0.3))[{self.pick((':', '::-1'))}]"))
            elif form == 6:
                form = 0
            if form == 3:
                call = self.array_helper_call(scope, size, delta=0)
                if call is not None and (a.writable or not call[2].writes):
                    self.tags.add("carried_by_helper")
                    out.append(Line(f"{y} = {call[0].text}"))
                else:
                    form = 0
            if form == 0:
                e, _ = self.array_expr(scope, size)
                out.append(Line(f"{y} = {self.pick(('0.5', '0.9', '-0.4'))} * {y} + {paren(e, e.prec <= ADD)}"))
            elif form == 1:
                s = self.atom(scope)
                e, _ = self.array_expr(scope, size)
                out.append(Line(f"{y} = np.tanh({paren(s, s.prec <= MUL)} * {y}) + {paren(e, e.prec <= ADD)}"))
            elif form == 2:
                out.append(Line(f"{y} = {self.pick(('np.sin', 'np.tanh', 'np.cos'))}({y})"))
            elif form == 4:
                e, _ = self.array_expr(scope, size, bare=False)
                out.append(Line(f"{y} = {e.text}"))
            elif form == 5:
                e, _ = self.array_expr(scope, size)
                out.append(Line(f"{y} = {y} * np.tanh({e.text})"))
        if a.writable and self.chance(1, 2):  # an element write into the reassigned array
            self.tags.add("write_after_reassign")
            out.append(self.elem_write(scope, a))
        return out

    def for_loop(self, scope: Scope) -> For:
        var = LOOP_VARS[min(len(scope.loops), len(LOOP_VARS) - 1)]
        outer = [lv for lv in scope.loops if lv.dim == "n"]
        forms = ["n", "n_from1", "n_rev", "n_step2", "n_rev_step2", "n_short", "const", "n_odd", "n_rev_short",
                 "window", "window_lag"]
        if outer:
            forms += ["tri", "tri_upper"]
        if any(a.kind == "matrix" for a in self.arrays) and not any(lv.dim == "m" for lv in scope.loops):
            forms.append("m")
        if self.p.edge_loops:  # past the arrays' ends (their indices only as edge indices), strides of 3
            forms += ["n_long", "n_shift", "n_step3", "n_rev_step3"]
        form = self.pick(forms)
        self.tags.add(f"for_{form}")
        o = outer[-1].name if outer else None
        o_values = outer[-1].values if outer else ()
        k = self.pick([k for k in (2, 3) if k <= self.n]) if form.startswith("window") else 0
        const = self.pick("32") if form == "const" else "0"
        n, m = self.n, self.m
        values = {  # every value the index may take
            "n": range(n), "n_from1": range(1, n), "n_rev": range(n), "n_step2": range(0, n, 2),
            "n_rev_step2": range(n - 1, 0, -2), "n_short": range(n - 1), "const": range(int(const)),
            "tri": range(max(o_values, default=0)), "tri_upper": range(min(o_values, default=n), n),
            "m": range(m), "n_odd": range(1, n, 2), "n_rev_short": range(n - 1), "window": range(n - k + 1),
            "window_lag": range(k, n), "n_long": range(n + 1), "n_shift": range(1, n + 1),
            "n_step3": range(0, n, 3), "n_rev_step3": range(n - 1, -1, -3),
        }[form]
        table = {
            "n": ("range(n)", "n", (var, f"n - 1 - {var}")),
            "n_from1": ("range(1, n)", "n", (var, f"{var} - 1", f"n - 1 - {var}")),
            "n_rev": ("range(n - 1, -1, -1)", "n", (var, f"n - 1 - {var}")),
            "n_step2": ("range(0, n, 2)", "n", (var,)),
            "n_rev_step2": ("range(n - 1, 0, -2)", "n", (var, f"{var} - 1")),
            "n_short": ("range(n - 1)", "n", (var, f"{var} + 1")),
            "const": (f"range({const})", None, ()),
            "tri": (f"range({o})", "n", (var, f"{var} + 1")),
            "tri_upper": (f"range({o}, n)", "n", (var, f"{var} - {o}")),
            "m": ("range(m)", "m", (var, f"m - 1 - {var}")),
            "n_odd": ("range(1, n, 2)", "n", (var, f"{var} - 1")),
            "n_rev_short": ("range(n - 2, -1, -1)", "n", (var, f"{var} + 1")),
            "window": (f"range(n - {k - 1})", "n", (var, f"{var} + {k - 1}")),
            "window_lag": (f"range({k}, n)", "n", (var, f"{var} - {k}")),
            "n_long": ("range(n + 1)", None, ()),
            "n_shift": ("range(1, n + 1)", None, ()),
            "n_step3": ("range(0, n, 3)", "n", (var,)),
            "n_rev_step3": ("range(n - 1, -1, -3)", "n", (var,)),
        }
        range_text, dim, indices = table[form]
        windows = ()
        if form == "window":
            windows = ((f"{var}:{var} + {k}", k),)
        elif form == "window_lag":
            windows = ((f"{var} - {k}:{var}", k),)
        if len(scope.loops) > 0:
            self.tags.add("nested")
        lv = LoopVar(var, dim, indices, windows, tuple(values) if self.p.edge[0] > 0 else ())
        inner = scope.child(lv, in_loop=True)
        lead = []
        if windows and inner.assignable and self.chance(1, 1):  # a sliding-window product (FIR, LMS)
            s = self.pick(inner.assignable)
            lead = [Line(f"{s} = {self.pick(('0.5 * ', '0.9 * ', ''))}{s} + {self.reduction(inner, window=True).text}")]
        body = lead + self.block(inner)
        if scope.top and not scope.helper and self.chance(1, 3) \
                and not any(line.strip() == "break" for line in render_block(body, 0)):  # (a checkpointed loop runs whole)
            self.tags.add("checkpoint")  # stored states: 1 (recompute from the start), N < s, N = s + 1, ...
            range_text = f"adc.checkpoint({range_text}, snapshots={self.pick('1235')})"
        return For(var, range_text, body)

    def while_loop(self, scope: Scope) -> list:
        self.tags.add("while")
        k = self.fresh("k")
        if self.chance(1, 2):  # walk an array while its elements pass a test
            return self.while_scan(scope, k)
        s = self.pick(scope.assignable)
        bound = self.pick("453")
        cond = BoolOp("and", [Cmp(k, "<", bound), Cmp(s, self.pick("<>"), self.pick(THRESHOLDS))])
        counter = LoopVar(k, None, (), values=tuple(range(1, int(bound) + 1))) if self.p.edge[0] > 0 else None
        inner = scope.child(counter, in_loop=True)  # k in 1..bound after the increment: only edge indices
        body = [Line(f"{k} += 1")]
        # the loop variable's own update keeps the condition in play
        e = self.expr(inner, 1)
        body.append(Line(f"{s} = {s} + 0.3 * np.tanh({e.text}) + {self.pick(('0.2', '-0.2', '0.4'))}"))
        body += self.block(inner, max_len=2, min_len=0)
        return [Line(f"{k} = 0"), While(cond, body)]

    def while_scan(self, scope: Scope, k: str) -> list:
        self.tags.add("while_scan")
        v = self.pick(self.vectors(scope, min_len=self.n))
        edges = self.p.edge[0] > 0
        if self.p.edge_loops and self.chance(*self.p.scan_end):  # to the end: k reaches n in the body
            self.tags.update(("while_to_end", "may_raise"))
            cond = BoolOp("and", [Cmp(k, "<", "n"), Cmp(f"{v.name}[{k}]", self.pick("<>"), self.pick(THRESHOLDS))])
            lv = LoopVar(k, None, (), values=tuple(range(1, self.n + 1)))  # not "n": range(k) would pass n - 1
        else:
            cond = BoolOp("and", [Cmp(k, "<", "n - 1"), Cmp(f"{v.name}[{k}]", self.pick("<>"), self.pick(THRESHOLDS))])
            lv = LoopVar(k, "n", (k, f"{k} - 1"), values=tuple(range(1, self.n)) if edges else ())
        inner = scope.child(lv, in_loop=True)  # k in 1..n-1 (or n) after the increment
        body = [Line(f"{k} += 1")] + self.block(inner, max_len=2)
        return [Line(f"{k} = 0"), While(cond, body)]

    def if_stmt(self, scope: Scope) -> If:
        self.tags.add("if")
        guarded = [lv for lv in scope.loops if lv.values and lv.dim]
        if guarded and self.chance(*self.p.guard_if):
            branches = [self.index_guard(scope, self.pick(guarded))]
        else:
            branches = [(self.condition(scope), self.block(scope.child()))]
        if self.chance(1, 2):
            self.tags.add("elif")
            branches.append((self.condition(scope), self.block(scope.child())))
        if self.chance(1, 1):
            self.tags.add("else")
            branches.append((None, self.block(scope.child())))
        return If(branches)

    def index_guard(self, scope: Scope, lv: LoopVar):
        """(condition, block) of `if i + d < n:` whose block reads x[i + d] (of a vector of length n at
        least), or of `if i >= d:` reading x[i - d]; now and then off by one (`i + d <= n`)."""
        self.tags.add("guarded_if")
        v, d, size = lv.name, self.int(1, 2), {"n": self.n, "m": self.m}[lv.dim]
        off = False
        if self.chance(1, 1):
            off = self.chance(*self.p.oob)
            if off:
                self.tags.update(("oob_guard", "may_raise"))
            cond = Cmp(f"{v} + {d}", "<=" if off else "<", lv.dim)
            values = tuple(t for t in lv.values if t + d <= size - (0 if off else 1))
            index = f"{v} + {d}"
        else:
            cond = Cmp(v, ">=", str(d))
            values = tuple(t for t in lv.values if t >= d)
            index = f"{v} - {d}"
        inner = scope.child()
        # the guarded index is valid by construction (as a plain index) only under the right guard
        guarded = LoopVar(v, lv.dim, lv.indices + (() if off else (index,)), lv.windows, values)
        inner.loops = [guarded if other is lv else other for other in inner.loops]
        body = []
        vectors = self.vectors(scope, min_len=size)
        if vectors and inner.assignable:  # the read the guard is for
            s = self.pick(inner.assignable)
            e = self.atom(inner)
            body.append(Line(f"{s} += {self.pick(vectors).name}[{index}] * {paren(e, e.prec <= MUL)}"))
        return cond, body + self.block(inner, min_len=0 if body else 1)

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
        loops_ok = scope.depth < self.p.max_depth and self.budget >= 2
        allowed = {"update": bool(scope.assignable), "elem_write": bool(self.writable_arrays(scope)), "temp": True,
                   "for": loops_ok, "if": loops_ok, "while": loops_ok and bool(scope.assignable),
                   "break": scope.in_loop, "complex_update": bool(scope.complexes),
                   "local_array": scope.top, "complex": scope.top, "fft": scope.top,
                   "view": scope.top, "array_update": bool(self.carried(scope)), "array_temp": True,
                   "halving": scope.top and loops_ok, "matrix_state": scope.top and self.param_matrix() is not None}
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
        if kind == "local_array" or (kind == "array_temp" and scope.top):
            return [self.local_array(scope)]
        if kind == "fft":
            return [self.fft(scope)]
        if kind == "view":
            return self.view(scope)
        if kind == "array_update":
            return self.array_update(scope)
        if kind == "array_temp":
            return [self.array_temp(scope)]
        if kind == "halving":
            return self.halving(scope)
        if kind == "matrix_state":
            return self.matrix_state(scope)
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
        name = f"b{sum(1 for a in self.arrays if a.local and a.name.startswith('b'))}"
        form = self.pick(("zeros", "copy", "expr"))
        self.tags.add(f"local_{form}")
        if form == "zeros":
            text, size = f"{name} = np.zeros(n)", self.n
        elif form == "copy":
            src, size, _ = self.pick_source(scope)
            text = f"{name} = np.copy({src})"
        else:
            e, size = self.array_expr(scope, bare=False)
            text = f"{name} = {e.text}"
        self.arrays.append(ArrayInfo(name, (size,), writable=True, local=True))
        return Line(text)

    def array_temp(self, scope: Scope) -> Line:
        """An array first assigned inside a block (re-created at every iteration of a loop)."""
        name = self.fresh("u")
        self.tags.add("array_temp")
        e, size = self.array_expr(scope, bare=False)
        scope.temps.append(ArrayInfo(name, (size,), writable=True, local=True))
        return Line(f"{name} = {e.text}")

    def view(self, scope: Scope) -> list:
        """A name for a slice, row, column or transpose of an array: reads see later writes of the
        base, writes through it change the base."""
        name = f"v{sum(1 for a in self.arrays if a.view)}"
        base = self.pick(self.arrays_in(scope))
        self.tags.add("view")
        if base.kind == "vector":
            size = base.shape[0]
            forms = [(t, len(range(size)[sl])) for t, sl in SLICES if len(range(size)[sl])]
            if size >= self.n:
                forms.append(("[n - 2:n]", 2))
            text, length = self.pick(forms)
            shape = (length,)
            text = base.name + text
        else:
            r, c = base.shape
            form = self.int(0, 2)
            if form == 0:
                text, shape = f"{base.name}.T", (c, r)
                self.tags.add("transpose")
            elif form == 1:
                text, shape = f"{base.name}[{self.row(r, scope)}, :]", (c,)
                self.tags.add("matrix_row")
            else:
                text, shape = f"{base.name}[:, {self.row(c, scope)}]", (r,)
                self.tags.add("matrix_col")
        view = ArrayInfo(name, shape, writable=base.writable, local=True, view=True)
        self.arrays.append(view)
        out = [Line(f"{name} = {text}")]
        if base.writable and self.chance(2, 1):  # then a write through the view, or into its base
            out.append(self.elem_write(scope, self.pick((view, base))))
        return out

    def matrix_state(self, scope: Scope) -> list:
        """A local matrix (to be carried by loops: covariance-like state)."""
        name = f"P{sum(1 for a in self.arrays if a.name.startswith('P'))}"
        self.tags.add("matrix_state")
        form = self.int(0, 3)
        out = []
        if form == 0:
            out.append(Line(f"{name} = A.T @ A * 0.1"))
            shape = (self.n, self.n)
        elif form == 1:
            lv = LoopVar("i", "n", ("i",))
            e = self.expr(scope.child(lv), 1)
            out += [Line(f"{name} = np.zeros((n, n))"),
                    For("i", "range(n)", [Line(f"{name}[i, i] = 1.0 + 0.1 * np.tanh({e.text})")])]
            shape = (self.n, self.n)
        elif form == 2:
            out.append(Line(f"{name} = A @ A.T * 0.1"))
            shape = (self.m, self.m)
        else:
            out.append(Line(f"{name} = np.copy(A)"))
            shape = (self.m, self.n)
        state = ArrayInfo(name, shape, writable=True, local=True)
        self.arrays.append(state)
        if self.budget >= 2 and self.chance(2, 1):  # then a loop that carries it (a covariance recursion)
            self.tags.add("carried_matrix")
            inner = scope.child(LoopVar("i", None, ()), in_loop=True)
            body = self.array_update(inner, state) + self.block(inner, max_len=1, min_len=0)
            out.append(For("i", f"range({self.pick('23')})", body))
        return out

    def halving(self, scope: Scope) -> list:
        """A Haar-like pyramid: a length-8/16 local halved by `h = f(h[0::2], h[1::2])` for at most
        log2 of its length steps, with the details summed into a local."""
        self.tags.add("halving")
        h = f"h{sum(1 for a in self.arrays if a.name.startswith('h'))}"
        size = self.pick((8, 16))
        levels = self.int(1, 3 if size == 8 else 4)
        fill_scope = scope.child(LoopVar("i", "n", ("i", "n - 1 - i")))
        fill = [Line(f"{h}[i] = {self.expr(fill_scope).text}")]
        if self.chance(1, 1):
            fill.append(Line(f"{h}[{size - 1} - i] += {self.expr(fill_scope, 1).text}"))
        acc = f"s{len(self.top_scalars)}"
        self.top_scalars.append(acc)
        out = [Line(f"{h} = np.zeros({size})"), For("i", "range(n)", fill), Line(f"{acc} = 0.0")]
        scope.scalars.append(acc)
        scope.assignable.append(acc)
        use_while = self.chance(1, 3)
        counter = self.fresh("k") if use_while else "i"
        inner = scope.child(None if use_while else LoopVar("i", None, ()))
        weight = self.pick(("1.0", f"({counter} + 1)", "0.5"))
        body = [Line(f"{acc} += {weight} * np.sum(({h}[0::2] - {h}[1::2]) ** 2)")]
        body += self.block(inner, max_len=1, min_len=0) if self.chance(1, 1) else []
        c = self.pick(CONSTS[:3])
        body.append(Line(self.pick((f"{h} = 0.5 * ({h}[0::2] + {h}[1::2])",
                                    f"{h} = ({h}[0::2] + {h}[1::2]) / np.sqrt(2.0)",
                                    f"{h} = np.tanh({h}[0::2]) + {paren(Expr(c, NEG if c[0] == '-' else ATOM), c[0] == '-')}"
                                    f" * {h}[1::2]"))))
        if self.chance(1, 2):
            self.tags.add("write_after_reassign")
            e = self.expr(inner, 1)
            body.append(Line(self.pick((f"{h}[0] = {h}[0] * {paren(e, e.prec < MUL)}",
                                        f"{h}[-1] += 0.1 * {paren(e, e.prec <= MUL)}"))))
        final = (size >> levels,)
        if use_while:
            self.tags.add("halving_while")
            cond = Cmp(counter, "<", str(levels))
            if self.chance(1, 2):  # a data-dependent exit: the final length is unknown
                cond = BoolOp("and", [cond, Cmp(acc, "<", self.pick(("2.0", "5.0", "10.0")))])
                final = None
            out += [Line(f"{counter} = 0"), While(cond, [Line(f"{counter} += 1")] + body)]
        else:
            out.append(For("i", f"range({levels})", body))
        self.arrays.append(ArrayInfo(h, final, writable=True, local=True))
        return out

    def fft(self, scope: Scope) -> Line:
        X = f"X{len(self.ffts)}"
        kind = self.pick(("fft", "rfft"))
        self.tags.add(kind)
        src, size, _ = self.pick_source(scope, min_len=2)  # an fft of length 1 has no X[1]
        if self.chance(1, 2):
            src = self.array_expr(scope, size)[0].text
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
        writable = {p.name: self.chance(1, 2) for p in params if p.kind != "scalar"}
        self.n = n = self.int(2, 6)
        self.m = m = self.int(1, 4) if has_matrix else 0
        for p in params:
            if p.kind != "scalar":
                shape = (n,) if p.kind == "vector" else (m, n)
                self.arrays.append(ArrayInfo(p.name, shape, writable=writable[p.name], local=False))
        body = [Line("n = x.shape[0]")]
        if has_matrix:
            body.append(Line("m = A.shape[0]"))
        scalars = [p.name for p in params if p.kind == "scalar"]
        init = self.expr(Scope(scalars, [], [], []), 1).text if self.chance(1, 2) else "0.0"
        body.append(Line(f"s0 = {init}"))
        self.top_scalars.append("s0")
        scope = Scope(scalars + ["s0"], ["s0"] + scalars, [], [])  # scalar arguments may be reassigned too
        for stmts in self.seq(self.p.min_top, self.p.max_top, lambda: self.stmt(scope) if self.budget > 0 else []):
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
