"""Derivative rules, one table for both modes.

Most primitives are given by their partial derivatives: `PARTIALS[op](c)` lists
(operand index, d result / d operand). From one partial p both modes follow:

    forward  (JVP):  out_dot  = sum_i p_i * x_i_dot
    reverse  (VJP):  x_i_bar += out_bar * conj(p_i)

(conj for complex values: the convention that makes `grad` equal dL/dRe + 1j*dL/dIm).
Primitives that are not elementwise-differentiable (reductions, products, indexing,
non-holomorphic complex functions, branches) give both rules explicitly in `JVP` and
`VJP`. A rule receives a context `c`: `c.x(i)` is primal operand i, `c.out` the primal
result, `c.t(i)` operand i's tangent (None when it has none), `c.g` the result's adjoint.
Which primal values a rule reads is found by running it on placeholders, so the
to-be-recorded analysis and the rule cannot disagree.
"""
from __future__ import annotations

import math

import numpy as np

from ..codegen import pyir as P
from ..codegen.emit import call_expr, fourier_expr
from ..errors import CompileError
from ..ir.core import ELEMENTWISE_OPCODES, Op, constant_value, is_array

ONE, MINUS_ONE = "one", "minus one"  # partials that need no multiplication
PARTIALS, JVP, VJP = {}, {}, {}


def register(table, *opcodes):
    def add(fn):
        for code in opcodes:
            table[code] = fn
        return fn
    return add


def _complex(t) -> bool:
    return np.dtype(t.dtype).kind == "c"


def conj(c, e: P.Expr) -> P.Expr:
    """conj(e) where the op computes in complex numbers; e itself otherwise."""
    return P.Call("np.conj", [e]) if _complex(c.op.results[0].type) else e


def fn(c, name: str, *args) -> P.Expr:
    """Call a primitive spelled for the op's type (math.cos on scalars, np.cos on arrays)."""
    return call_expr(name, list(args), c.op.results[0].type)


def safe_div(c, a, b) -> P.Expr:
    """a / b, and 0 where b is 0: the value adc defines at abs(0), angle(0) and sqrt(0)."""
    if is_array(c.op.results[0].type) or is_array(c.op.operands[0].type):
        return P.Call("rt.safe_div", [a if isinstance(a, P.Expr) else P.Lit(repr(a)), b])
    return P.Cond(P.BinOp("!=", b, P.Lit("0")), a / b, P.Lit("0.0"))


def scale(e: P.Expr, partial) -> P.Expr:
    if partial is ONE:
        return e
    if partial is MINUS_ONE:
        return -e
    if isinstance(partial, P.BinOp) and partial.op == "*":  # g * (2 * x) reads as g * 2 * x
        return scale(e, partial.left) * partial.right
    return e * partial


# -- partial derivatives ----------------------------------------------------------
@register(PARTIALS, "add")
def _add(c):
    return [(0, ONE), (1, ONE)]


@register(PARTIALS, "sub")
def _sub(c):
    return [(0, ONE), (1, MINUS_ONE)]


@register(PARTIALS, "mul")
def _mul(c):
    return [(0, c.x(1)), (1, c.x(0))]


@register(PARTIALS, "div")
def _div(c):
    return [(0, 1.0 / c.x(1)), (1, -(c.out / c.x(1)))]


@register(PARTIALS, "pow")
def _pow(c):
    exponent = c.constant(1)
    if exponent == 2:
        return [(0, 2 * c.x(0))]
    if exponent is not None:
        return [(0, exponent * c.x(0) ** (exponent - 1))]
    return [(0, c.x(1) * c.x(0) ** (c.x(1) - 1)), (1, c.out * fn(c, "log", c.x(0)))]


@register(PARTIALS, "mod")
def _mod(c):
    """x % m = x - floor(x / m) * m: slope 1 in x, -floor(x / m) in m (jumps where x / m is an integer)."""
    return [(0, ONE), (1, -fn(c, "floor", c.x(0) / c.x(1)))]


@register(PARTIALS, "floordiv")
def _floordiv(c):
    """Piecewise constant."""
    return []


@register(PARTIALS, "neg")
def _neg(c):
    return [(0, MINUS_ONE)]


@register(PARTIALS, "cast", "copy")
def _identity(c):
    return [(0, ONE)]


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
    "sqrt": lambda c, x, y: safe_div(c, 0.5, y),
    "square": lambda c, x, y: 2.0 * x,
}
USES_RESULT = {"tan", "tanh", "exp", "expm1", "sqrt"}
PIECEWISE_CONSTANT = {"floor", "ceil", "sign"}


def _call_partials(c):
    name = c.op.attrs["fn"]
    if name in PIECEWISE_CONSTANT:
        return []
    if name == "abs":
        return [(0, call_expr("sign", [c.x(0)], c.op.operands[0].type))]
    if name == "angle":
        return []  # of a real number: piecewise constant
    if name in ELEMENTWISE_DERIVATIVES:
        return [(0, ELEMENTWISE_DERIVATIVES[name](c, c.x(0), c.out if name in USES_RESULT else None))]
    a, b = c.x(0), c.x(1)
    if name == "arctan2":  # arctan2(a, b) is the angle of the point (b, a)
        r2 = a * a + b * b
        return [(0, b / r2), (1, -(a / r2))]
    if name == "hypot":
        return [(0, a / c.out), (1, b / c.out)]
    raise NotImplementedError(name)


def _selects(c) -> bool:
    return c.op.opcode == "call" and c.op.attrs["fn"] in ("minimum", "maximum")


# -- rules given for both modes ----------------------------------------------------
def _pick(c, test, a, b):
    """a where test holds, else b: elementwise on arrays."""
    zero = P.Lit("0.0")
    a, b = (zero if a is None else a), (zero if b is None else b)
    if is_array(c.op.results[0].type):
        return P.Call("np.where", [test, a, b])
    return P.Cond(test, a, b)


def _min_max_test(c):
    return P.BinOp("<=" if c.op.attrs["fn"] == "minimum" else ">=", c.x(0), c.x(1))


@register(JVP, "call")
def _call_jvp(c):
    if _selects(c):
        return _pick(c, _min_max_test(c), c.t(0), c.t(1))
    if _complex(c.op.operands[0].type) and c.op.attrs["fn"] in ("abs", "angle"):
        # d|z| = Re(conj(z) dz) / |z|,  d angle(z) = Im(conj(z) dz) / |z|^2, zero at z = 0
        part = "real" if c.op.attrs["fn"] == "abs" else "imag"
        scale_ = c.out if part == "real" else call_expr("abs", [c.x(0)], c.op.operands[0].type) ** 2
        return safe_div(c, P.Attr(P.Call("np.conj", [c.x(0)]) * c.t(0), part), scale_)
    return _from_partials(c, _call_partials(c))


@register(VJP, "call")
def _call_vjp(c):
    if _selects(c):
        test = _min_max_test(c)
        return [(0, _pick(c, test, c.g, None)), (1, _pick(c, test, None, c.g))]
    if _complex(c.op.operands[0].type) and c.op.attrs["fn"] == "abs":  # z / |z|, zero at z = 0
        return [(0, c.g * safe_div(c, c.x(0), c.out))]
    if _complex(c.op.operands[0].type) and c.op.attrs["fn"] == "angle":  # i z / |z|^2
        return [(0, c.g * safe_div(c, P.Lit("1j") * c.x(0), call_expr("abs", [c.x(0)], c.op.operands[0].type) ** 2))]
    return _adjoints_from_partials(c, _call_partials(c))


@register(JVP, "select")
def _select_jvp(c):
    return _pick(c, c.x(0), c.t(1), c.t(2))


@register(VJP, "select")
def _select_vjp(c):
    return [(1, _pick(c, c.x(0), c.g, None)), (2, _pick(c, c.x(0), None, c.g))]


@register(JVP, "sum", "mean")
def _reduce_jvp(c):
    return P.Call(f"np.{c.op.opcode}", [c.t(0)])


@register(VJP, "sum")
def _sum_vjp(c):
    return [(0, P.Call("np.full_like", [c.like(0), c.g]))]


@register(VJP, "mean")
def _mean_vjp(c):
    return [(0, P.Call("np.full_like", [c.like(0), c.g / P.Attr(c.like(0), "size")]))]


@register(JVP, "transpose")
def _transpose_jvp(c):
    return P.Attr(c.t(0), "T")


@register(VJP, "transpose")
def _transpose_vjp(c):
    return [(0, P.Attr(c.g, "T"))]


@register(JVP, "real", "imag")
def _part_jvp(c):
    return P.Attr(c.t(0), c.op.opcode)


@register(VJP, "real")
def _real_vjp(c):
    return [(0, c.g)]


@register(VJP, "imag")
def _imag_vjp(c):
    if not _complex(c.op.operands[0].type):
        return []  # the imaginary part of a real number is 0 whatever the number
    return [(0, P.Lit("1j") * c.g)]


@register(JVP, "conj")
def _conj_jvp(c):
    return P.Call("np.conj", [c.t(0)])


@register(VJP, "conj")
def _conj_vjp(c):
    return [(0, P.Call("np.conj", [c.g]))]


PRODUCTS = {(1, 1): "rt.dot", (2, 1): "rt.matvec", (1, 2): "rt.vecmat", (2, 2): "rt.matmat"}


@register(JVP, "dot", "matmul")
def _product_jvp(c):
    a, b = c.op.operands
    product = PRODUCTS[a.type.ndim, b.type.ndim]
    terms = [P.Call(product, [c.t(0), c.x(1)]) if c.t(0) is not None else None,
             P.Call(product, [c.x(0), c.t(1)]) if c.t(1) is not None else None]
    return _sum([t for t in terms if t is not None])


@register(VJP, "dot")
def _dot_vjp(c):
    return [(0, c.g * conj(c, c.x(1))), (1, c.g * conj(c, c.x(0)))]


@register(VJP, "matmul")
def _matmul_vjp(c):
    """C = A @ B:  A_bar = C_bar @ B^H,  B_bar = A^H @ C_bar, spelled with the runtime's products."""
    a, b = c.op.operands
    g, x, y = c.g, conj(c, c.x(0)), conj(c, c.x(1))
    if a.type.ndim == 2 and b.type.ndim == 1:
        return [(0, P.Call("rt.outer", [g, y])), (1, P.Call("rt.vecmat", [g, x]))]
    if a.type.ndim == 1:
        return [(0, P.Call("rt.matvec", [y, g])), (1, P.Call("rt.outer", [x, g]))]
    return [(0, P.Call("rt.matmat", [g, P.Attr(y, "T")])), (1, P.Call("rt.matmat", [P.Attr(x, "T"), g]))]


@register(JVP, "full_like")
def _full_like_jvp(c):
    dtype = [P.Lit(f"np.{c.op.attrs['dtype']}")] if "dtype" in c.op.attrs else []
    return P.Call("np.full_like", [c.x(0), c.t(1)] + dtype) if c.t(1) is not None else None


@register(VJP, "full_like")
def _full_like_vjp(c):
    return [(1, P.Call("np.sum", [c.g]))]


@register(JVP, "runtime")
def _runtime_jvp(c):
    """The runtime's helpers are linear in their first argument (outer: bilinear)."""
    name = f"rt.{c.op.attrs['fn']}"
    if c.op.attrs["fn"] == "safe_div":  # d(a / b) = (da - (a / b) db) / b, zero where b is
        ta = c.t(0) if c.t(0) is not None else P.Lit("0.0")
        tb = c.t(1)
        return P.Call(name, [ta - c.out * tb if tb is not None else ta, c.x(1)])
    if c.op.attrs["fn"] == "record":  # a tape of tangents beside the tape of values, laid out the same
        buf, array = (c.t(i) if c.t(i) is not None else P.Call("np.zeros_like", [c.x(i)]) for i in (0, 2))
        return P.Call(name, [buf, c.x(1), array])
    if c.op.attrs["fn"] == "outer":
        terms = [P.Call(name, [c.t(0), c.x(1)]) if c.t(0) is not None else None,
                 P.Call(name, [c.x(0), c.t(1)]) if c.t(1) is not None else None]
        return _sum([t for t in terms if t is not None])
    if c.t(0) is None:
        return None
    return P.Call(name, [c.t(0)] + [c.x(i) for i in range(1, len(c.op.operands))])


SWAP_NORM = {"backward": "forward", "forward": "backward", "ortho": "ortho"}
ADJOINT_TRANSFORM = {"fft": "ifft", "ifft": "fft", "fft2": "ifft2", "ifft2": "fft2", "fftn": "ifftn",
                     "ifftn": "fftn", "fftshift": "ifftshift", "ifftshift": "fftshift", "rfft": "irfft", "irfft": "rfft",
                     "dct2": "dct3", "dct3": "dct2"}


@register(JVP, "fourier")
def _fourier_jvp(c):
    """Linear: the same transform of the tangent."""
    n = c.x(1) if len(c.op.operands) > 1 else None
    return fourier_expr(c.op.attrs["kind"], c.t(0), n, c.op.attrs)


@register(VJP, "fourier")
def _fourier_vjp(c):
    """The adjoint transform: the inverse with the dual normalisation, Hermitian weights for real FFTs,
    and the adjoint of the transform's own padding or cutting to `n`."""
    attrs, kind = c.op.attrs, c.op.attrs["kind"]
    adjoint = ADJOINT_TRANSFORM[kind]
    if kind in ("fftshift", "ifftshift"):
        return [(0, fourier_expr(adjoint, c.g, None, attrs))]
    if kind in ("dct2", "dct3"):  # orthonormal: the other type; otherwise the transposes differ at entry 0
        if attrs["norm"] == "ortho":
            return [(0, fourier_expr(adjoint, c.g, None, attrs))]
        if kind == "dct2":
            return [(0, fourier_expr("dct3", P.Call("rt.scale_first", [c.g, P.Lit("2.0")]), None, attrs))]
        return [(0, P.Call("rt.scale_first", [fourier_expr("dct2", c.g, None, attrs), P.Lit("0.5")]))]
    norm = SWAP_NORM[attrs["norm"]]
    x = c.op.operands[0]
    axis = attrs["axes"][-1]
    if kind in ("rfft", "irfft") and axis != x.type.ndim - 1:
        loc = c.op.loc
        raise CompileError(f"the adjoint of np.fft.{kind} is implemented along the last axis only: "
                           "move the axis last with .T first", loc.filename, loc.lineno, loc.col)
    length = P.Index(P.Attr(c.like(0), "shape"), [P.Lit(str(axis))])
    n = c.x(1) if len(c.op.operands) > 1 else None
    g = c.g
    if kind == "rfft":
        n_out = n if n is not None else length
        bins = P.Index(P.Attr(g, "shape"), [P.Lit(str(axis))])
        g = g * P.Call("rt.hermitian_weights", [bins, n_out, P.Lit("0.5")])
        back = fourier_expr("irfft", g, n_out, attrs, norm)
    elif kind == "irfft":
        out_len = P.Index(P.Attr(c.out, "shape"), [P.Lit(str(axis))])
        spectrum = fourier_expr("rfft", g, out_len, attrs, norm)
        bins = P.Index(P.Attr(spectrum, "shape"), [P.Lit(str(axis))])
        back = spectrum * P.Call("rt.hermitian_weights", [bins, out_len, P.Lit("2.0")])
        n = None if len(c.op.operands) == 1 else n
        if n is not None:  # irfft read the first n//2 + 1 bins of its input
            return [(0, _resized(c, back, length))]
        return [(0, back)]
    else:
        back = fourier_expr(adjoint, g, None, attrs, norm)
    return [(0, _resized(c, back, length) if n is not None else back)]


def _resized(c, v, length):
    """The adjoint of a transform's own padding or cutting to `n`, along the transformed axis."""
    x = c.op.operands[0]
    if x.type.ndim == 1:
        return P.Call("rt.resize", [v, length])
    if x.type.ndim == 2 and c.op.attrs["axes"][-1] == 1:
        return P.Call("rt.resize_last", [v, length])
    loc = c.op.loc
    raise CompileError("an explicit length `n` is differentiable along the last axis of 1-d and 2-d arrays: "
                       "pad or slice first", loc.filename, loc.lineno, loc.col)


@register(VJP, "load", "getslice")
def _index_vjp(c):
    return [(0, c.g, "index")]


@register(VJP, "alloc", "alloc_like", "arange", "const")
def _constant(c):
    """Fresh memory: its contents come from later stores, which carry the derivatives."""
    return []


# -- deriving each mode from the partials -------------------------------------------
def _sum(terms):
    if not terms:
        return None
    total = terms[0]
    for t in terms[1:]:
        total = total - t.operand if isinstance(t, P.Unary) and t.op == "-" else total + t
    return total


def _from_partials(c, partials):
    return _sum([scale(c.t(i), p) for i, p in partials if c.t(i) is not None])


def _adjoints_from_partials(c, partials):
    return [(i, scale(c.g, p if p in (ONE, MINUS_ONE) else conj(c, p))) for i, p in partials]


def jvp(c):
    """The tangent of an op's result, or None when it has none."""
    if all(c.t(i) is None for i in range(len(c.op.operands))):
        return None
    if c.op.opcode in JVP:
        return JVP[c.op.opcode](c)
    tangent = _from_partials(c, PARTIALS[c.op.opcode](c))
    arrays_moving = any(c.t(i) is not None and is_array(o.type) for i, o in enumerate(c.op.operands))
    if c.op.opcode in ("add", "sub") and is_array(c.op.results[0].type) and not arrays_moving:
        return P.Call("np.full_like", [c.out, tangent])  # a + y with only the scalar a moving: every entry moves
    return tangent


def vjp(c):
    """Contributions (operand index, expression[, "index"]) to the operands' adjoints."""
    if c.op.opcode in VJP:
        return VJP[c.op.opcode](c)
    if c.op.opcode not in PARTIALS:
        loc = c.op.loc
        raise CompileError(f"reverse mode has no rule for `{c.op.opcode}` {c.op.attrs.get('fn', '')}".rstrip(),
                           loc.filename if loc else "<unknown>", loc.lineno if loc else 0, loc.col if loc else 0)
    return _adjoints_from_partials(c, PARTIALS[c.op.opcode](c))


# -- the context rules run in -----------------------------------------------------------
class RuleContext:
    """What a rule sees: primal values through `primal(value)`, tangents through `tangent(value)`
    (forward mode), the result's adjoint as `g` (reverse mode)."""

    def __init__(self, op: Op, primal, tangent=None, g: P.Expr | None = None, shape=None):
        self.op, self._primal, self._tangent, self.g = op, primal, tangent, g
        self._shape = shape or primal

    def x(self, i):
        return self._primal(self.op.operands[i])

    @property
    def out(self):
        return self._primal(self.op.results[0])

    def t(self, i):
        return self._tangent(self.op.operands[i])

    def like(self, i):
        """Operand i read for its shape only (np.full_like, .size): element writes cannot change that."""
        return self._shape(self.op.operands[i])

    def constant(self, i):
        return constant_value(self.op.operands[i])


# -- what the rules read -------------------------------------------------------------
class _Read(P.Lit):
    def __init__(self, value, shape_only: bool = False):
        super().__init__("primal")
        self.value, self.shape_only = value, shape_only


def _probe(op: Op) -> RuleContext:
    """A rule context whose primal reads are placeholders naming the value read."""
    return RuleContext(op, _Read, lambda v: P.Lit("t"), P.Lit("g"), shape=lambda v: _Read(v, shape_only=True))


def broadcasts(op: Op, operand) -> bool:
    """An array operand of an elementwise op with another array operand: its adjoint may need summing
    down to its shape. (Against scalars, or alone, it has the result's shape already.)"""
    arrays = sum(is_array(o.type) for o in op.operands)
    return op.opcode in ELEMENTWISE_OPCODES and is_array(operand.type) and arrays > 1


def needs(op: Op, active, contents_only: bool = False) -> list:
    """The primal values the reverse rule reads for the contributions to active operands
    (with `contents_only`, not those read for their shape alone)."""
    if op.opcode in ("load", "getslice") or not has_rule(op):
        return []
    read = []
    for i, expr, *_ in vjp(_probe(op)):
        v = op.operands[i]
        if active(v):
            read.extend(r.value for r in _reads(expr) if not (contents_only and r.shape_only))
            if broadcasts(op, v) and not contents_only:
                read.append(v)  # for its shape
    return read


def _reads(e) -> list:
    if isinstance(e, _Read):
        return [e]
    if isinstance(e, (P.Expr, P.Slice)):
        return [v for child in vars(e).values() for item in (child if isinstance(child, list) else [child])
                for v in _reads(item)]
    return []


def has_rule(op: Op) -> bool:
    return op.opcode in VJP or op.opcode in PARTIALS
