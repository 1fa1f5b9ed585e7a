"""Learn a 2-d constant-velocity tracker from noisy positions by maximum likelihood.

State [px, py, vx, vy], time step dt = 1, positions observed; in adc.dsp's convention
(x_0 ~ N(x0, P0), then for k = 0..N-1)

    x_{k+1} = F x_k + w_k,    w_k ~ N(0, Q)
    z_k     = H x_{k+1} + v_k,  v_k ~ N(0, R)

    F = [[1, 0, c dt, 0], [0, 1, 0, c dt], [0, 0, 1, 0], [0, 0, 0, 1]],  H = [[1, 0, 0, 0], [0, 1, 0, 0]]
    Q = q * (white acceleration: per axis [[dt^3/3, dt^2/2], [dt^2/2, dt]]),  R = r I

The parameters theta = (c, log q, log r) are unconstrained.  The loss builds F, Q and R from theta
and calls adc.dsp.kalman_nll (a Kalman filter with np.linalg.solve / slogdet and 4 x 4 matrices
reassigned in the loop); adc differentiates it, and L-BFGS fits theta from a wrong start
(c = 0.6, q 10x too small, r 10x too large).  The tracks in the figure are adc.dsp.rts_smoother,
called as plain numpy.

With positions alone, c is barely identifiable: c and the scale of the velocity state trade off
(the data see c v and c^2 q, and only weakly the split of Q between position and velocity).  Here
the prior knows the initial velocity to +-0.01, which pins c to a few percent over 300 steps.

    python examples/tracker_fit.py         # small: 150 steps; writes examples/out/tracker_fit.png
    python examples/tracker_fit.py --full  # 300 steps
"""
import math
import os
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

import adc  # noqa: E402
from adc import dsp  # noqa: E402

try:  # adc does not depend on scipy; without it, fall back to gradient descent with backtracking
    from scipy.optimize import minimize
except ImportError:
    minimize = None

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")
NAMES = ("c", "log_q", "log_r")
# convergence, checked: the NLL falls at least this much, and the fit ends at a stationary point (the
# gradient's norm falls by GRAD_FACTOR)
LOSS_FACTOR = 1.5
GRAD_FACTOR = 1e4


def model(c, log_q, log_r, dt):
    """F, Q, R of the tracker (plain numpy here, the same arithmetic as in the loss)."""
    q, r = math.exp(log_q), math.exp(log_r)
    F = np.array([[1.0, 0, c * dt, 0], [0, 1.0, 0, c * dt], [0, 0, 1.0, 0], [0, 0, 0, 1.0]])
    a, b, d = dt ** 3 / 3.0, dt ** 2 / 2.0, dt
    Q = q * np.array([[a, 0, b, 0], [0, a, 0, b], [b, 0, d, 0], [0, b, 0, d]])
    return F, Q, r * np.eye(2)


@adc.differentiate(wrt=NAMES)
def tracker_nll(c, log_q, log_r, dt, H, x0, P0, z):
    """Negative log-likelihood of the positions z (N, 2) under the tracker with parameters theta."""
    q = np.exp(log_q)
    r = np.exp(log_r)
    F = np.array([[1.0, 0.0, c * dt, 0.0], [0.0, 1.0, 0.0, c * dt], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    a = dt ** 3 / 3.0
    b = dt ** 2 / 2.0
    Q = q * np.array([[a, 0.0, b, 0.0], [0.0, a, 0.0, b], [b, 0.0, dt, 0.0], [0.0, b, 0.0, dt]])
    R = r * np.eye(2)
    return dsp.kalman_nll(F, H, Q, R, x0, P0, z)


def simulate(rng, theta, dt, H, x0, P0, N):
    """States x_1..x_N (N, 4) and observations z (N, 2) drawn from the model."""
    F, Q, R = model(*theta, dt)
    x = rng.multivariate_normal(x0, P0)
    xs, zs = np.zeros((N, 4)), np.zeros((N, 2))
    for k in range(N):
        x = F @ x + rng.multivariate_normal(np.zeros(4), Q)
        xs[k] = x
        zs[k] = H @ x + rng.multivariate_normal(np.zeros(2), R)
    return xs, zs


def gradient_descent(fun, x0, iters=1000, tol=1e-4, callback=None):
    """Fallback without scipy: steepest descent with a backtracking (Armijo) line search."""
    x = np.array(x0, float)
    f, g = fun(x)
    t = 1.0
    for _ in range(iters):
        while True:
            xn = x - t * g
            fn, gn = fun(xn)
            if np.isfinite(fn) and fn <= f - 1e-4 * t * (g @ g):
                break
            t *= 0.5
            if t < 1e-14:
                return x
        x, f, g = xn, fn, gn
        t *= 2.0  # let the step grow again
        if callback is not None:
            callback(x)
        if np.linalg.norm(g) < tol:
            break
    return x


def fmt(theta):
    c, log_q, log_r = theta
    return f"c = {c:6.3f}   q = {math.exp(log_q):7.4f}   r = {math.exp(log_r):7.3f}"


def main(small=True, out_dir=None):
    t0 = time.perf_counter()
    out_dir = OUT if out_dir is None else out_dir
    rng = np.random.default_rng(6)
    dt, N = 1.0, (150 if small else 300)
    H = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0]])
    # prior on the state before the first observation: the initial velocity is known to +-0.01
    # (a hand-over from another sensor, say); that is what pins c, see the docstring
    x0 = np.array([0.0, 0.0, 3.0, 1.5])
    P0 = np.diag([1.0, 1.0, 1e-4, 1e-4])

    theta_true = np.array([1.0, math.log(0.002), math.log(1.0)])
    # wrong start: velocity coupling 0.6, process noise 10x too small, measurement noise 10x too large
    theta0 = np.array([0.6, theta_true[1] - math.log(10.0), theta_true[2] + math.log(10.0)])
    xs, z = simulate(rng, theta_true, dt, H, x0, P0, N)
    data = (dt, H, x0, P0, z)
    print(f"constant-velocity tracker, N = {N} noisy 2-d positions, dt = {dt}; "
          "fit theta = (c, log q, log r) by maximum likelihood (adc.dsp.kalman_nll)")

    # gradient check at the start against central differences
    g_adc = np.array(tracker_nll.grad(*theta0, *data))
    g_fd = np.zeros(3)
    h = 1e-5
    for i in range(3):
        e = np.zeros(3)
        e[i] = h
        g_fd[i] = (tracker_nll(*(theta0 + e), *data) - tracker_nll(*(theta0 - e), *data)) / (2 * h)
    rel = np.linalg.norm(g_adc - g_fd) / np.linalg.norm(g_fd)
    print(f"gradient check at the start: adc = {np.array2string(g_adc, precision=6)}, "
          f"central diff = {np.array2string(g_fd, precision=6)}, relative error = {rel:.1e} "
          f"({'OK' if rel < 1e-6 else 'MISMATCH'})")
    if not rel < 1e-6:
        raise AssertionError(f"adc's gradient {g_adc} disagrees with central differences {g_fd} (relative {rel:.1e})")

    seen = {}  # NLL at each evaluated theta, so that recording an iterate costs no evaluation

    def fun(th):
        value, grads = tracker_nll.value_and_grad(*th, *data)
        seen[np.asarray(th, float).tobytes()] = float(value)
        return float(value), np.array(grads)

    history = [fun(theta0)[0]]

    def record(th):
        key = np.asarray(th, float).tobytes()
        history.append(seen[key] if key in seen else fun(th)[0])

    if minimize is not None:
        res = minimize(fun, theta0, jac=True, method="L-BFGS-B", callback=record,
                       options=dict(gtol=1e-7, ftol=1e-14))
        theta, method = res.x, f"L-BFGS (scipy), {res.nit} iterations, {res.nfev} evaluations"
    else:
        theta = gradient_descent(fun, theta0, callback=record)
        method = f"gradient descent with backtracking (no scipy), {len(history) - 1} iterations"

    nll_true, nll0, nll_fit = (tracker_nll(*th, *data) for th in (theta_true, theta0, theta))
    # standard errors: the inverse of the Hessian of the NLL, by central differences of adc's gradient
    hess = np.zeros((3, 3))
    for i in range(3):
        e = np.zeros(3)
        e[i] = 1e-5
        hess[i] = (fun(theta + e)[1] - fun(theta - e)[1]) / 2e-5
    se = np.sqrt(np.diag(np.linalg.inv(0.5 * (hess + hess.T))))
    print(f"\n{method}")
    print(f"  true     {fmt(theta_true)}   NLL = {nll_true:9.3f}")
    print(f"  initial  {fmt(theta0)}   NLL = {nll0:9.3f}")
    print(f"  fitted   {fmt(theta)}   NLL = {nll_fit:9.3f}   |grad| = {np.linalg.norm(fun(theta)[1]):.1e}")
    print(f"  standard errors (inverse Hessian): c {se[0]:.3f}, log q {se[1]:.3f}, log r {se[2]:.3f}")
    factor = nll0 / nll_fit
    grad_factor = np.linalg.norm(g_adc) / np.linalg.norm(fun(theta)[1])
    print(f"NLL fell by a factor of {factor:.3f} (required: {LOSS_FACTOR:g}), its gradient's norm by "
          f"{grad_factor:.1e} (required: {GRAD_FACTOR:g})")
    if not (factor >= LOSS_FACTOR and grad_factor >= GRAD_FACTOR):
        raise AssertionError(f"the fit did not converge: NLL {nll0:.6g} -> {nll_fit:.6g}, gradient's norm "
                             f"fell by {grad_factor:.3g}")

    # RTS-smoothed tracks under the initial and the fitted parameters (plain numpy)
    tracks = {}
    for name, th in (("initial", theta0), ("fitted", theta)):
        F, Q, R = model(*th, dt)
        means, covs = dsp.rts_smoother(F, H, Q, R, x0, P0, z)
        tracks[name] = means
    err = {name: np.linalg.norm(m[:, :2] - xs[:, :2], axis=1) for name, m in tracks.items()}
    rmse = {name: math.sqrt(np.mean(e ** 2)) for name, e in err.items()}
    rmse_obs = math.sqrt(np.mean(np.sum((z - xs[:, :2]) ** 2, axis=1)))
    print(f"position RMSE vs the true track: observations {rmse_obs:.3f}, smoothed with the initial "
          f"parameters {rmse['initial']:.3f}, with the fitted parameters {rmse['fitted']:.3f}")

    # --- plots ---------------------------------------------------------------
    os.makedirs(out_dir, exist_ok=True)
    fig = plt.figure(figsize=(13, 9))
    gs = fig.add_gridspec(2, 2, height_ratios=(1.25, 1))
    styles = dict(obs=dict(ls="", marker=".", color="0.55", ms=4),
                  true=dict(color="k", lw=4, alpha=0.3),
                  initial=dict(color="C1", ls="--", lw=1.6),
                  fitted=dict(color="C3", lw=1.4))

    def draw(ax, sl):
        ax.plot(z[sl, 0], z[sl, 1], **styles["obs"])
        ax.plot(xs[sl, 0], xs[sl, 1], **styles["true"])
        ax.plot(tracks["initial"][sl, 0], tracks["initial"][sl, 1], **styles["initial"])
        ax.plot(tracks["fitted"][sl, 0], tracks["fitted"][sl, 1], **styles["fitted"])

    ax = fig.add_subplot(gs[0, :])
    draw(ax, slice(None))
    ax.plot(*xs[0, :2], "ko", ms=5)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("px")
    ax.set_ylabel("py")
    ax.set_title(f"tracks in the plane: {N} steps, observation noise σ = {math.exp(theta_true[2] / 2):.1f} per axis "
                 "(boxes: zoomed in the insets)")
    ax.grid(alpha=0.3)
    # two zooms, placed in the empty corners: the start, where the initial model is furthest off, and a turn
    turn = (120, 136) if small else (236, 252)
    for (k0, k1), bounds in (((0, 14), (0.03, 0.38, 0.36, 0.53)), (turn, (0.62, 0.06, 0.36, 0.55))):
        sl = slice(k0, k1)
        pts = np.vstack([xs[sl, :2], z[sl], tracks["initial"][sl, :2], tracks["fitted"][sl, :2]])
        (xlo, ylo), (xhi, yhi) = pts.min(axis=0) - 1.5, pts.max(axis=0) + 1.5
        ins = ax.inset_axes(bounds)
        draw(ins, slice(max(k0 - 3, 0), k1 + 3))
        ins.set_xlim(xlo, xhi)
        ins.set_ylim(ylo, yhi)
        ins.set_aspect("equal", adjustable="box")
        ins.set_title(f"steps {k0 + 1}-{k1}", fontsize=9, pad=3)
        ins.tick_params(labelsize=8)
        ins.grid(alpha=0.3)
        ax.indicate_inset_zoom(ins, edgecolor="0.3")
    handles = [plt.Line2D([], [], **styles[key], label=label) for key, label in (
        ("obs", "observations z"), ("true", "true track"),
        ("initial", f"RTS smoothed, initial θ (RMSE {rmse['initial']:.2f})"),
        ("fitted", f"RTS smoothed, fitted θ (RMSE {rmse['fitted']:.2f})"))]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.40, 1.0), fontsize=9)

    ax = fig.add_subplot(gs[1, 0])
    excess = np.array(history) - nll_fit
    excess[excess <= 0] = np.nan  # the last iterates equal the fit to rounding
    ax.semilogy(excess, "C0-", marker="o" if len(excess) <= 60 else "", ms=4, label="NLL(θ_i) − NLL(θ̂)")
    ax.axhline(nll_true - nll_fit, color="k", ls=":", label=f"true θ: {nll_true - nll_fit:.2f} above the fit")
    ax.set_xlabel("iteration")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("excess negative log-likelihood")
    ax.set_title(f"{'L-BFGS' if minimize is not None else 'gradient descent'}: "
                 f"NLL {nll0:.1f} → {nll_fit:.1f} (true θ {nll_true:.1f})")
    ax.legend()
    ax.grid(alpha=0.3, which="both")

    ax = fig.add_subplot(gs[1, 1])
    n = np.arange(1, N + 1)
    ax.plot(n, np.linalg.norm(z - xs[:, :2], axis=1), color="0.7", lw=0.8, label="observations")
    ax.plot(n, err["initial"], color="C1", lw=1.2, label="smoothed, initial θ")
    ax.plot(n, err["fitted"], color="C3", lw=1.2, label="smoothed, fitted θ")
    ax.set_xlabel("step k")
    ax.set_ylabel("distance to the true position")
    ax.set_title("position error")
    ax.set_xlim(0, N + 1)
    ax.legend(loc="upper right")
    ax.grid(alpha=0.3)

    fig.suptitle(f"adc: learning a constant-velocity tracker through adc.dsp.kalman_nll   "
                 f"(fitted c = {theta[0]:.3f}, q = {math.exp(theta[1]):.4f}, r = {math.exp(theta[2]):.3f}; "
                 f"true 1, {math.exp(theta_true[1]):g}, {math.exp(theta_true[2]):g})")
    fig.tight_layout()
    path = os.path.join(out_dir, "tracker_fit.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"\nsaved {os.path.relpath(path)}  ({time.perf_counter() - t0:.1f} s)")
    return dict(c=float(theta[0]), loss_factor=float(factor), gradient_error=float(rel))


if __name__ == "__main__":
    main(small="--full" not in sys.argv[1:])
