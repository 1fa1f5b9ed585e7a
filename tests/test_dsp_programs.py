"""Gradients of real DSP programs against finite differences and an independent derivation."""
import numpy as np
import pytest

import adc

import dsp_programs as progs
from checks import assert_grad_matches_fd, dual_partials

rng = np.random.default_rng(42)
N = 60
X = rng.standard_normal(N)
T = rng.standard_normal(N)


def check(f, args, wrt, backend, independent, rtol=1e-6):
    d = adc.differentiate(f, wrt=tuple(wrt), backend=backend)
    value, grads = d.value_and_grad(*args)
    assert value == pytest.approx(f(*args), rel=1e-12)
    assert_grad_matches_fd(f, args, wrt, grads, rtol=rtol)
    for g, expected in zip(grads, independent):
        np.testing.assert_allclose(g, expected, rtol=1e-9, atol=1e-12 * np.max(np.abs(expected)))
    return d


def iir_hand_adjoint(b, a, x, target):
    y = np.zeros(len(x))
    y_prev = 0.0
    for n in range(len(x)):
        y[n] = b * x[n] - a * y_prev
        y_prev = y[n]
    gb = ga = 0.0
    y_bar_next = 0.0
    for n in range(len(x) - 1, -1, -1):
        y_bar = 2 * (y[n] - target[n]) + y_bar_next
        gb += y_bar * x[n]
        ga -= y_bar * (y[n - 1] if n > 0 else 0.0)
        y_bar_next = -a * y_bar
    return gb, ga


def test_first_order_iir_wrt_coefficients(backend):
    args = (0.7, -0.4, X, T)
    d = check(progs.iir_loss, args, [0, 1], backend, iir_hand_adjoint(*args))
    assert "y_prev__tape" in d.adjoint_source()


def test_biquad_direct_form_one_wrt_five_coefficients(backend):
    args = (0.2, 0.3, 0.2, -0.5, 0.3, X, T)
    check(progs.biquad_loss, args, range(5), backend, dual_partials(progs.biquad_loss, args, range(5)))


def test_fir_wrt_taps_and_input(backend):
    K = 8
    h = rng.standard_normal(K)
    args = (h, X, T)
    y = np.convolve(X, h, mode="valid")
    r = 2 * (y - T[K - 1:])
    gh = np.array([np.dot(r, X[K - 1 - k:N - k]) for k in range(K)])
    gx = np.zeros(N)
    for n in range(K - 1, N):
        gx[n - K + 1:n + 1] += r[n - K + 1] * h[::-1]
    check(progs.fir_loss, args, [0, 1], backend, [gh, gx])


def lms_hand_adjoint(mu, x, d, K):
    w = np.zeros(K)
    errors = []
    for n in range(K - 1, len(x)):
        u = x[n - K + 1:n + 1][::-1]
        e = d[n] - w @ u
        errors.append(e)
        w += mu * e * u
    w_bar = np.zeros(K)
    mu_bar = 0.0
    for n, e in zip(range(len(x) - 1, K - 2, -1), reversed(errors)):
        u = x[n - K + 1:n + 1][::-1]
        mu_bar += e * (w_bar @ u)
        e_bar = mu * (w_bar @ u) + 2 * e
        w_bar -= e_bar * u
    return mu_bar


def test_lms_wrt_step_size_through_the_adaptation(backend):
    K = 4
    desired = np.convolve(X, [0.5, -0.3, 0.2, 0.1])[:N] + 0.01 * T
    args = (0.05, X, desired, K)
    d = check(progs.lms_loss, args, [0], backend, [lms_hand_adjoint(*args)])
    source = d.adjoint_source()
    assert source.count("__tape = rt.tape") == 1, "LMS records one value a step, no weight history"


def test_scalar_kalman_nll_wrt_phi_q_r(backend):
    z = np.cumsum(0.3 * X) + 0.5 * T
    args = (0.9, 0.1, 0.3, z)
    check(progs.kalman_nll, args, [0, 1, 2], backend, dual_partials(progs.kalman_nll, args, [0, 1, 2]))


def test_newton_iteration_in_while_loop(backend):
    c = 2.5
    check(progs.newton_sqrt, (c,), [0], backend, [0.5 / np.sqrt(c)])


def test_deblurring_loss_wrt_image_and_psf(backend):
    img = rng.standard_normal((9, 8))
    psf = rng.random((3, 2))
    obs = rng.standard_normal((7, 7))
    P, Q = psf.shape
    g_img, g_psf = np.zeros_like(img), np.zeros_like(psf)
    for i in range(7):
        for j in range(7):
            patch = img[i:i + P, j:j + Q][::-1, ::-1]
            r = 2 * (np.sum(psf * patch) - obs[i, j])
            g_psf += r * patch
            g_img[i:i + P, j:j + Q] += r * psf[::-1, ::-1]
    check(progs.deblur_loss, (img, psf, obs), [0, 1], backend, [g_img, g_psf])


def test_linear_interpolation_resampling_wrt_warp(backend):
    x = np.sin(np.linspace(0, 6, 40))
    target = np.cos(np.linspace(0, 5, 25))
    args = (1.37, 0.61, x, target)
    check(progs.resample_loss, args, [0, 1], backend, dual_partials(progs.resample_loss, args, [0, 1]))
