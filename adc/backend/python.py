"""The `python` backend: generated functions run by the interpreter, with the numba kernels' semantics.

numba compiles with numpy's float semantics; plain Python raises where numpy returns inf or nan
(1.0 / 0.0, math.sqrt(-1.0), math.log(0.0)). Here the generated code's globals give it numpy's:
number arguments and float casts become numpy scalars, `math` and `cmath` calls become ufuncs, and
numpy's warnings are silenced as numba's kernels are silent.
"""
from __future__ import annotations

import cmath
import functools
import math
import types

import numpy as np

from .. import runtime
from ..runtime.numerics import NumpyScalarMath


def python_runtime() -> types.SimpleNamespace:
    """The runtime helpers as plain Python."""
    helpers = {n: getattr(runtime, n) for n in runtime.__all__}
    return types.SimpleNamespace(**{n: getattr(f, "py_func", f) for n, f in helpers.items()})  # ufuncs as they are


NUMPY_SEMANTICS = {"math": NumpyScalarMath(math), "cmath": NumpyScalarMath(cmath),
                   "float": np.float64, "complex": np.complex128}
SCALARS = {float: np.float64, complex: np.complex128, int: np.int64}


def python_kernel(module: types.ModuleType, function_name: str):
    f = getattr(module, function_name)
    f = types.FunctionType(f.__code__, dict(module.__dict__, rt=python_runtime(), **NUMPY_SEMANTICS), function_name)

    @functools.wraps(f)
    def kernel(*args):
        with np.errstate(all="ignore"):
            return f(*(SCALARS[type(a)](a) if type(a) in SCALARS else a for a in args))
    kernel.py_func = f
    return kernel
