"""Find the directions of three sources with a sensor array: batched gradient ascent on the
steered response power, one start direction per batch element.

A uniform line array of M = 12 sensors, half a wavelength apart, records T = 200 snapshots of three
narrowband sources (at -40, 5 and 33 degrees, of different strengths) in noise. The delay-and-sum
beamformer steered to theta has the output power

    P(theta) = 1/(M^2 T) sum_t | sum_m exp(2j pi d m sin(theta)) X[m, t] |^2

whose peaks are the source directions. A grid search finds them only to the grid's spacing; here 37
start directions on a 5-degree grid each climb P by gradient ascent, all at once:
`steered_power.batched(in_axes=(0, None, None))` maps theta and shares the snapshots, so one call
gives every start its own value and derivative dP/dtheta, on all cores. The climbs end on the
peaks; the distinct end points are the estimates, far finer than the grid.

    python examples/direction_finding.py         # small: 100 snapshots; writes examples/out/direction_finding.png
    python examples/direction_finding.py --full  # 200 snapshots
"""
import os
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import adc  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")
M, T, SPACING = 12, 200, 0.5  # T = 100 snapshots in small mode
SOURCES_DEG = np.array([-40.0, 5.0, 33.0])
AMPLITUDES = np.array([1.0, 0.7, 0.5])
# convergence, checked: the climbs' mean power rises by POWER_FACTOR (their loss, minus the power, falls),
# and every source is found to within TOLERANCE_DEG
POWER_FACTOR = 1.5
TOLERANCE_DEG = 0.5


@adc.differentiate(wrt="theta")
def steered_power(theta, X, spacing):
    """Delay-and-sum output power of the array's snapshots X (sensors x snapshots) steered to theta."""
    sensors = X.shape[0]
    power = 0.0
    for t in range(X.shape[1]):
        acc = 0j
        for m in range(sensors):
            acc += np.exp(2j * np.pi * spacing * m * np.sin(theta)) * X[m, t]
        power += acc.real ** 2 + acc.imag ** 2
    return power / (sensors * sensors * X.shape[1])


def snapshots(rng, T=T) -> np.ndarray:
    """Three narrowband sources with random phases per snapshot, and white sensor noise."""
    m = np.arange(M)[:, None]
    steering = np.exp(-2j * np.pi * SPACING * m * np.sin(np.radians(SOURCES_DEG))[None, :])  # M x 3
    signals = AMPLITUDES[:, None] * np.exp(2j * np.pi * rng.random((3, T)))
    noise = 0.3 * (rng.standard_normal((M, T)) + 1j * rng.standard_normal((M, T))) / np.sqrt(2)
    return steering @ signals + noise


def climb(batch, starts, X, steps=60, rate=2e-3):
    """Gradient ascent on P from every start at once, the step normalised by the peak power seen."""
    theta, path = starts.copy(), [starts.copy()]
    for _ in range(steps):
        power, slope = batch.value_and_grad(theta, X, SPACING)
        theta = np.clip(theta + rate * slope / power.max(), -np.pi / 2, np.pi / 2)
        path.append(theta.copy())
    return theta, np.array(path)


def distinct(thetas, powers, tolerance_deg=0.5, floor=0.1):
    """End points closer than the tolerance are one peak; peaks below `floor` of the highest are dropped."""
    peaks = []
    for t, p in sorted(zip(np.degrees(thetas), powers), key=lambda tp: -tp[1]):
        if p >= floor * powers.max() and all(abs(t - q) > tolerance_deg for q, _ in peaks):
            peaks.append((t, p))
    return sorted(peaks)


def main(small=True, out_dir=None):
    out_dir = OUT if out_dir is None else out_dir
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(3)
    X = snapshots(rng, 100 if small else T)
    batch = steered_power.batched(in_axes=(0, None, None))
    starts = np.radians(np.arange(-90.0, 91.0, 5.0))

    t0 = time.perf_counter()
    _, slopes = batch.value_and_grad(starts, X, SPACING)
    print(f"{starts.size} start directions: values and dP/dtheta in one batched call "
          f"(first call, compiling: {time.perf_counter() - t0:.1f} s)")

    # the batched derivative is each element's own: against the unbatched call and central differences
    k, h = 22, 1e-4
    single = steered_power.grad(starts[k], X, SPACING)
    p = [steered_power.python(starts[k] + d * h, X, SPACING) for d in (2, 1, -1, -2)]
    fd = (8 * (p[1] - p[2]) - (p[0] - p[3])) / (12 * h)  # 4-point central differences
    print(f"check at {np.degrees(starts[k]):.0f} deg: batched {slopes[k]:.10f}, unbatched {single:.10f}, "
          f"central differences {fd:.10f} (relative {abs(slopes[k] - fd) / abs(fd):.1e})")
    rel = max(abs(slopes[k] - fd), abs(single - fd)) / abs(fd)
    if not rel < 1e-6:
        raise AssertionError(f"derivatives disagree: batched {slopes[k]}, unbatched {single}, central differences {fd}")

    t0 = time.perf_counter()
    ends, path = climb(batch, starts, X)
    powers = batch(ends, X, SPACING)
    print(f"gradient ascent, {path.shape[0] - 1} steps of {starts.size} climbs: {time.perf_counter() - t0:.2f} s")
    peaks = distinct(ends, powers)
    errors = []
    for truth in SOURCES_DEG:
        nearest = min(peaks, key=lambda tp: abs(tp[0] - truth))
        errors.append(abs(nearest[0] - truth))
        print(f"source at {truth:6.1f} deg: found {nearest[0]:7.2f} deg (error {nearest[0] - truth:+.2f}), "
              f"relative power {nearest[1] / powers.max():.2f}")
    factor = np.mean(powers) / np.mean(batch(starts, X, SPACING))
    print(f"mean power of the climbs rose by a factor of {factor:.2f} (required: {POWER_FACTOR:g}); largest "
          f"direction error {max(errors):.2f} deg (allowed: {TOLERANCE_DEG})")
    if not (factor >= POWER_FACTOR and max(errors) < TOLERANCE_DEG):
        raise AssertionError(f"the climbs did not converge: mean power x{factor:.3g}, errors {errors}")

    grid = np.radians(np.linspace(-90, 90, 1441))
    curve = batch(grid, X, SPACING)
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ax.plot(np.degrees(grid), 10 * np.log10(curve / curve.max()), color="0.3", lw=1, label="steered response power")
    start_db = 10 * np.log10(batch(starts, X, SPACING) / curve.max())
    end_db = 10 * np.log10(powers / curve.max())
    for s_deg, e_deg, s_db, e_db in zip(np.degrees(starts), np.degrees(ends), start_db, end_db):
        ax.annotate("", xy=(e_deg, e_db), xytext=(s_deg, s_db),
                    arrowprops=dict(arrowstyle="->", color="tab:blue", alpha=0.5, lw=0.8))
    ax.plot(np.degrees(starts), start_db, "o", ms=3, color="tab:blue", label="start directions (5 degree grid)")
    ax.plot([p[0] for p in peaks], [10 * np.log10(p[1] / curve.max()) for p in peaks], "*", ms=12,
            color="tab:red", label="found by batched gradient ascent")
    for i, truth in enumerate(SOURCES_DEG):
        ax.axvline(truth, color="tab:green", ls="--", lw=0.8, label="true directions" if i == 0 else None)
    ax.set_xlabel("direction (degrees)")
    ax.set_ylabel("power (dB below the peak)")
    ax.set_ylim(-25, 1)
    ax.set_xlim(-90, 90)
    ax.set_title("Direction finding: 37 climbs of the beamformer's power, one batched gradient per step")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path_png = os.path.join(out_dir, "direction_finding.png")
    fig.savefig(path_png, dpi=120)
    plt.close(fig)
    print(f"wrote {path_png}")
    return dict(direction_error_deg=float(max(errors)), power_factor=float(factor), gradient_error=float(rel))


if __name__ == "__main__":
    main(small="--full" not in sys.argv[1:])
