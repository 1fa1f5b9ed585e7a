"""Compile time and per-call overhead (issue [3/10]), each compile measured in a fresh subprocess.

    python benchmarks/compile_time.py                   # this section alone
    python benchmarks/compile_time.py --compile-large   # plus the 812-statement generated program
    python benchmarks/run.py --only compile             # the same, from the driver

"Cold" is a fresh interpreter with an empty ADC_CACHE_DIR (a new temporary folder, removed
afterwards), "warm" a second fresh interpreter reusing that folder (adc's generated modules and
numba's cache of them). NUMBA_CACHE_DIR is removed from the children's environment, so numba
caches the generated kernels beside them in ADC_CACHE_DIR and adc's runtime helpers where an
installed adc keeps them (next to `adc.runtime`'s source): a one-off cost of a fresh install,
which a row flags when its child had to compile some. Each child imports numpy, numba and adc
before its clock starts; the times are decorating plus the first calls.

1. gain3d: a whole-array loss on (4, 16, 50) float64 arrays, decorate + first value_and_grad:
   cold <= 2 s, warm <= 0.2 s.
2. every example in examples/: its decorated function imported from the script (which runs no
   main job on import; matplotlib is stubbed when it is not installed), first derivative call
   (value_and_grad, or for the biquad's array-valued residual jacobian(mode="fwd")) plus first
   primal call: cold <= 5 s each.
3. iir1: cold first value_and_grad within 1.5x numba compiling the hand-written adjoint
   (benchmarks/kernels.py) in its own fresh interpreter with an empty NUMBA_CACHE_DIR.
4. generated straight-line programs of n statements (scalar arithmetic, math functions and
   whole-array ops, no loops): cold and warm for n = 62, 212 (and 812 with --compile-large):
   812 statements cold <= 30 s, growth exponent log(t812 / t212) / log(812 / 212) <= 1.
5. per-call overhead of f.grad and f.value_and_grad on iir1 with a 16-sample signal, above
   calling the compiled vjp kernel directly: <= 5 us.

Misses are reported (ok / MISS), never an error: section() returns False only when a
measurement could not be made or a result was wrong (the checks in the children).
"""
import argparse
import importlib
import json
import math
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import timeit
import types
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
EXAMPLES = ROOT / "examples"

TARGET_GAIN3D_COLD_S = 2.0
TARGET_GAIN3D_WARM_S = 0.2
TARGET_EXAMPLE_COLD_S = 5.0
TARGET_IIR_HAND = 1.5
TARGET_LARGE_COLD_S = 30.0
TARGET_GROWTH = 1.0
TARGET_OVERHEAD_US = 5.0
STRAIGHT_SIZES = (62, 212)
STRAIGHT_LARGE = 812
IIR_N = 1000          # samples for the compile probes (the call itself is microseconds)
OVERHEAD_N = 16       # samples for the per-call overhead
OVERHEAD_NUMBER = 5000  # calls per timeit round (7 rounds, best one)
CHECK_RTOL = 1e-6
PROBE_TIMEOUT_S = 1200  # the 812-statement program took 277 s cold
RESULT = "RESULT "    # a child's last line: RESULT {json}


# --- children: one probe per fresh interpreter -----------------------------------------------------

def _setup_child():
    sys.path[:0] = [str(ROOT), str(BENCH)]  # the working-tree adc first, then kernels.py
    import numba  # noqa: F401  imported before any clock starts, as adc imports it too
    import numpy  # noqa: F401

    import adc
    return adc


def _runtime_cache_files():
    """How many files numba keeps for adc's runtime helpers (compiled on a fresh install's first use)."""
    from adc.backend.compile import runtime
    folder = Path(runtime.__file__).parent / "__pycache__"
    return len(list(folder.glob("*.nb[ic]"))) if folder.is_dir() else 0


def _report(result):
    print(RESULT + json.dumps(result))


def _compile_stats(f):
    """{"stats": f.compile_stats()} when adc has that per-stage breakdown (seconds by stage), else {}."""
    if not hasattr(f, "compile_stats"):
        return {}
    try:
        stats = f.compile_stats()
    except Exception as exc:  # a hook, never a failure of the benchmark
        return {"stats": f"compile_stats() raised {type(exc).__name__}: {exc}"}
    try:
        json.dumps(stats)
    except TypeError:
        stats = repr(stats)
    return {"stats": stats}


def gain3d_loss(G, X, T3):
    Y = G * X
    return np.sum((Y - T3) ** 2) + 0.1 * np.sum(G[:, 0, :] ** 2)


def probe_gain3d():
    adc = _setup_child()
    rng = np.random.default_rng(0)
    G, X, T3 = (rng.standard_normal((4, 16, 50)) for _ in range(3))
    before = _runtime_cache_files()
    t0 = time.perf_counter()
    f = adc.differentiate(gain3d_loss)
    value, grad = f.value_and_grad(G, X, T3)
    seconds = time.perf_counter() - t0
    ref_grad = 2.0 * (G * X - T3) * X
    ref_grad[:, 0, :] += 0.2 * G[:, 0, :]
    err = max(abs(value - gain3d_loss(G, X, T3)) / abs(gain3d_loss(G, X, T3)),
              float(np.linalg.norm(grad - ref_grad) / np.linalg.norm(ref_grad)))
    _report({"seconds": seconds, "err": err, "runtime_compiled": _runtime_cache_files() - before,
             **_compile_stats(f)})


def _stub_matplotlib():
    """The examples import matplotlib for their figures only; without it they still import."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot  # noqa: F401  before the clock: not adc's time
    except ImportError:
        mpl = types.ModuleType("matplotlib")
        mpl.use = lambda *args, **kwargs: None
        mpl.pyplot = types.ModuleType("matplotlib.pyplot")
        sys.modules.update({"matplotlib": mpl, "matplotlib.pyplot": mpl.pyplot})


# Each example: (the decorated object's name in the script, its arguments as the script builds them
# (smaller where that is cheaper and compiles the same kernels), which derivative the script calls).

def _quickstart_args(mod, rng):
    x = rng.standard_normal(2000)
    return 0.3, -0.5, x, 0.5 * x + 0.1 * rng.standard_normal(2000)


def _lms_args(mod, rng):
    x = rng.standard_normal(3000)
    d = np.convolve(x, rng.standard_normal(mod.K) / 4.0)[:3000] + 0.1 * rng.standard_normal(3000)
    return 0.01, x, d, np.zeros(3000)


def _kalman_args(mod, rng):
    z = rng.standard_normal(2000)
    return 0.5, -1.0, 0.0, z, np.zeros(2000), np.zeros(2000)


def _tracker_args(mod, rng):
    h = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0]])
    return 1.0, -6.0, 0.0, 1.0, h, np.zeros(4), np.eye(4), rng.standard_normal((300, 2))


def _deblur_args(mod, rng):
    return rng.random((80, 80)), mod.gaussian_psf(9, 1.6), rng.random((80, 80)), 2e-3


def _biquad_args(mod, rng):
    x = np.zeros(64)
    x[0] = 1.0
    return (*mod.rbj_lowpass(0.20, 0.5), x, rng.standard_normal(64))


def _phase_args(mod, rng):
    truth = np.zeros(mod.N)
    truth[rng.choice(np.arange(4, mod.N - 4), mod.SPIKES, replace=False)] = rng.uniform(0.3, 1.0, mod.SPIKES)
    return rng.uniform(0, 1, mod.N), np.abs(np.fft.fft(truth, mod.PAD))


def _spectral_args(mod, rng):
    from adc import dsp
    t = np.arange(int(mod.SAMPLE_RATE * mod.DURATION)) / mod.SAMPLE_RATE
    w_long, w_short = mod.periodic_hann(mod.LONG_FRAME), mod.periodic_hann(mod.SHORT_FRAME)
    fb_long = dsp.mel_filterbank(mod.SAMPLE_RATE, mod.LONG_FRAME, mod.LONG_MELS)
    fb_short = dsp.mel_filterbank(mod.SAMPLE_RATE, mod.SHORT_FRAME, mod.SHORT_MELS)
    target = mod.synth(mod.pack(mod.TRUE_HZ, mod.TRUE_AMP, mod.TRUE_DECAY), t)
    start = mod.pack(mod.START_HZ, mod.START_AMP, mod.START_DECAY)
    return (start, t, w_long, fb_long, mod.log_mel_long(target, w_long, fb_long),
            w_short, fb_short, mod.log_mel_short(target, w_short, fb_short), 1.0)


EXAMPLE_CASES = {
    "quickstart": ("iir_loss", _quickstart_args, "value_and_grad"),
    "lms_step_size": ("lms_loss", _lms_args, "value_and_grad"),
    "kalman_fit": ("kalman_loglik", _kalman_args, "value_and_grad"),
    "tracker_fit": ("tracker_nll", _tracker_args, "value_and_grad"),
    "deblur": ("deblur_loss", _deblur_args, "value_and_grad"),
    "biquad_gauss_newton": ("residual", _biquad_args, "jacobian"),
    "phase_retrieval": ("loss", _phase_args, "value_and_grad"),
    "spectral_matching": ("loss", _spectral_args, "value_and_grad"),
}


def probe_example(name):
    _setup_child()
    _stub_matplotlib()
    import adc.dsp  # noqa: F401  imported by the scripts that use it; not their compile time
    sys.path.insert(0, str(EXAMPLES))
    attr, make_args, derivative = EXAMPLE_CASES[name]
    before = _runtime_cache_files()
    t0 = time.perf_counter()
    mod = importlib.import_module(name)  # decorates; the scripts run main() only as __main__
    t_decorate = time.perf_counter() - t0
    f = getattr(mod, attr)
    args = make_args(mod, np.random.default_rng(0))  # untimed: plain numpy and Python
    t0 = time.perf_counter()
    if derivative == "jacobian":
        out = f.jacobian(*args, mode="fwd")
    else:
        out = f.value_and_grad(*args)
    t_grad = time.perf_counter() - t0
    t0 = time.perf_counter()
    primal = f(*args)
    t_primal = time.perf_counter() - t0
    runtime_compiled = _runtime_cache_files() - before
    if derivative == "jacobian":  # check (untimed): d residual / d b0 against central differences
        h = 1e-6
        fd = (f(args[0] + h, *args[1:]) - f(args[0] - h, *args[1:])) / (2 * h)
        err = float(np.linalg.norm(out[0] - fd) / np.linalg.norm(fd))
    else:  # check: value_and_grad's value is the primal's
        err = abs(out[0] - primal) / max(abs(primal), 1e-300)
    _report({"decorate": t_decorate, "grad": t_grad, "primal": t_primal,
             "seconds": t_decorate + t_grad + t_primal, "derivative": derivative, "err": err,
             "runtime_compiled": runtime_compiled})


def probe_iir1():
    adc = _setup_child()
    import kernels
    k = kernels.KERNELS[0]
    args = k.args(IIR_N)
    before = _runtime_cache_files()
    t0 = time.perf_counter()
    value, grads = adc.differentiate(wrt=k.wrt)(k.fn).value_and_grad(*args)
    seconds = time.perf_counter() - t0
    hand_value, hand = k.adjoint(*args)
    err = max(abs(value - hand_value) / abs(hand_value),
              max(abs(g - h) / abs(h) for g, h in zip(grads, hand)))
    _report({"seconds": seconds, "err": err, "runtime_compiled": _runtime_cache_files() - before})


def probe_hand():
    """numba's cold compile of the hand adjoint; adc imported first as in the other probes, so both
    sides start from the same initialised numba."""
    _setup_child()
    import kernels
    k = kernels.KERNELS[0]
    args = k.args(IIR_N)
    t0 = time.perf_counter()
    k.adjoint(*args)
    _report({"seconds": time.perf_counter() - t0})


def probe_straight(path):
    adc = _setup_child()
    path = Path(path)
    sys.path.insert(0, str(path.parent))
    mod = importlib.import_module(path.stem)
    args = straight_args()
    before = _runtime_cache_files()
    t0 = time.perf_counter()
    f = adc.differentiate(mod.straight, wrt=STRAIGHT_PARAMS)
    value, grads = f.value_and_grad(*args)
    seconds = time.perf_counter() - t0
    # check (untimed): the value against plain Python, grad . v against central differences
    ref = mod.straight(*args)
    rng = np.random.default_rng(1)
    v = [float(rng.standard_normal()) if np.ndim(a) == 0 else rng.standard_normal(np.shape(a)) for a in args]
    h = 1e-6
    fd = (mod.straight(*(a + h * d for a, d in zip(args, v)))
          - mod.straight(*(a - h * d for a, d in zip(args, v)))) / (2 * h)
    ad = sum(float(np.sum(g * d)) for g, d in zip(grads, v))
    err = max(abs(value - ref) / max(abs(ref), 1e-300), abs(ad - fd) / max(abs(fd), 1e-300))
    _report({"seconds": seconds, "err": err, "runtime_compiled": _runtime_cache_files() - before,
             **_compile_stats(f)})


def probe_overhead():
    """Microseconds per call: f.grad, f.value_and_grad and the vjp kernel they call, best of several
    timeit rounds (the cache folder is warm: the parent ran the iir1 probes in it)."""
    adc = _setup_child()
    import kernels
    k = kernels.KERNELS[0]
    b, a, x, t = k.args(OVERHEAD_N)
    f = adc.differentiate(wrt=k.wrt)(k.fn)
    f.grad(b, a, x, t)
    kernel = f._last.kernel("vjp")  # what value_and_grad runs: the user's arguments, then the seed 1.0
    value, grads = kernel(b, a, x, t, 1.0)
    ref_value, ref = f.value_and_grad(b, a, x, t)
    err = max(abs(value - ref_value) / abs(ref_value), max(abs(g - r) / abs(r) for g, r in zip(grads, ref)))
    names = {"b": b, "a": a, "x": x, "t": t, "f": f, "kernel": kernel}
    stmts = {"grad": "f.grad(b, a, x, t)", "value_and_grad": "f.value_and_grad(b, a, x, t)",
             "kernel": "kernel(b, a, x, t, 1.0)"}
    number = OVERHEAD_NUMBER
    best = dict.fromkeys(stmts, math.inf)
    for _ in range(7):  # interleaved rounds: load from other processes hits all three alike
        for name, stmt in stmts.items():
            seconds = timeit.timeit(stmt, globals=names, number=number)
            best[name] = min(best[name], 1e6 * seconds / number)
    _report({"us": best, "err": err})


PROBES = {"gain3d": probe_gain3d, "example": probe_example, "iir1": probe_iir1, "hand": probe_hand,
          "straight": probe_straight, "overhead": probe_overhead}


# --- the generated straight-line programs -----------------------------------------------------------

STRAIGHT_PARAMS = ("a", "b", "c", "d", "x")
STRAIGHT_LEN = 32

# Every statement maps values in [-1, 1] into [-1, 1] (the arguments are drawn there), so no program
# overflows however long it is. {s} / {t}: scalars, {u} / {w}: arrays; {n}: the array length.
SCALAR_OPS = ("0.5 * ({s} + {t})", "{s} * {t}", "{s} / (1.0 + {t} * {t})", "0.5 * ({s} - {t})",
              "np.sin({s})", "np.tanh({s} + {t})", "np.exp(-{s} * {s})", "np.cos({s} * {t})",
              "{s} * np.exp(-{t} * {t})", "np.tanh(2.0 * {s}) * {t}")
ARRAY_FROM_SCALAR = ("{w} * {s}", "np.tanh({w} * {s} + 0.5 * {w})", "np.sin({w}) * {s}")
ARRAY_OPS = ("0.5 * ({u} + {w})", "{u} * {w}", "np.sin({u})", "np.tanh({u} - {w})", "{u} * np.exp(-{w} * {w})")
REDUCTIONS = ("np.sum({u}) / {n}", "np.dot({u}, {w}) / {n}", "np.sum({u} * {w}) / {n}")


def straight_source(n, seed=0):
    """A deterministic straight-line float64 function of n assignments: the first n statements of one
    fixed sequence (so a shorter program is a prefix of a longer one). Each statement reads the oldest
    value no statement has read yet (and a random earlier one), so none is dead code; the function
    returns the sum of the values left unread (arrays through np.sum) and the last three scalars."""
    rng = random.Random(seed)
    scalars = ["a", "b", "c", "d"]
    arrays = ["x"]
    unread = []   # (name, is_array), oldest first
    lines = [f"def straight({', '.join(STRAIGHT_PARAMS)}):"]

    def other(pool, avoid):
        fresh = [v for v, arr in unread if arr == (pool is arrays) and v != avoid]
        if fresh and rng.random() < 0.3:
            return fresh[0]
        return rng.choice([v for v in pool if v != avoid] or pool)

    for i in range(n):
        first, first_is_array = unread[0] if unread else (rng.choice(scalars), False)
        name = f"v{i}"
        if first_is_array:
            if rng.random() < 0.6:
                expr = rng.choice(REDUCTIONS).format(u=first, w=other(arrays, first), n="x.shape[0]")
                is_array = False
            else:
                expr = rng.choice(ARRAY_OPS).format(u=first, w=other(arrays, first))
                is_array = True
        elif rng.random() < 0.1:
            expr = rng.choice(ARRAY_FROM_SCALAR).format(s=first, w=other(arrays, None))
            is_array = True
        else:
            expr = rng.choice(SCALAR_OPS).format(s=first, t=other(scalars, first))
            is_array = False
        lines.append(f"    {name} = {expr}")
        read = set(re.findall(r"\bv\d+\b", expr))
        unread[:] = [u for u in unread if u[0] not in read]
        unread.append((name, is_array))
        (arrays if is_array else scalars).append(name)
    returned = unread + [(v, False) for v in scalars[-3:] if v not in {u for u, _ in unread}]
    terms = [f"np.sum({v})" if arr else v for v, arr in returned]
    lines.append(f"    return {' + '.join(terms)}")
    return "import numpy as np\n\n\n" + "\n".join(lines) + "\n"


def straight_args():
    rng = np.random.default_rng(0)
    return (*(float(v) for v in rng.uniform(-1.0, 1.0, 4)), rng.uniform(-1.0, 1.0, STRAIGHT_LEN))


# --- the parent: run the probes and print the tables ---------------------------------------------------

def run_probe(kind, *args, cache, numba_cache=None):
    """One probe in a fresh interpreter with ADC_CACHE_DIR=cache; returns its result, or {"error": ...}."""
    env = dict(os.environ, ADC_CACHE_DIR=str(cache))
    env.pop("NUMBA_CACHE_DIR", None)
    if numba_cache is not None:
        env["NUMBA_CACHE_DIR"] = str(numba_cache)
    try:
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--probe", kind, *map(str, args)],
                              env=env, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"error": f"no result within {PROBE_TIMEOUT_S} s"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT):
            return json.loads(line[len(RESULT):])
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return {"error": f"exit status {proc.returncode}: {tail}"}


def cold_and_warm(kind, *args, warm=True):
    """The probe with an empty cache folder, then (warm=True) again reusing it; the folder is removed."""
    with tempfile.TemporaryDirectory(prefix="adc-compile-bench-") as cache:
        cold = run_probe(kind, *args, cache=cache)
        return cold, (run_probe(kind, *args, cache=cache) if warm else None)


def verdict(value, target):
    return "ok" if value <= target else "MISS"


def seconds_cell(result):
    if result is None:
        return "-"
    if "error" in result:
        return "error"
    extra = "*" if result.get("runtime_compiled") else ""
    return f"{result['seconds']:.2f}{extra}"


def format_stats(stats):
    """compile_stats()'s seconds by stage, as `stage 0.12 s, ...`; anything else as it came."""
    if not isinstance(stats, dict):
        return str(stats)
    return ", ".join(f"{k} {v:.3g} s" if isinstance(v, (int, float)) else f"{k} {v}" for k, v in stats.items())


def numba_cell(result):
    """numba's share of a cold compile, summed over the kernels, from compile_stats() when adc has it."""
    stats = result.get("stats")
    if not isinstance(stats, dict):
        return "-"
    return f"{sum(v for k, v in stats.items() if k.startswith('numba ')):.2f}"


def print_rows(cols, rows):
    print("  " + "  ".join(f"{name:>{w}}" if i else f"{name:<{w}}" for i, (name, w) in enumerate(cols)))
    print("  " + "  ".join("-" * w for _, w in cols))
    for cells in rows:
        print("  " + "  ".join(f"{c:>{w}}" if i else f"{c:<{w}}" for i, (c, (_, w)) in enumerate(zip(cells, cols))))


class Section:
    def __init__(self):
        self.ok = True
        self.errors = []
        self.runtime_compiled = False

    def check(self, label, result, rtol=CHECK_RTOL):
        """Record a probe that failed or whose result was wrong; returns the check cell."""
        if result is None:
            return "-"
        if "error" in result:
            self.ok = False
            self.errors.append(f"  {label}: {result['error']}")
            return "FAIL"
        self.runtime_compiled = self.runtime_compiled or bool(result.get("runtime_compiled"))
        if "err" not in result:
            return "-"
        good = result["err"] <= rtol
        if not good:
            self.ok = False
            self.errors.append(f"  {label}: relative error {result['err']:.1e} above {rtol:g}")
        return f"{result['err']:.0e} {'ok' if good else 'FAIL'}"

    def footer(self):
        print("\n".join(self.errors + [""]))
        self.errors = []

    def gain3d(self):
        print(f"1. gain3d loss on (4, 16, 50) float64: decorate + first value_and_grad (wrt G); "
              f"targets cold <= {TARGET_GAIN3D_COLD_S:g} s, warm <= {TARGET_GAIN3D_WARM_S:g} s:")
        cold, warm = cold_and_warm("gain3d")
        rows = []
        for label, result, target in (("cold", cold, TARGET_GAIN3D_COLD_S), ("warm", warm, TARGET_GAIN3D_WARM_S)):
            ok = "n/a" if "error" in result else verdict(result["seconds"], target)
            rows.append((label, seconds_cell(result), f"{target:g}", ok, self.check(f"gain3d {label}", result)))
        print_rows([("run", 5), ("seconds", 8), ("target s", 8), ("", 4), ("check", 10)], rows)
        for label, result in (("cold", cold), ("warm", warm)):
            if "stats" in result:
                print(f"  compile_stats(), {label}: {format_stats(result['stats'])}")
        self.footer()

    def examples(self):
        print(f"2. examples/: decorate (import the script) + first derivative + first primal call, cold "
              f"(empty cache folder); target <= {TARGET_EXAMPLE_COLD_S:g} s each:")
        rows = []
        for name in EXAMPLE_CASES:
            result, _ = cold_and_warm("example", name, warm=False)
            if "error" in result:
                rows.append((name, "-", "-", "-", "-", "error", "n/a", self.check(name, result)))
                continue
            rows.append((name, f"{result['decorate']:.2f}", result["derivative"], f"{result['grad']:.2f}",
                         f"{result['primal']:.2f}", seconds_cell(result),
                         verdict(result["seconds"], TARGET_EXAMPLE_COLD_S), self.check(name, result)))
        print_rows([("example", 19), ("decorate", 8), ("derivative", 14), ("deriv s", 7), ("primal s", 8),
                    ("total s", 7), ("<= 5", 4), ("check", 10)], rows)
        print("  check: value_and_grad's value against the primal's; the jacobian's b0 column against "
              "central differences")
        self.footer()

    def iir1(self):
        print(f"3. iir1 (N = {IIR_N}): adc's first value_and_grad, cold and warm, against numba compiling "
              f"the hand adjoint cold (its own interpreter, empty NUMBA_CACHE_DIR); target adc cold / hand "
              f"<= {TARGET_IIR_HAND:g}:")
        cold, warm = cold_and_warm("iir1")
        with tempfile.TemporaryDirectory(prefix="adc-compile-bench-") as cache, \
                tempfile.TemporaryDirectory(prefix="adc-compile-bench-numba-") as numba_cache:
            hand = run_probe("hand", cache=cache, numba_cache=numba_cache)
        ratio = "n/a"
        if "error" not in cold and "error" not in hand:
            r = cold["seconds"] / hand["seconds"]
            ratio = f"{r:.2f}x {verdict(r, TARGET_IIR_HAND)}"
        rows = [("adc cold", seconds_cell(cold), ratio, self.check("iir1 cold", cold)),
                ("adc warm", seconds_cell(warm), "n/a" if "error" in warm or "error" in hand
                 else f"{warm['seconds'] / hand['seconds']:.2f}x", self.check("iir1 warm", warm)),
                ("numba hand adjoint", seconds_cell(hand), "1.00x", self.check("hand adjoint", hand))]
        print_rows([("first call", 18), ("seconds", 8), ("/ hand", 11), ("check", 10)], rows)
        self.footer()
        return cold

    def straight(self, large):
        sizes = STRAIGHT_SIZES + ((STRAIGHT_LARGE,) if large else ())
        print(f"4. generated straight-line programs of n statements (4 scalar and one {STRAIGHT_LEN}-sample "
              f"array argument, all wrt): decorate + first value_and_grad; targets {STRAIGHT_LARGE} "
              f"statements cold <= {TARGET_LARGE_COLD_S:g} s, growth exponent <= {TARGET_GROWTH:g}:")
        results = {}
        with tempfile.TemporaryDirectory(prefix="adc-compile-bench-src-") as src:
            for n in sizes:
                path = Path(src) / f"adc_bench_straight_{n}.py"  # a real file: adc reads source with inspect
                path.write_text(straight_source(n))
                results[n] = cold_and_warm("straight", path)
        rows = []
        for n, (cold, warm) in results.items():
            target = f"{TARGET_LARGE_COLD_S:g}" if n == STRAIGHT_LARGE else "-"
            ok = verdict(cold["seconds"], TARGET_LARGE_COLD_S) if n == STRAIGHT_LARGE and "error" not in cold else ""
            per = "-" if "error" in cold else f"{1e3 * cold['seconds'] / n:.1f}"
            rows.append((str(n), seconds_cell(cold), per, numba_cell(cold), seconds_cell(warm), target, ok,
                         self.check(f"straight n={n} cold", cold), self.check(f"straight n={n} warm", warm)))
        print_rows([("n", 5), ("cold s", 7), ("ms/stmt", 7), ("numba s", 7), ("warm s", 7), ("target s", 8),
                    ("", 4), ("check cold", 10), ("check warm", 10)], rows)

        def exponent(n1, n2, target=None):
            c1, c2 = results[n1][0], results[n2][0]
            if "error" in c1 or "error" in c2:
                return
            e = math.log(c2["seconds"] / c1["seconds"]) / math.log(n2 / n1)
            tail = f"  target <= {target:g} {verdict(e, target)}" if target is not None else "  (reported)"
            print(f"  growth exponent log(t{n2} / t{n1}) / log({n2} / {n1}), cold: {e:.2f}{tail}")

        exponent(*STRAIGHT_SIZES)
        if large:
            exponent(STRAIGHT_SIZES[-1], STRAIGHT_LARGE, TARGET_GROWTH)
        else:
            print(f"  n = {STRAIGHT_LARGE} (its cold time and the targeted growth exponent from "
                  f"{STRAIGHT_SIZES[-1]}): run with --compile-large")
        self.footer()

    def overhead(self):
        print(f"5. per-call overhead on iir1 (N = {OVERHEAD_N}, warm cache): microseconds per call above the "
              f"compiled vjp kernel called directly (best of 7 rounds of {OVERHEAD_NUMBER}); target <= "
              f"{TARGET_OVERHEAD_US:g} us:")
        with tempfile.TemporaryDirectory(prefix="adc-compile-bench-") as cache:
            run_probe("iir1", cache=cache)  # fills the cache folder: the probe below times calls only
            result = run_probe("overhead", cache=cache)
        check = self.check("overhead", result, rtol=1e-12)
        if "error" in result:
            self.footer()
            return
        us = result["us"]
        rows = [("vjp kernel", f"{us['kernel']:.2f}", "-", "", check)]
        for name in ("grad", "value_and_grad"):
            above = us[name] - us["kernel"]
            rows.append((f"f.{name}", f"{us[name]:.2f}", f"{above:.2f}", verdict(above, TARGET_OVERHEAD_US), ""))
        print_rows([("call", 16), ("us/call", 8), ("above kernel", 12), ("", 4), ("check", 10)], rows)
        self.footer()


def section(large=False):
    """Run the five measurements and print their tables; returns False only if a probe failed or a
    check in one was wrong (misses of the targets are printed, not returned)."""
    t0 = time.perf_counter()
    print("Compile time and call overhead: each compile in a fresh interpreter, cold = empty ADC_CACHE_DIR, "
          "warm = a second interpreter reusing it; seconds exclude `import adc`.")
    s = Section()
    s.gain3d()
    s.examples()
    s.iir1()
    s.straight(large)
    s.overhead()
    if s.runtime_compiled:
        print("  * that interpreter also compiled some of adc's runtime helpers (first use on this install; "
              "cached next to adc.runtime afterwards)")
    print(f"Compile-time section: {time.perf_counter() - t0:.0f} s of wall time; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs.\n")
    return s.ok


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compile-large", action="store_true",
                        help=f"also the {STRAIGHT_LARGE}-statement generated program (cold and warm)")
    parser.add_argument("--probe", nargs="+", help=argparse.SUPPRESS)  # a child: KIND [ARG]
    opts = parser.parse_args(argv)
    if opts.probe:
        kind, *args = opts.probe
        PROBES[kind](*args)
        return 0
    return 0 if section(opts.compile_large) else 1

if __name__ == "__main__":
    sys.exit(main())
