"""Forward mode and vector mode: jvp against finite differences, the dot-product test against
reverse mode (<J v, w> == <v, J^T w>), and jacobian against stacked jvp/grad."""
import numpy as np
import pytest

import adc

import construct_programs as cp
import dsp_programs as progs
from checks import directional_fd, random_direction
from test_constructs import DUAL_CASES, _id

rng = np.random.default_rng(3)
N = 40
X = rng.standard_normal(N)
T = rng.standard_normal(N)

DSP_CASES = [
    (progs.iir_loss, (0.7, -0.4, X, T), (0, 1)),
    (progs.biquad_loss, (0.2, 0.3, 0.2, -0.5, 0.3, X, T), (0, 1, 2, 3, 4)),
    (progs.fir_loss, (rng.standard_normal(6), X, T), (0, 1)),
    (progs.lms_loss, (0.05, X, np.convolve(X, [0.5, -0.3, 0.2])[:N], 3), (0,)),
    (progs.kalman_nll, (0.9, 0.1, 0.3, np.cumsum(0.3 * X)), (0, 1, 2)),
    (progs.newton_sqrt, (2.5,), (0,)),
    (progs.deblur_loss, (rng.standard_normal((7, 6)), rng.random((3, 2)), rng.standard_normal((5, 5))), (0, 1)),
    (progs.resample_loss, (1.37, 0.61, np.sin(np.linspace(0, 6, 40)), np.cos(np.linspace(0, 5, 25))), (0, 1)),
]


def fresh(args):
    return [a.copy() if isinstance(a, np.ndarray) else a for a in args]


def check_forward(program, args, wrt, backend, seed=0):
    f = adc.differentiate(program, wrt=tuple(wrt), backend=backend)
    r = np.random.default_rng(seed)
    v = random_direction(args, wrt, r)
    value, tangent = f.jvp(*fresh(args), tangents=tuple(v))
    assert value == pytest.approx(program(*fresh(args)), rel=1e-12)
    fd = directional_fd(lambda *xs: program(*fresh(xs)), args, wrt, v)
    assert abs(tangent - fd) <= 1e-6 * max(abs(fd), 1e-8), f"jvp {tangent!r} vs FD {fd!r}"
    w = float(r.standard_normal())
    _, grads = f.vjp(*fresh(args), cotangent=w)
    lhs = tangent * w
    rhs = sum(np.sum(g * d) for g, d in zip(grads, v))
    assert abs(lhs - rhs) <= 1e-10 * max(abs(lhs), 1e-12), f"<Jv, w> = {lhs!r} but <v, J^T w> = {rhs!r}"
    return f


@pytest.mark.parametrize("case", DSP_CASES, ids=lambda c: c[0].__name__)
def test_dsp_program_forward_mode(case, backend):
    check_forward(*case, backend)


@pytest.mark.parametrize("case", DUAL_CASES, ids=_id)
def test_construct_forward_mode(case):
    check_forward(*case, "python")


def test_tangent_source_reads_like_the_primal():
    f = check_forward(progs.iir_loss, (0.7, -0.4, X, T), (0, 1), "python")
    src = f.tangent_source()
    assert src.startswith("def iir_loss__jvp(b, a, x, target, b__dot, a__dot):")
    assert "y__dot = b__dot * x[n] - (a__dot * y_prev + y_prev__dot * a)" in src
    assert "x__dot" not in src and "target__dot" not in src, "no tangents of inactive values"
    assert f.ir("forward") == src


@pytest.mark.parametrize("program, args, wrt", [DSP_CASES[1], DSP_CASES[2], DSP_CASES[4], DSP_CASES[6]],
                         ids=lambda p: getattr(p, "__name__", ""))
def test_jacobian_agrees_with_stacked_jvp_and_grad(program, args, wrt, backend):
    f = adc.differentiate(program, wrt=tuple(wrt), backend=backend)
    forward = f.jacobian(*fresh(args), mode="fwd")
    reverse = f.jacobian(*fresh(args), mode="rev")
    grads = f.grad(*fresh(args))
    for jf, jr, g in zip(forward, reverse, grads):
        np.testing.assert_allclose(jf, g, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(jr, g, rtol=1e-10, atol=1e-12)
    k = wrt[0]
    e = np.zeros(np.shape(args[k]))
    e.flat[0] = 1.0
    tangents = [e if i == k else np.zeros(np.shape(args[i])) for i in wrt]
    tangents = [t if np.ndim(args[i]) else float(t) for t, i in zip(tangents, wrt)]
    _, column = f.jvp(*fresh(args), tangents=tuple(tangents))
    assert column == pytest.approx(np.ravel(forward[0])[0], rel=1e-10)


def test_jacobian_of_an_array_result(backend):
    f = adc.differentiate(cp.broadcasting_result, wrt=(0, 1), backend=backend)
    m, s = rng.standard_normal((3, 4)), 0.7
    jm, js = f.jacobian(m, s)
    assert jm.shape == (3, 4, 3, 4) and js.shape == (3, 4)
    np.testing.assert_allclose(jm.reshape(12, 12), np.diag((s / np.cosh(m * s) ** 2).ravel()), atol=1e-12)
    np.testing.assert_allclose(js, m / np.cosh(m * s) ** 2, atol=1e-12)
    jm_rev, js_rev = f.jacobian(m, s, mode="rev")
    np.testing.assert_allclose(jm_rev, jm, atol=1e-12)
    np.testing.assert_allclose(js_rev, js, atol=1e-12)
