"""Tune the step size of an LMS adaptive filter by differentiating through
the whole adaptation.

An unknown 16-tap FIR system h is driven by white noise; the LMS filter

    y[n]  = sum_k w[k] x[n-k]
    e[n]  = d[n] - y[n]                 (a-priori error)
    w[k] += mu * e[n] * x[n-k]          (in-place weight update)

adapts from w = 0.  The loss J(mu) is the mean squared a-priori error over the
entire run, so it trades convergence speed (large mu) against misadjustment
and, eventually, instability (too large mu).  adc differentiates J w.r.t. mu
through every one of the ~N*K in-place weight updates; we then run gradient
descent on log J as a function of log mu.

    python examples/lms_step_size.py         # small: 1000 samples; writes examples/out/lms_step_size.png
    python examples/lms_step_size.py --full  # 3000 samples
"""
import os
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import adc  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")
K = 16  # number of taps (of both the unknown system and the adaptive filter)
LOSS_FACTOR = 5.0  # tuning mu must lower J at least this much from J(mu0)


@adc.differentiate(wrt="mu")
def lms_loss(mu, x, d, err):
    """Mean squared a-priori error of a K-tap LMS run; also writes e[n] into err."""
    w = np.zeros(K)
    loss = 0.0
    for n in range(K - 1, x.shape[0]):
        y = 0.0
        for k in range(K):
            y += w[k] * x[n - k]
        e = d[n] - y
        err[n] = e
        loss += e * e
        for k in range(K):
            w[k] += mu * e * x[n - k]
    return loss / x.shape[0]


def lms_weights(mu, x, d):
    """The same LMS run in plain numpy, returning the final weights (for the plot)."""
    w = np.zeros(K)
    for n in range(K - 1, x.shape[0]):
        xs = x[n - K + 1:n + 1][::-1]
        e = d[n] - w @ xs
        w += mu * e * xs
    return w


def smooth_db(e, width=60):
    p = np.convolve(e * e, np.ones(width) / width, mode="valid")
    return 10 * np.log10(p + 1e-300)


def main(small=True, out_dir=None):
    t0 = time.perf_counter()
    out_dir = OUT if out_dir is None else out_dir
    rng = np.random.default_rng(1)

    # the unknown system and the data
    N = 1000 if small else 3000
    noise_std = 0.1
    h_true = rng.standard_normal(K) * np.exp(-np.arange(K) / 4.0)
    x = rng.standard_normal(N)
    d = np.convolve(x, h_true)[:N] + noise_std * rng.standard_normal(N)
    err = np.zeros(N)  # scratch output: the primal writes e[n] here, grad leaves it alone
    print(f"LMS system identification: {K}-tap unknown FIR, {N} samples, "
          f"noise std {noise_std}")
    print("loss J(mu) = mean squared a-priori error over the whole adaptation")

    # gradient check against central differences
    mu_c = 0.01
    g_adc = lms_loss.grad(mu_c, x, d, err)
    hstep = 1e-7
    g_fd = (lms_loss(mu_c + hstep, x, d, err) - lms_loss(mu_c - hstep, x, d, err)) / (2 * hstep)
    rel = abs(g_adc - g_fd) / abs(g_fd)
    print(f"gradient check at mu = {mu_c}: adc dJ/dmu = {g_adc:.10f}, "
          f"central diff = {g_fd:.10f}, relative error = {rel:.2e} "
          f"({'OK' if rel < 1e-6 else 'MISMATCH'})")
    if not rel < 1e-6:
        raise AssertionError(f"adc's dJ/dmu {g_adc} disagrees with central differences {g_fd} (relative {rel:.1e})")

    # gradient descent on log J over theta = log mu:
    #   d log J / d theta = mu * J'(mu) / J(mu)
    mu0 = 0.001
    theta = np.log(mu0)
    lr, max_step = 1.0, 0.5  # cap the step in log-mu so an overshoot can't reach the unstable region
    hist = []
    print(f"\ngradient descent on log J vs log mu (lr = {lr}, |step| <= {max_step}):")
    print(f"  {'iter':>4}  {'mu':>9}  {'J(mu)':>10}  {'dJ/dmu':>12}  {'dlogJ/dlogmu':>13}")
    for it in range(25):
        mu = np.exp(theta)
        J, g = lms_loss.value_and_grad(mu, x, d, err)
        slope = mu * g / J
        hist.append((mu, J, g))
        print(f"  {it:4d}  {mu:9.5f}  {J:10.6f}  {g:12.5f}  {slope:13.5f}")
        if abs(slope) < 1e-4:
            break
        theta -= np.clip(lr * slope, -max_step, max_step)
    hist = np.array(hist)
    mu_opt = hist[-1, 0]
    print(f"tuned step size mu = {mu_opt:.5f}: J = {hist[-1, 1]:.6f} "
          f"(vs J = {hist[0, 1]:.6f} at mu = {mu0}; noise floor {noise_std**2:.4f})")
    factor = hist[0, 1] / hist[-1, 1]
    print(f"J fell by a factor of {factor:.2f} (required: {LOSS_FACTOR:g})")
    if not factor >= LOSS_FACTOR:
        raise AssertionError(f"tuning mu did not lower J enough: {hist[0, 1]:.4g} -> {hist[-1, 1]:.4g}")

    # --- plots ---------------------------------------------------------------
    os.makedirs(out_dir, exist_ok=True)
    fig, axs = plt.subplots(2, 2, figsize=(12, 8.5))

    # learning curves before / after tuning (plus a too-large step size)
    ax = axs[0, 0]
    e0 = np.zeros(N)
    e1 = np.zeros(N)
    e2 = np.zeros(N)
    lms_loss(mu0, x, d, e0)
    lms_loss(mu_opt, x, d, e1)
    mu_big = 0.085
    lms_loss(mu_big, x, d, e2)
    ax.plot(smooth_db(e0), "C0", label=f"initial mu = {mu0:g}")
    ax.plot(smooth_db(e2), "C1", alpha=0.7, label=f"too large mu = {mu_big:g}")
    ax.plot(smooth_db(e1), "C3", label=f"tuned mu = {mu_opt:.4f}")
    ax.axhline(10 * np.log10(noise_std ** 2), color="k", ls=":", label="noise floor")
    ax.set_title("learning curves (squared a-priori error, 60-sample average)")
    ax.set_xlabel("sample n")
    ax.set_ylabel("dB")
    ax.legend()
    ax.grid(alpha=0.3)

    # J(mu) with the tangent lines J(m) + J'(m) (mu - m) given by adc's gradient
    ax = axs[0, 1]
    mus = np.linspace(0.002, 0.092, 80 if small else 200)
    Js = np.array([lms_loss(m, x, d, err) for m in mus])
    ax.plot(mus, Js, "k", lw=2, label="J(mu)")
    ax.plot(hist[:, 0], hist[:, 1], "o", color="C3", ms=5, label="descent iterates")
    pts = [(m, J, g) for (m, J, g) in hist[3:]] + [(0.07, lms_loss(0.07, x, d, err),
                                                    lms_loss.grad(0.07, x, d, err))]
    for i, (m, J, g) in enumerate(pts):
        r = np.array([m - 0.008, m + 0.008])
        ax.plot(r, J + g * (r - m), "-", color="C0", lw=1.5,
                label="tangent from adc's dJ/dmu" if i == 0 else None)
    ax.plot(*pts[-1][:2], "o", color="C0", ms=5)
    ax.axvline(mu_opt, color="C3", ls="--", lw=1, label=f"tuned mu = {mu_opt:.4f}")
    ax.set_ylim(0.75 * Js.min(), 3.5 * Js.min())
    ax.set_xlim(0, 0.092)
    ax.set_title("loss vs step size, with gradient tangents")
    ax.set_xlabel("mu")
    ax.set_ylabel("J(mu)")
    ax.legend(loc="upper center")
    ax.grid(alpha=0.3)

    # descent trajectory
    ax = axs[1, 0]
    it = np.arange(len(hist))
    ax.semilogy(it, hist[:, 0], "C3o-", label="mu")
    ax.set_xlabel("gradient-descent iteration")
    ax.set_ylabel("mu", color="C3")
    ax2 = ax.twinx()
    ax2.semilogy(it, hist[:, 1], "ks--", label="J(mu)")
    ax2.set_ylabel("J(mu)")
    ax.set_title("step-size optimisation")
    ax.grid(alpha=0.3, which="both")

    # identified system
    ax = axs[1, 1]
    k = np.arange(K)
    ax.stem(k, h_true, linefmt="C0-", markerfmt="C0o", basefmt=" ", label="true h")
    ax.plot(k - 0.15, lms_weights(mu0, x, d), "C0x", ms=8, mew=2,
            label=f"w after run, mu = {mu0:g}")
    ax.plot(k + 0.15, lms_weights(mu_opt, x, d), "C3+", ms=10, mew=2,
            label=f"w after run, mu = {mu_opt:.4f}")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_title("final LMS weights vs unknown system")
    ax.set_xlabel("tap k")
    ax.set_ylabel("coefficient value")
    ax.legend()

    fig.suptitle(f"adc: tuning the LMS step size by differentiating through the adaptation ({N} samples)")
    fig.tight_layout()
    path = os.path.join(out_dir, "lms_step_size.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"\nsaved {os.path.relpath(path)}  ({time.perf_counter() - t0:.1f} s)")
    return dict(mu=float(mu_opt), loss_factor=float(factor), gradient_error=float(rel))


if __name__ == "__main__":
    main(small="--full" not in sys.argv[1:])
