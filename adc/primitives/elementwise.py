"""Elementwise primitives: arithmetic, comparisons, casts, `a if c else b`, complex parts, and the math
functions (`call`), each function declared once with the Python objects that mean it, its result type
and its derivative."""
from __future__ import annotations

import builtins
import cmath
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..codegen import pyir as P
from ..codegen.spelling import cast_expr, literal
from ..errors import UnsupportedCallError
from ..ir.core import as_float, constant_value, is_array, real_part, with_dtype
from .base import (
    MINUS_ONE,
    ONE,
    adjoints_from_partials,
    declare,
    is_complex,
    pick,
    safe_div,
    tangent_from_partials,
)

# -- arithmetic ------------------------------------------------------------------------
SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "floordiv": "//", "mod": "%", "pow": "**",
           "lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "==", "ne": "!=", "and": "and", "or": "or"}


def _binary(op, args):
    return P.BinOp(SYMBOLS[op.opcode], args[0], args[1])


def _pow_partials(c):
    exponent = constant_value(c.op.operands[1])
    if exponent == 2:
        return [(0, 2 * c.x(0))]
    if exponent is not None:
        return [(0, exponent * c.x(0) ** (exponent - 1))]
    return [(0, c.x(1) * c.x(0) ** (c.x(1) - 1)), (1, c.out * math_call(c, "log", c.x(0)))]


def _ufunc(opcode):
    """np.add(a, b) and the other spellings of an operator as a function."""
    def lower(lw, name, node, env):
        a = lw.args(node, env, ["x1", "x2"] if opcode != "neg" else ["x"])
        if len(a) != (1 if opcode == "neg" else 2):
            raise lw.error(UnsupportedCallError, f"np.{name} takes {1 if opcode == 'neg' else 2} arguments here", node)
        operands = [lw.as_value(v, node) for v in a.values()]
        return lw.negate(operands[0]) if opcode == "neg" else lw.binop(opcode, *operands, node)
    return lower


declare("add", spell=_binary, elementwise=True, partials=lambda c: [(0, ONE), (1, ONE)],
        spellings=(np.add,), lower_call=_ufunc("add"))
declare("sub", spell=_binary, elementwise=True, partials=lambda c: [(0, ONE), (1, MINUS_ONE)],
        spellings=(np.subtract,), lower_call=_ufunc("sub"))
def _mul_partials(c):
    if c.op.operands[0] is c.op.operands[1]:  # x * x: one contribution, not two equal ones
        return [(0, 2 * c.x(0))]
    return [(0, c.x(1)), (1, c.x(0))]


declare("mul", spell=_binary, elementwise=True, partials=_mul_partials, spellings=(np.multiply,), lower_call=_ufunc("mul"))
declare("div", spell=_binary, elementwise=True, partials=lambda c: [(0, 1.0 / c.x(1)), (1, -(c.out / c.x(1)))],
        spellings=(np.divide,), lower_call=_ufunc("div"))
declare("pow", spell=_binary, elementwise=True, partials=_pow_partials, spellings=(np.power,), lower_call=_ufunc("pow"))
# x % m = x - floor(x / m) * m: slope 1 in x, -floor(x / m) in m (jumps where x / m is an integer)
declare("mod", spell=_binary, elementwise=True, partials=lambda c: [(0, ONE), (1, -math_call(c, "floor", c.x(0) / c.x(1)))],
        spellings=(np.remainder,), lower_call=_ufunc("mod"))
declare("floordiv", spell=_binary, elementwise=True, partials=lambda c: [],  # piecewise constant
        spellings=(np.floor_divide,), lower_call=_ufunc("floordiv"))
declare("neg", spell=lambda op, args: P.Unary("-", args[0]), elementwise=True, partials=lambda c: [(0, MINUS_ONE)],
        spellings=(np.negative,), lower_call=_ufunc("neg"))
for _code in ("lt", "le", "gt", "ge", "eq", "ne"):  # booleans: no derivative; elementwise on arrays
    declare(_code, spell=_binary, elementwise=True)


def _logical(op, args):
    """`and`, `or`, `not` of conditions; np.logical_and and the others of boolean arrays."""
    if is_array(op.results[0].type):
        return P.Call(f"np.logical_{op.opcode}", args)
    return _binary(op, args) if len(args) == 2 else P.Unary("not", args[0])


def _lower_logical(lw, name, node, env):
    operands = [lw.as_value(v, node) for v in lw.args(node, env, ["x1", "x2"] if name != "logical_not" else ["x"]).values()]
    return lw.logical(name[len("logical_"):], operands, node)


declare("and", spell=_logical, elementwise=True, spellings=(np.logical_and,), lower_call=_lower_logical)
declare("or", spell=_logical, elementwise=True, spellings=(np.logical_or,), lower_call=_lower_logical)
declare("not", spell=_logical, elementwise=True, spellings=(np.logical_not,), lower_call=_lower_logical)
declare("cast", spell=lambda op, args: cast_expr(args[0], op.operands[0].type, op.results[0].type),
        elementwise=True, partials=lambda c: [(0, ONE)])
declare("const", spell=lambda op, args: literal(op.attrs["value"], op.results[0].type.dtype), vjp=lambda c: [])

# `a if c else b`, elementwise on arrays
def _spell_select(op, args):
    return P.Call("np.where", args) if is_array(op.results[0].type) else P.Cond(args[0], args[1], args[2])


def _lower_where(lw, name, node, env):
    a = lw.args(node, env, ["condition", "x", "y"])
    if set(a) != {"condition", "x", "y"}:
        raise lw.error(UnsupportedCallError, "np.where takes a condition and the two values here (the positions of "
                       "np.where(c) alone are not supported: loop, or use np.where(c, x, y))", node)
    cond, x, y = (lw.as_value(a[k], node) for k in ("condition", "x", "y"))
    return lw.where(cond, x, y, node)


declare("select", spell=_spell_select, elementwise=True,
        jvp=lambda c: pick(c, c.x(0), c.t(1), c.t(2)),
        vjp=lambda c: [(1, pick(c, c.x(0), c.g, None)), (2, pick(c, c.x(0), None, c.g))],
        spellings=(np.where,), lower_call=_lower_where)

# -- complex parts -----------------------------------------------------------------------
def _lower_part(lw, name, node, env):
    """np.real(z), np.imag(z), np.conj(z) (z.real and z.conj() are attributes and methods, frontend/lower.py)."""
    v = lw.as_value(lw.args(node, env, ["val"])["val"], node)
    if name in ("real", "imag"):
        return lw.op1(name, [v], real_part(v.type))
    return lw.op1("conj", [v], v.type)


declare("real", spell=lambda op, args: P.Attr(args[0], "real"), view="part", shaped_like_first=True,
        jvp=lambda c: P.Attr(c.t(0), "real"), vjp=lambda c: [(0, c.g)], spellings=(np.real,), lower_call=_lower_part)
# the imaginary part of a real number is 0 whatever the number
declare("imag", spell=lambda op, args: P.Attr(args[0], "imag"), view="part", shaped_like_first=True,
        jvp=lambda c: P.Attr(c.t(0), "imag"),
        vjp=lambda c: [(0, P.Lit("1j") * c.g)] if is_complex(c.op.operands[0].type) else [],
        spellings=(np.imag,), lower_call=_lower_part)
declare("conj", spell=lambda op, args: P.Call("np.conj", args), shaped_like_first=True,
        jvp=lambda c: P.Call("np.conj", [c.t(0)]), vjp=lambda c: [(0, P.Call("np.conj", [c.g]))],
        spellings=(np.conj, np.conjugate), lower_call=_lower_part)


# -- math functions ------------------------------------------------------------------------
@dataclass(frozen=True)
class MathFunction:
    """One elementwise function (`call` with attrs fn=name).

    spellings: the Python objects that mean it. result: its result type from the promoted argument
    type. derivative: f'(x) as (c, x, y) -> expression, y the result where `uses_result`; or
    partials: (c) -> [(operand, partial)] for the rest; jvp / vjp where no partial describes it.
    scalar: how a call on scalars is spelled when not math.<name> / cmath.<name>; numpy_scalar: that
    spelling already has numpy's semantics (NaN, not an exception) for np.<name> called on scalars."""
    name: str
    spellings: tuple
    result: Callable = as_float
    arity: int = 1
    real_only: bool = False  # complex arguments are refused
    derivative: Callable | None = None
    uses_result: bool = False
    partials: Callable | None = None
    jvp: Callable | None = None
    vjp: Callable | None = None
    math_name: str | None = None  # the name in math and cmath, where it differs
    scalar: Callable | None = None
    numpy_scalar: bool = False
    array: Callable | None = None  # how a call on arrays is spelled when not np.<name>


FUNCTIONS: dict[str, MathFunction] = {}


def function(name: str, *spellings, **fields) -> None:
    FUNCTIONS[name] = MathFunction(name, spellings, **fields)


def math_call(c, name: str, *args) -> P.Expr:
    """A math function spelled for the op's result type (math.cos on scalars, np.cos on arrays)."""
    return call_expr(name, list(args), c.op.results[0].type)


def call_expr(name: str, args: list, t, numpy: bool = False) -> P.Expr:
    """A math function call spelled the way its type wants: math or cmath on scalars, numpy on arrays
    (and on scalars, for a np.<name> call, so that it keeps numpy's semantics)."""
    f = FUNCTIONS[name]
    if is_array(t) and f.array is not None:
        return f.array(args)
    if is_array(t) or (numpy and not f.numpy_scalar):
        return P.Call(f"np.{name}", args)
    if f.scalar is not None:
        return f.scalar(args)
    return P.Call(f"{'cmath' if is_complex(t) else 'math'}.{f.math_name or name}", args)


def _numpy_spelling(name):
    return lambda args: P.Call(f"np.{name}", args)


def _same_or_int(t):
    return t if t.dtype != "bool" else with_dtype(t, "int64")


_D = {  # f'(x) in terms of the argument x and the result y
    "sin": lambda c, x, y: math_call(c, "cos", x),
    "cos": lambda c, x, y: -math_call(c, "sin", x),
    "tan": lambda c, x, y: 1.0 + y * y,
    "arcsin": lambda c, x, y: 1.0 / math_call(c, "sqrt", 1.0 - x * x),
    "arccos": lambda c, x, y: -1.0 / math_call(c, "sqrt", 1.0 - x * x),
    "arctan": lambda c, x, y: 1.0 / (1.0 + x * x),
    "sinh": lambda c, x, y: math_call(c, "cosh", x),
    "cosh": lambda c, x, y: math_call(c, "sinh", x),
    "tanh": lambda c, x, y: 1.0 - y * y,
    "arcsinh": lambda c, x, y: 1.0 / math_call(c, "sqrt", x * x + 1.0),
    "arctanh": lambda c, x, y: 1.0 / (1.0 - x * x),
    "exp": lambda c, x, y: y,
    "expm1": lambda c, x, y: y + 1.0,
    "log": lambda c, x, y: 1.0 / x,
    "log1p": lambda c, x, y: 1.0 / (1.0 + x),
    "log10": lambda c, x, y: 1.0 / (x * math.log(10.0)),
    "log2": lambda c, x, y: 1.0 / (x * math.log(2.0)),
    "sqrt": lambda c, x, y: safe_div(c, 0.5, y),
}
function("sin", math.sin, cmath.sin, np.sin, derivative=_D["sin"])
function("cos", math.cos, cmath.cos, np.cos, derivative=_D["cos"])
function("tan", math.tan, cmath.tan, np.tan, derivative=_D["tan"], uses_result=True)
function("arcsin", math.asin, cmath.asin, np.arcsin, derivative=_D["arcsin"], math_name="asin")
function("arccos", math.acos, cmath.acos, np.arccos, derivative=_D["arccos"], math_name="acos")
function("arctan", math.atan, cmath.atan, np.arctan, derivative=_D["arctan"], math_name="atan")
function("sinh", math.sinh, cmath.sinh, np.sinh, derivative=_D["sinh"])
function("cosh", math.cosh, cmath.cosh, np.cosh, derivative=_D["cosh"])
function("tanh", math.tanh, cmath.tanh, np.tanh, derivative=_D["tanh"], uses_result=True)
function("arcsinh", math.asinh, np.arcsinh, derivative=_D["arcsinh"], math_name="asinh")
function("arctanh", math.atanh, np.arctanh, derivative=_D["arctanh"], math_name="atanh")
function("exp", math.exp, cmath.exp, np.exp, derivative=_D["exp"], uses_result=True)
function("expm1", math.expm1, np.expm1, derivative=_D["expm1"], uses_result=True)
function("log", math.log, cmath.log, np.log, derivative=_D["log"])
function("log1p", math.log1p, np.log1p, derivative=_D["log1p"])
function("log10", math.log10, np.log10, derivative=_D["log10"])
function("log2", math.log2, np.log2, derivative=_D["log2"])
function("sqrt", math.sqrt, cmath.sqrt, np.sqrt, derivative=_D["sqrt"], uses_result=True)
function("exp2", np.exp2, derivative=lambda c, x, y: y * math.log(2.0), uses_result=True, scalar=_numpy_spelling("exp2"))
function("arccosh", math.acosh, cmath.acosh, np.arccosh, derivative=lambda c, x, y: 1.0 / math_call(c, "sqrt", x * x - 1.0),
         math_name="acosh")
function("deg2rad", np.deg2rad, np.radians, math.radians, derivative=lambda c, x, y: math.pi / 180.0, real_only=True,
         math_name="radians")
function("rad2deg", np.rad2deg, np.degrees, math.degrees, derivative=lambda c, x, y: 180.0 / math.pi, real_only=True,
         math_name="degrees")
function("reciprocal", np.reciprocal, derivative=lambda c, x, y: -(y * y), uses_result=True,
         scalar=lambda args: 1.0 / args[0], numpy_scalar=True)


# sinc'(x) = (cos(pi x) - sinc(x)) / x, by a series near 0 where that cancels (runtime/numerics.py)
function("sinc", np.sinc, derivative=lambda c, x, y: P.Call("rt.sinc_slope", [x]), real_only=True,
         scalar=_numpy_spelling("sinc"))


def _logaddexp_partials(c):  # log(e^a + e^b): the softmax weights of a and b
    return [(0, math_call(c, "exp", c.x(0) - c.out)), (1, math_call(c, "exp", c.x(1) - c.out))]


function("logaddexp", np.logaddexp, arity=2, real_only=True, partials=_logaddexp_partials, scalar=_numpy_spelling("logaddexp"))


def _heaviside(args):
    """np.heaviside(x, h0): 0 below zero, h0 at zero, 1 above (numba has no np.heaviside)."""
    x, at_zero = args
    return P.Call("np.where", [P.BinOp(">", x, P.Lit("0")), P.Lit("1.0"),
                               P.Call("np.where", [P.BinOp("==", x, P.Lit("0")), at_zero, P.Lit("0.0")])])


function("heaviside", np.heaviside, arity=2, real_only=True, partials=lambda c: [], array=_heaviside,
         scalar=lambda args: P.Cond(P.BinOp(">", args[0], P.Lit("0")), P.Lit("1.0"),
                                    P.Cond(P.BinOp("==", args[0], P.Lit("0")), args[1], P.Lit("0.0"))), numpy_scalar=True)
function("nan_to_num", np.nan_to_num, result=lambda t: t, partials=lambda c: [(0, math_call(c, "isfinite", c.x(0)) * 1.0)],
         scalar=_numpy_spelling("nan_to_num"), numpy_scalar=True)
function("isfinite", np.isfinite, result=lambda t: with_dtype(t, "bool"), partials=lambda c: [],
         scalar=_numpy_spelling("isfinite"), numpy_scalar=True)
function("square", np.square, result=_same_or_int, derivative=lambda c, x, y: 2.0 * x,
         scalar=lambda args: args[0] * args[0], numpy_scalar=True)
for _name in ("floor", "ceil"):  # piecewise constant
    function(_name, getattr(math, _name), getattr(np, _name), real_only=True, partials=lambda c: [],
             scalar=_numpy_spelling(_name))
function("rint", np.rint, np.round, np.around, real_only=True, partials=lambda c: [],  # half to even, as numpy rounds
         scalar=_numpy_spelling("rint"))
function("sign", np.sign, result=_same_or_int, real_only=True, partials=lambda c: [], scalar=_numpy_spelling("sign"))


def _abs_jvp(c):
    if not is_complex(c.op.operands[0].type):
        return tangent_from_partials(c, _abs_partials(c))
    # d|z| = Re(conj(z) dz) / |z|, zero at z = 0
    return safe_div(c, P.Attr(P.Call("np.conj", [c.x(0)]) * c.t(0), "real"), c.out)


def _abs_vjp(c):
    if is_complex(c.op.operands[0].type):  # z / |z|, zero at z = 0
        return [(0, c.g * safe_div(c, c.x(0), c.out))]
    return adjoints_from_partials(c, _abs_partials(c))


def _abs_partials(c):
    return [(0, call_expr("sign", [c.x(0)], c.op.operands[0].type))]


def _abs_squared(c):
    return call_expr("abs", [c.x(0)], c.op.operands[0].type) ** 2


def _angle_jvp(c):
    if not is_complex(c.op.operands[0].type):
        return None  # of a real number: piecewise constant
    # d angle(z) = Im(conj(z) dz) / |z|^2, zero at z = 0
    return safe_div(c, P.Attr(P.Call("np.conj", [c.x(0)]) * c.t(0), "imag"), _abs_squared(c))


def _angle_vjp(c):
    if not is_complex(c.op.operands[0].type):
        return []
    return [(0, c.g * safe_div(c, P.Lit("1j") * c.x(0), _abs_squared(c)))]  # i z / |z|^2


function("abs", builtins.abs, np.abs, np.absolute,
         result=lambda t: real_part(t) if t.dtype != "bool" else with_dtype(t, "int64"),
         jvp=_abs_jvp, vjp=_abs_vjp, scalar=lambda args: P.Call("abs", args), numpy_scalar=True)
function("fabs", np.fabs, math.fabs, real_only=True, partials=_abs_partials)
function("angle", np.angle, cmath.phase, result=lambda t: real_part(as_float(t)), jvp=_angle_jvp, vjp=_angle_vjp,
         scalar=_numpy_spelling("angle"))


def _arctan2_partials(c):  # arctan2(a, b) is the angle of the point (b, a)
    a, b = c.x(0), c.x(1)
    r2 = a * a + b * b
    return [(0, b / r2), (1, -(a / r2))]


function("arctan2", math.atan2, np.arctan2, arity=2, real_only=True, partials=_arctan2_partials, math_name="atan2")
function("hypot", math.hypot, np.hypot, arity=2, real_only=True,
         partials=lambda c: [(0, c.x(0) / c.out), (1, c.x(1) / c.out)])


def _selecting(name: str, builtin, symbol: str):
    """minimum and maximum: the derivative of the operand chosen (the first where they tie)."""
    def test(c):
        return P.BinOp(symbol, c.x(0), c.x(1))
    function(name, getattr(np, name), builtin, arity=2, result=_same_or_int, real_only=True,
             jvp=lambda c: pick(c, test(c), c.t(0), c.t(1)),
             vjp=lambda c: [(0, pick(c, test(c), c.g, None)), (1, pick(c, test(c), None, c.g))],
             scalar=lambda args: P.Call(builtin.__name__, args), numpy_scalar=True)


_selecting("minimum", builtins.min, "<=")
_selecting("maximum", builtins.max, ">=")


def _ignoring_nan(name: str, symbol: str):
    """np.fmax, np.fmin: a NaN loses to a number, so the number's derivative is taken there."""
    def test(c):
        a, b = c.x(0), c.x(1)
        return P.Call("np.logical_or", [P.BinOp(symbol, a, b), P.BinOp("!=", b, b)])
    function(name, getattr(np, name), arity=2, result=_same_or_int, real_only=True,
             jvp=lambda c: pick(c, test(c), c.t(0), c.t(1)),
             vjp=lambda c: [(0, pick(c, test(c), c.g, None)), (1, pick(c, test(c), None, c.g))],
             scalar=_numpy_spelling(name), numpy_scalar=True)


_ignoring_nan("fmin", "<=")
_ignoring_nan("fmax", ">=")


def _partials_of(f: MathFunction, c):
    if f.partials is not None:
        return f.partials(c)
    return [(0, f.derivative(c, c.x(0), c.out if f.uses_result else None))]


def _call_jvp(c):
    f = FUNCTIONS[c.op.attrs["fn"]]
    return f.jvp(c) if f.jvp is not None else tangent_from_partials(c, _partials_of(f, c))


def _call_vjp(c):
    f = FUNCTIONS[c.op.attrs["fn"]]
    return f.vjp(c) if f.vjp is not None else adjoints_from_partials(c, _partials_of(f, c))


def _spell_call(op, args):
    name = op.attrs["fn"]
    t = op.operands[0].type if name == "abs" else op.results[0].type  # abs(z) of a complex z is spelled for z
    return call_expr(name, args, t, op.attrs.get("numpy", False))


declare("call", spell=_spell_call, elementwise=True, jvp=_call_jvp, vjp=_call_vjp)
