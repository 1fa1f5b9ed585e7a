"""Phase retrieval: recover a sparse signal from the magnitudes of its Fourier transform.

We measure only m = |FFT(x, 2N)| of a non-negative signal x of length N with a few
spikes (2x oversampled: the zero padding is a support constraint), and minimise

    L(x) = || |FFT(x, 2N)| - m ||^2 / ||m||^2

by projected gradient descent: an adc gradient step, then the projection onto
non-negative vectors with at most s nonzeros, s shrinking from N to the known spike
count k over the first 80% of the run. A 1-d magnitude has many non-sparse
preimages, so we run a few random restarts and keep the one with the lowest loss.
The answer is unique only up to the trivial ambiguities of |FFT|: a circular shift
inside the padded frame and time reversal; we align before comparing and plotting.

    python examples/phase_retrieval.py         # small: 5 restarts; writes examples/out/phase_retrieval.png
    python examples/phase_retrieval.py --full  # 10 restarts
"""
import os
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import adc  # noqa: E402
from adc import dsp  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")
N = 64          # signal length
PAD = 2 * N     # FFT length: 2x oversampling
SPIKES = 6      # nonzeros in the truth (known to the solver)
RESTARTS = 10   # 5 in small mode (the first five; the fifth recovers the signal)
ITERS = 1000
STEP = 0.3
ANNEAL = 0.8    # the sparsity level reaches SPIKES after this fraction of the iterations
LOSS_FACTOR = 1e10  # the best restart must lower the loss at least this much, and recover the truth


def magnitude_loss(x, measured):
    X = np.fft.fft(x, 2 * x.shape[0])
    r = dsp.magnitude(X) - measured
    return np.sum(r * r) / np.sum(measured * measured)


loss = adc.differentiate(magnitude_loss, wrt="x")


def project(z, count):
    """The closest non-negative vector with at most `count` nonzeros."""
    z = np.maximum(z, 0.0)
    keep = np.argsort(z)[-count:]
    out = np.zeros_like(z)
    out[keep] = z[keep]
    return out


def solve(x0, measured):
    """Projected gradient descent with annealed sparsity; returns the iterate and its loss history."""
    x, history = x0.copy(), []
    for i in range(ITERS):
        value, g = loss.value_and_grad(x, measured)
        history.append(value)
        count = max(SPIKES, int(round(N * (1 - i / (ANNEAL * ITERS)))))
        x = project(x - STEP * g, count)
    history.append(loss(x, measured))
    return x, np.array(history)


def align(estimate, truth):
    """The copy of `estimate` (circularly shifted in the padded frame, or reversed) closest to truth."""
    best_err, best = np.inf, None
    for candidate in (estimate, estimate[::-1]):
        padded = np.zeros(PAD)
        padded[:N] = candidate
        for s in range(PAD):
            shifted = np.roll(padded, s)
            err = np.sum((shifted[:N] - truth) ** 2) + np.sum(shifted[N:] ** 2)
            if err < best_err:
                best_err, best = err, shifted[:N].copy()
    return best, np.sqrt(best_err / np.sum(truth ** 2))


def main(small=True, out_dir=None):
    t0 = time.perf_counter()
    out_dir = OUT if out_dir is None else out_dir
    restarts = 5 if small else RESTARTS
    rng = np.random.default_rng(4)
    truth = np.zeros(N)
    positions = rng.choice(np.arange(4, N - 4), SPIKES, replace=False)
    truth[positions] = rng.uniform(0.3, 1.0, SPIKES)
    measured = np.abs(np.fft.fft(truth, PAD))
    print(f"phase retrieval: a length-{N} non-negative signal with {SPIKES} spikes from |FFT| at {PAD} "
          f"frequencies ({restarts} random restarts x {ITERS} projected gradient steps)")

    # gradient check: adc vs central differences and vs forward mode, along a random direction
    x_check, d = rng.uniform(0, 1, N), rng.standard_normal(N)
    g = loss.grad(x_check, measured)
    h = 1e-5
    fd = (loss(x_check + h * d, measured) - loss(x_check - h * d, measured)) / (2 * h)
    _, jvp = loss.jvp(x_check, measured, tangents=d)
    ad = float(g @ d)
    rel = abs(ad - fd) / abs(fd)
    print(f"gradient check: <grad, d> = {ad:.10f}, central diff = {fd:.10f} (rel err {rel:.1e}), "
          f"forward mode = {jvp:.10f} (rel err {abs(jvp - ad) / abs(ad):.1e}) -> {'OK' if rel < 1e-6 else 'MISMATCH'}")
    if not (rel < 1e-6 and abs(jvp - ad) < 1e-10 * abs(ad)):
        raise AssertionError(f"derivatives disagree: <grad, d> = {ad}, central differences {fd}, jvp {jvp}")

    runs = []
    print(f"\n  {'restart':>7}  {'loss @1':>9}  {'@100':>9}  {'@500':>9}  {'final':>9}  {'error vs truth':>14}")
    for r in range(restarts):
        x0 = np.abs(rng.standard_normal(N)) * 0.3
        x, history = solve(x0, measured)
        aligned, err = align(x, truth)
        runs.append((history[-1], r, x, aligned, err, history))
        print(f"  {r:7d}  {history[0]:9.2e}  {history[100]:9.2e}  {history[500]:9.2e}  {history[-1]:9.2e}  {err:14.2e}")
    best_loss, best_r, x, aligned, err, best_history = min(runs, key=lambda run: run[0])
    print(f"lowest loss: restart {best_r}, loss {best_loss:.2e}, relative error after alignment {err:.2e} "
          f"({'recovered' if err < 1e-6 else 'NOT recovered'})")
    factor = best_history[0] / max(best_loss, 1e-300)
    print(f"its loss fell by a factor of {factor:.1e} (required: {LOSS_FACTOR:g})")
    if not (factor >= LOSS_FACTOR and err < 1e-6):
        raise AssertionError(f"phase retrieval did not converge: loss {best_history[0]:.3g} -> {best_loss:.3g}, "
                             f"error vs truth {err:.3g}")

    # --- plots ---------------------------------------------------------------
    os.makedirs(out_dir, exist_ok=True)
    fig, axs = plt.subplots(1, 3, figsize=(15, 4.4))
    n = np.arange(N)
    spikes = truth > 0
    axs[0].axhline(0.0, color="k", lw=1)
    axs[0].stem(n[spikes], truth[spikes], linefmt="k-", markerfmt="ko", basefmt=" ", label="truth")
    nz = aligned > 0
    axs[0].plot(n[nz], aligned[nz], "C3x", ms=11, mew=2.5, label=f"reconstruction (restart {best_r}, aligned)")
    stuck = [run for run in runs if run[4] > 1e-3]
    if stuck:
        wrong = min(stuck, key=lambda run: run[0])
        nz = wrong[3] > 0
        axs[0].plot(n[nz], wrong[3][nz], "C0s", ms=5, alpha=0.8,
                    label=f"best failed restart ({wrong[1]}): loss {wrong[0]:.1e}")
    axs[0].set_xlim(-1, N)
    axs[0].set_ylim(-0.05, 1.3)
    axs[0].set_xlabel("sample")
    axs[0].set_ylabel("amplitude x[n]")
    axs[0].set_title(f"signal (nonzeros shown): relative error {err:.1e}")
    axs[0].legend(loc="upper left", fontsize=8)
    axs[0].grid(alpha=0.3)

    for _, r, _, _, _, history in runs:
        style = dict(color="C3", lw=2, zorder=3) if r == best_r else dict(color="gray", lw=1, alpha=0.6)
        axs[1].semilogy(np.maximum(history, 1e-32), **style)
    axs[1].axvline(ANNEAL * ITERS, color="k", ls=":", lw=1)
    axs[1].text(ANNEAL * ITERS, 1e-28, f"sparsity\nreaches {SPIKES} ", fontsize=8, ha="right")
    axs[1].set_xlabel("iteration")
    axs[1].set_ylabel("loss")
    axs[1].set_title(f"loss of {restarts} restarts (red: lowest)")
    axs[1].grid(alpha=0.3, which="both")

    k = np.arange(PAD)
    axs[2].plot(k, measured, "k", lw=2, label="measured |FFT(x)|")
    axs[2].plot(k, np.abs(np.fft.fft(x, PAD)), "C3--", label="|FFT| of reconstruction")
    if stuck:
        axs[2].plot(k, np.abs(np.fft.fft(wrong[2], PAD)), "C0", lw=0.8, alpha=0.7, label="|FFT| of the best failed restart")
    axs[2].set_xlabel("frequency bin")
    axs[2].set_ylabel("|X[k]|")
    axs[2].set_title("Fourier magnitudes (phases unknown)")
    axs[2].legend(fontsize=8)
    axs[2].grid(alpha=0.3)

    fig.suptitle("adc: phase retrieval by projected gradient descent through |np.fft.fft|")
    fig.tight_layout()
    path = os.path.join(out_dir, "phase_retrieval.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"\nsaved {os.path.relpath(path)}  ({time.perf_counter() - t0:.1f} s)")
    return dict(error=float(err), loss_factor=float(factor), gradient_error=float(rel))


if __name__ == "__main__":
    main(small="--full" not in sys.argv[1:])
