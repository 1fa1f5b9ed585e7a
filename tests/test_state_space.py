"""adc.dsp's state-space models: kalman_nll(_control) and rts_smoother(_control) on a 4-state constant-velocity
tracker (2-d positions). Values against plain numpy and against the joint Gaussian of all observations
(built without a filter), gradients in every model argument against central differences (rtol 1e-6), and
forward against reverse mode (the dot-product test <J v, w> = <v, J^T w>, relative 1e-10)."""
import numpy as np
import pytest

import adc
from adc import dsp

from checks import assert_grad_matches_fd

N = 12  # short sequences: accurate finite differences, quick tests
ARGS = ("F", "H", "Q", "R", "x0", "P0", "z")
CONTROL_ARGS = ARGS + ("B", "u")


# -- programs (module level, so adc can read their source) -------------------------------
def nll_of(F, H, Q, R, x0, P0, z):
    return dsp.kalman_nll(F, H, Q, R, x0, P0, z)


def nll_control_of(F, H, Q, R, x0, P0, z, B, u):
    return dsp.kalman_nll_control(F, H, Q, R, x0, P0, z, B, u)


def smoother_of(F, H, Q, R, x0, P0, z):
    return dsp.rts_smoother(F, H, Q, R, x0, P0, z)


def smoother_control_of(F, H, Q, R, x0, P0, z, B, u):
    return dsp.rts_smoother_control(F, H, Q, R, x0, P0, z, B, u)


def smoother_loss(F, H, Q, R, x0, P0, z):
    means, covs = dsp.rts_smoother(F, H, Q, R, x0, P0, z)
    return np.sum(np.sin(means)) + np.sum(covs * covs)


def smoother_control_loss(F, H, Q, R, x0, P0, z, B, u):
    means, covs = dsp.rts_smoother_control(F, H, Q, R, x0, P0, z, B, u)
    return np.sum(means * means) + np.sum(np.cos(covs))


# -- models ----------------------------------------------------------------------------------
def tracker(n_steps=N, seed=0, dt=1.0):
    """(F, H, Q, R, x0, P0, z, B, u): state (px, py, vx, vy), positions observed, accelerations as controls."""
    rng = np.random.default_rng(seed)
    F = np.array([[1.0, 0, dt, 0], [0, 1.0, 0, dt], [0, 0, 1.0, 0], [0, 0, 0, 1.0]])
    H = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0]])
    L = np.tril(0.1 * rng.standard_normal((4, 4))) + 0.3 * np.eye(4)
    Q = L @ L.T
    R = np.array([[0.5, 0.1], [0.1, 0.4]])
    x0 = np.array([0.0, 0.0, 1.0, 0.5])
    M = rng.standard_normal((4, 4))
    P0 = 0.1 * M @ M.T + np.eye(4)
    z = np.cumsum(rng.standard_normal((n_steps, 2)), axis=0)
    B = np.array([[0.5 * dt * dt, 0], [0, 0.5 * dt * dt], [dt, 0], [0, dt]])
    u = 0.3 * rng.standard_normal((n_steps, 2))
    return F, H, Q, R, x0, P0, z, B, u


def tiny(seed=1):
    """A 2-state, 1-observation model with one control, five steps."""
    rng = np.random.default_rng(seed)
    F = np.array([[0.9, 0.3], [-0.2, 0.8]])
    H = np.array([[1.0, 0.5]])
    Q = np.array([[0.2, 0.05], [0.05, 0.1]])
    R = np.array([[0.3]])
    x0 = np.array([0.5, -1.0])
    P0 = np.array([[1.0, 0.2], [0.2, 0.5]])
    z = rng.standard_normal((5, 1))
    B = np.array([[0.1], [1.0]])
    u = rng.standard_normal((5, 1))
    return F, H, Q, R, x0, P0, z, B, u


def joint_gaussian(F, H, Q, R, x0, P0, z, B, u):
    """Mean and covariance of the stacked states x_1..x_N (N n) and observations z (N m), from the model's
    moments directly: mu_a = F mu_a-1 + B u_a-1, Sigma_aa = F Sigma_a-1,a-1 F^T + Q, Sigma_ab = F^(a-b) Sigma_bb."""
    n_steps = z.shape[0]
    means, blocks = [], {}
    mu, cov = x0, P0
    for a in range(n_steps):
        mu = F @ mu + B @ u[a]
        cov = F @ cov @ F.T + Q
        means.append(mu)
        blocks[a, a] = cov
        for b in range(a - 1, -1, -1):
            blocks[a, b] = F @ blocks[a - 1, b]
            blocks[b, a] = blocks[a, b].T
    mean_x = np.concatenate(means)
    cov_x = np.block([[blocks[a, b] for b in range(n_steps)] for a in range(n_steps)])
    G = np.kron(np.eye(n_steps), H)
    mean_z = G @ mean_x
    cov_z = G @ cov_x @ G.T + np.kron(np.eye(n_steps), R)
    return mean_x, cov_x, G, mean_z, cov_z


def reference_nll(*model):
    _, _, _, mean_z, cov_z = joint_gaussian(*model)
    r = model[6].ravel() - mean_z
    _, logdet = np.linalg.slogdet(cov_z)
    return 0.5 * (logdet + r @ np.linalg.solve(cov_z, r) + r.size * np.log(2 * np.pi))


def reference_smoother(*model):
    """E[x_k | z] and Cov[x_k | z] by conditioning the joint Gaussian: (N, n) and (N, n, n)."""
    mean_x, cov_x, G, mean_z, cov_z = joint_gaussian(*model)
    n_steps, n = model[6].shape[0], model[0].shape[0]
    cross = cov_x @ G.T
    mean = mean_x + cross @ np.linalg.solve(cov_z, model[6].ravel() - mean_z)
    cov = cov_x - cross @ np.linalg.solve(cov_z, cross.T)
    covs = np.array([cov[k * n:(k + 1) * n, k * n:(k + 1) * n] for k in range(n_steps)])
    return mean.reshape(n_steps, n), covs


def inner(a, b) -> float:
    return float(np.sum(a * b))


# -- values ------------------------------------------------------------------------------------
def test_primal_matches_plain_numpy():
    model = tracker()
    plain = model[:7]
    f = adc.differentiate(nll_of, backend="python")
    assert f(*plain) == pytest.approx(nll_of(*plain), rel=1e-13)
    fc = adc.differentiate(nll_control_of, backend="python")
    assert fc(*model) == pytest.approx(nll_control_of(*model), rel=1e-13)
    means, covs = adc.differentiate(smoother_of, backend="python")(*plain)
    want_means, want_covs = smoother_of(*plain)
    assert means.shape == (N, 4) and covs.shape == (N, 4, 4)
    np.testing.assert_allclose(means, want_means, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(covs, want_covs, rtol=1e-12, atol=1e-12)
    means, covs = adc.differentiate(smoother_control_of, backend="python")(*model)
    want_means, want_covs = smoother_control_of(*model)
    np.testing.assert_allclose(means, want_means, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(covs, want_covs, rtol=1e-12, atol=1e-12)


def test_no_controls_is_zero_controls():
    model = tracker()
    zero = model[:7] + (model[7], np.zeros_like(model[8]))
    assert dsp.kalman_nll(*model[:7]) == pytest.approx(dsp.kalman_nll_control(*zero), rel=1e-14)
    np.testing.assert_allclose(dsp.rts_smoother(*model[:7])[0], dsp.rts_smoother_control(*zero)[0], rtol=1e-14)


@pytest.mark.parametrize("make", [tiny, lambda: tracker(n_steps=6)], ids=["tiny", "tracker"])
def test_kalman_nll_is_the_joint_gaussian_likelihood(make):
    model = make()
    want = reference_nll(*model)
    f = adc.differentiate(nll_control_of, backend="python")
    assert abs(f(*model) - want) <= 1e-9 * max(1.0, abs(want))
    no_control = model[:7] + (model[7], np.zeros_like(model[8]))
    assert abs(adc.differentiate(nll_of, backend="python")(*model[:7]) - reference_nll(*no_control)) \
        <= 1e-9 * max(1.0, abs(want))


@pytest.mark.parametrize("make", [tiny, lambda: tracker(n_steps=6)], ids=["tiny", "tracker"])
def test_rts_smoother_is_the_conditional_gaussian(make):
    model = make()
    want_means, want_covs = reference_smoother(*model)
    means, covs = adc.differentiate(smoother_control_of, backend="python")(*model)
    np.testing.assert_allclose(means, want_means, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(covs, want_covs, rtol=1e-9, atol=1e-9)


# -- gradients -----------------------------------------------------------------------------------
@pytest.mark.parametrize("program, names", [
    (nll_of, ARGS), (nll_control_of, CONTROL_ARGS), (smoother_loss, ARGS), (smoother_control_loss, CONTROL_ARGS),
], ids=lambda p: getattr(p, "__name__", ""))
def test_gradients_match_finite_differences(program, names):
    """Each argument on its own (so a small gradient is not hidden beside a large one), along random,
    unsymmetric directions: the functions are smooth for unsymmetric Q, R, P0 near symmetric ones too."""
    model = tracker()[:len(names)]
    f = adc.differentiate(program, wrt=names, backend="python")
    value, grads = f.value_and_grad(*model)
    assert value == pytest.approx(program(*model), rel=1e-13)
    for i, (name, g) in enumerate(zip(names, grads)):
        assert g.shape == model[i].shape, name
        assert_grad_matches_fd(program, model, (i,), (g,), rtol=1e-6, seed=i, h=1e-4, trials=2)


@pytest.mark.parametrize("program, count", [(smoother_of, 7), (smoother_control_of, 9)],
                         ids=lambda p: getattr(p, "__name__", ""))
def test_forward_and_reverse_mode_agree_on_the_smoother(program, count):
    """<J v, w> (jvp) == <v, J^T w> (vjp) for the means and covariances together, every argument at once."""
    model = tracker()[:count]
    rng = np.random.default_rng(3)
    f = adc.differentiate(program, wrt=tuple(range(count)), backend="python")
    v = tuple(rng.standard_normal(a.shape) for a in model)
    w = (rng.standard_normal((N, 4)), rng.standard_normal((N, 4, 4)))
    (means, covs), (d_means, d_covs) = f.jvp(*model, tangents=v)
    np.testing.assert_allclose(means, program(*model)[0], rtol=1e-12, atol=1e-12)
    _, grads = f.vjp(*model, cotangent=w)
    lhs = inner(d_means, w[0]) + inner(d_covs, w[1])
    rhs = sum(inner(a, b) for a, b in zip(v, grads))
    assert abs(lhs - rhs) <= 1e-10 * max(abs(lhs), abs(rhs)), (lhs, rhs)


def test_numba_backend_matches_python():
    model = tracker()
    f_numba = adc.differentiate(nll_control_of, wrt=CONTROL_ARGS, backend="numba")
    f_python = adc.differentiate(nll_control_of, wrt=CONTROL_ARGS, backend="python")
    value, grads = f_numba.value_and_grad(*model)
    want_value, want_grads = f_python.value_and_grad(*model)
    assert value == pytest.approx(want_value, rel=1e-13)
    for name, g, want in zip(CONTROL_ARGS, grads, want_grads):
        np.testing.assert_allclose(g, want, rtol=1e-11, atol=1e-12, err_msg=name)
