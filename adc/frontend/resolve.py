"""What a name in the user's function refers to: a closure or global value, a module,
a primitive adc knows, or a helper function to inline.

Functions are matched by identity, not by spelling, so `import numpy as xp` or
`from math import sin` resolve the same as `np.sin`.
"""
from __future__ import annotations

import builtins
import cmath
import inspect
import math

import numpy as np

from .. import runtime

# canonical elementwise primitive -> (module, attribute) spellings that mean it
ELEMENTWISE = {
    "sin": [(math, "sin"), (cmath, "sin"), (np, "sin")],
    "cos": [(math, "cos"), (cmath, "cos"), (np, "cos")],
    "tan": [(math, "tan"), (cmath, "tan"), (np, "tan")],
    "arcsin": [(math, "asin"), (cmath, "asin"), (np, "arcsin")],
    "arccos": [(math, "acos"), (cmath, "acos"), (np, "arccos")],
    "arctan": [(math, "atan"), (cmath, "atan"), (np, "arctan")],
    "sinh": [(math, "sinh"), (cmath, "sinh"), (np, "sinh")],
    "cosh": [(math, "cosh"), (cmath, "cosh"), (np, "cosh")],
    "tanh": [(math, "tanh"), (cmath, "tanh"), (np, "tanh")],
    "arcsinh": [(math, "asinh"), (np, "arcsinh")],
    "arctanh": [(math, "atanh"), (np, "arctanh")],
    "exp": [(math, "exp"), (cmath, "exp"), (np, "exp")],
    "expm1": [(math, "expm1"), (np, "expm1")],
    "log": [(math, "log"), (cmath, "log"), (np, "log")],
    "log1p": [(math, "log1p"), (np, "log1p")],
    "log10": [(math, "log10"), (np, "log10")],
    "log2": [(math, "log2"), (np, "log2")],
    "sqrt": [(math, "sqrt"), (cmath, "sqrt"), (np, "sqrt")],
    "abs": [(builtins, "abs"), (math, "fabs"), (np, "abs"), (np, "absolute")],
    "floor": [(math, "floor"), (np, "floor")],
    "ceil": [(math, "ceil"), (np, "ceil")],
    "sign": [(np, "sign")],
    "square": [(np, "square")],
    "arctan2": [(math, "atan2"), (np, "arctan2")],
    "hypot": [(math, "hypot"), (np, "hypot")],
    "minimum": [(np, "minimum"), (builtins, "min")],
    "maximum": [(np, "maximum"), (builtins, "max")],
    "angle": [(np, "angle"), (cmath, "phase")],
}
BINARY_ELEMENTWISE = {"arctan2", "hypot", "minimum", "maximum"}
# math.floor/ceil return Python ints; the numpy spellings return floats
INT_RESULT = {id(math.floor), id(math.ceil)}

CONSTRUCTORS = {
    "zeros": np.zeros, "ones": np.ones, "empty": np.empty, "zeros_like": np.zeros_like,
    "ones_like": np.ones_like, "empty_like": np.empty_like, "copy": np.copy, "arange": np.arange,
    "full_like": np.full_like,
}
FOURIER = {name: getattr(np.fft, name) for name in
           ("fft", "ifft", "rfft", "irfft", "fft2", "ifft2", "fftn", "ifftn", "fftshift", "ifftshift")}
FOURIER["dct"] = runtime.dct
COMPLEX_PARTS = {"conj": np.conj, "conjugate": np.conjugate, "real": np.real, "imag": np.imag}
REDUCTIONS = {"sum": np.sum, "mean": np.mean, "dot": np.dot}
BUILTINS = {"range": range, "len": len, "int": int, "float": float, "complex": complex, "bool": bool}

_PRIMITIVES: dict[int, tuple[str, str]] = {}
for canonical, spellings in ELEMENTWISE.items():
    for module, attr in spellings:
        _PRIMITIVES.setdefault(id(getattr(module, attr)), ("elementwise", canonical))
# the runtime helpers that generated code calls, so adc can differentiate its own output
RUNTIME = {name: getattr(runtime, name) for name in runtime.__all__}
for table, kind in ((CONSTRUCTORS, "constructor"), (REDUCTIONS, "reduction"), (BUILTINS, "builtin"),
                    (COMPLEX_PARTS, "complex_part"), (RUNTIME, "runtime"), (FOURIER, "fourier")):
    for canonical, obj in table.items():
        _PRIMITIVES.setdefault(id(obj), (kind, canonical))

DTYPES = {id(t): np.dtype(t).name for t in (np.float64, np.float32, np.complex128, np.complex64,
                                              np.int64, np.bool_, float, complex, int, bool)}

_MISSING = object()


def primitive(obj) -> tuple[str, str] | None:
    return _PRIMITIVES.get(id(obj))


def lookup(fn, name: str):
    """The object a free name of `fn` denotes: closure cell, then global, then builtin."""
    if fn.__closure__:
        cells = dict(zip(fn.__code__.co_freevars, fn.__closure__))
        if name in cells:
            return cells[name].cell_contents
    value = fn.__globals__.get(name, _MISSING)
    if value is _MISSING:
        value = getattr(builtins, name, _MISSING)
    return None if value is _MISSING else value


def is_helper(obj) -> bool:
    return inspect.isfunction(obj) or hasattr(obj, "python")
