"""Maximum-likelihood fit of an AR(1)-plus-noise model through a Kalman filter.

    state:        s[n] = phi * s[n-1] + w[n],   w ~ N(0, q)
    observation:  z[n] = s[n] + v[n],           v ~ N(0, r)

The scalar Kalman filter gives the exact Gaussian log-likelihood of z through
its innovations.  We write the filter as a plain loop, with an unconstrained
parametrisation (phi = tanh(alpha), q = exp(log_q), r = exp(log_r)) inside the
differentiated function, let adc differentiate it, and maximise it with a
small BFGS quasi-Newton method written in numpy.

    python examples/kalman_fit.py         # small: 600 samples; writes examples/out/kalman_fit.png
    python examples/kalman_fit.py --full  # 2000 samples
"""
import math
import os
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import adc  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")
# convergence, checked: the negative log-likelihood falls at least this much, and BFGS ends at a
# stationary point (the gradient's norm falls by GRAD_FACTOR)
LOSS_FACTOR = 1.1
GRAD_FACTOR = 1e4


@adc.differentiate(wrt=("alpha", "log_q", "log_r"))
def kalman_loglik(alpha, log_q, log_r, z, m_out, p_out):
    """Mean log-likelihood per sample; also writes the filtered mean/variance."""
    phi = math.tanh(alpha)
    q = math.exp(log_q)
    r = math.exp(log_r)
    m = 0.0
    P = q / (1.0 - phi * phi)  # stationary prior variance of the state
    ll = 0.0
    for n in range(z.shape[0]):
        # predict
        if n > 0:
            m = phi * m
            P = phi * phi * P + q
        # update
        v = z[n] - m
        S = P + r
        ll += -0.5 * (math.log(2.0 * math.pi * S) + v * v / S)
        K = P / S
        m = m + K * v
        P = (1.0 - K) * P
        m_out[n] = m
        p_out[n] = P
    return ll / z.shape[0]


def to_params(theta):
    return math.tanh(theta[0]), math.exp(theta[1]), math.exp(theta[2])


def bfgs_maximise(f, theta0, iters=60, tol=1e-8):
    """Minimal BFGS with backtracking (Armijo) line search, maximising f.value_and_grad."""
    def neg(th):
        v, g = f(th)
        return -v, -np.asarray(g)

    x = np.array(theta0, float)
    fx, gx = neg(x)
    H = np.eye(x.size)  # inverse-Hessian approximation
    history = [(x.copy(), -fx)]
    for _ in range(iters):
        p = -H @ gx
        if gx @ p >= 0:  # not a descent direction: reset
            H = np.eye(x.size)
            p = -gx
        t = 1.0
        while True:
            xn = x + t * p
            fn, gn = neg(xn)
            if np.isfinite(fn) and fn <= fx + 1e-4 * t * (gx @ p):
                break
            t *= 0.5
            if t < 1e-10:
                return x, history
        s, y = xn - x, gn - gx
        if y @ s > 1e-12:
            rho = 1.0 / (y @ s)
            I = np.eye(x.size)
            H = (I - rho * np.outer(s, y)) @ H @ (I - rho * np.outer(y, s)) + rho * np.outer(s, s)
        x, fx, gx = xn, fn, gn
        history.append((x.copy(), -fx))
        if np.linalg.norm(gx) < tol:
            break
    return x, history


def main(small=True, out_dir=None):
    t0 = time.perf_counter()
    out_dir = OUT if out_dir is None else out_dir
    rng = np.random.default_rng(2)

    # simulate the AR(1)-plus-noise process
    phi_true, q_true, r_true = 0.95, 0.1, 0.5
    N = 600 if small else 2000
    s = np.zeros(N)
    s[0] = rng.normal(0, math.sqrt(q_true / (1 - phi_true ** 2)))
    for n in range(1, N):
        s[n] = phi_true * s[n - 1] + rng.normal(0, math.sqrt(q_true))
    z = s + rng.normal(0, math.sqrt(r_true), N)
    m_out = np.zeros(N)
    p_out = np.zeros(N)
    print(f"AR(1) + white noise, N = {N}: true phi = {phi_true}, q = {q_true}, r = {r_true}")
    print("maximising the Kalman-filter log-likelihood over "
          "(alpha, log q, log r), phi = tanh(alpha)")

    # gradient check against central differences
    th_c = np.array([0.5, -1.0, 0.0])
    g_adc = np.array(kalman_loglik.grad(*th_c, z, m_out, p_out))
    g_fd = np.zeros(3)
    h = 1e-4  # balances truncation (h^2) and rounding (eps/h) error
    for i in range(3):
        e = np.zeros(3)
        e[i] = h
        g_fd[i] = (kalman_loglik(*(th_c + e), z, m_out, p_out)
                   - kalman_loglik(*(th_c - e), z, m_out, p_out)) / (2 * h)
    rel = np.linalg.norm(g_adc - g_fd) / np.linalg.norm(g_fd)
    print(f"gradient check at {th_c.tolist()}: adc = {np.array2string(g_adc, precision=8)}, "
          f"central diff = {np.array2string(g_fd, precision=8)}, relative error = {rel:.2e} "
          f"({'OK' if rel < 1e-6 else 'MISMATCH'})")
    if not rel < 1e-6:
        raise AssertionError(f"adc's gradient {g_adc} disagrees with central differences {g_fd} (relative {rel:.1e})")

    # BFGS from a deliberately poor start: phi = 0.2, q = 1, r = 1
    theta0 = np.array([math.atanh(0.2), 0.0, 0.0])

    def value_and_grad(th):
        return kalman_loglik.value_and_grad(th[0], th[1], th[2], z, m_out, p_out)

    theta, hist = bfgs_maximise(value_and_grad, theta0)
    print("\nBFGS iterations (mean log-likelihood per sample):")
    print(f"  {'iter':>4}  {'loglik':>10}  {'phi':>8}  {'q':>8}  {'r':>8}")
    for i, (th, ll) in enumerate(hist):
        if i < 5 or i % 5 == 0 or i == len(hist) - 1:
            phi, q, r = to_params(th)
            print(f"  {i:4d}  {ll:10.6f}  {phi:8.5f}  {q:8.5f}  {r:8.5f}")
    phi_hat, q_hat, r_hat = to_params(theta)
    ll_true = kalman_loglik(math.atanh(phi_true), math.log(q_true), math.log(r_true),
                            z, m_out, p_out)
    print(f"MLE: phi = {phi_hat:.4f}, q = {q_hat:.4f}, r = {r_hat:.4f} "
          f"(true {phi_true}, {q_true}, {r_true}); "
          f"loglik {hist[-1][1]:.6f} vs {ll_true:.6f} at the true parameters")

    nll0, nll_hat = -hist[0][1], -hist[-1][1]
    grad0 = np.linalg.norm(kalman_loglik.grad(*theta0, z, m_out, p_out))
    grad_hat = np.linalg.norm(kalman_loglik.grad(*theta, z, m_out, p_out))
    factor = nll0 / nll_hat
    print(f"negative log-likelihood fell by a factor of {factor:.3f} (required: {LOSS_FACTOR:g}), "
          f"its gradient's norm by {grad0 / grad_hat:.1e} (required: {GRAD_FACTOR:g})")
    if not (factor >= LOSS_FACTOR and grad0 / grad_hat >= GRAD_FACTOR):
        raise AssertionError(f"BFGS did not converge: NLL {nll0:.6f} -> {nll_hat:.6f}, "
                             f"|gradient| {grad0:.3g} -> {grad_hat:.3g}")

    # filtered estimate at the MLE (the primal writes it into m_out / p_out)
    kalman_loglik(*theta, z, m_out, p_out)
    rmse_obs = np.sqrt(np.mean((z - s) ** 2))
    rmse_kf = np.sqrt(np.mean((m_out - s) ** 2))
    print(f"RMSE vs true state: raw observations {rmse_obs:.3f}, Kalman filtered {rmse_kf:.3f}")

    # --- plots ---------------------------------------------------------------
    os.makedirs(out_dir, exist_ok=True)
    fig = plt.figure(figsize=(13, 8.5))
    gs = fig.add_gridspec(2, 3)
    ax = fig.add_subplot(gs[0, :])
    sl = slice(0, 300)
    n = np.arange(N)[sl]
    ax.plot(n, z[sl], ".", color="0.6", ms=4, label="observations z")
    ax.plot(n, s[sl], "k", lw=1.5, label="true state s")
    ax.plot(n, m_out[sl], "C3", lw=1.5, label="Kalman filtered mean (MLE parameters)")
    sd = np.sqrt(p_out[sl])
    ax.fill_between(n, m_out[sl] - 2 * sd, m_out[sl] + 2 * sd, color="C3", alpha=0.2,
                    label="±2 std")
    ax.set_title(f"first 300 of {N} samples   (RMSE: observations {rmse_obs:.3f}, "
                 f"filtered {rmse_kf:.3f})")
    ax.set_xlabel("n")
    ax.set_ylabel("value")
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi + 0.25 * (hi - lo))  # room for the legend
    ax.legend(ncol=4, loc="upper left")
    ax.grid(alpha=0.3)

    ax = fig.add_subplot(gs[1, 0])
    lls = np.array([ll for _, ll in hist])
    ax.plot(lls, "C0o-", ms=4)
    ax.axhline(ll_true, color="k", ls=":", label="at true parameters")
    ax.set_title("log-likelihood per sample (BFGS)")
    ax.set_xlabel("iteration")
    ax.set_ylabel("mean log-likelihood")
    ax.legend()
    ax.grid(alpha=0.3)

    ax = fig.add_subplot(gs[1, 1])
    P = np.array([to_params(th) for th, _ in hist])
    for j, (name, tv) in enumerate([("phi", phi_true), ("q", q_true), ("r", r_true)]):
        ax.semilogy(P[:, j], f"C{j}o-", ms=3, label=name)
        ax.axhline(tv, color=f"C{j}", ls=":", lw=1)
    ax.set_title("parameters (dotted: true values)")
    ax.set_xlabel("iteration")
    ax.set_ylabel("parameter value (log scale)")
    ax.legend()
    ax.grid(alpha=0.3, which="both")

    ax = fig.add_subplot(gs[1, 2])
    phis = np.linspace(0.80, 0.995, 120)
    prof = [kalman_loglik(math.atanh(p), theta[1], theta[2], z, m_out, p_out) for p in phis]
    ax.plot(phis, prof, "k")
    ax.axvline(phi_true, color="k", ls=":", label=f"true phi = {phi_true}")
    ax.axvline(phi_hat, color="C3", ls="--", label=f"MLE phi = {phi_hat:.3f}")
    ax.set_title("log-likelihood slice vs phi (q, r at MLE)")
    ax.set_xlabel("phi")
    ax.set_ylabel("mean log-likelihood")
    ax.legend()
    ax.grid(alpha=0.3)

    fig.suptitle(f"adc: Kalman-filter maximum likelihood for AR(1) + noise ({N} samples)")
    fig.tight_layout()
    path = os.path.join(out_dir, "kalman_fit.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"\nsaved {os.path.relpath(path)}  ({time.perf_counter() - t0:.1f} s)")
    return dict(phi=phi_hat, q=q_hat, r=r_hat, loss_factor=float(factor), gradient_error=float(rel))


if __name__ == "__main__":
    main(small="--full" not in sys.argv[1:])
