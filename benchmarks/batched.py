"""Batched gradients on all cores: `f.batched(...).value_and_grad` over 4096 signals x 10^4 samples.

    python benchmarks/batched.py              # 4096 x 10^4 (the issue's size)
    python benchmarks/batched.py --quick      # 256 x 10^3
    python benchmarks/batched.py --cuda       # also target="cuda", on a machine with a GPU

For the one-pole IIR and the scalar Kalman filter (benchmarks/kernels.py; their parameters shared by the
batch, so the gradient is the sum over the signals, each signal its own element) it prints, from one run
with interleaved rounds: the batched gradient on one numba thread and on all of them (the prange speedup,
target >= 1.8x on 2 cores), gradient/primal of the batched kernels, the per-signal Python loop of
`value_and_grad` for reference, and with JAX installed `jit(value_and_grad)` of the sum of
`vmap` of the `lax.scan` version (benchmarks/jax_kernels.py) on the CPU. Checked first: the batched
gradient of the first 16 signals equals the sum of their unbatched gradients (relative 1e-12; exit status 1 if not).

With --cuda: the same gradients with target="cuda" (checked against the CPU target, relative 1e-12), the
kernel's own time (CUDA events) and the whole call's (with the transfers), the bandwidth the kernel
achieves (the bytes it must move: inputs read in both sweeps, the tapes written and read) as a fraction of
the device's peak (target >= 50%), and JAX's vmap on the same device where JAX sees a GPU.
"""
import argparse
import os
import sys
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]  # the working-tree adc first

import numba  # noqa: E402
from kernels import iir1, kalman  # noqa: E402
from timing import best_of  # noqa: E402

import adc  # noqa: E402

TARGET_SPEEDUP = 1.8


def iir_args(rng, batch, n):
    return (0.5, 0.8, rng.standard_normal((batch, n)), rng.standard_normal((batch, n)))


def kalman_args(rng, batch, n):
    return (0.9, 0.1, 0.5, np.cumsum(rng.standard_normal((batch, n)), axis=1))


CASES = {"iir1": (iir1, ("b", "a"), (None, None, 0, 0), iir_args),
         "kalman": (kalman, ("phi", "q", "r"), (None, None, None, 0), kalman_args)}


def check(f, fb, args, in_axes, count=16) -> float:
    """Largest relative difference of the batched gradient of `count` signals from their unbatched sum."""
    head = [a[:count] if axis is not None else a for a, axis in zip(args, in_axes)]
    got = fb.grad(*head)
    want = np.sum([f.grad(*[a[i] if axis is not None else a for a, axis in zip(head, in_axes)])
                   for i in range(count)], axis=0)
    return float(np.max(np.abs(np.subtract(got, want)) / np.abs(want)))


def jax_timer(name, args, in_axes, argnums):
    try:
        import jax
        import jax_kernels
    except ImportError:
        return None
    kernel = jax_kernels.KERNELS[name]
    total = jax.jit(jax.value_and_grad(lambda *a: jax.vmap(kernel, in_axes=in_axes)(*a).sum(), argnums=argnums))
    device = jax_kernels.device_args(args)
    return lambda: jax.block_until_ready(total(*device))


def on_threads(count: int, call, args):
    """`call(*args)` with numba running `count` threads."""
    def run():
        threads = numba.get_num_threads()
        numba.set_num_threads(count)
        try:
            call(*args)
        finally:
            numba.set_num_threads(threads)
    return run


def measure(name, batch, n, rng, repeat):
    """(check passed, best times, per-signal loop time scaled to the batch) for one kernel."""
    fn, wrt, in_axes, make = CASES[name]
    args = make(rng, batch, n)
    f = adc.differentiate(fn, wrt=wrt)
    fb = f.batched(in_axes=in_axes)
    error = check(f, fb, args, in_axes)
    print(f"{name}: batched gradient of 16 signals against their unbatched sum: {error:.1e} "
          f"({'ok' if error <= 1e-12 else 'FAIL'})")
    threads = numba.config.NUMBA_NUM_THREADS
    timers = {"grad 1 thread": on_threads(1, fb.value_and_grad, args),
              "grad all threads": on_threads(threads, fb.value_and_grad, args), "primal": on_threads(threads, fb, args)}
    vg = jax_timer(name, args, in_axes, tuple(range(len(wrt))))
    if vg is not None:
        timers["jax"] = vg
    best = best_of(timers, repeat)
    some = min(batch, 256)
    elements = [[a[i] if axis is not None else a for a, axis in zip(args, in_axes)] for i in range(some)]
    loop = best_of({"loop": lambda: [f.value_and_grad(*e) for e in elements]}, 1)["loop"] * batch / some
    return error <= 1e-12, best, loop


# words each element's gradient kernel must move per sample: x and target (or z) read in both sweeps, the
# tapes (one for the IIR's y, two for the Kalman's m and P) written then read
WORDS_PER_SAMPLE = {"iir1": 2 * 2 + 2, "kalman": 1 * 2 + 2 * 2}


def measure_cuda(name, batch, n, rng, repeat):
    from numba import cuda
    fn, wrt, in_axes, make = CASES[name]
    args = make(rng, batch, n)
    f = adc.differentiate(fn, wrt=wrt)
    cpu, gpu = f.batched(in_axes=in_axes), f.batched(in_axes=in_axes, target="cuda")
    want, got = cpu.value_and_grad(*args)[1], gpu.value_and_grad(*args)[1]
    error = float(np.max(np.abs(np.subtract(got, want)) / np.abs(want)))
    kernel = []

    def call():
        gpu.value_and_grad(*args)
        kernel.append(gpu.cuda_timing["kernel"])
    timers = {"cuda call": call}
    vg = jax_timer(name, args, in_axes, tuple(range(len(wrt))))
    if vg is not None:
        timers["jax"] = vg
    best = best_of(timers, repeat)
    seconds = min(kernel)
    device = cuda.get_current_device()
    try:
        peak = 2 * device.MEMORY_CLOCK_RATE * 1e3 * device.GLOBAL_MEMORY_BUS_WIDTH / 8
    except AttributeError:
        peak = None
    achieved = WORDS_PER_SAMPLE[name] * 8 * batch * n / seconds
    fraction = f"{achieved / peak:.0%} of {peak / 1e9:.0f} GB/s {'ok' if achieved >= 0.5 * peak else 'MISS'}" \
        if peak else "peak unknown"
    jax_ratio = f", JAX vmap / adc call {best['jax'] / best['cuda call']:.2f}x" if "jax" in best else ""
    print(f"{name} on {getattr(device, 'name', 'the simulator')}: against the CPU target {error:.1e} ({'ok' if error <= 1e-12 else 'FAIL'}); "
          f"kernel {seconds * 1e3:.1f} ms, call with transfers {best['cuda call'] * 1e3:.1f} ms; "
          f"{achieved / 1e9:.0f} GB/s, {fraction}{jax_ratio}")
    return error <= 1e-12


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cuda", action="store_true", help='also time target="cuda" (needs a GPU)')
    opts = parser.parse_args()
    batch, n = (256, 1_000) if opts.quick else (4096, 10_000)
    threads = numba.config.NUMBA_NUM_THREADS
    print(f"{batch} signals x {n} samples, float64; numba threads: {threads}, cores: {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    rng = np.random.default_rng(8)
    rows = {name: measure(name, batch, n, rng, opts.repeat) for name in CASES}
    print()
    print(f"| kernel | grad, 1 thread | grad, {threads} threads | speedup (target >= {TARGET_SPEEDUP}) | "
          "grad/primal | per-signal loop / batched | JAX vmap / adc |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, (_, best, loop) in rows.items():
        one, many = best["grad 1 thread"], best["grad all threads"]
        speedup = one / many
        jax_ratio = f"{best['jax'] / many:.2f}x" if "jax" in best else "no JAX"
        print(f"| {name} | {one * 1e3:.0f} ms | {many * 1e3:.0f} ms | {speedup:.2f}x "
              f"{'ok' if speedup >= TARGET_SPEEDUP else 'MISS'} | {many / best['primal']:.2f}x | "
              f"{loop / many:.2f}x | {jax_ratio} |")
    ok = all(ok for ok, _, _ in rows.values())
    if opts.cuda:
        print()
        ok = all([measure_cuda(name, batch, n, rng, opts.repeat) for name in CASES]) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
