"""The Fourier family: np.fft.fft/ifft/rfft/irfft/fft2/ifft2/fftn/ifftn/fftshift/ifftshift and adc.dct
(types 2 and 3), `fourier` ops with attrs kind, axes, norm. Linear: the tangent is the same transform of
the tangent, the adjoint is the adjoint transform (runtime/fourier.py has the DCTs and the weights)."""
from __future__ import annotations

from ..codegen import pyir as P
from ..errors import CompileError
from .base import declare


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


declare("fourier", spell=lambda op, args: fourier_expr(op.attrs["kind"], args[0], args[1] if len(args) > 1 else None,
                                                      op.attrs),
        jvp=_jvp, vjp=_vjp)
