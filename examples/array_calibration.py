"""Array calibration: estimate a microphone array's true sensor positions from recordings of known
sources, by gradients of a delay-and-sum model mismatch with respect to the positions.

A planar array of M microphones was built to a nominal layout (a circle of radius 10 cm), but each
element sits up to about 1.5 cm off. A far-field broadband source (band 300 Hz - 2.5 kHz) from a
known direction theta_k reaches sensor m fs p_m . u_k / c samples early (adc.dsp.steering_delays),
so the recordings are x_km(n) = s_k(n + tau_km) + noise. Steered with the right positions, the
delayed channels line up and each equals their delay-and-sum average; with wrong ones they do not.
The calibration loss is the mismatch between each aligned channel and the beam output,

    L(P) = sum_k sum_m || fractional_delay(x_km, tau_km(P)) - y_k(P) ||^2,
    y_k(P) = delay_and_sum(X_k, 1/M, tau_k(P)),   tau_km(P) = fs p_m . u_k / c,

minimised over the M x 2 positions P with Adam from the nominal layout. L depends on the delays'
differences only, so a common translation of all sensors is not seen: each step removes the mean
of the update, keeping the array's centroid at the nominal one (the true offsets have zero mean).
Four calibration directions give 4 (M - 1) delay differences for the 2 M - 2 unknowns.

Afterwards, a test source from an unseen direction is localised by scanning the delay-and-sum
output power over the look direction, with the nominal and with the calibrated positions: the
calibrated beam pattern's peak sits on the true direction, the nominal one's up to about 2 degrees off.

    python examples/array_calibration.py         # small: 8 sensors, 512 samples; writes examples/out/array_calibration.png
    python examples/array_calibration.py --full  # 12 sensors, 2048 samples
"""
import os
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import adc
from adc import dsp

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")
LOSS_FACTOR = 50.0  # the mismatch must fall at least this much from the nominal layout, and the positions improve
FS, C = 16000.0, 343.0
EDGE = 12  # samples left out at each end of the loss: more than the largest delay (0.12 m at 16 kHz: 5.6)
CAL_DEG = np.array([10.0, 100.0, 190.0, 280.0])   # known calibration source directions
TEST_DEG = np.arange(5.0, 360.0, 30.0)            # unseen test directions for the DOA check


@adc.differentiate(wrt="positions")
def calibration_loss(positions, recordings, thetas, fs, edge):
    """Sum over the calibration sources of the squared mismatch between each aligned channel and the beam,
    `edge` samples at each end left out (where a delayed channel runs off its recording)."""
    M = positions.shape[0]
    weights = np.full(M, 1.0 / M)
    loss = 0.0
    for k in range(thetas.shape[0]):
        X = recordings[k]
        delays = dsp.steering_delays(positions, thetas[k], fs, C)
        beam = dsp.delay_and_sum(X, weights, delays)
        for m in range(M):
            d = dsp.fractional_delay(X[m], delays[m]) - beam
            inner = d[edge:X.shape[1] - edge]
            loss += np.sum(inner * inner)
    return loss


@adc.differentiate(wrt="theta")
def steered_power(theta, positions, X, fs):
    """Delay-and-sum output power of the recordings X steered to theta with the given positions."""
    M = positions.shape[0]
    beam = dsp.delay_and_sum(X, np.full(M, 1.0 / M), dsp.steering_delays(positions, theta, fs, C))
    return np.sum(beam * beam) / X.shape[1]


def source_signal(rng, n_freqs=60):
    """A broadband source as a sum of sinusoids in 300 Hz - 2.5 kHz: a function of continuous time (samples)."""
    f = rng.uniform(300.0, 2500.0, n_freqs) / FS
    phase = rng.uniform(0, 2 * np.pi, n_freqs)
    amp = rng.uniform(0.5, 1.0, n_freqs) / np.sqrt(n_freqs)
    return lambda t: np.sum(amp[:, None] * np.cos(2 * np.pi * f[:, None] * t[None, :] + phase[:, None]), axis=0)


def record(rng, positions, theta, N, noise_std):
    """The array's recordings (M, N) of a fresh source from theta: x_m(n) = s(n + tau_m) + noise, exactly."""
    s = source_signal(rng)
    taus = FS * (positions @ np.array([np.cos(theta), np.sin(theta)])) / C
    n = np.arange(N, dtype=float)
    return np.stack([s(n + tau) for tau in taus]) + noise_std * rng.standard_normal((positions.shape[0], N))


def doa(positions, X, grid):
    """The direction of the largest steered power on the grid, refined on the slope of adc's derivative."""
    powers = np.array([steered_power(th, positions, X, FS) for th in grid])
    theta = grid[np.argmax(powers)]
    step = (grid[1] - grid[0]) / 4
    for _ in range(30):   # climb the peak: a sign-of-slope bisection on the power
        _, g = steered_power.value_and_grad(theta, positions, X, FS)
        theta += step * np.sign(g)
        step *= 0.7
    return theta, powers


def angle_error_deg(a, b):
    return np.degrees(np.abs(np.angle(np.exp(1j * (a - b)))))


def main(small=True, out_dir=None):
    t0 = time.perf_counter()
    out_dir = OUT if out_dir is None else out_dir
    M = 8 if small else 12
    N = 512 if small else 2048
    steps = 300
    rng = np.random.default_rng(21)
    ring = 2 * np.pi * np.arange(M) / M
    nominal = 0.10 * np.stack([np.cos(ring), np.sin(ring)], axis=1)
    offsets = rng.uniform(-0.015, 0.015, (M, 2))
    offsets -= offsets.mean(axis=0)
    true = nominal + offsets
    noise_std = 0.01
    thetas = np.radians(CAL_DEG)
    recordings = np.stack([record(rng, true, th, N, noise_std) for th in thetas])
    print(f"array calibration: {M} microphones on a 10 cm circle, offsets up to "
          f"{100 * np.abs(offsets).max():.1f} cm, {len(thetas)} calibration sources at {CAL_DEG} deg, "
          f"{N} samples at {FS / 1000:g} kHz, noise std {noise_std}")

    # gradient check: adc vs central differences along a random direction of the positions (in metres)
    P_c = nominal + rng.uniform(-0.01, 0.01, (M, 2))
    d = rng.standard_normal((M, 2))
    g = calibration_loss.grad(P_c, recordings, thetas, FS, EDGE)
    h = 1e-7
    fd = (calibration_loss(P_c + h * d, recordings, thetas, FS, EDGE)
          - calibration_loss(P_c - h * d, recordings, thetas, FS, EDGE)) / (2 * h)
    ad = float(np.sum(g * d))
    rel = abs(ad - fd) / abs(fd)
    print(f"gradient check: <grad, d> = {ad:.6f}, central diff = {fd:.6f}, relative error = {rel:.1e} "
          f"({'OK' if rel < 1e-6 else 'MISMATCH'})")
    if not rel < 1e-6:
        raise AssertionError(f"adc's gradient disagrees with central differences: {ad} vs {fd} (relative {rel:.1e})")

    # Adam on the positions, the mean of each update removed (the translation the loss does not see)
    P = nominal.copy()
    m1, m2 = np.zeros_like(P), np.zeros_like(P)
    rate = 1e-3
    losses, errors, path = [], [], [P.copy()]
    for k in range(1, steps + 1):
        loss, g = calibration_loss.value_and_grad(P, recordings, thetas, FS, EDGE)
        losses.append(loss)
        errors.append(np.sqrt(np.mean(np.sum((P - true) ** 2, axis=1))))
        m1 = 0.9 * m1 + 0.1 * g
        m2 = 0.999 * m2 + 0.001 * g * g
        upd = rate * 0.03 ** ((k - 1) / steps) * (m1 / (1 - 0.9 ** k)) / (np.sqrt(m2 / (1 - 0.999 ** k)) + 1e-30)
        P = P - (upd - upd.mean(axis=0))
        path.append(P.copy())
    losses.append(calibration_loss(P, recordings, thetas, FS, EDGE))
    errors.append(np.sqrt(np.mean(np.sum((P - true) ** 2, axis=1))))
    losses, errors = np.array(losses), np.array(errors)
    factor = losses[0] / losses[-1]
    print(f"Adam, {steps} steps: loss {losses[0]:.4f} -> {losses[-1]:.6f}, a factor of {factor:.0f} "
          f"(required: {LOSS_FACTOR:g}); RMS position error {100 * errors[0]:.2f} cm -> {100 * errors[-1]:.3f} cm")
    if not (factor >= LOSS_FACTOR and errors[-1] < 0.1 * errors[0]):
        raise AssertionError(f"calibration did not converge: loss {losses[0]:.4g} -> {losses[-1]:.4g}, "
                             f"position error {errors[0]:.4g} -> {errors[-1]:.4g} m")

    # DOA of unseen test sources with the nominal, calibrated and true positions
    grid = np.radians(np.arange(0.0, 360.0, 1.0))
    doa_err = {"nominal": [], "calibrated": [], "true": []}
    patterns = {}
    for deg in TEST_DEG:
        X = record(rng, true, np.radians(deg), N, noise_std)
        for name, pos in (("nominal", nominal), ("calibrated", P), ("true", true)):
            est, powers = doa(pos, X, grid)
            doa_err[name].append(angle_error_deg(est, np.radians(deg)))
            patterns.setdefault(name, []).append(powers)
    for name in doa_err:
        doa_err[name] = np.array(doa_err[name])
    shown = int(np.argmax(doa_err["nominal"]))   # the beam pattern plotted: the test source worst localised
    test_deg_shown = TEST_DEG[shown]
    print(f"DOA of {len(TEST_DEG)} unseen sources: mean |error| nominal {doa_err['nominal'].mean():.2f} deg, "
          f"calibrated {doa_err['calibrated'].mean():.3f} deg, true positions {doa_err['true'].mean():.3f} deg")
    if not doa_err["calibrated"].mean() < doa_err["nominal"].mean():
        raise AssertionError("calibration did not improve the direction estimates")

    # --- plots ---------------------------------------------------------------
    os.makedirs(out_dir, exist_ok=True)
    fig, axs = plt.subplots(2, 2, figsize=(12, 9.5))
    ax = axs[0, 0]
    cm = 100.0
    ax.plot(cm * nominal[:, 0], cm * nominal[:, 1], "o", mfc="none", mec="C0", ms=10, label="nominal")
    ax.plot(cm * true[:, 0], cm * true[:, 1], "k+", ms=12, mew=2, label="true")
    ax.plot(cm * P[:, 0], cm * P[:, 1], "x", color="C3", ms=8, mew=1.5, label="estimated")
    trail = cm * np.array(path)
    for m in range(M):
        ax.plot(trail[:, m, 0], trail[:, m, 1], color="C3", lw=0.6, alpha=0.6)
    for th in thetas:
        ax.annotate("", xy=(13 * np.cos(th), 13 * np.sin(th)), xytext=(17 * np.cos(th), 17 * np.sin(th)),
                    arrowprops=dict(arrowstyle="->", color="C2"))
    ax.set_aspect("equal")
    ax.set_xlim(-18, 18)
    ax.set_ylim(-18, 18)
    ax.set_xlabel("x (cm)")
    ax.set_ylabel("y (cm)")
    ax.legend(fontsize=8, loc="center")
    ax.set_title("sensor positions (green arrows: calibration sources)", fontsize=10)
    ax.grid(alpha=0.3)
    ax = axs[0, 1]
    for name, style in (("nominal", "C0"), ("calibrated", "C3--"), ("true", "k:")):
        p = patterns[name][shown]
        ax.plot(np.degrees(grid), 10 * np.log10(p / p.max()), style, lw=1.2, label=f"{name} positions")
    ax.axvline(test_deg_shown, color="C2", lw=0.8)
    inset = ax.inset_axes([0.08, 0.1, 0.28, 0.33])
    for name, style in (("nominal", "C0"), ("calibrated", "C3--"), ("true", "k:")):
        p = patterns[name][shown]
        inset.plot(np.degrees(grid), 10 * np.log10(p / p.max()), style, lw=1.2)
    inset.axvline(test_deg_shown, color="C2", lw=0.8)
    inset.set_xlim(test_deg_shown - 6, test_deg_shown + 6)
    inset.set_ylim(-0.15, 0.01)
    inset.tick_params(labelsize=7)
    inset.set_title("peak, zoomed", fontsize=7)
    ax.set_xlim(0, 360)
    ax.set_ylim(-15, 1)
    ax.set_xlabel("look direction (degrees)")
    ax.set_ylabel("steered power (dB)")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    ax.set_title(f"delay-and-sum beam pattern, unseen test source at {test_deg_shown:g} deg (green)", fontsize=10)
    ax = axs[1, 0]
    w = 8
    ax.bar(TEST_DEG - w / 2, doa_err["nominal"], width=w, color="C0", label="nominal")
    ax.bar(TEST_DEG + w / 2, doa_err["calibrated"], width=w, color="C3", label="calibrated")
    ax.set_xlabel("test source direction (degrees)")
    ax.set_ylabel("|DOA error| (degrees)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax.set_title(f"direction of arrival error: mean {doa_err['nominal'].mean():.2f} deg nominal, "
                 f"{doa_err['calibrated'].mean():.3f} deg calibrated", fontsize=10)
    ax = axs[1, 1]
    ax.semilogy(losses / losses[0], "k", label="loss / initial")
    ax.semilogy(errors / errors[0], "C3", label="RMS position error / initial")
    ax.set_xlabel("Adam step")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    ax.set_title(f"calibration: loss {losses[0]:.3g} -> {losses[-1]:.3g}, position error "
                 f"{100 * errors[0]:.2f} -> {100 * errors[-1]:.3f} cm", fontsize=10)
    fig.suptitle("adc: array calibration by gradients of a delay-and-sum mismatch w.r.t. sensor positions "
                 "(adc.dsp.steering_delays, delay_and_sum)")
    fig.tight_layout()
    path_png = os.path.join(out_dir, "array_calibration.png")
    fig.savefig(path_png, dpi=110)
    plt.close(fig)
    print(f"\nsaved {os.path.relpath(path_png)}  ({time.perf_counter() - t0:.1f} s)")
    return dict(loss_factor=float(factor), position_error_cm=float(100 * errors[-1]),
                doa_error_nominal_deg=float(doa_err["nominal"].mean()),
                doa_error_calibrated_deg=float(doa_err["calibrated"].mean()), gradient_error=float(rel))


if __name__ == "__main__":
    main(small="--full" not in sys.argv[1:])
