"""Fit the five coefficients of a biquad by Gauss-Newton / Levenberg-Marquardt.

The filter is direct form I, written as a plain loop:

    y[n] = b0 x[n] + b1 x[n-1] + b2 x[n-2] - a1 y[n-1] - a2 y[n-2]

    H(z) = (b0 + b1 z^-1 + b2 z^-2) / (1 + a1 z^-1 + a2 z^-2)

The residual is the filter's impulse response over N samples minus a target
impulse response.  By Parseval, its squared norm is the mean squared error of
the frequency responses (up to the truncation at N samples), so this fits the
frequency response, and it is nonlinear in the poles (a1, a2).  adc gives the
N x 5 Jacobian of the residual with `jacobian`, and each iteration solves

    (J^T J + lambda I) delta = -J^T r

with Levenberg-Marquardt control of lambda.  Before fitting, the Jacobian is
checked three ways: one vector-mode forward sweep (mode="fwd"), one reverse
sweep per residual (mode="rev"), and central finite differences.

    python examples/biquad_gauss_newton.py         # small: 48 samples; writes examples/out/biquad_gauss_newton.png
    python examples/biquad_gauss_newton.py --full  # 64 samples
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
NAMES = ("b0", "b1", "b2", "a1", "a2")
LOSS_FACTOR = 1e20  # Levenberg-Marquardt must lower the cost at least this much (to rounding: the fit is exact)


# --- the model, written as plain signal-processing Python -------------------

@adc.differentiate(wrt=NAMES)
def residual(b0, b1, b2, a1, a2, x, target):
    """Direct-form-I biquad applied to x, minus target (one residual per sample)."""
    r = np.zeros(x.shape[0])
    x1 = 0.0
    x2 = 0.0
    y1 = 0.0
    y2 = 0.0
    for n in range(x.shape[0]):
        y = b0 * x[n] + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
        r[n] = y - target[n]
        x2 = x1
        x1 = x[n]
        y2 = y1
        y1 = y
    return r


def from_poles_zeros(f_pole, r_pole, f_zero, r_zero=1.0):
    """Biquad with complex poles r_pole e^{+-j2pi f_pole}, zeros r_zero e^{+-j2pi f_zero}, DC gain 1."""
    b = np.array([1.0, -2 * r_zero * math.cos(2 * math.pi * f_zero), r_zero ** 2])
    a = np.array([1.0, -2 * r_pole * math.cos(2 * math.pi * f_pole), r_pole ** 2])
    return np.concatenate([b * a.sum() / b.sum(), a[1:]])


def rbj_lowpass(f0, q):
    """Resonant lowpass from the RBJ audio-EQ cookbook; f0 in cycles/sample (0..0.5)."""
    w0 = 2.0 * math.pi * f0
    alpha = math.sin(w0) / (2.0 * q)
    c = math.cos(w0)
    a0 = 1.0 + alpha
    b = np.array([(1 - c) / 2, 1 - c, (1 - c) / 2]) / a0
    a = np.array([-2 * c, 1 - alpha]) / a0
    return np.concatenate([b, a])


def freq_response(theta, w):
    b0, b1, b2, a1, a2 = theta
    z1 = np.exp(-1j * w)
    return (b0 + b1 * z1 + b2 * z1 ** 2) / (1 + a1 * z1 + a2 * z1 ** 2)


def fmt(theta):
    return " ".join(f"{round(v, 5) + 0.0:+8.5f}" for v in theta)  # no "-0.00000"


def jac_matrix(theta, x, target, mode):
    """Stack adc's per-coefficient Jacobian blocks into an N x 5 matrix."""
    return np.column_stack(residual.jacobian(*theta, x, target, mode=mode))


def central_difference_jacobian(theta, x, target, h=1e-6):
    cols = []
    for i in range(len(theta)):
        e = np.zeros(len(theta))
        e[i] = h
        cols.append((residual(*(theta + e), x, target) - residual(*(theta - e), x, target)) / (2 * h))
    return np.column_stack(cols)


def levenberg_marquardt(theta0, x, target, lam0=1e-2, iters=30, tol=1e-13):
    """Gauss-Newton with Levenberg-Marquardt damping: (J^T J + lam I) d = -J^T r."""
    theta = np.array(theta0, float)
    r = residual(*theta, x, target)
    cost = 0.5 * r @ r
    lam = lam0
    history = [dict(it=0, cost=cost, step=float("nan"), lam=lam, theta=theta.copy(), tries=0)]
    for it in range(1, iters + 1):
        J = jac_matrix(theta, x, target, mode="fwd")
        A = J.T @ J
        g = J.T @ r
        tries = 0
        while True:  # raise lambda until the step lowers the cost
            tries += 1
            delta = np.linalg.solve(A + lam * np.eye(len(theta)), -g)
            r_new = residual(*(theta + delta), x, target)
            cost_new = 0.5 * r_new @ r_new
            if (np.isfinite(cost_new) and cost_new < cost) or tries == 30:
                break
            lam *= 10.0
        if not cost_new < cost:  # no damping helps: at a (local) minimum
            break
        theta, r, cost = theta + delta, r_new, cost_new
        step = float(np.linalg.norm(delta))
        history.append(dict(it=it, cost=cost, step=step, lam=lam, theta=theta.copy(), tries=tries))
        lam = max(lam / 10.0, 1e-12)  # accepted: trust the Gauss-Newton model more
        if step < tol or cost < 1e-30:
            break
    return theta, history


def main(small=True, out_dir=None):
    t0 = time.perf_counter()
    out_dir = OUT if out_dir is None else out_dir

    # target: resonance at 0.12 cycles/sample (poles at radius 0.88), notch at 0.22 (zeros on
    # the unit circle); start: a plain, critically damped lowpass (Q = 0.5) with corner at 0.2
    theta_true = from_poles_zeros(0.12, 0.88, 0.22)
    theta0 = rbj_lowpass(0.20, 0.5)
    N = 48 if small else 64
    x = np.zeros(N)
    x[0] = 1.0  # unit impulse: the residual is the impulse-response error
    target = residual(*theta_true, x, np.zeros(N))
    print(f"Fit a direct-form-I biquad to a target impulse response of {N} samples")
    print(f"  {'':8}  {'b0':>8} {'b1':>8} {'b2':>8} {'a1':>8} {'a2':>8}")
    print(f"  target   {fmt(theta_true)}")
    print(f"  initial  {fmt(theta0)}")

    # Jacobian check at the starting point: forward (vector mode), reverse, central differences
    J_fwd = jac_matrix(theta0, x, target, mode="fwd")
    J_rev = jac_matrix(theta0, x, target, mode="rev")
    J_fd = central_difference_jacobian(theta0, x, target)
    scale = np.abs(J_fd).max()

    def max_rel(A, B):
        return np.abs(A - B).max() / scale

    e_fr, e_ff, e_rf = max_rel(J_fwd, J_rev), max_rel(J_fwd, J_fd), max_rel(J_rev, J_fd)
    ok = e_fr < 1e-12 and max(e_ff, e_rf) < 1e-6
    print(f"\nJacobian check at the initial point ({J_fwd.shape[0]} x {J_fwd.shape[1]}), "
          "max |difference| / max |J|:")
    print(f"  fwd vs rev         {e_fr:.2e}")
    print(f"  fwd vs central FD  {e_ff:.2e}")
    print(f"  rev vs central FD  {e_rf:.2e}   ({'OK' if ok else 'MISMATCH'})")
    if not ok:
        raise AssertionError(f"Jacobians disagree: fwd vs rev {e_fr:.1e}, fwd vs FD {e_ff:.1e}, rev vs FD {e_rf:.1e}")

    theta, hist = levenberg_marquardt(theta0, x, target)
    print("\nLevenberg-Marquardt (cost = 0.5 ||r||^2; lambda = damping used for the accepted step)")
    print(f"  {'iter':>4}  {'cost':>11}  {'|step|':>9}  {'lambda':>8}  {'tries':>5}")
    for h in hist:
        step = "" if h["it"] == 0 else f"{h['step']:9.2e}"
        tries = "" if h["it"] == 0 else f"{h['tries']:5d}"
        print(f"  {h['it']:4d}  {h['cost']:11.3e}  {step:>9}  {h['lam']:8.1e}  {tries:>5}")
    err = np.abs(theta - theta_true).max()
    print(f"  fitted   {fmt(theta)}")
    print(f"  max |fitted - target coefficient| = {err:.1e}")
    factor = hist[0]["cost"] / max(hist[-1]["cost"], 1e-300)
    print(f"cost fell by a factor of {factor:.1e} (required: {LOSS_FACTOR:g})")
    if not factor >= LOSS_FACTOR:
        raise AssertionError(f"Levenberg-Marquardt did not converge: cost {hist[0]['cost']:.3g} -> {hist[-1]['cost']:.3g}")

    # --- plots ---------------------------------------------------------------
    os.makedirs(out_dir, exist_ok=True)
    fig = plt.figure(figsize=(13, 8.5))
    gs = fig.add_gridspec(2, 3)
    w = np.linspace(0.0, math.pi, 1024)
    fn = w / (2 * math.pi)  # cycles per sample

    def db(th):
        return 20 * np.log10(np.abs(freq_response(th, w)) + 1e-12)

    ax = fig.add_subplot(gs[0, :2])
    ax.plot(fn, db(theta_true), "k", lw=4, alpha=0.35, label="target")
    ax.plot(fn, db(theta0), "C1--", lw=1.5, label="initial")
    for h in hist[1:4]:
        ax.plot(fn, db(h["theta"]), color="C0", lw=0.8, alpha=0.5)
    ax.plot([], [], color="C0", lw=0.8, alpha=0.5, label="iterations 1-3")
    ax.plot(fn, db(theta), "C3", lw=1.2, label=f"fitted ({len(hist) - 1} iterations)")
    ax.set_xlim(0, 0.5)
    ax.set_ylim(-60, 20)
    ax.set_xlabel("normalised frequency (cycles/sample)")
    ax.set_ylabel("|H| (dB)")
    ax.set_title("magnitude response")
    ax.legend(loc="lower left")
    ax.grid(alpha=0.3)

    ax = fig.add_subplot(gs[0, 2])
    t = np.linspace(0, 2 * math.pi, 400)
    ax.plot(np.cos(t), np.sin(t), color="0.6", lw=1)
    for th, col, mk in [(theta_true, "k", 14), (theta0, "C1", 9), (theta, "C3", 7)]:
        zs = np.roots(th[:3])
        ps = np.roots([1.0, th[3], th[4]])
        ax.plot(zs.real, zs.imag, "o", mfc="none", mec=col, ms=mk, mew=1.5)
        ax.plot(ps.real, ps.imag, "x", color=col, ms=mk, mew=1.5)
    handles = [plt.Line2D([], [], color=c, lw=3, alpha=a, label=lab)
               for c, a, lab in [("k", 0.5, "target"), ("C1", 1, "initial"), ("C3", 1, "fitted")]]
    handles += [plt.Line2D([], [], ls="", marker="x", color="0.3", mew=1.5, label="poles"),
                plt.Line2D([], [], ls="", marker="o", mfc="none", mec="0.3", mew=1.5, label="zeros")]
    ax.legend(handles=handles, fontsize=8, loc="upper center", ncol=3)
    ax.annotate("initial: double\nzero at z = -1", (-1, 0), (-0.95, -0.75), fontsize=8,
                color="C1", arrowprops=dict(arrowstyle="->", color="C1"))
    ax.set_aspect("equal")
    ax.set_xlim(-1.3, 1.3)
    ax.set_ylim(-1.3, 1.75)
    ax.set_xlabel("Re z")
    ax.set_ylabel("Im z")
    ax.set_title("pole-zero plot")
    ax.grid(alpha=0.3)

    ax = fig.add_subplot(gs[1, 0])
    its = [h["it"] for h in hist]
    ax.semilogy(its, [h["cost"] for h in hist], "C0o-", ms=4, label="cost 0.5||r||²")
    ax.semilogy(its[1:], [h["step"] for h in hist[1:]], "C2s--", ms=4, label="|step|")
    ax.semilogy(its[1:], [h["lam"] for h in hist[1:]], "C7^:", ms=4, label="lambda (accepted)")
    ax.set_xlabel("iteration")
    ax.set_ylabel("value (log scale)")
    ax.set_title("convergence")
    ax.legend()
    ax.grid(alpha=0.3, which="both")

    ax = fig.add_subplot(gs[1, 1])
    n = np.arange(N)
    ax.plot(n, target, "k", lw=4, alpha=0.35, label="target")
    ax.plot(n, residual(*theta0, x, np.zeros(N)), "C1--", lw=1.2, label="initial")
    ax.plot(n, residual(*theta, x, np.zeros(N)), "C3", lw=1.2, label="fitted")
    ax.set_xlabel("n")
    ax.set_ylabel("h[n]")
    ax.set_title("impulse response")
    ax.legend()
    ax.grid(alpha=0.3)

    ax = fig.add_subplot(gs[1, 2])
    P = np.array([h["theta"] for h in hist])
    # b0 and b2 nearly coincide (the start and the target both have b0 = b2): large hollow circles on a
    # thick line for b0, small filled squares on a dashed line for b2, so both stay visible
    styles = [dict(marker="o", ms=8, mfc="none", ls="-", lw=2.5, alpha=0.6), dict(marker="^", ms=4, ls="-"),
              dict(marker="s", ms=3, ls="--"), dict(marker="v", ms=4, ls="-"), dict(marker="D", ms=3, ls="-.")]
    for j, (name, style) in enumerate(zip(NAMES, styles)):
        ax.plot(its, P[:, j], color=f"C{j}", label=name, **style)
        ax.axhline(theta_true[j], color=f"C{j}", ls=":", lw=1)
    ax.set_xlabel("iteration")
    ax.set_ylabel("coefficient value")
    ax.set_title("coefficients (dotted: target)")
    ax.legend(fontsize=8, ncol=2, loc="lower right", bbox_to_anchor=(1.0, 0.12))
    ax.grid(alpha=0.3)

    fig.suptitle(f"adc: biquad fit by Gauss-Newton / Levenberg-Marquardt with adc's Jacobian ({N} samples)")
    fig.tight_layout()
    path = os.path.join(out_dir, "biquad_gauss_newton.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"\nsaved {os.path.relpath(path)}  ({time.perf_counter() - t0:.1f} s)")
    return dict(iterations=len(hist) - 1, loss_factor=float(factor), jacobian_error=float(max(e_ff, e_rf)))


if __name__ == "__main__":
    main(small="--full" not in sys.argv[1:])
