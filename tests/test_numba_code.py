"""adc differentiates existing @numba.njit code unchanged ([9/10]): the dispatcher's Python source is
read (`.py_func`), and @numba.njit helpers are inlined from theirs."""
import numpy as np
import pytest
from legacy_numba_filters import biquad, biquad_loss

import adc

from checks import assert_grad_matches_fd

rng = np.random.default_rng(3)
X = rng.standard_normal(64)
COEFFS = (0.2, 0.35, 0.2, -0.5, 0.25)


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_a_numba_biquad_is_differentiated_unchanged(backend):
    target = biquad(X, 0.25, 0.3, 0.25, -0.4, 0.2)
    f = adc.differentiate(biquad_loss, wrt=("b0", "b1", "b2", "a1", "a2"), backend=backend)
    value, grads = f.value_and_grad(*COEFFS, X, target)
    assert value == pytest.approx(biquad_loss(*COEFFS, X, target), rel=1e-12)  # the numba function itself
    assert_grad_matches_fd(biquad_loss.py_func, (*COEFFS, X, target), [0, 1, 2, 3, 4], list(grads), rtol=1e-7)
    _, tangent = f.jvp(*COEFFS, X, target, tangents=(1.0, 0.0, 0.0, 0.0, 0.0))
    assert tangent == pytest.approx(grads[0], rel=1e-10)
    assert biquad_loss(*COEFFS, X, target) == value  # the dispatcher is left as it was


def test_a_numba_filter_returning_an_array():
    f = adc.differentiate(biquad, wrt="x", backend="python")
    w = rng.standard_normal(X.shape[0])
    y, x_bar = f.vjp(X, *COEFFS, cotangent=w)
    np.testing.assert_allclose(y, biquad(X, *COEFFS), rtol=1e-12)
    v = rng.standard_normal(X.shape[0])
    _, jv = f.jvp(X, *COEFFS, tangents=v)
    assert np.dot(jv, w) == pytest.approx(np.dot(v, x_bar), rel=1e-10)  # linear in x: <Jv, w> = <v, J^T w>
