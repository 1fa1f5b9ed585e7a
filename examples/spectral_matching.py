"""Spectral matching: fit a tiny additive synthesiser to a target sound through its log-mel spectrogram.

The synthesiser is three exponentially decaying sinusoids,

    x[n] = sum_k exp(log_a_k - d_k t_n) sin(2 pi f_k t_n),      t_n = n / sample_rate,

with nine parameters (log f_k, log a_k, d_k). The loss compares log-mel spectrograms
(adc.dsp: waveform -> stft -> power -> mel filterbank -> log) with the target's, at two
resolutions, as in DDSP-style multi-resolution spectral losses:

    L = mean((logmel_256(x) - logmel_256(target))^2) + w * mean((logmel_64(x) - logmel_64(target))^2)

adc differentiates the whole chain (synthesis loops, framing, rfft, filterbank, log) and
Adam, written in numpy, follows the gradient. The short frames (64 samples, wide mel
bands) see a partial that is far off in frequency, so they pull it in; the long frames
then pin it down. With w = 0 (one resolution) the same start gets stuck: a partial whose
energy lies in the wrong mel band only fades away.

    python examples/spectral_matching.py         # small: 0.25 s of sound, 300 steps; writes examples/out/spectral_matching.png
    python examples/spectral_matching.py --full  # 0.5 s, 600 steps
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
SAMPLE_RATE = 8000
DURATION = 0.5  # seconds; 0.25 in small mode
LONG_FRAME, LONG_HOP, LONG_MELS = 256, 64, 40
SHORT_FRAME, SHORT_HOP, SHORT_MELS = 64, 16, 16
FLOOR = 0.1  # power floor of the log (the loudest bin's power is about 4e3)
STEPS = 600  # Adam steps; 300 in small mode
LOSS_FACTOR = 1e3  # the two-resolution fit must lower its loss at least this much
TRUE_HZ, TRUE_AMP, TRUE_DECAY = [440.0, 1150.0, 2600.0], [1.0, 0.5, 0.3], [2.0, 6.0, 1.0]
START_HZ, START_AMP, START_DECAY = [330.0, 1500.0, 3000.0], [0.5, 0.5, 0.5], [0.0, 0.0, 0.0]


def synth(params, t):
    """Decaying sinusoids; params = (log f_1..K, log a_1..K, d_1..K), t = sample times in seconds."""
    count = params.shape[0] // 3
    x = np.zeros(t.shape[0])
    for n in range(t.shape[0]):
        s = 0.0
        for k in range(count):
            envelope = np.exp(params[count + k] - params[2 * count + k] * t[n])
            s += envelope * np.sin(2.0 * np.pi * np.exp(params[k]) * t[n])
        x[n] = s
    return x


def log_mel_long(x, window, filterbank):
    return dsp.log_compress(dsp.mel_spectrogram(x, window, LONG_HOP, filterbank), FLOOR)


def log_mel_short(x, window, filterbank):
    return dsp.log_compress(dsp.mel_spectrogram(x, window, SHORT_HOP, filterbank), FLOOR)


def spectral_loss(params, t, w_long, fb_long, target_long, w_short, fb_short, target_short, short_weight):
    x = synth(params, t)
    d_long = log_mel_long(x, w_long, fb_long) - target_long
    d_short = log_mel_short(x, w_short, fb_short) - target_short
    return np.mean(d_long * d_long) + short_weight * np.mean(d_short * d_short)


loss = adc.differentiate(spectral_loss, wrt="params")


def periodic_hann(n):
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)


def pack(hz, amp, decay):
    return np.concatenate([np.log(hz), np.log(amp), decay])


def adam(params, args, short_weight, steps):
    """Adam with one learning rate per parameter group (log f, log a, decay)."""
    lr = np.repeat([0.01, 0.05, 0.2], 3)
    m, v = np.zeros_like(params), np.zeros_like(params)
    losses, path = [], [params.copy()]
    for i in range(steps):
        value, g = loss.value_and_grad(params, *args, short_weight)
        losses.append(value)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        params = params - lr * (m / (1 - 0.9 ** (i + 1))) / (np.sqrt(v / (1 - 0.999 ** (i + 1))) + 1e-12)
        path.append(params.copy())
    losses.append(loss(params, *args, short_weight))
    return params, np.array(losses), np.array(path)


def describe(params):
    hz, amp, decay = np.exp(params[:3]), np.exp(params[3:6]), params[6:]
    return ", ".join(f"{f:7.1f} Hz x {a:.3f} e^(-{d:.2f} t)" for f, a, d in zip(hz, amp, decay))


def main(small=True, out_dir=None):
    t0 = time.perf_counter()
    out_dir = OUT if out_dir is None else out_dir
    duration, steps = (DURATION / 2, STEPS // 2) if small else (DURATION, STEPS)
    t = np.arange(int(SAMPLE_RATE * duration)) / SAMPLE_RATE
    w_long, w_short = periodic_hann(LONG_FRAME), periodic_hann(SHORT_FRAME)
    fb_long = dsp.mel_filterbank(SAMPLE_RATE, LONG_FRAME, LONG_MELS)
    fb_short = dsp.mel_filterbank(SAMPLE_RATE, SHORT_FRAME, SHORT_MELS)
    truth, start = pack(TRUE_HZ, TRUE_AMP, TRUE_DECAY), pack(START_HZ, START_AMP, START_DECAY)
    target = synth(truth, t)
    target_long = log_mel_long(target, w_long, fb_long)
    target_short = log_mel_short(target, w_short, fb_short)
    args = (t, w_long, fb_long, target_long, w_short, fb_short, target_short)
    print(f"spectral matching: {t.size} samples at {SAMPLE_RATE} Hz, log-mel {LONG_MELS} bands / {LONG_FRAME}-sample "
          f"frames + {SHORT_MELS} bands / {SHORT_FRAME}-sample frames")
    print(f"target: {describe(truth)}")
    print(f"start:  {describe(start)}")

    # gradient check: adc vs 4-point central differences and forward mode along a random direction
    rng = np.random.default_rng(0)
    d = rng.standard_normal(start.size)
    g = loss.grad(start, *args, 1.0)
    print(f"(compiled the loss and its gradient: {time.perf_counter() - t0:.1f} s)")
    h = 1e-6  # 4-point central difference; small: d(phase)/d(log f) = 2 pi f t is ~1e4 rad

    def along(s):
        return loss(start + s * d, *args, 1.0)
    fd = (8 * (along(h) - along(-h)) - (along(2 * h) - along(-2 * h))) / (12 * h)
    _, jvp = loss.jvp(start, *args, 1.0, tangents=d)
    ad = float(g @ d)
    rel = abs(ad - fd) / abs(fd)
    print(f"gradient check: <grad, d> = {ad:.8f}, central diff = {fd:.8f} (rel err {rel:.1e}), "
          f"forward mode = {jvp:.8f} (rel err {abs(jvp - ad) / abs(ad):.1e}) -> {'OK' if rel < 1e-6 else 'MISMATCH'}")
    if not (rel < 1e-6 and abs(jvp - ad) < 1e-10 * abs(ad)):
        raise AssertionError(f"derivatives disagree: <grad, d> = {ad}, central differences {fd}, jvp {jvp}")

    fitted, losses, path = adam(start, args, 1.0, steps)
    print(f"\nAdam, {steps} steps, two-resolution loss")
    print(f"  {'step':>4}  {'loss':>10}  frequencies (Hz)")
    for i in sorted({0, 50, 100, 200, 400, steps} & set(range(steps + 1))):
        print(f"  {i:4d}  {losses[i]:10.3e}  {np.round(np.exp(path[i][:3]), 1)}")
    print(f"fitted: {describe(fitted)}")
    hz_err = np.max(np.abs(np.exp(fitted[:3]) / TRUE_HZ - 1))
    amp_err = np.max(np.abs(np.exp(fitted[3:6]) / TRUE_AMP - 1))
    decay_err = np.max(np.abs(fitted[6:] - TRUE_DECAY))
    print(f"errors: frequency {hz_err:.1e} (relative), amplitude {amp_err:.1e} (relative), decay {decay_err:.1e} (1/s)")
    factor = losses[0] / max(losses[-1], 1e-300)
    print(f"loss fell by a factor of {factor:.1e} (required: {LOSS_FACTOR:g})")
    if not (factor >= LOSS_FACTOR and hz_err < 1e-3):
        raise AssertionError(f"the fit did not converge: loss {losses[0]:.3g} -> {losses[-1]:.3g}, "
                             f"frequency error {hz_err:.2g}")

    single, single_losses, single_path = adam(start, args, 0.0, steps)
    print(f"\nsame start, long frames only: loss {single_losses[-1]:.3e}, fitted {describe(single)}")

    # --- plots ---------------------------------------------------------------
    os.makedirs(out_dir, exist_ok=True)
    fig, axs = plt.subplots(2, 3, figsize=(15, 8.4))
    frame_s = LONG_HOP / SAMPLE_RATE
    extent = [0, target_long.shape[0] * frame_s, -0.5, LONG_MELS - 0.5]
    kw = dict(origin="lower", aspect="auto", extent=extent, vmin=np.log(FLOOR), vmax=target_long.max(), cmap="magma")
    for ax, spec, title in [
        (axs[0, 0], target_long, "target log-mel"),
        (axs[0, 1], log_mel_long(synth(start, t), w_long, fb_long), "synthesiser at the start"),
        (axs[0, 2], log_mel_long(synth(fitted, t), w_long, fb_long), f"synthesiser after {steps} Adam steps"),
    ]:
        im = ax.imshow(spec.T, **kw)
        ax.set_title(title)
        ax.set_xlabel("time (s)")
        ax.set_ylabel("mel band")
    fig.colorbar(im, ax=axs[0, 2], label="log power")

    axs[1, 0].semilogy(np.maximum(losses, 1e-30), "C3", label="two resolutions (256 + 64)")
    axs[1, 0].semilogy(np.maximum(single_losses, 1e-30), "C0", label="long frames only (256)")
    axs[1, 0].set_xlabel("Adam step")
    axs[1, 0].set_ylabel("loss")
    axs[1, 0].set_title("loss (each run on its own objective)")
    axs[1, 0].legend()
    axs[1, 0].grid(alpha=0.3, which="both")

    for k in range(3):
        axs[1, 1].plot(np.exp(path[:, k]), "C3", lw=1.5, label="two resolutions" if k == 0 else None)
        axs[1, 1].plot(np.exp(single_path[:, k]), "C0--", lw=1.2, label="long frames only" if k == 0 else None)
        axs[1, 1].axhline(TRUE_HZ[k], color="k", ls=":", lw=1, label="target" if k == 0 else None)
    axs[1, 1].set_xlabel("Adam step")
    axs[1, 1].set_ylabel("frequency (Hz)")
    axs[1, 1].set_title("partial frequencies")
    axs[1, 1].legend(loc="upper right", fontsize=8)
    axs[1, 1].grid(alpha=0.3)

    shown = slice(0, int(0.02 * SAMPLE_RATE))
    axs[1, 2].plot(1e3 * t[shown], target[shown], "k", lw=2, label="target")
    axs[1, 2].plot(1e3 * t[shown], synth(fitted, t)[shown], "C3--", label="fitted")
    axs[1, 2].plot(1e3 * t[shown], synth(start, t)[shown], "C0", lw=0.8, alpha=0.7, label="start")
    axs[1, 2].set_xlabel("time (ms)")
    axs[1, 2].set_ylabel("amplitude")
    axs[1, 2].set_title("waveform, first 20 ms")
    axs[1, 2].legend(fontsize=8)
    axs[1, 2].grid(alpha=0.3)

    fig.suptitle("adc: fitting decaying sinusoids by gradient descent through stft -> mel -> log (adc.dsp)")
    fig.tight_layout()
    path_png = os.path.join(out_dir, "spectral_matching.png")
    fig.savefig(path_png, dpi=110)
    plt.close(fig)
    print(f"\nsaved {os.path.relpath(path_png)}  ({time.perf_counter() - t0:.1f} s)")
    return dict(frequency_error=float(hz_err), loss_factor=float(factor), gradient_error=float(rel))


if __name__ == "__main__":
    main(small="--full" not in sys.argv[1:])
