"""Compressed sensing: recover a sparse signal from a few of its Fourier coefficients.

A signal x of length N with K nonzero spikes is measured through M << N randomly chosen
coefficients of its orthonormal real FFT (plus noise):

    y = mask * rfft(x, norm="ortho") + noise

Far fewer numbers than unknowns, so least squares alone has many solutions; its minimum-norm
one (zero-filling the missing coefficients) smears every spike over the whole signal.
Sparsity picks the right one. We minimise

    L(x) = 1/2 ||mask * (rfft(x) - y)||^2 + lam * sum sqrt(x^2 + eps^2)

(a smooth L1 norm) by Nesterov-accelerated gradient descent with adc's gradient, lowering
eps from 0.1 to 1e-3 as it goes (continuation: the smooth problem first, then one closer to L1).

    python examples/compressed_sensing.py         # small: N = 128; writes examples/out/compressed_sensing.png
    python examples/compressed_sensing.py --full  # N = 512
"""
import os
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import adc

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")
LOSS_FACTOR = 10.0  # the loss must fall at least this much from x = 0, and the error must fall below MAX_ERROR
MAX_ERROR = 0.08     # relative error of the reconstruction vs the truth


@adc.differentiate(wrt="x")
def cs_loss(x, mask, y, lam, eps):
    """Data misfit on the measured Fourier coefficients plus a smooth L1 penalty."""
    r = mask * (np.fft.rfft(x, norm="ortho") - y)
    misfit = 0.5 * np.sum(r.real * r.real + r.imag * r.imag)
    return misfit + lam * np.sum(np.sqrt(x * x + eps * eps))


def nesterov(x0, args, lam, eps_schedule, iters_per_eps):
    """Accelerated gradient descent, restarted at each eps; step 1/L with L = 1 + lam/eps."""
    x = x0.copy()
    losses, eps_of_iter = [], []
    for eps in eps_schedule:
        step = 1.0 / (1.0 + lam / eps)
        x_prev = x.copy()
        for k in range(iters_per_eps):
            v = x + (k - 1) / (k + 2) * (x - x_prev) if k > 0 else x
            _, g = cs_loss.value_and_grad(v, *args, lam, eps)
            x_prev = x
            x = v - step * g
            losses.append(cs_loss(x, *args, lam, eps))
            eps_of_iter.append(eps)
    return x, np.array(losses), np.array(eps_of_iter)


def main(small=True, out_dir=None):
    t0 = time.perf_counter()
    out_dir = OUT if out_dir is None else out_dir
    N, K, M = (128, 6, 28) if small else (512, 12, 80)
    iters_per_eps = 150 if small else 200
    rng = np.random.default_rng(7)

    truth = np.zeros(N)
    truth[rng.choice(N, K, replace=False)] = rng.choice([-1.0, 1.0], K) * rng.uniform(0.4, 1.0, K)
    bins = N // 2 + 1
    mask = np.zeros(bins)
    mask[rng.choice(bins, M, replace=False)] = 1.0
    noise_std = 0.005
    y = mask * (np.fft.rfft(truth, norm="ortho")
                + noise_std * (rng.standard_normal(bins) + 1j * rng.standard_normal(bins)))
    lam = 0.002
    print(f"compressed sensing: N = {N} samples, K = {K} spikes, M = {M} of {bins} Fourier coefficients "
          f"measured ({2 * M} real numbers), noise std {noise_std}, lam = {lam}")

    # gradient check: adc vs central differences along a random direction
    x_c, d = rng.standard_normal(N) * 0.3, rng.standard_normal(N)
    g = cs_loss.grad(x_c, mask, y, lam, 0.05)
    h = 1e-5
    fd = (cs_loss(x_c + h * d, mask, y, lam, 0.05) - cs_loss(x_c - h * d, mask, y, lam, 0.05)) / (2 * h)
    ad = float(g @ d)
    rel = abs(ad - fd) / abs(fd)
    print(f"gradient check: <grad, d> = {ad:.10f}, central diff = {fd:.10f}, relative error = {rel:.1e} "
          f"({'OK' if rel < 1e-6 else 'MISMATCH'})")
    if not rel < 1e-6:
        raise AssertionError(f"adc's gradient disagrees with central differences: {ad} vs {fd} (relative {rel:.1e})")

    # the minimum-norm least-squares answer: zero-fill the unmeasured coefficients
    zero_filled = np.fft.irfft(y, N, norm="ortho")
    eps_schedule = [0.1, 0.03, 0.01, 0.003, 0.001]
    x0 = np.zeros(N)
    loss0 = cs_loss(x0, mask, y, lam, eps_schedule[0])
    x, losses, eps_of_iter = nesterov(x0, (mask, y), lam, eps_schedule, iters_per_eps)

    def error(v):
        return np.linalg.norm(v - truth) / np.linalg.norm(truth)

    print(f"\nNesterov gradient descent, {iters_per_eps} iterations at each eps in {eps_schedule}")
    for i, eps in enumerate(eps_schedule):
        print(f"  eps = {eps:6.3f}: loss {losses[(i + 1) * iters_per_eps - 1]:.6f}")
    factor = loss0 / losses[-1]
    print(f"relative error vs truth: zero-filled {error(zero_filled):.3f}, sparse reconstruction {error(x):.4f}")
    print(f"loss fell by a factor of {factor:.0f} from x = 0 (required: {LOSS_FACTOR:g}); "
          f"error {error(x):.4f} (required below {MAX_ERROR})")
    if not (factor >= LOSS_FACTOR and error(x) < MAX_ERROR):
        raise AssertionError(f"the reconstruction did not converge: loss {loss0:.4g} -> {losses[-1]:.4g}, "
                             f"error {error(x):.3g}")

    # --- plots ---------------------------------------------------------------
    os.makedirs(out_dir, exist_ok=True)
    fig = plt.figure(figsize=(13, 8.5))
    gs = fig.add_gridspec(2, 2)
    n = np.arange(N)
    ax = fig.add_subplot(gs[0, :])
    ax.plot(n, zero_filled, color="C0", lw=1, label=f"zero-filled least squares (error {error(zero_filled):.2f})")
    spikes = truth != 0
    ax.stem(n[spikes], truth[spikes], linefmt="k-", markerfmt="ko", basefmt=" ", label="truth")
    ax.plot(n, x, "C3", lw=1.2, label=f"smooth-L1 reconstruction (error {error(x):.3f})")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlim(-1, N)
    ax.set_xlabel("sample n")
    ax.set_ylabel("x[n]")
    ax.set_title(f"{K} spikes from {M} of {bins} Fourier coefficients")
    ax.legend(loc="upper right", fontsize=9)
    ax.grid(alpha=0.3)

    ax = fig.add_subplot(gs[1, 0])
    k = np.arange(bins)
    full = np.abs(np.fft.rfft(truth, norm="ortho"))
    ax.plot(k, full, color="0.6", lw=1, label="|rfft(truth)| (all coefficients)")
    seen = mask > 0
    ax.plot(k[seen], np.abs(y[seen]), "C0o", ms=4, label="measured")
    ax.plot(k, np.abs(np.fft.rfft(x, norm="ortho")), "C3--", lw=1, label="|rfft| of the reconstruction")
    ax.set_xlabel("frequency bin")
    ax.set_ylabel("magnitude")
    ax.set_title("Fourier coefficients: measured ones marked")
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(alpha=0.3)

    ax = fig.add_subplot(gs[1, 1])
    it = np.arange(1, losses.size + 1)
    ax.semilogy(it, losses, "k", lw=1.2)
    for i, eps in enumerate(eps_schedule):
        ax.axvline(i * iters_per_eps, color="C2", ls=":", lw=1)
        ax.text(i * iters_per_eps + 3, losses.max() * 0.9, f"eps={eps:g}", fontsize=8, color="C2", va="top")
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss (at the current eps)")
    ax.set_title(f"loss: {loss0:.3g} at x = 0 -> {losses[-1]:.3g}")
    ax.grid(alpha=0.3, which="both")

    fig.suptitle("adc: compressed sensing by gradient descent on a smooth L1 penalty through np.fft.rfft")
    fig.tight_layout()
    path = os.path.join(out_dir, "compressed_sensing.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"\nsaved {os.path.relpath(path)}  ({time.perf_counter() - t0:.1f} s)")
    return dict(error=float(error(x)), loss_factor=float(factor), gradient_error=float(rel))


if __name__ == "__main__":
    main(small="--full" not in sys.argv[1:])
