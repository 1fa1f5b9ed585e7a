"""Structured SSA: values assigned once, ops with nested regions, loop state explicit.

Control flow stays structured (`for`, `while`, `if` ops own their regions), so the
state of a recurrence is the list of a loop's carried values, and every transform
walks regions recursively instead of rebuilding a control-flow graph.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Scalar:
    dtype: str  # numpy dtype name: float64, float32, complex128, complex64, int64, bool
    weak: bool = field(default=False, compare=False)  # a Python number (NEP 50): see `promote`

    def __str__(self) -> str:
        return SHORT_NAMES[self.dtype]


@dataclass(frozen=True)
class Array:
    dtype: str
    ndim: int

    def __str__(self) -> str:
        return f"array<{SHORT_NAMES[self.dtype]}, {self.ndim}>"


SHORT_NAMES = {"float64": "f64", "float32": "f32", "complex128": "c128",
               "complex64": "c64", "int64": "i64", "bool": "bool"}

F64, I64, BOOL = Scalar("float64"), Scalar("int64"), Scalar("bool")
WEAK_INT = Scalar("int64", weak=True)  # a loop index or a length: a Python int


def is_array(t) -> bool:
    return isinstance(t, Array)


def is_differentiable(t) -> bool:
    """Only floating and complex values carry derivatives; ints and bools never do."""
    return np.dtype(t.dtype).kind in "fc"


WEAK_EXAMPLES = {"b": False, "i": 0, "f": 0.0, "c": 0j}


def is_weak(t) -> bool:
    return getattr(t, "weak", False)


def promote(*types):
    """numpy's promotion of element types (NEP 50), arrays winning over scalars in ndim. A Python number
    (a literal, a float argument, a loop index, a length) is weak: it takes the precision of the
    numpy values it meets when its kind fits, so `0.5 * x` stays float32 for a float32 `x`."""
    strong = [np.dtype(t.dtype) for t in types if not is_weak(t)]
    weak = [WEAK_EXAMPLES[np.dtype(t.dtype).kind] for t in types if is_weak(t)]
    dtype = np.result_type(*strong, *weak).name if strong else np.result_type(*[np.dtype(t.dtype) for t in types]).name
    ndim = max((t.ndim for t in types if is_array(t)), default=None)
    return Scalar(dtype, weak=not strong) if ndim is None else Array(dtype, ndim)


def with_dtype(t, dtype: str):
    return Array(dtype, t.ndim) if is_array(t) else Scalar(dtype, weak=is_weak(t))


def as_float(t):
    """The type a real-valued math function returns for an argument of type t."""
    kind = np.dtype(t.dtype).kind
    return t if kind in "fc" else with_dtype(t, "float64")


def real_part(t):
    return with_dtype(t, {"complex128": "float64", "complex64": "float32"}.get(t.dtype, t.dtype))


@dataclass(frozen=True)
class Loc:
    filename: str
    lineno: int
    col: int = 0
    text: str = ""  # the user's source line, for comments in generated code

    def __str__(self) -> str:
        return f"{self.filename.rsplit('/', 1)[-1]}:{self.lineno}"


_ids = itertools.count()


class Value:
    """One SSA value. `hint` is the user's variable name it was assigned to, if any."""

    __slots__ = ("id", "type", "hint", "owner")

    def __init__(self, type_, hint: str | None = None, owner=None):
        self.id = next(_ids)
        self.type = type_
        self.hint = hint
        self.owner = owner  # the Op that defines it, or the Region whose argument it is

    def __repr__(self) -> str:
        return f"%{self.hint or 't'}.{self.id}"


@dataclass(eq=False)
class Region:
    args: list[Value] = field(default_factory=list)
    ops: list["Op"] = field(default_factory=list)

    @property
    def yielded(self) -> list[Value]:
        return self.ops[-1].operands if self.ops and self.ops[-1].opcode == "yield" else []


@dataclass(eq=False)
class Op:
    opcode: str
    operands: list[Value]
    results: list[Value]
    attrs: dict = field(default_factory=dict)
    regions: list[Region] = field(default_factory=list)
    loc: Loc | None = None

    @property
    def result(self) -> Value:
        (value,) = self.results
        return value


@dataclass(eq=False)
class Function:
    name: str
    params: list[Value]
    body: Region
    filename: str
    firstlineno: int
    constants: list = field(default_factory=list)  # (function or module, name, value) folded from free names
    hidden: list = field(default_factory=list)  # (function, name) of module-level arrays: the last params

    @property
    def returned(self) -> list[Value]:
        return self.body.ops[-1].operands


class Loop:
    """Named views of a `for` or `while` op. A for's operands are [lo, hi, step, *inits] and its one
    region's arguments [index, *carried]; a while's operands are [*inits], its regions [cond, body], each
    with arguments [*carried]. Both yield the carried values and return them as results."""

    __slots__ = ("op",)

    def __init__(self, op: Op):
        assert op.opcode in ("for", "while"), op.opcode
        self.op = op

    @property
    def is_for(self) -> bool:
        return self.op.opcode == "for"

    @property
    def bounds(self) -> list[Value]:
        """lo, hi, step of a for (`range(lo, hi, step)`)."""
        return self.op.operands[:3]

    @property
    def step(self) -> Value:
        return self.op.operands[2]

    @property
    def inits(self) -> list[Value]:
        return self.op.operands[3:] if self.is_for else self.op.operands

    @property
    def body(self) -> Region:
        return self.op.regions[0] if self.is_for else self.op.regions[1]

    @property
    def cond(self) -> Region:
        """A while's condition region (it yields one bool)."""
        return self.op.regions[0]

    @property
    def index(self) -> Value:
        """A for's induction variable."""
        return self.op.regions[0].args[0]

    @property
    def carried(self) -> list[Value]:
        """The body's arguments that hold the carried values."""
        return self.body.args[1:] if self.is_for else self.body.args

    def slots(self) -> list[tuple[Value, Value, Value, Value]]:
        """(initial value, body argument, yielded value, result) per carried value."""
        return list(zip(self.inits, self.carried, self.body.yielded, self.op.results))


def walk(region: Region):
    """Every op of a region and its nested regions, in program order."""
    for op in region.ops:
        yield op
        for sub in op.regions:
            yield from walk(sub)


def constant_value(v: Value):
    """The value of a constant (None for anything else): a step of 1, an exponent of 2, an axis."""
    owner = v.owner
    return owner.attrs["value"] if isinstance(owner, Op) and owner.opcode == "const" else None


def uses_of(region: Region) -> dict[int, list[tuple[Op, Region]]]:
    """value id -> the ops that read it, in program order, each with the region it is in."""
    uses: dict[int, list] = {}

    def visit(r):
        for op in r.ops:
            for v in op.operands:
                uses.setdefault(v.id, []).append((op, r))
            for sub in op.regions:
                visit(sub)
    visit(region)
    return uses


def has_store(op: Op) -> bool:
    """op writes into an array, itself or in a region it owns."""
    return op.opcode in STORES or any(o.opcode in STORES for r in op.regions for o in walk(r))


STORES = ("store", "setslice")  # writes into an array: one element, or a slice from a value or an array
