"""Second order by forward mode over the generated reverse-mode function: hvp against finite
differences of grad, the Hessian symmetric and equal to stacked hvps."""
import numpy as np
import pytest

import adc

import construct_programs as cp
import dsp_programs as progs
from checks import random_direction

rng = np.random.default_rng(11)
N = 30
X = rng.standard_normal(N)
T = rng.standard_normal(N)

CASES = [
    (progs.iir_loss, (0.7, -0.4, X, T), (0, 1)),
    (progs.kalman_nll, (0.9, 0.1, 0.3, np.cumsum(0.3 * X)), (0, 1, 2)),
    (progs.deblur_loss, (rng.standard_normal((6, 5)), rng.random((2, 2)), rng.standard_normal((5, 4))), (0, 1)),
    (progs.biquad_loss, (0.2, 0.3, 0.2, -0.5, 0.3, X, T), (0, 1, 2, 3, 4)),
    (progs.newton_sqrt, (2.5,), (0,)),
    (progs.lms_loss, (0.05, X, np.convolve(X, [0.5, -0.3, 0.2])[:N], 3), (0,)),
    (cp.break_and_continue, (X[:9].copy(),), (0,)),
    (cp.whole_array_expressions, (X[:9].copy(), T[:9].copy()), (0, 1)),
]


def fd_of_grad(f, args, wrt, v, h=1e-5):
    def grads_at(t):
        moved = list(args)
        for i, d in zip(wrt, v):
            moved[i] = args[i] + t * d
        return [np.asarray(g) for g in f.grad(*moved)]
    plus2, plus, minus, minus2 = (grads_at(t) for t in (2 * h, h, -h, -2 * h))
    return [(8 * (p - m) - (p2 - m2)) / (12 * h) for p2, p, m, m2 in zip(plus2, plus, minus, minus2)]


@pytest.mark.parametrize("program, args, wrt", CASES, ids=lambda p: getattr(p, "__name__", ""))
def test_hvp_matches_finite_differences_of_grad(program, args, wrt, backend):
    f = adc.differentiate(program, wrt=tuple(wrt), backend=backend)
    v = random_direction(args, wrt, np.random.default_rng(5))
    grads, hv = f.hvp(*args, tangents=tuple(v))
    for g, expected in zip(grads, f.grad(*args)):
        np.testing.assert_allclose(g, expected, rtol=1e-12, atol=1e-14)
    scale = max(np.max(np.abs(h)) for h in hv)
    for h, expected in zip(hv, fd_of_grad(f, args, wrt, v)):
        np.testing.assert_allclose(h, expected, rtol=1e-6, atol=1e-7 * scale)


@pytest.mark.parametrize("program, args, wrt", CASES[:3], ids=lambda p: getattr(p, "__name__", ""))
def test_hessian_is_symmetric_and_matches_hvp(program, args, wrt):
    f = adc.differentiate(program, wrt=tuple(wrt), backend="python")
    blocks = f.hessian(*args)
    sizes = [np.size(args[i]) for i in wrt]
    dense = np.block([[np.reshape(blocks[i][j], (sizes[i], sizes[j])) for j in range(len(wrt))]
                      for i in range(len(wrt))])
    np.testing.assert_allclose(dense, dense.T, rtol=1e-10, atol=1e-12 * np.max(np.abs(dense)))
    v = random_direction(args, wrt, np.random.default_rng(2))
    _, hv = f.hvp(*args, tangents=tuple(v))
    flat_v = np.concatenate([np.ravel(d) for d in v])
    np.testing.assert_allclose(dense @ flat_v, np.concatenate([np.ravel(h) for h in hv]), rtol=1e-10,
                               atol=1e-12 * np.max(np.abs(dense)))


def test_second_order_code_is_forward_mode_of_the_adjoint():
    f = adc.differentiate(progs.iir_loss, wrt=("b", "a"), backend="python")
    f.hvp(0.7, -0.4, X, T, tangents=(1.0, 0.0))
    source = f._last.second_order.sources["jvp"]
    assert source.startswith("def iir_loss__vjp__jvp(b, a, x, target, loss__bar, b__dot, a__dot):")
    assert "y_prev__tape__dot[y_prev__top] = y_prev__dot" in source, "the tape's tangent is recorded too"
    assert "a__bar__dot -=" in source


def test_hessian_of_a_single_array_argument_has_its_shape_twice():
    f = adc.differentiate(cp.for_range_forms, backend="python")
    H = f.hessian(X[:6].copy())
    assert H.shape == (6, 6)
    np.testing.assert_allclose(H, H.T, atol=1e-12)


def test_hvp_of_a_vector_result_is_a_type_error():
    f = adc.differentiate(cp.broadcasting_result, backend="python")
    with pytest.raises(TypeError, match="hvp needs a scalar result"):
        f.hvp(np.ones((2, 2)), 1.0, tangents=np.ones((2, 2)))
