"""Safe numerics for derivative rules at singular points."""
import numba
import numpy as np


def _safe_div(a, b):
    """a / b, and 0 where b is 0: how adc defines the derivatives of abs, angle and sqrt at 0."""
    return a / b if b != 0 else 0 * a


safe_div = numba.vectorize(cache=True)(_safe_div)  # compiled per type on first use: importing adc stays cheap


def _safe_div_numpy(a, b):
    """The same for the python backend, in numpy (a compiled ufunc may pick a wider loop from Python)."""
    a, b = np.asarray(a), np.asarray(b)
    nonzero = b != 0
    out = np.zeros(np.broadcast_shapes(a.shape, b.shape), np.result_type(a, b))
    np.divide(a, b, out=out, where=nonzero)
    return out


safe_div.py_func = _safe_div_numpy


class NumpyScalarMath:
    """`math` or `cmath` for the python backend with numpy's float semantics, as numba compiles them
    (error_model="numpy"): math.sqrt(-1.0) is nan and math.log(0.0) is -inf, where Python raises."""

    UFUNCS = {"asin": "arcsin", "acos": "arccos", "atan": "arctan", "asinh": "arcsinh", "acosh": "arccosh",
              "atanh": "arctanh", "atan2": "arctan2", "pow": "power", "fabs": "fabs", "phase": "angle"}

    def __init__(self, module):
        self._module = module

    def __getattr__(self, name: str):
        ufunc = getattr(np, self.UFUNCS.get(name, name), None)
        if not isinstance(ufunc, np.ufunc):
            return getattr(self._module, name)  # constants (pi, e, inf) and functions numpy lacks (erf)
        setattr(self, name, ufunc)
        return ufunc
