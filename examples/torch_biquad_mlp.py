"""Train a PyTorch MLP end to end through an adc biquad filter layer: a small network learns to
predict, from a control value, the coefficients of the filter that maps each frame's input to its output.

The data (examples/biquad_frames.py) are frames of white noise filtered by a resonant low-pass biquad
(RBJ's cookbook) whose cutoff and resonance follow a control value c in [0, 1] (cutoff 300 Hz to 4 kHz
at 16 kHz, Q 0.7 to 4). The model is an MLP c -> (b0, b1, b2, pole radius, pole angle), the poles kept inside the unit circle by a
sigmoid; the loss runs each frame through its own predicted biquad, written as a plain loop and
differentiated by adc:

    filter_error = adc.torch.function(adc.differentiate(frame_error, wrt=COEFFICIENTS).batched(in_axes=0))

so one call filters the whole batch of frames on all cores (one element per frame, each its own
coefficients), and `loss.backward()` sends adc's exact gradients into the network. Checked first: the
layer passes `torch.autograd.gradcheck`.

    python examples/torch_biquad_mlp.py         # small: 400 steps, 512 frames; writes examples/out/torch_biquad_mlp.png
    python examples/torch_biquad_mlp.py --full  # 1000 steps, 2048 frames
"""
import os
import sys
import time

import biquad_frames
import numpy as np
import torch
from biquad_frames import COEFFICIENTS, FRAME, FRAMES, dataset, frame_error, plot, poles_to_coefficients

import adc
import adc.torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")
LOSS_FACTOR = 20.0  # training must lower the error at least this much (the last 20 steps' mean vs the first)


class CoefficientNet(torch.nn.Module):
    """c -> biquad coefficients, with poles r e^{+-j theta}, r < 1 (biquad_frames.poles_to_coefficients)."""

    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Linear(1, 32), torch.nn.Tanh(), torch.nn.Linear(32, 32),
                                        torch.nn.Tanh(), torch.nn.Linear(32, 5))

    def forward(self, c):
        return poles_to_coefficients(self.body(c), torch.sigmoid, torch.cos)


def main(small=True, out_dir=None):
    out_dir = OUT if out_dir is None else out_dir
    os.makedirs(out_dir, exist_ok=True)
    if small:
        steps, size = biquad_frames.SMALL_STEPS, biquad_frames.SMALL_DATASET
    else:
        steps, size = biquad_frames.STEPS, biquad_frames.DATASET
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    layer = adc.torch.function(adc.differentiate(frame_error, wrt=COEFFICIENTS).batched(in_axes=0))

    data = [torch.from_numpy(d) for d in dataset(rng, size)]
    c, x, target = (d[:FRAMES] for d in data)
    probe = [torch.tensor(v, dtype=torch.float64).repeat(4).requires_grad_(True) for v in (0.1, 0.2, 0.1, -1.2, 0.5)]
    # central differences in float64 against adc's gradient; raises torch.autograd.GradcheckError if they disagree
    ok = torch.autograd.gradcheck(lambda *k: layer(*k, x[:4, :32], target[:4, :32]), probe)
    print(f"gradcheck through the adc biquad layer: {'ok' if ok else 'FAILED'}")
    if not ok:
        raise AssertionError("torch.autograd.gradcheck failed on the adc biquad layer")

    model = CoefficientNet().double()
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses, t0 = [], time.perf_counter()
    for step in range(steps):
        pick = torch.from_numpy(rng.choice(len(data[0]), FRAMES, replace=False))
        c, x, target = (d[pick] for d in data)
        loss = layer(*model(c), x, target).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
        if step % 100 == 0 or step == steps - 1:
            print(f"step {step:4d}: mean squared error per sample {loss.item():.5f}")
    print(f"{steps} steps of {FRAMES} frames x {FRAME} samples in {time.perf_counter() - t0:.1f} s "
          f"(loss {losses[0]:.4f} -> {np.mean(losses[-20:]):.5f})")
    factor = losses[0] / np.mean(losses[-20:])
    print(f"the error fell by a factor of {factor:.0f} (required: {LOSS_FACTOR:g})")
    if not factor >= LOSS_FACTOR:
        raise AssertionError(f"training did not converge: loss {losses[0]:.4g} -> {np.mean(losses[-20:]):.4g}")

    def predict(value):
        with torch.no_grad():
            return [k.item() for k in model(torch.tensor([[value]], dtype=torch.float64))]
    path = os.path.join(out_dir, "torch_biquad_mlp.png")
    plot(losses, predict, "PyTorch: training through the adc biquad layer", path)
    print(f"wrote {path}")
    return dict(loss=float(np.mean(losses[-20:])), loss_factor=float(factor))


if __name__ == "__main__":
    main(small="--full" not in sys.argv[1:])
