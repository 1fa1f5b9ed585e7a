"""Audio dereverberation: learn an FIR inverse filter for a room impulse response.

A synthetic room impulse response h (a direct path, a few early reflections and an exponentially
decaying diffuse tail, RT60 = 0.12 s at 8 kHz) smears a dry signal: wet = h * dry. From a calibration
recording (a known dry noise signal and its reverberant version) we learn an FIR filter g of L taps
that undoes the room, up to a delay D that lets it be non-causal:

    L(g) = mean((np.convolve(wet, g)[D:D + N] - dry)^2)

adc differentiates through np.convolve with respect to the taps; Adam, in numpy, fits them. The filter
is then applied to a different signal (harmonic bursts, something like notes) recorded in the same room.

    python examples/dereverberation.py         # small: 256 taps; writes examples/out/dereverberation.png
    python examples/dereverberation.py --full  # 512 taps, a longer calibration signal
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
RATE = 8000
LOSS_FACTOR = 3.0  # the fit must lower the error at least this much from no filter (g a delayed impulse)


@adc.differentiate(wrt="g")
def inverse_filter_loss(g, wet, dry, delay):
    y = np.convolve(wet, g)
    e = y[delay:delay + dry.shape[0]] - dry
    return np.mean(e * e)


def room_impulse_response(rng, rt60=0.12, length=480):
    """Direct path, 4 early reflections, and a noise tail decaying by 60 dB in rt60 seconds."""
    t = np.arange(length) / RATE
    h = 0.06 * rng.standard_normal(length) * 10 ** (-3 * t / rt60)  # -60 dB at rt60
    h[:20] = 0.0
    h[0] = 1.0
    for delay, gain in zip(rng.integers(20, 120, 4), (0.4, -0.3, 0.25, 0.2)):
        h[delay] += gain
    return h


def bursts(n, rng):
    """Harmonic bursts with decaying envelopes: a test signal unlike the calibration noise."""
    t = np.arange(n) / RATE
    x = np.zeros(n)
    for start in range(0, n - 800, 1000):
        f0 = rng.uniform(150, 400)
        seg = t[start:start + 800] - t[start]
        x[start:start + 800] += sum(np.sin(2 * np.pi * k * f0 * seg) / k for k in range(1, 6)) * np.exp(-seg / 0.03)
    return x / np.abs(x).max()


def schroeder_db(h):
    """Energy decay curve: the energy remaining after each sample, in dB."""
    e = np.cumsum((h ** 2)[::-1])[::-1]
    return 10 * np.log10(e / e[0] + 1e-12)


def main(small=True, out_dir=None):
    t0 = time.perf_counter()
    out_dir = OUT if out_dir is None else out_dir
    taps = 256 if small else 512
    N = 6000 if small else 16000
    steps = 300 if small else 1000
    delay = taps // 4
    rng = np.random.default_rng(11)
    h = room_impulse_response(rng)
    dry = rng.standard_normal(N)
    wet = np.convolve(dry, h)[:N] + 1e-3 * rng.standard_normal(N)
    print(f"dereverberation: room impulse response of {h.size} samples ({h.size / RATE * 1e3:.0f} ms), "
          f"inverse FIR of {taps} taps with delay {delay}, calibration signal of {N} samples")

    # gradient check: adc vs central differences along a random direction
    g_c, d = 0.1 * rng.standard_normal(taps), rng.standard_normal(taps)
    grad = inverse_filter_loss.grad(g_c, wet, dry, delay)
    h_fd = 1e-5
    fd = (inverse_filter_loss(g_c + h_fd * d, wet, dry, delay)
          - inverse_filter_loss(g_c - h_fd * d, wet, dry, delay)) / (2 * h_fd)
    ad = float(grad @ d)
    rel = abs(ad - fd) / abs(fd)
    print(f"gradient check: <grad, d> = {ad:.10f}, central diff = {fd:.10f}, relative error = {rel:.1e} "
          f"({'OK' if rel < 1e-6 else 'MISMATCH'})")
    if not rel < 1e-6:
        raise AssertionError(f"adc's gradient disagrees with central differences: {ad} vs {fd} (relative {rel:.1e})")

    # Adam from "no filter": a unit impulse at the delay
    g = np.zeros(taps)
    g[delay] = 1.0
    m, v = np.zeros(taps), np.zeros(taps)
    losses = []
    lr = 0.01
    for i in range(steps):
        value, grad = inverse_filter_loss.value_and_grad(g, wet, dry, delay)
        losses.append(value)
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad * grad
        g = g - lr * (m / (1 - 0.9 ** (i + 1))) / (np.sqrt(v / (1 - 0.999 ** (i + 1))) + 1e-10)
        if i == steps // 2:
            lr = 0.002
    losses.append(inverse_filter_loss(g, wet, dry, delay))
    factor = losses[0] / losses[-1]
    print(f"Adam, {steps} steps: error {losses[0]:.4f} -> {losses[-1]:.5f}, a factor of {factor:.1f} "
          f"(required: {LOSS_FACTOR:g})")
    if not factor >= LOSS_FACTOR:
        raise AssertionError(f"the inverse filter did not converge: error {losses[0]:.4g} -> {losses[-1]:.4g}")

    # the test signal, recorded in the same room
    test = bursts(N, rng)
    test_wet = np.convolve(test, h)[:N]
    test_out = np.convolve(test_wet, g)[delay:delay + N]
    err_before = np.mean((test_wet - test) ** 2) / np.mean(test ** 2)
    err_after = np.mean((test_out - test) ** 2) / np.mean(test ** 2)
    print(f"test signal: relative error {10 * np.log10(err_before):.1f} dB reverberant -> "
          f"{10 * np.log10(err_after):.1f} dB dereverberated")
    equalised = np.convolve(h, g)

    # --- plots ---------------------------------------------------------------
    os.makedirs(out_dir, exist_ok=True)
    fig, axs = plt.subplots(2, 2, figsize=(13, 8.5))
    ax = axs[0, 0]
    ms_h = np.arange(h.size) / RATE * 1e3
    ax.plot(ms_h, schroeder_db(h), "C0", label="room h")
    eq_tail = equalised[delay:]
    ax.plot(np.arange(eq_tail.size) / RATE * 1e3, schroeder_db(eq_tail), "C3", label="room then inverse filter, h * g")
    ax.set_xlabel("time after the direct path (ms)")
    ax.set_ylabel("energy still to come (dB)")
    ax.set_title("energy decay (Schroeder) curves")
    ax.set_ylim(-70, 3)
    ax.legend()
    ax.grid(alpha=0.3)

    ax = axs[0, 1]
    ax.plot(ms_h, h, "C0", lw=0.8, label="room h")
    ax.plot((np.arange(equalised.size) - delay) / RATE * 1e3, equalised - 0.0, "C3", lw=0.8, alpha=0.8,
            label="h * g (shifted by the delay)")
    ax.set_xlim(-delay / RATE * 1e3, h.size / RATE * 1e3)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("amplitude")
    ax.set_title("impulse responses")
    ax.legend()
    ax.grid(alpha=0.3)

    ax = axs[1, 0]
    shown = slice(1000, 2200)
    tt = np.arange(N)[shown] / RATE * 1e3
    ax.plot(tt, test_wet[shown], color="0.6", lw=0.8, label="reverberant")
    ax.plot(tt, test[shown], "k", lw=2, alpha=0.4, label="dry")
    ax.plot(tt, test_out[shown], "C3", lw=0.8, label="dereverberated")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("amplitude")
    ax.set_title(f"test signal (not seen in training): error {10 * np.log10(err_before):.1f} dB -> "
                 f"{10 * np.log10(err_after):.1f} dB")
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(alpha=0.3)

    ax = axs[1, 1]
    ax.semilogy(losses, "k")
    ax.set_xlabel("Adam step")
    ax.set_ylabel("mean squared error (calibration)")
    ax.set_title(f"training the {taps}-tap inverse filter: {losses[0]:.3f} -> {losses[-1]:.4f}")
    ax.grid(alpha=0.3, which="both")

    fig.suptitle("adc: learning a room's inverse filter by gradient descent through np.convolve")
    fig.tight_layout()
    path = os.path.join(out_dir, "dereverberation.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"\nsaved {os.path.relpath(path)}  ({time.perf_counter() - t0:.1f} s)")
    return dict(test_error_db=float(10 * np.log10(err_after)), loss_factor=float(factor), gradient_error=float(rel))


if __name__ == "__main__":
    main(small="--full" not in sys.argv[1:])
