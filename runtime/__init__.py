"""Support code that generated kernels import at run time (as `adc.runtime`).

It depends on numpy and numba only, never on the compiler, so a generated module
can be read and run on its own. Each helper works both compiled by numba and as
plain Python (the `python` backend).
"""
from .broadcast import same_shape, unbroadcast_1_1, unbroadcast_2_1, unbroadcast_2_2
from .checks import OutOfBounds, ShapeMismatch, broadcastable
from .fourier import dct as dct  # the user-facing DCT, re-exported as adc.dct
from .fourier import dct2, dct3, hermitian_weights, resize, resize_last, scale_first
from .linalg import dot, matmat, matvec, outer, vecmat
from .numerics import safe_div
from .tape import TapeTooLarge, grow, record, recorded_1, recorded_2, recorded_3, tape, trip_count

__all__ = ["TapeTooLarge", "tape", "OutOfBounds", "ShapeMismatch", "broadcastable", "grow", "trip_count", "record", "recorded_1", "recorded_2", "recorded_3", "dot", "matvec", "vecmat", "matmat", "outer",
           "unbroadcast_1_1", "unbroadcast_2_1", "unbroadcast_2_2", "same_shape",
           "hermitian_weights", "resize", "dct2", "dct3", "scale_first", "safe_div", "resize_last"]
