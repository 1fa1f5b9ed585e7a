"""adc benchmark suite: one table of primal/gradient timings against
hand-written numba adjoints (and JAX when installed), plus compile times.

    python benchmarks/run.py            # full sizes
    python benchmarks/run.py --quick    # N / 100, smoke test

Gradients are checked against the hand adjoints and central finite differences
on the quick size before anything is timed; the exit status is 1 if a check
fails.
"""
import argparse
import inspect
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]  # the working-tree adc first

import kernels  # noqa: E402

TARGET_GRAD_PRIMAL = 3.0
TARGET_ADC_HAND = 1.3
TARGET_COLD_S = 3.0
TARGET_WARM_S = 0.5
CHECK_RTOL = 1e-6
QUICK_DIVISOR = 100
PROBE_N = 1000


def optional_import(name):
    """Import a module or return (None, reason): adc may be mid-rewrite and
    JAX is usually absent, and neither may stop the rest of the table."""
    try:
        return __import__(name), None
    except Exception as exc:  # broken installs raise more than ImportError
        return None, f"{type(exc).__name__}: {exc}"


def best_of(fns, repeat):
    """Best wall time of each callable over `repeat` rounds, after one warm-up
    call each (compilation, first-touch allocation).  A round times every
    callable once, so load changes on a shared machine hit them all alike and
    the ratios stay fair; the minimum is the least noisy estimator."""
    for fn in fns.values():
        fn()
    best = dict.fromkeys(fns, math.inf)
    for _ in range(repeat):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


def wrt_positions(kernel):
    names = list(inspect.signature(kernel.fn).parameters)
    return tuple(names.index(w) for w in kernel.wrt)


def rel_err(got, ref):
    """Largest norm-wise relative error over the gradient components."""
    if len(got) != len(ref):
        return math.inf
    worst = 0.0
    for g, r in zip(got, ref):
        g = np.asarray(g, dtype=float)
        r = np.asarray(r, dtype=float)
        if g.shape != r.shape:
            return math.inf
        worst = max(worst, np.linalg.norm(g - r) / max(np.linalg.norm(r), 1e-300))
    return worst


def central_fd(kernel, args):
    """Central differences of the numba primal, one coordinate at a time
    (step 1e-6 relative to the coordinate, at least 1e-6)."""
    grads = []
    for i in wrt_positions(kernel):
        p = np.array(args[i], dtype=float)
        g = np.empty(p.shape)
        for j in np.ndindex(p.shape):
            h = 1e-6 * max(abs(p[j]), 1.0)

            def at(delta):
                q = p.copy()
                q[j] += delta
                moved = list(args)
                moved[i] = q if q.ndim else float(q)
                return kernel.primal(*moved)

            g[j] = (at(h) - at(-h)) / (2.0 * h)
        grads.append(g)
    return grads


@dataclass
class Row:
    """Everything measured for one kernel; None marks "not available"."""
    kernel: kernels.Kernel
    n: int
    adc_fn: object = None
    error: str = None
    check: bool = None
    t: dict = field(default_factory=lambda: dict.fromkeys(("adc", "numba", "grad", "hand", "jax")))


def make_adc(adc, rows):
    for row in rows:
        try:
            row.adc_fn = adc.differentiate(wrt=row.kernel.wrt)(row.kernel.fn)
        except Exception as exc:
            row.error = f"differentiate: {type(exc).__name__}: {exc}"


def check(rows, jaxk):
    """Compare values and gradients on the quick size; print one line each."""
    print(f"Checks (N/{QUICK_DIVISOR}, relative tolerance {CHECK_RTOL:g}; "
          "gradients norm-wise per argument):")
    for row in rows:
        k = row.kernel
        args = k.args(k.n // QUICK_DIVISOR)
        ref = k.fn(*args)  # plain Python semantics are the reference
        hand_val, hand = k.adjoint(*args)
        errs = {"numba primal": abs(k.primal(*args) - ref) / abs(ref),
                "hand value": abs(hand_val - ref) / abs(ref),
                "hand~fd": rel_err(hand, central_fd(k, args))}
        if row.adc_fn is not None:
            try:
                val, grads = row.adc_fn.value_and_grad(*args)
                errs["adc primal"] = abs(row.adc_fn(*args) - ref) / abs(ref)
                errs["adc value"] = abs(val - ref) / abs(ref)
                errs["adc~hand"] = max(rel_err(grads, hand),
                                       rel_err(row.adc_fn.grad(*args), hand))
            except Exception as exc:
                row.error = f"{type(exc).__name__}: {exc}"
        if jaxk is not None:
            jval, jgrads = jaxk.value_and_grad(k.name, wrt_positions(k))(
                *jaxk.device_args(args))
            errs["jax~hand"] = max(abs(float(jval) - ref) / abs(ref), rel_err(jgrads, hand))
        row.check = all(e <= CHECK_RTOL for e in errs.values())
        if row.error is not None:
            row.check = False
        detail = "  ".join(f"{name} {e:.1e}" for name, e in errs.items())
        status = "ok" if row.check else "FAIL"
        print(f"  {k.name:<7} {status:<4}  {detail}")
        if row.error is not None:
            print(f"          adc error: {row.error}")
    print()


def measure(rows, repeat, jaxk):
    for row in rows:
        k = row.kernel
        args = k.args(row.n)
        fns = {"numba": lambda: k.primal(*args), "hand": lambda: k.adjoint(*args)}
        if row.adc_fn is not None and row.error is None:
            fns["adc"] = lambda: row.adc_fn(*args)
            fns["grad"] = lambda: row.adc_fn.value_and_grad(*args)
        if jaxk is not None:
            vg = jaxk.value_and_grad(k.name, wrt_positions(k))
            jargs = jaxk.device_args(args)
            fns["jax"] = lambda: vg(*jargs)
        row.t.update(best_of(fns, repeat))


def ratio(num, den, target=None):
    if num is None or den is None:
        return "n/a"
    r = num / den
    if target is None:
        return f"{r:.2f}x"
    return f"{r:.2f}x {'ok' if r <= target else 'MISS'}"


def ms(t):
    return "n/a" if t is None else f"{1e3 * t:.3g}"


def print_table(rows, with_jax):
    cols = [("kernel", 7), ("N", 8), ("adc primal ms", 13), ("numba primal ms", 15),
            ("adc grad ms", 11), (f"grad/primal <={TARGET_GRAD_PRIMAL:g}", 18),
            ("hand adj ms", 11), (f"adc/hand <={TARGET_ADC_HAND:g}", 16)]
    if with_jax:
        cols += [("jax grad ms", 11), ("jax/adc", 8)]
    cols += [("check", 5)]
    print("  ".join(f"{name:>{w}}" for name, w in cols))
    print("  ".join("-" * w for _, w in cols))
    for row in rows:
        t = row.t
        cells = [row.kernel.name, f"{row.n:.0e}".replace("e+0", "e"), ms(t["adc"]),
                 ms(t["numba"]), ms(t["grad"]),
                 ratio(t["grad"], t["adc"], TARGET_GRAD_PRIMAL), ms(t["hand"]),
                 ratio(t["grad"], t["hand"], TARGET_ADC_HAND)]
        if with_jax:
            cells += [ms(t["jax"]), ratio(t["jax"], t["grad"])]
        cells += ["ok" if row.check else "FAIL"]
        print("  ".join(f"{c:>{w}}" for c, (_, w) in zip(cells, cols)))
    print()


def compile_probe():
    """Run in a fresh interpreter: seconds to build and first-call the IIR
    gradient (imports excluded, `import adc` reported separately)."""
    t0 = time.perf_counter()
    import adc
    t_import = time.perf_counter() - t0
    k = kernels.KERNELS[0]
    args = k.args(PROBE_N)
    t0 = time.perf_counter()
    adc.differentiate(wrt=k.wrt)(k.fn).value_and_grad(*args)
    print(time.perf_counter() - t0, t_import)


def compile_times():
    """Cold (empty ADC_CACHE_DIR) then warm (same dir) first-call times, each
    in a fresh subprocess so no in-process cache can help."""
    print(f"First-call compile time of the iir1 gradient (fresh subprocess; "
          f"differentiate + first value_and_grad at N={PROBE_N}):")
    with tempfile.TemporaryDirectory(prefix="adc-bench-cache-") as cache:
        env = dict(os.environ, ADC_CACHE_DIR=cache,
                   NUMBA_CACHE_DIR=os.path.join(cache, "numba"))
        for label, target in (("cold, empty cache dir", TARGET_COLD_S),
                              ("warm, same cache dir ", TARGET_WARM_S)):
            proc = subprocess.run([sys.executable, __file__, "--compile-probe"],
                                  env=env, capture_output=True, text=True, timeout=600)
            if proc.returncode != 0:
                tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
                print(f"  {label}: failed ({tail})")
                continue
            seconds, t_import = map(float, proc.stdout.split()[-2:])
            verdict = "ok" if seconds <= target else "MISS"
            print(f"  {label}: {seconds:6.2f} s   target <= {target:g} s  {verdict}"
                  f"   (import adc {t_import:.2f} s, not included)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"divide every N by {QUICK_DIVISOR} (smoke test)")
    parser.add_argument("--repeat", type=int, default=20,
                        help="timed runs per measurement, best one reported")
    parser.add_argument("--compile-probe", action="store_true", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.compile_probe:
        compile_probe()
        return 0

    adc, adc_error = optional_import("adc")
    jaxk, jax_error = optional_import("jax_kernels")
    rows = [Row(k, k.n // QUICK_DIVISOR if opts.quick else k.n) for k in kernels.KERNELS]
    if adc is None:
        print(f"adc unavailable ({adc_error}); adc columns are n/a.\n")
    else:
        make_adc(adc, rows)
    if jaxk is None:
        print(f"JAX columns skipped ({jax_error}).\n")

    check(rows, jaxk)
    measure(rows, opts.repeat, jaxk)
    print(f"Timings: best of {opts.repeat} interleaved rounds after a warm-up; "
          f"grad = value_and_grad; ratios are time/time; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs.")
    print_table(rows, jaxk is not None)
    if adc is not None:
        compile_times()
    return 0 if all(row.check for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
