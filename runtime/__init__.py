"""Support code that generated kernels import at run time (as `adc.runtime`).

It depends on numpy and numba only, never on the compiler, so a generated module
can be read and run on its own. Each helper works both compiled by numba and as
plain Python (the `python` backend).
"""
from .arrays import (
           embed_diagonal,
           independent,
           max_along,
           min_along,
           prod_of_others,
           prod_of_others_tangent,
           reshape,
           unmask,
           unpermute,
           zeroed,
)
from .broadcast import (
           same_shape,
           unbroadcast_1_1,
           unbroadcast_2_1,
           unbroadcast_2_2,
           unbroadcast_3_1,
           unbroadcast_3_2,
           unbroadcast_3_3,
)
from .checkpoint import (
           ADVANCE,
           CUR,
           DEPTH,
           DONE,
           END,
           FIELDS,
           FIRST,
           FROM,
           LEAF,
           NEXT,
           RECOMPUTED,
           RESTORE,
           SNAPSHOT,
           SNAPSHOT_BYTES,
           SNAPSHOTS_USED,
           STEPS_RECOMPUTED,
           STORED,
           TAPE_BYTES,
           USED,
           action,
           array_slots,
           schedule,
           slots_nbytes,
           snapshot_due,
)
from .checks import OutOfBounds, ShapeMismatch, broadcastable
from .convolve import convolve, correlate
from .decompositions import (
           cholesky,
           column_sums,
           eigh_coupling,
           eigh_factor,
           eigh_value_tangents,
           eigh_value_weights,
           eigh_values,
           eigh_vectors,
           fold_lower,
           halved_lower,
           lu_det,
           lu_factor,
           lu_logabsdet,
           lu_sign,
           lu_singular,
           lu_solve,
           lu_solve_vector,
           not_positive_definite,
           symmetric_from_lower,
           trisolve,
           trisolve_vector,
)
from .fourier import dct as dct  # the user-facing DCT, re-exported as adc.dct
from .fourier import dct2, dct3, hermitian_scale, resize, scale_first
from .linalg import (
           dot,
           matmat,
           matmat_23,
           matmat_32,
           matmat_33,
           matmat_into,
           matvec,
           matvec_into,
           outer,
           outer_into,
           swap_last,
           vecmat,
           vecmat_into,
)
from .numerics import safe_div, sinc_curvature, sinc_slope
from .signal import interp_slopes, interp_transpose, kaiser_derivative
from .tape import TapeTooLarge, grow, record, recorded_1, recorded_2, recorded_3, tape, trip_count

__all__ = ["embed_diagonal", "independent", "max_along", "min_along", "prod_of_others", "prod_of_others_tangent", "reshape", "zeroed", "unmask", "unpermute", "TapeTooLarge", "tape", "OutOfBounds", "ShapeMismatch", "broadcastable", "grow", "trip_count", "record", "recorded_1", "recorded_2", "recorded_3", "dot", "matvec", "vecmat", "matmat", "matmat_33", "matmat_32", "matmat_23", "swap_last", "outer", "matvec_into", "vecmat_into", "matmat_into", "outer_into",
           "unbroadcast_1_1", "unbroadcast_2_1", "unbroadcast_2_2", "unbroadcast_3_1", "unbroadcast_3_2", "unbroadcast_3_3", "same_shape",
           "hermitian_scale", "resize", "dct2", "dct3", "scale_first", "safe_div", "sinc_slope", "sinc_curvature", "interp_slopes", "interp_transpose", "kaiser_derivative",
           "convolve", "correlate",
           "cholesky", "column_sums", "eigh_coupling", "eigh_factor", "eigh_value_tangents", "eigh_value_weights", "eigh_values", "eigh_vectors", "fold_lower", "halved_lower",
           "lu_det", "lu_factor", "lu_logabsdet", "lu_sign", "lu_singular", "lu_solve", "lu_solve_vector",
           "not_positive_definite", "symmetric_from_lower", "trisolve", "trisolve_vector",
           "ADVANCE", "CUR", "DEPTH", "DONE", "END", "FIELDS", "FIRST", "FROM", "LEAF", "NEXT", "RECOMPUTED", "RESTORE", "SNAPSHOT", "STORED", "USED", "action", "array_slots",
           "schedule", "snapshot_due",
           "SNAPSHOT_BYTES", "SNAPSHOTS_USED", "STEPS_RECOMPUTED", "TAPE_BYTES", "slots_nbytes"]
