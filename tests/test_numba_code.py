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


def test_a_users_njit_loop_calls_the_compiled_vjp_and_jvp():
    """f.kernels(...) hands out numba dispatchers: gradient descent written in numba, step for step equal to the
    same loop over f.value_and_grad in Python; the jvp kernel called from numba equals f.jvp."""
    import numba

    from dsp_programs import iir_loss
    rng = np.random.default_rng(5)
    x, target = rng.standard_normal(200), rng.standard_normal(200)
    f = adc.differentiate(iir_loss, wrt=("b", "a"))
    kernels = f.kernels(0.5, 0.3, x, target)
    vjp, jvp = kernels.vjp, kernels.jvp
    assert kernels.written == ()

    @numba.njit
    def descend(b, a, x, target, steps, rate):
        for _ in range(steps):
            loss, (gb, ga) = vjp(b, a, x, target, 1.0)
            b -= rate * gb
            a -= rate * ga
        return b, a, loss, jvp(b, a, x, target, 1.0, -2.0)[1]

    b, a = 0.5, 0.3
    for _ in range(25):
        loss, (gb, ga) = f.value_and_grad(b, a, x, target)
        b, a = b - 1e-3 * gb, a - 1e-3 * ga
    got = descend(0.5, 0.3, x, target, 25, 1e-3)
    assert got[:3] == pytest.approx((b, a, loss), rel=1e-12)
    assert got[3] == pytest.approx(f.jvp(got[0], got[1], x, target, tangents=(1.0, -2.0))[1], rel=1e-12)


def test_kernels_refuses_what_a_numba_caller_could_not_use():
    from batch_programs import checkpointed_iir, windowed_energy
    x = rng.standard_normal(40)
    with pytest.raises(ValueError, match=r"uses the 'python' backend: differentiate it with backend='numba'"):
        adc.differentiate(checkpointed_iir, backend="python").kernels(0.5, 0.3, x)
    with pytest.raises(ValueError, match=r"reads the module-level array `WINDOW`.*pass it to windowed_energy as"):
        adc.differentiate(windowed_energy).kernels(0.5, x)
    with pytest.raises(ValueError, match=r"checkpoints loops"):
        adc.differentiate(checkpointed_iir).kernels(0.5, 0.3, x)
