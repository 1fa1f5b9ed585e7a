"""Train a PyTorch MLP end to end through an adc biquad filter layer: a small network learns to
predict, from a control value, the coefficients of the filter that maps each frame's input to its output.

The data are frames of white noise filtered by a resonant low-pass biquad (RBJ's cookbook) whose cutoff
and resonance follow a control value c in [0, 1] (cutoff 300 Hz to 4 kHz at 16 kHz, Q 0.7 to 4). The
model is an MLP c -> (b0, b1, b2, pole radius, pole angle), the poles kept inside the unit circle by a
sigmoid; the loss runs each frame through its own predicted biquad, written as a plain loop and
differentiated by adc:

    filter_error = adc.torch.function(adc.differentiate(frame_error, wrt=COEFFICIENTS).batched(in_axes=0))

so one call filters the whole batch of frames on all cores (one element per frame, each its own
coefficients), and `loss.backward()` sends adc's exact gradients into the network. Checked first: the
layer passes `torch.autograd.gradcheck`.

    python examples/torch_biquad_mlp.py      # writes examples/out/torch_biquad_mlp.png
"""
import math
import os
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import adc  # noqa: E402
import adc.torch  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")
RATE, FRAME, FRAMES, STEPS, DATASET = 16_000.0, 256, 64, 1000, 2048
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


def dataset(rng):
    """Frames of noise, their control values, and the frames filtered by each value's biquad."""
    c = rng.random(DATASET)
    x = rng.standard_normal((DATASET, FRAME))
    target = np.stack([filtered(true_coefficients(ci), xi) for ci, xi in zip(c, x)])
    return torch.from_numpy(c[:, None]), torch.from_numpy(x), torch.from_numpy(target)


class CoefficientNet(torch.nn.Module):
    """c -> biquad coefficients, with poles r e^{+-j theta}, r < 1."""

    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Linear(1, 32), torch.nn.Tanh(), torch.nn.Linear(32, 32),
                                        torch.nn.Tanh(), torch.nn.Linear(32, 5))

    def forward(self, c):
        out = self.body(c)
        radius = 0.995 * torch.sigmoid(out[:, 3] + 2.0)
        angle = math.pi * torch.sigmoid(out[:, 4] - 1.0)
        b = 0.1 * out[:, :3]
        return b[:, 0], b[:, 1], b[:, 2], -2 * radius * torch.cos(angle), radius ** 2


def response_db(coefficients, freqs):
    b0, b1, b2, a1, a2 = coefficients
    z = np.exp(-2j * np.pi * freqs / RATE)
    return 20 * np.log10(np.abs((b0 + b1 * z + b2 * z ** 2) / (1 + a1 * z + a2 * z ** 2)) + 1e-12)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    layer = adc.torch.function(adc.differentiate(frame_error, wrt=COEFFICIENTS).batched(in_axes=0))

    data = dataset(rng)
    c, x, target = (d[:FRAMES] for d in data)
    probe = [torch.tensor(v, dtype=torch.float64).repeat(4).requires_grad_(True) for v in true_coefficients(0.3)]
    ok = torch.autograd.gradcheck(lambda *k: layer(*k, x[:4, :32], target[:4, :32]), probe)
    print(f"gradcheck through the adc biquad layer: {'ok' if ok else 'FAILED'}")

    model = CoefficientNet().double()
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses, t0 = [], time.perf_counter()
    for step in range(STEPS):
        pick = torch.from_numpy(rng.choice(DATASET, FRAMES, replace=False))
        c, x, target = (d[pick] for d in data)
        loss = layer(*model(c), x, target).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
        if step % 250 == 0 or step == STEPS - 1:
            print(f"step {step:4d}: mean squared error per sample {loss.item():.5f}")
    print(f"{STEPS} steps of {FRAMES} frames x {FRAME} samples in {time.perf_counter() - t0:.1f} s "
          f"(loss {losses[0]:.4f} -> {np.mean(losses[-20:]):.5f})")

    freqs = np.linspace(20, RATE / 2, 512)
    fig, (ax_loss, ax_resp) = plt.subplots(1, 2, figsize=(11, 4.2))
    ax_loss.semilogy(losses, color="tab:blue", lw=0.8)
    ax_loss.set_xlabel("training step")
    ax_loss.set_ylabel("mean squared error per sample")
    ax_loss.set_title("Training through the adc biquad layer")
    with torch.no_grad():
        for value, colour in zip((0.1, 0.5, 0.9), ("tab:green", "tab:orange", "tab:red")):
            learned = [k.item() for k in model(torch.tensor([[value]], dtype=torch.float64))]
            ax_resp.plot(freqs, response_db(true_coefficients(value), freqs), color=colour, lw=2, alpha=0.4,
                         label=f"true, c = {value}")
            ax_resp.plot(freqs, response_db(learned, freqs), color=colour, ls="--", lw=1, label=f"learned, c = {value}")
    ax_resp.set_xscale("log")
    ax_resp.set_ylim(-40, 15)
    ax_resp.set_xlabel("frequency (Hz)")
    ax_resp.set_ylabel("magnitude (dB)")
    ax_resp.set_title("Frequency responses the network predicts")
    ax_resp.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    path = os.path.join(OUT, "torch_biquad_mlp.png")
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
