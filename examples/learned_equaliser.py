"""A learned channel equaliser: a small numpy MLP and an FIR filter, trained end to end through np.convolve.

4-level symbols s (4-PAM) cross a channel that smears them over neighbouring symbols (intersymbol
interference, an FIR channel h) and then saturates them in an amplifier (tanh), plus noise:

    r = tanh(a * (h * s)) / tanh(a) + noise,     h = [1, 0.5, -0.2] / 1.7,  a = 2

A linear equaliser (an FIR filter, here the least-squares optimal one) can undo the smearing but not the
saturation, so the outer levels stay bunched together. The learned equaliser first applies a per-sample
nonlinearity z = r + MLP(r) (one hidden layer of 8 tanh units, plain numpy arrays), then an FIR filter g
(np.convolve), and is trained end to end on the mean squared error against the sent symbols:

    z = r + tanh(r w1 + b1) @ w2,     y = np.convolve(z, g),     L = mean((y[delay:delay + N] - s)^2)

adc differentiates L with respect to the network's weights and the filter's taps at once; Adam, in numpy,
follows the gradient. The network learns the amplifier's inverse, the filter the channel's.

    python examples/learned_equaliser.py         # small: 2000 symbols; writes examples/out/learned_equaliser.png
    python examples/learned_equaliser.py --full  # 8000 symbols, 2000 training steps
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
PARAMS = ("w1", "b1", "w2", "g")
HIDDEN, TAPS, CENTRE = 8, 15, 3
CHANNEL = np.array([1.0, 0.5, -0.2]) / 1.7  # minimum phase (its inverse is causal), peak |h * s| = 1
DRIVE = 2.0                                 # the amplifier's saturation: tanh(DRIVE v) / tanh(DRIVE)
LEVELS = np.array([-1.0, -1 / 3, 1 / 3, 1.0])
LOSS_FACTOR = 10.0  # training must lower the error at least this much, and beat the linear equaliser


def nonlinearity(w1, b1, w2, r):
    """The MLP part, per sample: z = r + tanh(r w1 + b1) @ w2."""
    hidden = np.tanh(r[:, None] * w1[None, :] + b1[None, :])
    return r + hidden @ w2


@adc.differentiate(wrt=PARAMS)
def equaliser_loss(w1, b1, w2, g, r, s, delay):
    y = np.convolve(nonlinearity(w1, b1, w2, r), g)
    e = y[delay:delay + s.shape[0]] - s
    return np.mean(e * e)


def channel(s, noise_std, rng):
    v = np.convolve(s, CHANNEL)[:s.size]
    return np.tanh(DRIVE * v) / np.tanh(DRIVE) + noise_std * rng.standard_normal(s.size)


def decide(y):
    return LEVELS[np.argmin(np.abs(y[:, None] - LEVELS[None, :]), axis=1)]


def linear_equaliser(r, s, delay):
    """The least-squares FIR filter of TAPS taps (the best linear equaliser), and its output."""
    N = s.size
    padded = np.concatenate([np.zeros(TAPS), r, np.zeros(TAPS)])
    # y[n + delay] = sum_k g[k] r[n + delay - k]
    A = np.stack([padded[TAPS + np.arange(N) + delay - k] for k in range(TAPS)], axis=1)
    g = np.linalg.lstsq(A, s, rcond=None)[0]
    return g, A @ g


def adam(params, args, steps, lr):
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    losses = []
    for i in range(steps):
        value, grads = equaliser_loss.value_and_grad(*params, *args)
        losses.append(value)
        for j, gj in enumerate(grads):
            m[j] = 0.9 * m[j] + 0.1 * gj
            v[j] = 0.999 * v[j] + 0.001 * gj * gj
            params[j] = params[j] - lr * (m[j] / (1 - 0.9 ** (i + 1))) / (np.sqrt(v[j] / (1 - 0.999 ** (i + 1))) + 1e-8)
    losses.append(equaliser_loss(*params, *args))
    return params, np.array(losses)


def main(small=True, out_dir=None):
    t0 = time.perf_counter()
    out_dir = OUT if out_dir is None else out_dir
    N = 2000 if small else 8000
    steps = 800 if small else 2000
    rng = np.random.default_rng(10)
    noise_std = 0.02
    s_train, s_test = rng.choice(LEVELS, N), rng.choice(LEVELS, N)
    r_train, r_test = channel(s_train, noise_std, rng), channel(s_test, noise_std, rng)
    delay = CENTRE  # the equaliser's output lags by its centre tap
    print(f"4-PAM through ISI channel {CHANNEL.tolist()} and a tanh amplifier (drive {DRIVE}), noise std {noise_std}; "
          f"{N} training and {N} test symbols")

    # initial equaliser: the identity (w2 = 0, g a unit impulse at its centre)
    params = [rng.standard_normal(HIDDEN), np.linspace(-1.5, 1.5, HIDDEN), np.zeros(HIDDEN), np.zeros(TAPS)]
    params[3][CENTRE] = 1.0

    # gradient check: adc vs central differences along a random direction in all four parameters
    probe = [p + 0.1 * rng.standard_normal(p.shape) for p in params]
    direction = [rng.standard_normal(p.shape) for p in params]
    grads = equaliser_loss.grad(*probe, r_train, s_train, delay)
    h = 1e-6
    up = equaliser_loss(*[p + h * d for p, d in zip(probe, direction)], r_train, s_train, delay)
    down = equaliser_loss(*[p - h * d for p, d in zip(probe, direction)], r_train, s_train, delay)
    fd = (up - down) / (2 * h)
    ad = sum(float(np.sum(g * d)) for g, d in zip(grads, direction))
    rel = abs(ad - fd) / abs(fd)
    print(f"gradient check: <grad, d> = {ad:.10f}, central diff = {fd:.10f}, relative error = {rel:.1e} "
          f"({'OK' if rel < 1e-6 else 'MISMATCH'})")
    if not rel < 1e-6:
        raise AssertionError(f"adc's gradient disagrees with central differences: {ad} vs {fd} (relative {rel:.1e})")

    params, losses = adam(params, (r_train, s_train, delay), steps, lr=0.01)
    factor = losses[0] / losses[-1]
    g_lin, _ = linear_equaliser(r_train, s_train, delay)
    padded = np.concatenate([np.zeros(TAPS), r_test, np.zeros(TAPS)])
    y_lin = np.stack([padded[TAPS + np.arange(N) + delay - k] for k in range(TAPS)], axis=1) @ g_lin
    mse_lin_train = np.mean((linear_equaliser(r_train, s_train, delay)[1] - s_train) ** 2)
    y_mlp = np.convolve(nonlinearity(*params[:3], r_test), params[3])[delay:delay + N]
    raw = r_test  # no equaliser: the received sample
    ser = {name: np.mean(decide(y) != s_test) for name, y in (("none", raw), ("linear", y_lin), ("learned", y_mlp))}
    mse = {name: np.mean((y - s_test) ** 2) for name, y in (("none", raw), ("linear", y_lin), ("learned", y_mlp))}
    print(f"Adam, {steps} steps: training MSE {losses[0]:.4f} -> {losses[-1]:.5f} (least-squares linear equaliser: "
          f"{mse_lin_train:.5f}), a factor of {factor:.0f} (required: {LOSS_FACTOR:g})")
    for name in ser:
        print(f"  test symbols, {name:>7} equaliser: MSE {mse[name]:.5f}, symbol error rate {ser[name]:.4f}")
    if not (factor >= LOSS_FACTOR and mse["learned"] < 0.5 * mse["linear"]):
        raise AssertionError(f"training did not converge: MSE {losses[0]:.4g} -> {losses[-1]:.4g}, test MSE "
                             f"{mse['learned']:.4g} vs linear {mse['linear']:.4g}")

    # --- plots ---------------------------------------------------------------
    os.makedirs(out_dir, exist_ok=True)
    fig, axs = plt.subplots(2, 3, figsize=(15, 8.5))
    bins = np.linspace(-1.6, 1.6, 161)
    for ax, name, y, colour in ((axs[0, 0], "none", raw, "0.4"), (axs[0, 1], "linear", y_lin, "C0"),
                                (axs[0, 2], "learned", y_mlp, "C3")):
        for level in LEVELS:
            ax.hist(y[s_test == level], bins=bins, color=colour, alpha=0.75)
        for t in (LEVELS[:-1] + LEVELS[1:]) / 2:
            ax.axvline(t, color="k", ls=":", lw=1)
        title = {"none": "no equaliser (received sample)", "linear": "linear: least-squares FIR",
                 "learned": "learned: MLP then FIR, end to end"}[name]
        ax.set_title(f"{title}\nMSE {mse[name]:.4f}, symbol errors {ser[name]:.2%}")
        ax.set_xlabel("equaliser output (test symbols)")
        ax.set_ylabel("count")

    ax = axs[1, 0]
    grid = np.linspace(-1.0, 1.0, 201)
    true_inverse = np.arctanh(np.clip(grid * np.tanh(DRIVE), -0.999999, 0.999999)) / DRIVE
    ax.plot(grid, true_inverse, "k", lw=3, alpha=0.35, label="the amplifier's inverse")
    z = nonlinearity(*params[:3], grid)
    gain = (true_inverse[150] - true_inverse[50]) / (z[150] - z[50])  # the FIR filter absorbs a gain
    ax.plot(grid, gain * z, "C3", label=f"learned z(r), scaled by {gain:.2f}")
    ax.plot(grid, grid, "0.6", ls="--", lw=1, label="identity (the start)")
    ax.set_xlabel("received r")
    ax.set_ylabel("z")
    ax.set_title("the learned nonlinearity")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)

    ax = axs[1, 1]
    k = np.arange(TAPS)
    ax.stem(k, params[3] / gain, linefmt="C3-", markerfmt="C3o", basefmt=" ", label="learned g (÷ gain)")
    ax.plot(k, g_lin, "C0x", ms=8, mew=2, label="least-squares linear g")
    combined = np.convolve(CHANNEL, params[3] / gain)
    ax.plot(np.arange(combined.size), combined, "k.:", ms=5, lw=1, label="channel * learned g")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xlabel("tap")
    ax.set_title("FIR taps")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)

    ax = axs[1, 2]
    ax.semilogy(losses, "C3", label="learned equaliser (training MSE)")
    ax.axhline(mse_lin_train, color="C0", ls="--", label="least-squares linear equaliser")
    ax.set_xlabel("Adam step")
    ax.set_ylabel("mean squared error")
    ax.set_title(f"training: {losses[0]:.3f} -> {losses[-1]:.4f}")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")

    fig.suptitle("adc: an MLP + FIR equaliser trained end to end through np.convolve, against ISI and saturation")
    fig.tight_layout()
    path = os.path.join(out_dir, "learned_equaliser.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"\nsaved {os.path.relpath(path)}  ({time.perf_counter() - t0:.1f} s)")
    return dict(ser=float(ser["learned"]), ser_linear=float(ser["linear"]), loss_factor=float(factor),
                gradient_error=float(rel))


if __name__ == "__main__":
    main(small="--full" not in sys.argv[1:])
