"""What a name in the user's function refers to: a closure or global value, a module,
a primitive adc knows, or a helper function to inline.

Functions are matched by identity, not by spelling, so `import numpy as xp` or
`from math import sin` resolve the same as `np.sin`.
"""
from __future__ import annotations

import builtins
import inspect
import math
import os
import sysconfig

import numpy as np

from .. import runtime
from ..primitives import CALLED, DERIVED
from ..primitives.elementwise import FUNCTIONS

# math.floor/ceil return Python ints; the numpy spellings return floats
INT_RESULT = {id(math.floor), id(math.ceil)}

REDUCTIONS = {"dot": np.dot, "matmul": np.matmul}
BUILTINS = {"range": range, "len": len, "int": int, "float": float, "complex": complex, "bool": bool}

_PRIMITIVES: dict[int, tuple[str, str]] = {}
for canonical, declared in FUNCTIONS.items():
    for obj in declared.spellings:
        _PRIMITIVES.setdefault(id(obj), ("elementwise", canonical))
for opcode, declared in CALLED.items():  # lowered by their declarations (primitives/)
    for obj in declared.spellings:
        _PRIMITIVES.setdefault(id(obj), ("declared", opcode))
for name, function in DERIVED.items():  # written with primitives (primitives/derived.py)
    for obj in function.spellings:
        _PRIMITIVES.setdefault(id(obj), ("derived", name))
# the runtime helpers that generated code calls, so adc can differentiate its own output
RUNTIME = {name: getattr(runtime, name) for name in runtime.__all__}
for table, kind in ((REDUCTIONS, "reduction"), (BUILTINS, "builtin"),
                    (RUNTIME, "runtime")):
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


def python_function(obj):
    """The Python function behind obj: an adc.differentiate'd function's, a @numba.njit dispatcher's
    (`.py_func`: the user's existing numba code is differentiated unchanged), or obj itself."""
    if hasattr(obj, "python"):
        return obj.python
    py_func = getattr(obj, "py_func", None)
    return py_func if inspect.isfunction(py_func) else obj


def is_helper(obj) -> bool:
    """A function of the user's, to inline; never one of numpy's, scipy's, the standard library's or another
    installed package's (np.asarray_chkfinite), whose source is not written in the subset: the refusal names the call."""
    fn = python_function(obj)
    return hasattr(obj, "python") or (inspect.isfunction(fn) and not _library(fn))


_LIBRARY_DIRS = tuple(os.path.join(os.path.realpath(sysconfig.get_paths()[k]), "")
                      for k in ("stdlib", "platstdlib", "purelib", "platlib"))
_ADC_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), "")  # adc.dsp is inlined


def _library(fn) -> bool:
    top = (fn.__module__ or "").split(".")[0]
    path = os.path.realpath(fn.__code__.co_filename)
    return top in ("numpy", "scipy") or (path.startswith(_LIBRARY_DIRS) and not path.startswith(_ADC_DIR))
