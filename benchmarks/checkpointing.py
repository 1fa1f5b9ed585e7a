"""Checkpointed gradients of long recurrences: peak memory above the primal's, and time, in fresh processes.

    python benchmarks/checkpointing.py            # the issue's sizes: Kalman N = 10^7, IIR N = 10^8, table N = 10^6
    python benchmarks/checkpointing.py --quick    # every N / 100

Each figure comes from its own subprocess, so that one measurement's memory does not hide another's: a
child compiles on a short signal, makes the long one, resets the peak-RSS count (Linux VmHWM through
/proc/self/clear_refs; `resource.getrusage` elsewhere), then runs the primal or the gradient once and
reports how far resident memory rose during the call above what it was just before (compiled code and
inputs are there before, and a child that compiled the gradient too holds more of numba's memory) and
its time; a gradient's child then times the primal too, so gradient/primal is measured in one process.
Memory is reported as the gradient call's rise above the primal call's. Targets: the 4-state Kalman NLL gradient with s = 64 within 200 MB above its primal
at N = 10^7, the IIR within 100 MB at N = 10^8. Checked first, on a short signal, in this process: the
checkpointed gradient equals the taped one to a relative 1e-12 (exit status 1 if not).
"""
import argparse
import importlib.util
import json
import math
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]  # the working-tree adc first

import adc  # noqa: E402

TARGETS_MB = {"kalman": 200.0, "iir": 100.0}


def iir_loss(b, a, x, target):
    y = 0.0
    loss = 0.0
    for n in adc.checkpoint(range(x.shape[0]), snapshots=SNAPSHOTS):
        y = b * x[n] + a * y
        loss += (y - target[n]) ** 2
    return loss


def kalman_nll(q, r, F, h, z):
    """A 4-state Kalman filter's negative log-likelihood, its mean and covariance updated in place."""
    n = F.shape[0]
    x = np.zeros(n)
    P = np.eye(n)
    nll = 0.0
    for k in adc.checkpoint(range(z.shape[0]), snapshots=SNAPSHOTS):
        x[:] = F @ x
        P[:, :] = F @ P @ F.T + q * np.eye(n)
        ph = P @ h
        s = np.dot(h, ph) + r
        innov = z[k] - np.dot(h, x)
        x[:] = x + ph * (innov / s)
        P[:, :] = P - np.outer(ph, ph) / s
        nll += 0.5 * (math.log(s) + innov * innov / s)
    return nll


SNAPSHOTS = 64  # rewritten in a child's copy of the source for other s (adc reads the function's source)
KERNELS = {"iir": (iir_loss, ("b", "a")), "kalman": (kalman_nll, ("q", "r", "F", "h"))}


def arguments(kernel: str, steps: int):
    rng = np.random.default_rng(0)
    if kernel == "iir":
        return 0.3, 0.9, rng.standard_normal(steps), rng.standard_normal(steps)
    F = np.array([[1.0, 1.0, 0.0, 0.0], [0.0, 0.98, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.97]])
    return 1e-3, 0.5, F, np.array([1.0, 0.0, 0.3, 0.0]), rng.standard_normal(steps)


def compiled(kernel: str, snapshots):
    """The kernel differentiated with `snapshots` stored states, or taped (snapshots None)."""
    fn, wrt = KERNELS[kernel]
    text = Path(__file__).read_text()
    if snapshots is None:
        text = text.replace(", snapshots=SNAPSHOTS)", ")").replace("adc.checkpoint(range(", "(range(")
    else:
        text = text.replace("SNAPSHOTS = 64  #", f"SNAPSHOTS = {snapshots}  #")
    name = f"ckbench_{kernel}_{snapshots}"
    path = Path("/tmp") / f"{name}.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return adc.differentiate(getattr(module, fn.__name__), wrt=wrt)


def reset_peak() -> None:
    """Start the peak-RSS count afresh (Linux: writing 5 to clear_refs resets VmHWM), so that compiling and
    making the inputs, done before, do not set the peak."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_mb() -> float:
    """Peak resident memory since reset_peak (VmHWM), or getrusage's since the process started."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(kernel: str, mode: str, steps: int, snapshots) -> dict:
    f = compiled(kernel, snapshots)
    small = arguments(kernel, 100)
    f(*small)
    if mode == "grad":
        f.grad(*small)
    args = arguments(kernel, steps)
    reset_peak()
    before = peak_mb()
    start = time.perf_counter()
    f.grad(*args) if mode == "grad" else f(*args)
    seconds = time.perf_counter() - start
    out = {"peak_mb": peak_mb(), "call_mb": peak_mb() - before, "seconds": seconds}
    if mode == "grad":
        if snapshots is not None:
            out["stats"] = f.last_stats()
        start = time.perf_counter()
        f(*args)
        out["primal_seconds"] = time.perf_counter() - start
    return out


def measure(kernel: str, mode: str, steps: int, snapshots) -> dict:
    command = [sys.executable, __file__, "--child", kernel, mode, str(steps), str(snapshots)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def check() -> bool:
    ok = True
    for kernel in KERNELS:
        args = arguments(kernel, 300)
        taped, checkpointed = compiled(kernel, None), compiled(kernel, 5)
        (v1, g1), (v2, g2) = taped.value_and_grad(*args), checkpointed.value_and_grad(*args)
        same = np.isclose(v1, v2, rtol=1e-12) and all(np.allclose(a, b, rtol=1e-12, atol=0) for a, b in zip(g1, g2))
        print(f"check {kernel}: checkpointed == taped: {'ok' if same else 'FAILED'}")
        ok &= bool(same)
    return ok


def report(kernel: str, steps: int, snapshots) -> None:
    primal = measure(kernel, "primal", steps, snapshots)
    grad = measure(kernel, "grad", steps, snapshots)
    above = grad["call_mb"] - primal["call_mb"]
    target = TARGETS_MB[kernel]
    stats = grad.get("stats", {})
    print(f"{kernel:7s} N={steps:>11,} s={snapshots!s:>4}  primal peak {primal['peak_mb']:8.0f} MB  "
          f"grad +{above:7.1f} MB (target <= {target:.0f}: {'ok' if above <= target else 'MISS'})  "
          f"grad/primal {grad['seconds'] / grad['primal_seconds']:5.2f}  "
          f"recomputed {stats.get('recomputed_steps', 0) / steps:4.2f} N")


def table(kernel: str, steps: int) -> None:
    print(f"\n{kernel}, N = {steps:,}: stored states s, gradient/primal time, peak memory above the primal's")
    primal = measure(kernel, "primal", steps, None)
    print(f"{'s':>6} {'grad/primal':>12} {'+MB':>8} {'recomputed/N':>13}")
    for snapshots in (None, 8, 16, 32, 64, 128):
        grad = measure(kernel, "grad", steps, snapshots)
        stats = grad.get("stats", {})
        print(f"{'taped' if snapshots is None else snapshots:>6} {grad['seconds'] / grad['primal_seconds']:12.2f} "
              f"{grad['call_mb'] - primal['call_mb']:8.1f} {stats.get('recomputed_steps', 0) / steps:13.2f}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", nargs=4)
    options = parser.parse_args()
    if options.child:
        kernel, mode, steps, snapshots = options.child
        print(json.dumps(child(kernel, mode, int(steps), None if snapshots == "None" else int(snapshots))))
        return 0
    if not check():
        return 1
    scale = 100 if options.quick else 1
    report("kalman", 10 ** 7 // scale, 64)
    report("iir", 10 ** 8 // scale, 64)
    table("iir", 10 ** 6 // scale)
    table("kalman", 10 ** 6 // scale)
    return 0


if __name__ == "__main__":
    sys.exit(main())
