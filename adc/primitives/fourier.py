"""The Fourier family: np.fft.fft/ifft/rfft/irfft/fft2/ifft2/fftn/ifftn/fftshift/ifftshift and adc.dct
(types 2 and 3), `fourier` ops with attrs kind, axes, norm: their spellings, lowering (the arguments
numpy takes, the result types), spelling in generated code and derivatives. Linear: the tangent is the same transform of
the tangent, the adjoint is the adjoint transform (runtime/fourier.py has the DCTs and the weights)."""
from __future__ import annotations

import numpy as np

from .. import runtime
from ..codegen import pyir as P
from ..errors import CompileError, TypeCheckError, UnsupportedCallError
from ..ir.core import Array, is_array, with_dtype
from .base import declare, is_complex


def fourier_expr(kind: str, a: P.Expr, n: P.Expr | None, attrs: dict, norm: str | None = None) -> P.Expr:
    """np.fft.<kind> spelled with positional arguments, as rocket-fft compiles it inside numba."""
    axes = attrs["axes"]
    if kind in ("dct2", "dct3"):
        return P.Call(f"rt.{kind}", [a, P.Lit(repr((norm or attrs["norm"]) == "ortho"))])
    if kind in ("fftshift", "ifftshift"):
        return P.Call(f"np.fft.{kind}", [a, P.Lit(repr(axes))])
    norm = P.Lit(repr(norm or attrs["norm"]))
    if kind in ("fft", "ifft", "rfft", "irfft"):
        return P.Call(f"np.fft.{kind}", [a, n if n is not None else P.Lit("None"), P.Lit(str(axes[0])), norm])
    return P.Call(f"np.fft.{kind}", [a, P.Lit("None"), P.Lit(repr(axes)), norm])


SWAP_NORM = {"backward": "forward", "forward": "backward", "ortho": "ortho"}
ADJOINT_TRANSFORM = {"fft": "ifft", "ifft": "fft", "fft2": "ifft2", "ifft2": "fft2", "fftn": "ifftn",
                     "ifftn": "fftn", "fftshift": "ifftshift", "ifftshift": "fftshift", "rfft": "irfft", "irfft": "rfft",
                     "dct2": "dct3", "dct3": "dct2"}


def _length(c):
    return c.x(1) if len(c.op.operands) > 1 else None


def _jvp(c):
    return fourier_expr(c.op.attrs["kind"], c.t(0), _length(c), c.op.attrs)


def _vjp(c):
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
    n = _length(c)
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


def lower_call(lw, name: str, node, env):
    """A call of np.fft.<name> or adc.dct (lw: the frontend's Lowerer): the array is an operand, `n` too when
    given; axes and norm are static; the result types are numpy's (rfft of float32 is complex64)."""
    if name == "dct":
        a = lw.args(node, env, ["x", "type", "norm"])
        x = lw.as_value(a["x"], node)
        if not is_array(x.type) or x.type.ndim != 1 or is_complex(x.type):
            raise lw.error(TypeCheckError, "adc.dct needs a real 1-d array", node)
        kind = {2: "dct2", 3: "dct3"}.get(lw.constant_arg(a.get("type"), node, None, "type", default=2))
        norm = lw.constant_arg(a.get("norm"), node, (None, "backward", "ortho"), "norm") or "backward"
        if kind is None:
            raise lw.error(UnsupportedCallError, "adc.dct supports type=2 and type=3", node)
        x = lw.cast(x, Array("float64", 1))
        return lw.op1("fourier", [x], x.type, kind=kind, axes=(0,), norm=norm)
    if name in ("fftshift", "ifftshift"):
        a = lw.args(node, env, ["x", "axes"])
        x = lw.as_value(a["x"], node)
        return lw.op1("fourier", [x], x.type, kind=name, axes=lw.static_axes(a.get("axes"), x, node))
    one_d = name in ("fft", "ifft", "rfft", "irfft")
    a = lw.args(node, env, ["a", "n", "axis", "norm"] if one_d else ["a", "s", "axes", "norm"])
    x = lw.as_value(a["a"], node)
    if not is_array(x.type):
        raise lw.error(TypeCheckError, f"np.fft.{name} needs an array", node)
    norm = lw.constant_arg(a.get("norm"), node, (None, "backward", "ortho", "forward"), "norm") or "backward"
    operands = [x]
    if one_d:
        axes = (lw.constant_arg(a.get("axis"), node, None, "axis", default=-1) % x.type.ndim,)
        n = a.get("n")
        if lw.given(n):
            operands.append(lw.int_value_of(n, node))
    else:
        if lw.given(a.get("s")):
            raise lw.error(UnsupportedCallError, f"np.fft.{name} with `s` is not supported: pad or slice the array first", node)
        axes = lw.static_axes(a.get("axes"), x, node, default=(-2, -1) if name.endswith("2") else None)
    real_in = name == "irfft"
    if name == "rfft" and is_complex(x.type):
        raise lw.error(TypeCheckError, "np.fft.rfft needs a real array", node)
    dtype = {"float32": "complex64", "complex64": "complex64"}.get(x.type.dtype, "complex128")
    if real_in:
        dtype = "float32" if dtype == "complex64" else "float64"
        x = lw.cast(x, with_dtype(x.type, "complex64" if dtype == "float32" else "complex128"))
        operands[0] = x
    return lw.op1("fourier", operands, Array(dtype, x.type.ndim), kind=name, axes=axes, norm=norm)


SPELLINGS = tuple(getattr(np.fft, name) for name in
                  ("fft", "ifft", "rfft", "irfft", "fft2", "ifft2", "fftn", "ifftn", "fftshift", "ifftshift")) + (runtime.dct,)

declare("fourier", spell=lambda op, args: fourier_expr(op.attrs["kind"], args[0], args[1] if len(args) > 1 else None,
                                                      op.attrs),
        jvp=_jvp, vjp=_vjp, spellings=SPELLINGS, lower_call=lower_call)
