"""Train a JAX MLP end to end through an adc biquad filter layer: examples/torch_biquad_mlp.py's problem
(examples/biquad_frames.py) with the network, its loss and Adam written in JAX.

The layer is

    layer = adc.jax.function(adc.differentiate(frame_error, wrt=COEFFICIENTS).batched(in_axes=0))

a `jax.custom_vjp` whose forward runs adc's batched biquad kernel over the frames (one element per frame,
each its own coefficients, on all cores) and whose backward runs adc's batched vjp; it lives inside a
`jax.jit`-compiled training step, and `jax.grad` sends adc's exact gradients into the network. Checked
first: `jax.test_util.check_grads` on the layer (reverse mode, against JAX's own differences).

    python examples/jax_biquad_mlp.py         # small: 400 steps, 512 frames; writes examples/out/jax_biquad_mlp.png
    python examples/jax_biquad_mlp.py --full  # 1000 steps, 2048 frames
"""
import os
import sys
import time

import biquad_frames
import jax
import jax.numpy as jnp
import numpy as np
from biquad_frames import COEFFICIENTS, FRAME, FRAMES, dataset, frame_error, plot, poles_to_coefficients
from jax.test_util import check_grads

import adc
import adc.jax

jax.config.update("jax_enable_x64", True)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")
LOSS_FACTOR = 4.0  # training must lower the error at least this much (the last 20 steps' mean vs the first)


def init(key, sizes=(1, 32, 32, 5)):
    """An MLP's weights, Glorot-scaled."""
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        key, sub = jax.random.split(key)
        params.append((jax.random.normal(sub, (fan_in, fan_out)) * jnp.sqrt(2.0 / (fan_in + fan_out)),
                       jnp.zeros(fan_out)))
    return params


def coefficients(params, c):
    h = c
    for w, b in params[:-1]:
        h = jnp.tanh(h @ w + b)
    w, b = params[-1]
    return poles_to_coefficients(h @ w + b, jax.nn.sigmoid, jnp.cos)


def adam(step_size=3e-3, b1=0.9, b2=0.999, eps=1e-8):
    """Adam, as (init, update) on a pytree of parameters."""
    def start(params):
        zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
        return zeros, zeros, 0

    def update(grads, state, params):
        m, v, t = state
        t += 1
        m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, grads)
        v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, grads)
        scale = step_size * jnp.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        params = jax.tree_util.tree_map(lambda p, m, v: p - scale * m / (jnp.sqrt(v) + eps), params, m, v)
        return params, (m, v, t)
    return start, update


def main(small=True, out_dir=None):
    out_dir = OUT if out_dir is None else out_dir
    os.makedirs(out_dir, exist_ok=True)
    if small:
        steps, size = biquad_frames.SMALL_STEPS, biquad_frames.SMALL_DATASET
    else:
        steps, size = biquad_frames.STEPS, biquad_frames.DATASET
    rng = np.random.default_rng(0)
    layer = adc.jax.function(adc.differentiate(frame_error, wrt=COEFFICIENTS).batched(in_axes=0))
    c_all, x_all, target_all = (jnp.asarray(d) for d in dataset(rng, size))

    probe = tuple(jnp.full(4, v) for v in (0.1, 0.2, 0.1, -1.2, 0.5))
    # central differences (float64) against adc's vjp; raises AssertionError if they disagree
    check_grads(lambda *k: layer(*k, x_all[:4, :32], target_all[:4, :32]), probe, order=1, modes=("rev",))
    print("check_grads through the adc biquad layer: ok")

    def loss_fn(params, c, x, target):
        return jnp.mean(layer(*coefficients(params, c), x, target))

    start, update = adam()

    @jax.jit
    def train_step(params, state, c, x, target):
        loss, grads = jax.value_and_grad(loss_fn)(params, c, x, target)
        params, state = update(grads, state, params)
        return params, state, loss

    params = init(jax.random.PRNGKey(0))
    state = start(params)
    losses, t0 = [], time.perf_counter()
    for step in range(steps):
        pick = rng.choice(c_all.shape[0], FRAMES, replace=False)
        params, state, loss = train_step(params, state, c_all[pick], x_all[pick], target_all[pick])
        losses.append(float(loss))
        if step % 100 == 0 or step == steps - 1:
            print(f"step {step:4d}: mean squared error per sample {float(loss):.5f}")
    print(f"{steps} steps of {FRAMES} frames x {FRAME} samples in {time.perf_counter() - t0:.1f} s "
          f"(loss {losses[0]:.4f} -> {np.mean(losses[-20:]):.5f})")
    factor = losses[0] / np.mean(losses[-20:])
    print(f"the error fell by a factor of {factor:.0f} (required: {LOSS_FACTOR:g})")
    if not factor >= LOSS_FACTOR:
        raise AssertionError(f"training did not converge: loss {losses[0]:.4g} -> {np.mean(losses[-20:]):.4g}")

    def predict(value):
        return [float(k[0]) for k in coefficients(params, jnp.array([[value]]))]
    path = os.path.join(out_dir, "jax_biquad_mlp.png")
    plot(losses, predict, "JAX: training through the adc biquad layer", path)
    print(f"wrote {path}")
    return dict(loss=float(np.mean(losses[-20:])), loss_factor=float(factor))


if __name__ == "__main__":
    main(small="--full" not in sys.argv[1:])
