"""adc benchmark suite: one table of primal/gradient timings against
hand-written numba adjoints (and JAX when installed), then forward mode (jvp),
vector mode (jacobian) and second order (hvp), plus compile times and call
overhead (compile_time.py).

    python benchmarks/run.py                  # full sizes
    python benchmarks/run.py --quick          # N / 100, smoke test
    python benchmarks/run.py --only compile   # compile times and call overhead only

Gradients are checked against the hand adjoints and central finite differences
on the quick size before anything is timed; jvp, jacobian and hvp are checked
on the timed size just before they are timed.  The exit status is 1 if a check
fails.
"""
import argparse
import inspect
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]  # the working-tree adc first

import convolve  # noqa: E402  np.convolve losses and the direct-vs-FFT crossover
import convolve2d  # noqa: E402  adc.dsp.convolve2d losses, direct and FFT
import kernels  # noqa: E402
from timing import best_of  # noqa: E402

TARGET_GRAD_PRIMAL = 3.0
TARGET_ADC_HAND = 1.3
TARGET_JVP_PRIMAL = 2.0
CHECK_RTOL = 1e-6
JVP_RTOL = 1e-8        # jvp against grad . v
JACOBIAN_RTOL = 1e-10  # vector-mode jacobian against the stacked jvps
HVP_FD_RTOL = 1e-5     # H v against central differences of the gradient
VECTOR_KERNEL = "biquad"
VECTOR_CLEAR = 0.6     # "clearly below k": vector mode flagged above 0.6 k one-jvp times
HVP_KERNELS = ("biquad", "iir1")
QUICK_DIVISOR = 100


def optional_import(name):
    """Import a module or return (None, reason): adc may be mid-rewrite and
    JAX is usually absent, and neither may stop the rest of the table."""
    try:
        return __import__(name), None
    except Exception as exc:  # broken installs raise more than ImportError
        return None, f"{type(exc).__name__}: {exc}"


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
    t: dict = field(default_factory=lambda: dict.fromkeys(("adc", "numba", "grad", "hand", "jax", "jvp")))
    tangents: tuple = None   # the random direction jvp is checked and timed along
    jvp_err: float = None    # |jvp - grad . v| / |grad . v| on the timed size
    jvp_error: str = None    # why jvp could not be run

    @property
    def jvp_check(self):
        return self.jvp_error is None and self.jvp_err is not None and self.jvp_err <= JVP_RTOL


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


def random_direction(kernel, args, seed=1):
    """One standard-normal tangent per wrt argument: a float for a scalar
    argument, an array of the argument's shape otherwise."""
    rng = np.random.default_rng(seed)
    return tuple(float(rng.standard_normal()) if np.ndim(args[i]) == 0
                 else rng.standard_normal(np.shape(args[i]))
                 for i in wrt_positions(kernel))


def dot(grads, tangents):
    return sum(float(np.sum(np.asarray(g) * np.asarray(t))) for g, t in zip(grads, tangents))


def check_jvp(row, args):
    """jvp along row.tangents against grad . tangents, on the arguments that
    are about to be timed; sets row.jvp_err or row.jvp_error."""
    row.tangents = random_direction(row.kernel, args)
    try:
        val, deriv = row.adc_fn.jvp(*args, tangents=row.tangents)
        ref_val, grads = row.adc_fn.value_and_grad(*args)
        ref = dot(grads, row.tangents)
        row.jvp_err = max(abs(deriv - ref) / max(abs(ref), 1e-300),
                          abs(val - ref_val) / max(abs(ref_val), 1e-300))
    except Exception as exc:
        row.jvp_error = f"{type(exc).__name__}: {exc}"


def measure(rows, repeat, jaxk):
    for row in rows:
        k = row.kernel
        args = k.args(row.n)
        fns = {"numba": lambda: k.primal(*args), "hand": lambda: k.adjoint(*args)}
        if row.adc_fn is not None and row.error is None:
            fns["adc"] = lambda: row.adc_fn(*args)
            fns["grad"] = lambda: row.adc_fn.value_and_grad(*args)
            check_jvp(row, args)
            if row.jvp_error is None:
                fns["jvp"] = lambda: row.adc_fn.jvp(*args, tangents=row.tangents)
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


def print_forward_table(rows):
    """jvp along one random direction, in the same interleaved rounds as the
    main table (so its primal and grad columns are the denominators)."""
    print(f"Forward mode: jvp along one random direction (standard normal for every "
          f"wrt entry), checked against grad . v on the timed size (relative {JVP_RTOL:g}):")
    cols = [("kernel", 7), ("N", 8), ("wrt size", 8), ("adc primal ms", 13),
            ("adc jvp ms", 10), (f"jvp/primal <={TARGET_JVP_PRIMAL:g}", 17),
            ("adc grad ms", 11), ("jvp/grad", 8), ("jvp~grad.v", 10), ("check", 5)]
    print("  ".join(f"{name:>{w}}" for name, w in cols))
    print("  ".join("-" * w for _, w in cols))
    errors = []
    for row in rows:
        t = row.t
        size = sum(int(np.size(v)) for v in row.tangents) if row.tangents is not None else None
        cells = [row.kernel.name, f"{row.n:.0e}".replace("e+0", "e"),
                 "n/a" if size is None else str(size), ms(t["adc"]), ms(t["jvp"]),
                 ratio(t["jvp"], t["adc"], TARGET_JVP_PRIMAL), ms(t["grad"]),
                 ratio(t["jvp"], t["grad"]),
                 "n/a" if row.jvp_err is None else f"{row.jvp_err:.1e}",
                 "ok" if row.jvp_check else "FAIL"]
        print("  ".join(f"{c:>{w}}" for c, (_, w) in zip(cells, cols)))
        if row.jvp_error is not None:  # rows without a working adc function say why under Checks
            errors.append(f"  {row.kernel.name}: jvp error: {row.jvp_error}")
    print("\n".join(errors + [""]))


def rel_norm(got, ref):
    got = np.asarray(got, dtype=float)
    ref = np.asarray(ref, dtype=float)
    if got.shape != ref.shape:
        return math.inf
    return float(np.linalg.norm(got - ref) / max(np.linalg.norm(ref), 1e-300))


def vector_mode(rows, repeat):
    """jacobian(mode="fwd"): all k wrt directions of the biquad in one
    vector-mode sweep, against k separate jvps along the basis directions.
    Returns whether the jacobian matched the stacked jvps."""
    row = next(r for r in rows if r.kernel.name == VECTOR_KERNEL)
    k = row.kernel
    dims = len(k.wrt)
    n = f"{row.n:.0e}".replace("e+0", "e")
    print(f"Vector mode on {k.name} (N={n}): jacobian(mode=\"fwd\"), k = {dims} directions "
          f"({', '.join(k.wrt)}) in one sweep, against {dims} separate jvps along the basis:")
    if row.adc_fn is None or row.error is not None:
        print(f"  n/a (no working adc function: {row.error})\n")
        return False
    f = row.adc_fn
    args = k.args(row.n)
    basis = [tuple(1.0 if j == i else 0.0 for j in range(dims)) for i in range(dims)]
    try:
        jac = f.jacobian(*args, mode="fwd")
        stacked = [f.jvp(*args, tangents=e)[1] for e in basis]
        err = rel_norm([np.ravel(b) for b in jac], [np.ravel(s) for s in stacked])
    except Exception as exc:
        print(f"  FAIL: {type(exc).__name__}: {exc}\n")
        return False
    ok = err <= JACOBIAN_RTOL
    print(f"  check: jacobian == stacked jvps, relative {err:.1e} (tolerance {JACOBIAN_RTOL:g}) "
          f"{'ok' if ok else 'FAIL'}")
    t = best_of({"primal": lambda: f(*args),
                 "jvp": lambda: f.jvp(*args, tangents=basis[0]),
                 "jvps": lambda: [f.jvp(*args, tangents=e) for e in basis],
                 "jacobian": lambda: f.jacobian(*args, mode="fwd")}, repeat)
    one = t["jvp"]
    limit = VECTOR_CLEAR * dims
    verdict = "ok" if t["jacobian"] / one <= limit else "MISS"
    print(f"  adc primal                     {ms(t['primal']):>7} ms  {t['primal'] / one:5.2f}x one jvp")
    print(f"  one jvp                        {ms(one):>7} ms  {1:5.2f}x")
    print(f"  {dims} separate jvps                {ms(t['jvps']):>7} ms  {t['jvps'] / one:5.2f}x one jvp")
    print(f"  jacobian(mode=\"fwd\"), 1 sweep  {ms(t['jacobian']):>7} ms  "
          f"{t['jacobian'] / one:5.2f}x one jvp  {verdict}  (should be clearly below k = {dims}: "
          f"flagged above {limit:g}; {t['jacobian'] / t['jvps']:.2f}x the {dims} jvps)")
    print()
    return ok


def second_order(rows, repeat):
    """hvp (forward over reverse) against value_and_grad, along the same
    random direction as the jvp row.  The gradient part is checked against
    value_and_grad and H v against central differences of value_and_grad
    (sanity only; no timing target).  Returns whether the checks passed."""
    print(f"Second order: hvp (forward over reverse) along the jvp direction, against "
          f"value_and_grad; check: H v ~ central differences of grad (relative {HVP_FD_RTOL:g}):")
    all_ok = True
    for name in HVP_KERNELS:
        row = next(r for r in rows if r.kernel.name == name)
        k = row.kernel
        n = f"{row.n:.0e}".replace("e+0", "e")
        if row.adc_fn is None or row.error is not None:
            print(f"  {name:<7} N={n}: n/a ({row.error})")
            all_ok = False
            continue
        f = row.adc_fn
        args = k.args(row.n)
        v = row.tangents if row.tangents is not None else random_direction(k, args)
        try:
            grads, hv = f.hvp(*args, tangents=v)
            _, ref_grads = f.value_and_grad(*args)
            grad_err = rel_err(grads, ref_grads)
            h = 1e-6 * max(1.0, max(abs(a) for a in np.ravel(np.concatenate(
                [np.ravel(args[i]) for i in wrt_positions(k)]))))
            h /= max(np.linalg.norm(np.concatenate([np.ravel(t) for t in v])), 1e-300)

            def shifted(step):
                moved = list(args)
                for i, t in zip(wrt_positions(k), v):
                    moved[i] = args[i] + step * t
                return f.value_and_grad(*moved)[1]

            fd = [(np.asarray(p) - np.asarray(m)) / (2.0 * h) for p, m in zip(shifted(h), shifted(-h))]
            fd_err = rel_err(hv, fd)
        except Exception as exc:
            print(f"  {name:<7} N={n}: FAIL: {type(exc).__name__}: {exc}")
            all_ok = False
            continue
        ok = grad_err <= CHECK_RTOL and fd_err <= HVP_FD_RTOL
        all_ok = all_ok and ok
        t = best_of({"grad": lambda: f.value_and_grad(*args),
                     "hvp": lambda: f.hvp(*args, tangents=v)}, repeat)
        print(f"  {name:<7} N={n:<4}  hvp {ms(t['hvp']):>6} ms  value_and_grad {ms(t['grad']):>6} ms  "
              f"hvp/grad {t['hvp'] / t['grad']:.2f}x   check: grad part {grad_err:.1e}, "
              f"Hv~fd {fd_err:.1e} {'ok' if ok else 'FAIL'}")
    print()
    return all_ok


def fourier_section(repeat, quick):
    """Gradient/primal of the Fourier-domain losses (target <= 3), checked against central
    differences along a random direction first."""
    import fourier_kernels as fk

    import adc
    print("Fourier-domain losses (value_and_grad against the compiled primal; target grad/primal <= 3):")
    ok = True
    for name, fn, args in (("phase retrieval", fk.phase_retrieval_loss, fk.phase_retrieval_args(quick)),
                           ("STFT-mel", fk.stft_mel_loss, fk.stft_mel_args(quick))):
        f = adc.differentiate(fn)
        g = f.grad(*args)
        rng = np.random.default_rng(3)
        v = rng.standard_normal(args[0].shape) + (1j * rng.standard_normal(args[0].shape) if np.iscomplexobj(args[0]) else 0)
        h = 1e-6
        fd = (fn(args[0] + h * v, *args[1:]) - fn(args[0] - h * v, *args[1:])) / (2 * h)
        ad = float(np.real(np.vdot(g, v)))
        err = abs(ad - fd) / max(abs(fd), 1e-300)
        check_ok = err <= 1e-5
        t = best_of({"primal": lambda: f(*args), "grad": lambda: f.value_and_grad(*args)}, repeat)
        r = t["grad"] / t["primal"]
        verdict = "ok" if r <= 3 else "MISS"
        ok = ok and check_ok
        print(f"  {name:<16} N={args[0].shape[0]:<6} primal {ms(t['primal']):>7} ms  grad {ms(t['grad']):>7} ms  "
              f"grad/primal {r:5.2f}x {verdict}   check: grad.v ~ fd {err:.1e} {'ok' if check_ok else 'FAIL'}")
    print()
    return ok


def array_state_section(repeat, quick):
    """Gradient/primal of recurrences whose state is a whole array (target <= 3). Checked first: grad . v
    against central differences on the quick size (over 10^5 Kalman steps differences lose all accuracy),
    and against forward mode's jvp on the timed size."""
    import array_state_kernels as ak

    import adc
    print("Array-state recurrences (value_and_grad against the compiled primal; target grad/primal <= 3):")
    ok = True
    for name, fn, make_args, wrt in ak.ARRAY_STATE:
        f = adc.differentiate(fn, wrt=wrt)
        positions = [f.params.index(w) for w in wrt]
        errors = []
        for args in (make_args(True), make_args(quick)):
            grads = f.grad(*args)
            rng = np.random.default_rng(3)
            v = [rng.standard_normal(np.shape(args[i])) for i in positions]
            ad = float(sum(np.sum(g * d) for g, d in zip(grads, v)))
            if not errors:
                h = 1e-6

                def moved(step, args=args, v=v):
                    out = list(args)
                    for i, d in zip(positions, v):
                        out[i] = args[i] + step * d
                    return fn(*out)
                reference = (moved(h) - moved(-h)) / (2 * h)
            else:
                reference = f.jvp(*args, tangents=tuple(v))[1]
            errors.append(abs(ad - reference) / max(abs(reference), 1e-300))
        check_ok = errors[0] <= 1e-5 and errors[1] <= 1e-9
        t = best_of({"primal": lambda: f(*args), "grad": lambda: f.value_and_grad(*args)}, repeat)
        r = t["grad"] / t["primal"]
        ok = ok and check_ok
        steps = np.shape(args[1])[0] if name.startswith("leaky") else np.shape(args[-1])[0]
        print(f"  {name:<16} N={steps:<6} primal {ms(t['primal']):>7} ms  grad {ms(t['grad']):>7} ms  "
              f"grad/primal {r:5.2f}x {'ok' if r <= 3 else 'MISS'}   check: grad.v ~ fd {errors[0]:.1e}, "
              f"~ jvp {errors[1]:.1e} {'ok' if check_ok else 'FAIL'}")
    print()
    return ok


TARGET_BOUNDS_COST = 1.02


def bounds_section(adc, rows, repeat):
    """What the default bounds checks cost: each kernel against itself compiled with boundscheck=False,
    primal and value_and_grad, in the same interleaved rounds (target checked/unchecked <= 1.02). The two
    differ by the comparisons before the loops, so what is left is timing noise."""
    print(f"Bounds checks: checked / unchecked (boundscheck=False) time, target <= {TARGET_BOUNDS_COST:g}:")
    ok = True
    for row in rows:
        if row.adc_fn is None or row.error is not None:
            continue
        k = row.kernel
        args = k.args(row.n)
        bare = adc.differentiate(wrt=k.wrt, boundscheck=False)(k.fn)
        same = all(np.array_equal(a, b) for a, b in zip(bare.value_and_grad(*args)[1], row.adc_fn.value_and_grad(*args)[1]))
        t = best_of({"primal": lambda: row.adc_fn(*args), "bare primal": lambda: bare(*args),
                     "grad": lambda: row.adc_fn.value_and_grad(*args),
                     "bare grad": lambda: bare.value_and_grad(*args)}, 2 * repeat)  # a 2% effect: more rounds
        primal, grad = t["primal"] / t["bare primal"], t["grad"] / t["bare grad"]
        hoisted = "OutOfBounds" in row.adc_fn.primal_source()
        ok = ok and same
        print(f"  {k.name:<7} primal {primal:5.3f}x  grad {grad:5.3f}x  "
              f"{'ok' if max(primal, grad) <= TARGET_BOUNDS_COST else 'MISS'}  "
              f"({'checks hoisted before the loops' if hoisted else 'no check needed'}; "
              f"same gradient: {'ok' if same else 'FAIL'})")
    print()
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"divide every N by {QUICK_DIVISOR} (smoke test)")
    parser.add_argument("--repeat", type=int, default=20,
                        help="timed runs per measurement, best one reported")
    parser.add_argument("--only", choices=("compile",),
                        help="run one section alone: compile = compile times and call overhead (compile_time.py)")
    parser.add_argument("--compile-large", action="store_true",
                        help="compile section: also the 812-statement generated program")
    opts = parser.parse_args()
    import compile_time  # beside this file (sys.path above); imports neither adc nor numba
    if opts.only == "compile":
        return 0 if compile_time.section(opts.compile_large) else 1

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
    ok = all(row.check for row in rows)
    if adc is not None:
        print_forward_table(rows)
        ok = all(row.jvp_check for row in rows) and ok
        ok = vector_mode(rows, opts.repeat) and ok
        ok = second_order(rows, opts.repeat) and ok
        ok = fourier_section(opts.repeat, opts.quick) and ok
        ok = array_state_section(opts.repeat, opts.quick) and ok
        ok = convolve.section(opts.repeat, opts.quick) and ok
        ok = convolve2d.section(opts.repeat, opts.quick) and ok
        ok = bounds_section(adc, rows, opts.repeat) and ok
    ok = compile_time.section(opts.compile_large) and ok  # misses are printed; only failed checks count
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
