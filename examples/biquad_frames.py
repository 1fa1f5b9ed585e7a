"""The frame-wise biquad problem that examples/torch_biquad_mlp.py and examples/jax_biquad_mlp.py train a
network on: frames of white noise filtered by a resonant low-pass biquad (RBJ's cookbook) whose cutoff and
resonance follow a control value c in [0, 1] (cutoff 300 Hz to 4 kHz at 16 kHz, Q 0.7 to 4)."""
import math

import numpy as np

RATE, FRAME, FRAMES, STEPS, DATASET = 16_000.0, 256, 64, 1000, 2048
SMALL_STEPS, SMALL_DATASET = 400, 512  # the examples' small mode (their default; --full for the sizes above)
COEFFICIENTS = ("b0", "b1", "b2", "a1", "a2")


def frame_error(b0, b1, b2, a1, a2, x, target):
    """Mean squared error of the direct-form-I biquad's output on one frame, against the target."""
    x1 = 0.0
    x2 = 0.0
    y1 = 0.0
    y2 = 0.0
    err = 0.0
    for n in range(x.shape[0]):
        y = b0 * x[n] + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
        x2 = x1
        x1 = x[n]
        y2 = y1
        y1 = y
        err += (y - target[n]) ** 2
    return err / x.shape[0]


def true_coefficients(c):
    """RBJ's resonant low-pass, cutoff and Q set by c, normalised by a0."""
    cutoff, q = 300.0 * (4000.0 / 300.0) ** c, 0.7 + 3.3 * c
    w = 2 * math.pi * cutoff / RATE
    alpha = math.sin(w) / (2 * q)
    a0 = 1 + alpha
    b = (1 - math.cos(w)) / 2
    return np.array([b / a0, 2 * b / a0, b / a0, -2 * math.cos(w) / a0, (1 - alpha) / a0])


def filtered(coefficients, x):
    b0, b1, b2, a1, a2 = coefficients
    y = np.zeros_like(x)
    for n in range(x.shape[0]):
        y[n] = b0 * x[n] + b1 * (x[n - 1] if n > 0 else 0.0) + b2 * (x[n - 2] if n > 1 else 0.0) \
            - a1 * (y[n - 1] if n > 0 else 0.0) - a2 * (y[n - 2] if n > 1 else 0.0)
    return y


def dataset(rng, size=DATASET):
    """Control values (size x 1), frames of noise, and the frames filtered by each value's biquad."""
    c = rng.random(size)
    x = rng.standard_normal((size, FRAME))
    target = np.stack([filtered(true_coefficients(ci), xi) for ci, xi in zip(c, x)])
    return c[:, None], x, target


def poles_to_coefficients(out, sigmoid, cos):
    """The network's 5 outputs per frame -> (b0, b1, b2, a1, a2), poles r e^{+-j theta} with r < 0.995."""
    radius = 0.995 * sigmoid(out[:, 3] + 2.0)
    angle = math.pi * sigmoid(out[:, 4] - 1.0)
    b = 0.1 * out[:, :3]
    return b[:, 0], b[:, 1], b[:, 2], -2 * radius * cos(angle), radius ** 2


def response_db(coefficients, freqs):
    b0, b1, b2, a1, a2 = coefficients
    z = np.exp(-2j * np.pi * freqs / RATE)
    return 20 * np.log10(np.abs((b0 + b1 * z + b2 * z ** 2) / (1 + a1 * z + a2 * z ** 2)) + 1e-12)


def plot(losses, predict, title, path):
    """The training loss, and true against predicted responses at three control values (predict(c) -> 5 numbers)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    freqs = np.linspace(20, RATE / 2, 512)
    fig, (ax_loss, ax_resp) = plt.subplots(1, 2, figsize=(11, 4.2))
    ax_loss.semilogy(losses, color="tab:blue", lw=0.8)
    ax_loss.set_xlabel("training step")
    ax_loss.set_ylabel("mean squared error per sample")
    ax_loss.set_title(title)
    for value, colour in zip((0.1, 0.5, 0.9), ("tab:green", "tab:orange", "tab:red")):
        ax_resp.plot(freqs, response_db(true_coefficients(value), freqs), color=colour, lw=2, alpha=0.4,
                     label=f"true, c = {value}")
        ax_resp.plot(freqs, response_db(predict(value), freqs), color=colour, ls="--", lw=1,
                     label=f"learned, c = {value}")
    ax_resp.set_xscale("log")
    ax_resp.set_ylim(-40, 15)
    ax_resp.set_xlabel("frequency (Hz)")
    ax_resp.set_ylabel("magnitude (dB)")
    ax_resp.set_title("Frequency responses the network predicts")
    ax_resp.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
