"""adc.dsp.convolve2d: value_and_grad of a 2-d convolution loss by the direct path (element loops,
a multiply-add per kernel tap and pixel) and by the FFT path (rfft2 / irfft2), the measurement
behind adc.dsp.CONVOLVE2D_FFT_TAPS, each gradient checked first against central differences.

    python benchmarks/convolve2d.py [--quick] [--repeat 5] [--size 256]

Columns: "direct" and "fft" time dsp.convolve2d with CONVOLVE2D_FFT_TAPS set so that it takes that
path (the real function, with its runtime branch); "fft alone" the FFT path called without the
branch, and "slices" a direct path written with whole-slice `out[...] += k[i, j] * image[...]`,
the two for comparison. Not registered in run.py; `section(repeat, quick)` returns whether every
check passed.
"""
import argparse
import sys
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]  # the working-tree adc first

from timing import best_of  # noqa: E402

from adc import dsp  # noqa: E402

IMAGE = 256
KERNELS = (3, 5, 7, 15, 31)
ALWAYS_DIRECT = 10 ** 9  # CONVOLVE2D_FFT_TAPS values that force one path
ALWAYS_FFT = 0


def loss(image, kernel):
    """sum(y * y) for y = convolve2d(image, kernel, "same")."""
    y = dsp.convolve2d(image, kernel, "same")
    return np.sum(y * y)


def fft_alone_loss(image, kernel):
    """The same by the FFT path, with no branch around it."""
    r0, c0 = (kernel.shape[0] - 1) // 2, (kernel.shape[1] - 1) // 2
    y = dsp._convolve2d_fft(image, kernel, r0, image.shape[0], c0, image.shape[1])
    return np.sum(y * y)


def slices_direct(image, kernel, r0, nr, c0, nc):
    """The direct path with one whole-slice multiply-add per tap (the form dsp does not use)."""
    h, w = image.shape[0], image.shape[1]
    out = np.zeros((nr, nc))
    for i in range(kernel.shape[0]):
        a0, a1 = max(0, r0 - i), min(h, r0 + nr - i)
        if a0 < a1:
            for j in range(kernel.shape[1]):
                b0, b1 = max(0, c0 - j), min(w, c0 + nc - j)
                if b0 < b1:
                    out[a0 + i - r0:a1 + i - r0, b0 + j - c0:b1 + j - c0] += kernel[i, j] * image[a0:a1, b0:b1]
    return out


def slices_loss(image, kernel):
    r0, c0 = (kernel.shape[0] - 1) // 2, (kernel.shape[1] - 1) // 2
    y = slices_direct(image, kernel, r0, image.shape[0], c0, image.shape[1])
    return np.sum(y * y)


def grad_error(f, image, kernel, rng):
    """|grad . v - central difference along v| / |central difference|, v random in image and kernel; the
    differences of the compiled primal (the plain function's element loops are slow in Python)."""
    gi, gk = f.grad(image, kernel)
    vi, vk = rng.standard_normal(image.shape), rng.standard_normal(kernel.shape)
    step = 1e-4
    fd = (f(image + step * vi, kernel + step * vk) - f(image - step * vi, kernel - step * vk)) / (2 * step)
    return abs(np.sum(gi * vi) + np.sum(gk * vk) - fd) / abs(fd)


def timed(f, image, kernels, repeat, rng, primal=False):
    """{taps: (seconds, gradient check error)} of f.value_and_grad (or of f itself) for each kernel."""
    out = {}
    for kernel in kernels:
        err = grad_error(f, image, kernel, rng)
        call = (lambda k=kernel: f(image, k)) if primal else (lambda k=kernel: f.value_and_grad(image, k))
        out[kernel.shape[0]] = (best_of({"t": call}, repeat)["t"], err)
    return out


def section(repeat, quick, size=IMAGE):
    """value_and_grad times of both paths for each kernel on a size x size image (a quarter of that
    with --quick), mode "same", numba backend, and the path convolve2d takes at its threshold."""
    import adc
    n = size // 4 if quick else size
    rng = np.random.default_rng(3)
    image = rng.standard_normal((n, n))
    kernels = [rng.standard_normal((k, k)) / k for k in KERNELS]
    threshold = dsp.CONVOLVE2D_FFT_TAPS
    f = adc.differentiate(loss, wrt=("image", "kernel"))
    cols = {}
    try:
        for name, taps in (("direct", ALWAYS_DIRECT), ("fft", ALWAYS_FFT)):
            dsp.CONVOLVE2D_FFT_TAPS = taps  # a folded module constant: adc compiles again for it
            cols[name] = timed(f, image, kernels, repeat, rng)
            cols[name + " primal"] = timed(f, image, kernels, repeat, rng, primal=True)
    finally:
        dsp.CONVOLVE2D_FFT_TAPS = threshold
    cols["fft alone"] = timed(adc.differentiate(fft_alone_loss, wrt=("image", "kernel")), image, kernels, repeat, rng)
    cols["slices"] = timed(adc.differentiate(slices_loss, wrt=("image", "kernel")), image, kernels[:3], repeat, rng)
    print(f"adc.dsp.convolve2d(image, kernel, 'same'), loss sum(y*y), {n}x{n} float64 image, numba backend, "
          f"value_and_grad in ms, best of {repeat} (convolve2d takes the FFT above {threshold} taps):")
    print("  kernel     taps   direct      fft   direct/fft   (primal: direct      fft)   fft alone   slices   check")
    ok = True
    for k in KERNELS:
        errs = [col[k][1] for col in cols.values() if k in col]
        check_ok = all(e <= 1e-5 for e in errs)
        ok = ok and check_ok
        d, ff = cols["direct"][k][0], cols["fft"][k][0]
        slices = f"{1e3 * cols['slices'][k][0]:8.2f}" if k in cols["slices"] else "       -"
        pick = "<- fft" if k * k > threshold else "<- direct"
        print(f"  {k:>2} x {k:<2}  {k * k:>5} {1e3 * d:8.2f} {1e3 * ff:8.2f} {d / ff:10.2f}     "
              f"{1e3 * cols['direct primal'][k][0]:14.2f} {1e3 * cols['fft primal'][k][0]:8.2f}  "
              f"{1e3 * cols['fft alone'][k][0]:9.2f} {slices}   {max(errs):.0e} {'ok' if check_ok else 'FAIL'} {pick}")
    print()
    return ok


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a quarter of the side (smoke test)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per measurement, best one reported")
    parser.add_argument("--size", type=int, default=IMAGE, help="the image's side (256)")
    opts = parser.parse_args()
    sys.exit(0 if section(opts.repeat, opts.quick, opts.size) else 1)
