"""Derivative rules, one table: each primitive's adjoint as a template over expressions.

A rule receives a context `c` with `c.g` (the adjoint of the result), `c.x(i)` (the
primal operand i), `c.out` (the primal result) and returns the contributions to its
operands' adjoints as (operand index, expression) pairs. Which primal values a rule
reads is found by running it, so the to-be-recorded analysis and the rule cannot
disagree. For complex values the adjoint of a holomorphic f is g * conj(f'(z)), the
convention that makes `grad` equal dL/dRe + 1j*dL/dIm.
"""
from __future__ import annotations

import math

import numpy as np

from ..backend import pyir as P
from ..backend.emit import call_expr
from ..ir.core import Op, is_array

RULES = {}


def rule(*opcodes):
    def register(fn):
        for code in opcodes:
            RULES[code] = fn
        return fn
    return register


def _complex(t) -> bool:
    return np.dtype(t.dtype).kind == "c"


def conj(c, e: P.Expr) -> P.Expr:
    """conj(e) where the op computes in complex numbers; e itself otherwise."""
    return P.Call("np.conj", [e]) if _complex(c.op.results[0].type) else e


def fn(c, name: str, *args) -> P.Expr:
    """Call a primitive spelled for the op's type (math.cos on scalars, np.cos on arrays)."""
    return call_expr(name, list(args), c.op.results[0].type)


@rule("alloc", "alloc_like", "arange", "const")
def _constant(c):
    """Fresh memory: its contents come from later stores, which carry the derivatives."""
    return []


@rule("add")
def _add(c):
    return [(0, c.g), (1, c.g)]


@rule("sub")
def _sub(c):
    return [(0, c.g), (1, -c.g)]


@rule("mul")
def _mul(c):
    return [(0, c.g * conj(c, c.x(1))), (1, c.g * conj(c, c.x(0)))]


@rule("div")
def _div(c):
    return [(0, c.g / conj(c, c.x(1))), (1, -c.g * conj(c, c.out / c.x(1)))]


@rule("pow")
def _pow(c):
    exponent = c.constant(1)
    if exponent == 2:
        return [(0, c.g * 2 * conj(c, c.x(0)))]
    if exponent is not None:
        return [(0, c.g * conj(c, exponent * c.x(0) ** (exponent - 1)))]
    return [(0, c.g * conj(c, c.x(1) * c.x(0) ** (c.x(1) - 1))),
            (1, c.g * conj(c, c.out * fn(c, "log", c.x(0))))]


@rule("neg")
def _neg(c):
    return [(0, -c.g)]


@rule("select")
def _select(c):
    zero = P.Lit("0.0")
    return [(1, P.Cond(c.x(0), c.g, zero)), (2, P.Cond(c.x(0), zero, c.g))]


@rule("sum")
def _sum(c):
    return [(0, _spread(c, c.g))]


@rule("mean")
def _mean(c):
    return [(0, _spread(c, c.g / P.Attr(c.x(0), "size")))]


def _spread(c, g):
    """A scalar adjoint, spread over the array that was reduced."""
    return P.Call("np.full_like", [c.x(0), g])


@rule("cast", "copy")
def _identity(c):
    source = c.op.operands[0].type
    return [(0, P.Attr(c.g, "real") if not _complex(source) and _complex(c.op.results[0].type) else c.g)]


@rule("real")
def _real(c):
    return [(0, c.g)]


@rule("imag")
def _imag(c):
    return [(0, P.Lit("1j") * c.g)]


@rule("conj")
def _conj(c):
    return [(0, P.Call("np.conj", [c.g]))]


@rule("dot")
def _dot(c):
    return [(0, c.g * conj(c, c.x(1))), (1, c.g * conj(c, c.x(0)))]


@rule("matmul")
def _matmul(c):
    """C = A @ B:  A_bar = C_bar @ B^H,  B_bar = A^H @ C_bar, spelled with the runtime's products."""
    a, b = c.op.operands
    g, x, y = c.g, conj(c, c.x(0)), conj(c, c.x(1))
    if a.type.ndim == 2 and b.type.ndim == 1:
        return [(0, P.Call("rt.outer", [g, y])), (1, P.Call("rt.vecmat", [g, x]))]
    if a.type.ndim == 1:
        return [(0, P.Call("rt.matvec", [y, g])), (1, P.Call("rt.outer", [x, g]))]
    return [(0, P.Call("rt.matmat", [g, P.Attr(y, "T")])), (1, P.Call("rt.matmat", [P.Attr(x, "T"), g]))]


@rule("load", "getslice")
def _index(c):
    return [(0, c.g, "index")]


# f'(x) for elementwise functions, in terms of the argument x and the result y
ELEMENTWISE_DERIVATIVES = {
    "sin": lambda c, x, y: fn(c, "cos", x),
    "cos": lambda c, x, y: -fn(c, "sin", x),
    "tan": lambda c, x, y: 1.0 + y * y,
    "arcsin": lambda c, x, y: 1.0 / fn(c, "sqrt", 1.0 - x * x),
    "arccos": lambda c, x, y: -1.0 / fn(c, "sqrt", 1.0 - x * x),
    "arctan": lambda c, x, y: 1.0 / (1.0 + x * x),
    "sinh": lambda c, x, y: fn(c, "cosh", x),
    "cosh": lambda c, x, y: fn(c, "sinh", x),
    "tanh": lambda c, x, y: 1.0 - y * y,
    "arcsinh": lambda c, x, y: 1.0 / fn(c, "sqrt", x * x + 1.0),
    "arctanh": lambda c, x, y: 1.0 / (1.0 - x * x),
    "exp": lambda c, x, y: y,
    "expm1": lambda c, x, y: y + 1.0,
    "log": lambda c, x, y: 1.0 / x,
    "log1p": lambda c, x, y: 1.0 / (1.0 + x),
    "log10": lambda c, x, y: 1.0 / (x * math.log(10.0)),
    "log2": lambda c, x, y: 1.0 / (x * math.log(2.0)),
    "sqrt": lambda c, x, y: 0.5 / y,
    "square": lambda c, x, y: 2.0 * x,
}
PIECEWISE_CONSTANT = {"floor", "ceil", "sign"}


@rule("call")
def _call(c):
    name = c.op.attrs["fn"]
    if name in PIECEWISE_CONSTANT:
        return []
    if name == "abs":
        if _complex(c.op.operands[0].type):
            return [(0, c.g * c.x(0) / c.out)]
        return [(0, c.g * call_expr("sign", [c.x(0)], c.op.operands[0].type))]
    if name in ELEMENTWISE_DERIVATIVES:
        x = c.x(0)
        return [(0, c.g * conj(c, ELEMENTWISE_DERIVATIVES[name](c, x, c.out if _uses_result(name) else None)))]
    a, b = c.x(0), c.x(1)
    if name == "arctan2":  # arctan2(a, b) = angle of (b, a)
        r2 = a * a + b * b
        return [(0, c.g * b / r2), (1, -c.g * a / r2)]
    if name == "hypot":
        return [(0, c.g * a / c.out), (1, c.g * b / c.out)]
    if name in ("minimum", "maximum"):
        pick_a = P.BinOp("<=" if name == "minimum" else ">=", a, b)
        zero = P.Lit("0.0")
        if is_array(c.op.results[0].type):
            return [(0, P.Call("np.where", [pick_a, c.g, zero])), (1, P.Call("np.where", [pick_a, zero, c.g]))]
        return [(0, P.Cond(pick_a, c.g, zero)), (1, P.Cond(pick_a, zero, c.g))]
    raise NotImplementedError(name)


def _uses_result(name: str) -> bool:
    return name in ("tan", "tanh", "exp", "expm1", "sqrt")


class _Read(P.Lit):
    def __init__(self, value):
        super().__init__("primal")
        self.value = value


class _Probe:
    """A rule context whose primal reads are placeholders naming the value read."""

    def __init__(self, op: Op):
        self.op = op
        self.g = P.Lit("g")

    def x(self, i):
        return _Read(self.op.operands[i])

    @property
    def out(self):
        return _Read(self.op.results[0])

    def constant(self, i):
        owner = self.op.operands[i].owner
        return owner.attrs["value"] if isinstance(owner, Op) and owner.opcode == "const" else None


ELEMENTWISE_OPCODES = {"add", "sub", "mul", "div", "pow", "neg", "call", "select", "cast"}


def broadcasts(op: Op, operand) -> bool:
    """An array operand of an elementwise op whose adjoint may need summing down to its shape."""
    return op.opcode in ELEMENTWISE_OPCODES and is_array(operand.type) and is_array(op.results[0].type)


def needs(op: Op, active) -> list:
    """The primal values the rule reads for the contributions to active operands."""
    rule_fn = RULES.get(op.opcode)
    if rule_fn is None or op.opcode in ("load", "getslice"):
        return []
    read = []
    for i, expr, *_ in rule_fn(_Probe(op)):
        v = op.operands[i]
        if active(v):
            read.extend(_reads(expr))
            if broadcasts(op, v):
                read.append(v)  # for its shape
    return read


def _reads(e) -> list:
    if isinstance(e, _Read):
        return [e.value]
    if isinstance(e, P.Expr) or isinstance(e, P.Slice):
        return [v for child in vars(e).values() for item in (child if isinstance(child, list) else [child])
                for v in _reads(item)]
    return []


def has_rule(op: Op) -> bool:
    return op.opcode in RULES
