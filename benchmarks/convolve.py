"""np.convolve losses: gradient/primal (target <= 3), adc/JAX when JAX is importable, and the
direct-vs-FFT crossover behind runtime/convolve.py's threshold (log2(m)^2 taps).

    python benchmarks/convolve.py [--quick] [--repeat 20]

run.py calls `section` after the array-state recurrences.
"""
import argparse
import importlib
import math
import sys
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]  # the working-tree adc first

from timing import best_of  # noqa: E402

SIGNAL = 100_000
TAPS = (64, 4096)
CROSSOVER_LENGTHS = (1_000, 10_000, 100_000, 1_000_000)
CROSSOVER_TAPS = (16, 32, 64, 96, 128, 192, 256, 320, 384, 512)


def filter_loss(x, h):
    """The energy of x filtered by h: its gradient needs both adjoint correlations."""
    y = np.convolve(x, h)
    return np.dot(y, y)


def _jax_value_and_grad():
    """jit(value_and_grad) of the same loss in JAX, or None and why not."""
    try:
        import jax
        import jax.numpy as jnp
    except Exception as exc:  # absent, or a broken install
        return None, f"{type(exc).__name__}: {exc}"
    jax.config.update("jax_enable_x64", True)
    vg = jax.jit(jax.value_and_grad(lambda x, h: jnp.sum(jnp.convolve(x, h) ** 2), argnums=(0, 1)))
    return lambda x, h: jax.block_until_ready(vg(x, h)), None  # every output: JAX returns before they are made


def crossover(repeat, quick):
    """The tap loop against the FFT product on "full" windows, float64: the loop's time over the FFT's
    for each signal length (up to 10^4 with --quick) and number of taps, and the first tap count where
    the FFT is faster."""
    kernels = importlib.import_module("adc.runtime.convolve")
    rng = np.random.default_rng(2)
    print("Direct (tap loop) / FFT time, 'full' windows, float64 (the runtime takes the FFT above log2(m)^2 taps):")
    print("  " + "signal \\ taps".ljust(14) + "".join(f"{k:>7}" for k in CROSSOVER_TAPS) + "   FFT faster from   runtime switch")
    for n in CROSSOVER_LENGTHS[:2] if quick else CROSSOVER_LENGTHS:
        x = rng.standard_normal(n)
        ratios, first = [], None
        for k in CROSSOVER_TAPS:
            h, full = rng.standard_normal(k), n + k - 1
            t = best_of({"taps": lambda x=x, h=h, full=full: kernels._by_taps(x, h, 0, full),
                         "fft": lambda x=x, h=h, full=full: kernels._by_fft(x, h, 0, full)}, repeat)
            ratios.append(t["taps"] / t["fft"])
            if first is None and ratios[-1] > 1.0:
                first = k
        faster = first if first else f"> {CROSSOVER_TAPS[-1]}"
        print(f"  {n:<14}" + "".join(f"{r:7.2f}" for r in ratios) + f"   {faster:<16}  {math.log2(n) ** 2:.0f}")
    print()


def section(repeat, quick):
    """Gradient/primal of filter_loss on a 10^5-sample signal (10^3 with --quick), 64 and 4096 taps, each
    checked first against central differences along a random direction; adc/JAX beside it."""
    import adc
    jax_vg, why = _jax_value_and_grad()
    print("np.convolve loss y.y, y = convolve(x, h) (value_and_grad against the compiled primal; target grad/primal <= 3):")
    if jax_vg is None:
        print(f"  JAX columns skipped ({why}).")
    f = adc.differentiate(filter_loss, wrt=("x", "h"))
    rng = np.random.default_rng(5)
    n = SIGNAL // 100 if quick else SIGNAL
    ok = True
    for taps in TAPS:
        x, h = rng.standard_normal(n), rng.standard_normal(min(taps, n // 2)) / math.sqrt(taps)
        gx, gh = f.grad(x, h)
        vx, vh = rng.standard_normal(x.shape), rng.standard_normal(h.shape)
        step = 1e-6
        fd = (filter_loss(x + step * vx, h + step * vh) - filter_loss(x - step * vx, h - step * vh)) / (2 * step)
        err = abs(np.dot(gx, vx) + np.dot(gh, vh) - fd) / abs(fd)
        check_ok = err <= 1e-5
        fns = {"primal": lambda x=x, h=h: f(x, h), "grad": lambda x=x, h=h: f.value_and_grad(x, h)}
        if jax_vg is not None:
            fns["jax"] = lambda x=x, h=h: jax_vg(x, h)
        t = best_of(fns, repeat)
        r = t["grad"] / t["primal"]
        ok = ok and check_ok
        versus = f"  adc/JAX {t['grad'] / t['jax']:5.2f}x (JAX {1e3 * t['jax']:.3g} ms)" if jax_vg is not None else ""
        print(f"  N={n:<7} taps={h.shape[0]:<5} primal {1e3 * t['primal']:>7.3g} ms  grad {1e3 * t['grad']:>7.3g} ms  "
              f"grad/primal {r:5.2f}x {'ok' if r <= 3 else 'MISS'}{versus}   "
              f"check: grad.v ~ fd {err:.1e} {'ok' if check_ok else 'FAIL'}")
    print()
    crossover(max(3, repeat // 4), quick)
    return ok


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 10^3-sample signal (smoke test)")
    parser.add_argument("--repeat", type=int, default=20, help="timed runs per measurement, best one reported")
    opts = parser.parse_args()
    sys.exit(0 if section(opts.repeat, opts.quick) else 1)
