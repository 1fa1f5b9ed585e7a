"""A primitive, declared once: how generated code spells it, what it does to memory, its derivatives.

A rule receives a context `c` (ad/rules.py's RuleContext): `c.x(i)` is primal operand i, `c.out` the
primal result, `c.t(i)` operand i's tangent (None when it has none), `c.g` the result's adjoint,
`c.like(i)` operand i read for its shape only. Rules build codegen/pyir expressions, which overload
arithmetic, so a rule reads like the mathematics. Most primitives give their partial derivatives,
`partials(c)` -> [(operand index, d result / d operand)], and both modes follow from them:

    forward  (JVP):  out_dot  = sum_i p_i * x_i_dot
    reverse  (VJP):  x_i_bar += out_bar * conj(p_i)

(conj for complex values: the convention that makes `grad` equal dL/dRe + 1j*dL/dIm). The others give
`jvp(c)` -> the result's tangent, and `vjp(c)` -> [(operand index, contribution[, "index"])].
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..codegen import pyir as P
from ..ir.core import is_array

# What an op does besides computing its results, which decides what the compiler may do with it:
EFFECTS = {
    "pure": "reads its operands only: recomputed freely, removed when unused",
    "reads": "reads memory that stores may change (load): removed when unused, recomputed only if nothing wrote",
    "fresh": "returns new memory (np.zeros, np.copy): removed when unused, never recomputed",
    "writes": "writes into its first operand (store, setslice)",
    "check": "raises when a condition fails (bounds, shapes): kept",
    "control": "owns regions or ends one (for, while, if, yield, return)",
}


@dataclass(frozen=True)
class Primitive:
    opcode: str
    spell: Callable | None = None  # (op, operand expressions) -> the expression computing the result
    effect: str = "pure"
    elementwise: bool = False  # numpy broadcasting of its operands: the result has their broadcast shape
    view: str = ""  # the result looks into operand 0's memory: "slice" (x[1:]), "layout" (x.T), "part" (z.real)
    accesses: bool = False  # reads or writes operand 0 at the index given by the operands after it
    shaped_like_first: bool = False  # the result has operand 0's shape (np.zeros_like(x), np.copy(x))
    partials: Callable | None = None
    jvp: Callable | None = None
    vjp: Callable | None = None
    spellings: tuple = ()  # the functions a user calls it by (np.sum, np.fft.rfft)
    result: Callable | None = None  # a call of one array lowered generically: its result type (also `x.sum()`)
    lower_call: Callable | None = None  # or (lowerer, function name, call node, env[, this]) -> the result value
    methods: tuple = ()  # `x.<name>(...)` lowered by lower_call with this=x (x.sum(axis=0), x.reshape(2, 3))
    expensive: bool = False  # the reverse sweep computes it again once per step into a variable, not at each read

    def __post_init__(self):
        assert self.effect in EFFECTS, self.effect


PRIMITIVES: dict[str, Primitive] = {}


def declare(opcode: str, **fields) -> Primitive:
    assert opcode not in PRIMITIVES, f"{opcode} is declared twice"
    PRIMITIVES[opcode] = Primitive(opcode, **fields)
    return PRIMITIVES[opcode]


@dataclass(frozen=True)
class Derived:
    """A numpy function written with primitives (np.clip is a maximum then a minimum): lowering only, so
    its derivatives are those of what it lowers to. lower: (lowerer, function name, call node, env[, this])."""
    name: str
    spellings: tuple
    lower: Callable
    methods: tuple = ()


DERIVED: dict[str, Derived] = {}


def derived(name: str, *spellings, lower: Callable, methods: tuple = ()) -> None:
    assert name not in DERIVED, f"{name} is declared twice"
    DERIVED[name] = Derived(name, spellings, lower, methods)


# adc's runtime helpers that rules spell, lowered back to their primitives when adc differentiates the
# code it generated (second order): name -> (lowerer, argument values, call node) -> the result value
RUNTIME_CALLS: dict[str, Callable] = {}


def runtime_call(name: str, lower: Callable) -> None:
    assert name not in RUNTIME_CALLS, f"rt.{name} is declared twice"
    RUNTIME_CALLS[name] = lower


# -- the vocabulary rules are written in -------------------------------------------------
ONE, MINUS_ONE = "one", "minus one"  # partials that need no multiplication


def is_complex(t) -> bool:
    return np.dtype(t.dtype).kind == "c"


def conj(c, e: P.Expr) -> P.Expr:
    """conj(e) where the op computes in complex numbers; e itself otherwise."""
    return P.Call("np.conj", [e]) if is_complex(c.op.results[0].type) else e


def safe_div(c, a, b) -> P.Expr:
    """a / b, and 0 where b is 0: the value adc defines at abs(0), angle(0) and sqrt(0)."""
    if is_array(c.op.results[0].type) or is_array(c.op.operands[0].type):
        return P.Call("rt.safe_div", [a if isinstance(a, P.Expr) else P.Lit(repr(a)), b])
    return P.Cond(P.BinOp("!=", b, P.Lit("0")), a / b, P.Lit("0.0"))


def pick(c, test, a, b):
    """a where test holds, else b (None is zero): elementwise on arrays."""
    zero = P.Lit("0.0")
    a, b = (zero if a is None else a), (zero if b is None else b)
    if is_array(c.op.results[0].type):
        return P.Call("np.where", [test, a, b])
    return P.Cond(test, a, b)


def scale(e: P.Expr, partial) -> P.Expr:
    if partial is ONE:
        return e
    if partial is MINUS_ONE:
        return -e
    if isinstance(partial, P.BinOp) and partial.op == "*":  # g * (2 * x) reads as g * 2 * x
        return scale(e, partial.left) * partial.right
    return e * partial


def sum_terms(terms):
    if not terms:
        return None
    total = terms[0]
    for t in terms[1:]:
        total = total - t.operand if isinstance(t, P.Unary) and t.op == "-" else total + t
    return total


def tangent_from_partials(c, partials):
    return sum_terms([scale(c.t(i), p) for i, p in partials if c.t(i) is not None])


def adjoints_from_partials(c, partials):
    return [(i, scale(c.g, p if p in (ONE, MINUS_ONE) else conj(c, p))) for i, p in partials]


def no_derivative(c):
    """Fresh memory, constants: the contents come from later stores, which carry the derivatives."""
    return []
