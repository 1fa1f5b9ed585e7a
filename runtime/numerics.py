"""Safe numerics for derivative rules at singular points."""
import numba


@numba.vectorize(["float64(float64, float64)", "float32(float32, float32)", "complex128(complex128, float64)",
                  "complex64(complex64, float32)", "complex128(complex128, complex128)"], cache=True)
def safe_div(a, b):
    """a / b, and 0 where b is 0: how adc defines the derivatives of abs, angle and sqrt at 0."""
    return a / b if b != 0 else 0 * a
