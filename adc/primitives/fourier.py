"""The Fourier family: np.fft.fft/ifft/rfft/irfft, fft2/ifft2/rfft2/irfft2, fftn/ifftn/rfftn/irfftn, fftshift/ifftshift
and adc.dct (types 2 and 3), `fourier` ops with attrs kind, axes, norm and the lengths (`n`, or `s`) as operands after
the array: their spellings, lowering (the arguments numpy takes, the result types), spelling in generated code and
derivatives. Linear: the tangent is the same transform of the tangent, the adjoint is the adjoint transform, along any
axes (runtime/fourier.py has the DCTs, the Hermitian weights and the adjoint of padding)."""
from __future__ import annotations

import numpy as np

from .. import runtime
from ..codegen import pyir as P
from ..errors import TypeCheckError, UnsupportedCallError
from ..ir.core import Array, is_array, with_dtype
from .base import declare, is_complex

ONE_D = ("fft", "ifft", "rfft", "irfft")


def fourier_expr(kind: str, a: P.Expr, lengths: list | None, attrs: dict, norm: str | None = None) -> P.Expr:
    """np.fft.<kind> spelled with positional arguments, as rocket-fft compiles it inside numba; `lengths` are
    `n` or the entries of `s` (None: the array's own)."""
    axes = attrs["axes"]
    if kind in ("dct2", "dct3"):
        return P.Call(f"rt.{kind}", [a, P.Lit(repr((norm or attrs["norm"]) == "ortho"))])
    if kind in ("fftshift", "ifftshift"):
        return P.Call(f"np.fft.{kind}", [a, P.Lit(repr(axes))])
    norm = P.Lit(repr(norm or attrs["norm"]))
    if kind in ONE_D:
        return P.Call(f"np.fft.{kind}", [a, lengths[0] if lengths else P.Lit("None"), P.Lit(str(axes[0])), norm])
    return P.Call(f"np.fft.{kind}", [a, P.TupleExpr(lengths) if lengths else P.Lit("None"), P.Lit(repr(axes)), norm])


SWAP_NORM = {"backward": "forward", "forward": "backward", "ortho": "ortho"}
ADJOINT_TRANSFORM = {"fft": "ifft", "ifft": "fft", "fft2": "ifft2", "ifft2": "fft2", "fftn": "ifftn",
                     "ifftn": "fftn", "fftshift": "ifftshift", "ifftshift": "fftshift", "rfft": "irfft", "irfft": "rfft",
                     "rfft2": "irfft2", "irfft2": "rfft2", "rfftn": "irfftn", "irfftn": "rfftn", "dct2": "dct3", "dct3": "dct2"}


def _lengths(c):
    return [c.x(i) for i in range(1, len(c.op.operands))] or None


def _jvp(c):
    return fourier_expr(c.op.attrs["kind"], c.t(0), _lengths(c), c.op.attrs)


def _vjp(c):
    """The adjoint transform: the inverse with the dual normalisation, Hermitian weights along the last
    transformed axis for real FFTs, and the adjoint of the transform's own padding or cutting to `n` or `s`."""
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
    norm, axes, lengths = SWAP_NORM[attrs["norm"]], attrs["axes"], _lengths(c)
    like = c.like(0)
    sizes = [P.Index(P.Attr(like, "shape"), [P.Lit(str(axis))]) for axis in axes]  # the operand's, along the axes
    last = P.Lit(str(axes[-1]))
    if kind.startswith("rfft"):  # irfft(n) of the weighted spectrum: n, the real length, is not the spectrum's
        s = lengths or sizes
        back = fourier_expr(adjoint, P.Call("rt.hermitian_scale", [c.g, s[-1], P.Lit("0.5"), last]), s, attrs, norm)
    elif kind.startswith("irfft"):
        out_len = lengths[-1] if lengths else 2 * (sizes[-1] - 1)
        back = P.Call("rt.hermitian_scale", [fourier_expr(adjoint, c.g, None, attrs, norm), out_len, P.Lit("2.0"), last])
    else:
        back = fourier_expr(adjoint, c.g, None, attrs, norm)
    for axis, size in zip(axes, sizes if lengths else ()):  # irfft reads the first n//2 + 1 bins of its input
        back = P.Call("rt.resize", [back, size, P.Lit(str(axis))])
    return [(0, back)]


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
    one_d = name in ONE_D
    a = lw.args(node, env, ["a", "n", "axis", "norm"] if one_d else ["a", "s", "axes", "norm"])
    x = lw.as_value(a["a"], node)
    if not is_array(x.type):
        raise lw.error(TypeCheckError, f"np.fft.{name} needs an array", node)
    norm = lw.constant_arg(a.get("norm"), node, (None, "backward", "ortho", "forward"), "norm") or "backward"
    if one_d:
        axes = (lw.constant_arg(a.get("axis"), node, None, "axis", default=-1) % x.type.ndim,)
        lengths = [a["n"]] if lw.given(a.get("n")) else []
    else:  # numpy's defaults: the last two axes for the 2-d transforms, the last len(s) or all for the others
        lengths = lw.items(a["s"]) if lw.given(a.get("s")) else []
        default = (-2, -1) if name.endswith("2") else tuple(range(-len(lengths), 0)) or None
        axes = lw.static_axes(a.get("axes"), x, node, default=default)
        if lengths and len(lengths) != len(axes):
            raise lw.error(TypeCheckError, f"np.fft.{name}: `s` and `axes` must have the same length", node)
    if name.startswith("rfft") and is_complex(x.type):
        raise lw.error(TypeCheckError, f"np.fft.{name} needs a real array", node)
    dtype = {"float32": "complex64", "complex64": "complex64"}.get(x.type.dtype, "complex128")
    if name.startswith("irfft"):
        dtype = "float32" if dtype == "complex64" else "float64"
        x = lw.cast(x, with_dtype(x.type, "complex64" if dtype == "float32" else "complex128"))
    operands = [x] + [lw.int_value_of(n, node) for n in lengths]
    return lw.op1("fourier", operands, Array(dtype, x.type.ndim), kind=name, axes=axes, norm=norm)


SPELLINGS = tuple(getattr(np.fft, name) for name in ONE_D + ("fft2", "ifft2", "fftn", "ifftn", "rfft2", "irfft2", "rfftn",
                                                             "irfftn", "fftshift", "ifftshift")) + (runtime.dct,)

declare("fourier", spell=lambda op, args: fourier_expr(op.attrs["kind"], args[0], args[1:], op.attrs),
        jvp=_jvp, vjp=_vjp, spellings=SPELLINGS, lower_call=lower_call)
