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


def _sinc_slope(x):
    """d/dx sinc(x) = (cos(pi x) - sinc(x)) / x, by its Taylor series near 0, where that cancels."""
    px = np.pi * x
    if abs(x) < 1e-3:
        return -(np.pi * px) / 3.0 + (np.pi * px ** 3) / 30.0
    return (np.cos(px) - np.sin(px) / px) / x


def _sinc_curvature(x):
    """d2/dx2 sinc(x) = -pi^2 sinc(x) - 2 sinc'(x) / x, likewise."""
    px = np.pi * x
    if abs(x) < 1e-3:
        return -(np.pi ** 2) / 3.0 + (np.pi ** 2) * px ** 2 / 10.0
    sinc = np.sin(px) / px
    return -(np.pi ** 2) * sinc - 2.0 * (np.cos(px) - sinc) / (x * x)


sinc_slope = numba.vectorize(cache=True)(_sinc_slope)
sinc_slope.py_func = np.vectorize(_sinc_slope, otypes=[float])
sinc_curvature = numba.vectorize(cache=True)(_sinc_curvature)
sinc_curvature.py_func = np.vectorize(_sinc_curvature, otypes=[float])
