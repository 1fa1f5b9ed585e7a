"""Super-resolution: recover a high-resolution image from a blurred, 2x downsampled, noisy one.

The camera model blurs the scene with its optics (a Gaussian point-spread function, applied as a
product in the 2-d Fourier domain: circular convolution with np.fft.rfft2 / irfft2), keeps every
second pixel in each direction, and adds noise:

    y = (psf * img)[::2, ::2] + noise

Upsampling y (nearest or bilinear) gives a blurry, blocky image. We minimise

    L(img) = 1/2 ||(psf * img)[::2, ::2] - y||^2 + lam * sum sqrt(dx^2 + dy^2 + eps^2)

(the data misfit plus a smooth total variation) with Nesterov-accelerated gradient descent; adc
differentiates through the FFTs and the strided slice (its adjoint puts the residual back on the
kept pixels, zeros between).

    python examples/super_resolution.py         # small: 64 x 64 from 32 x 32; writes examples/out/super_resolution.png
    python examples/super_resolution.py --full  # 128 x 128 from 64 x 64
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
LOSS_FACTOR = 20.0  # the loss must fall at least this much from img = 0, and beat bilinear upsampling's PSNR


@adc.differentiate(wrt="img")
def sr_loss(img, otf, y, lam, eps):
    blurred = np.fft.irfft2(np.fft.rfft2(img) * otf, s=img.shape)
    r = blurred[::2, ::2] - y
    dx = img[1:, :-1] - img[:-1, :-1]
    dy = img[:-1, 1:] - img[:-1, :-1]
    return 0.5 * np.sum(r * r) + lam * np.sum(np.sqrt(dx * dx + dy * dy + eps * eps))


def scene(n):
    """Bars of three widths, a ring, a square and a gradient: edges at several scales."""
    c = (np.arange(n) + 0.5) / n
    X, Y = np.meshgrid(c, c)
    img = 0.15 + 0.1 * X
    for k, (x0, w) in enumerate(((0.08, 0.06), (0.32, 0.04), (0.52, 0.03))):
        for b in range(3):
            left = x0 + 2 * b * w
            img[(X >= left) & (X < left + w) & (Y > 0.08) & (Y < 0.42)] = 0.9 - 0.1 * k
    r = np.hypot(X - 0.3, Y - 0.72)
    img[(r > 0.1) & (r < 0.17)] = 0.8
    img[(np.abs(X - 0.75) < 0.12) & (np.abs(Y - 0.72) < 0.12)] = 0.6
    return img


def gaussian_otf(n, sigma):
    """The optical transfer function (rfft2 of a centred Gaussian PSF, circularly wrapped)."""
    r = np.minimum(np.arange(n), n - np.arange(n))
    psf = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * sigma ** 2))
    return np.fft.rfft2(psf / psf.sum())


def bilinear_up(y, n):
    """Bilinear upsampling of y (pixel centres at even indices of the high-res grid), clamped at the border."""
    m = y.shape[0]
    coords = np.clip(np.arange(n) / 2.0, 0, m - 1)
    rows = np.stack([np.interp(coords, np.arange(m), row) for row in y])
    return np.stack([np.interp(coords, np.arange(m), col) for col in rows.T]).T


def psnr(a, ref):
    return 10 * np.log10(1.0 / np.mean((a - ref) ** 2))


def main(small=True, out_dir=None):
    t0 = time.perf_counter()
    out_dir = OUT if out_dir is None else out_dir
    n = 64 if small else 128
    iters = 300 if small else 500
    rng = np.random.default_rng(12)
    truth = scene(n)
    otf = gaussian_otf(n, 1.0 * n / 64)
    noise_std = 0.01
    y = np.fft.irfft2(np.fft.rfft2(truth) * otf, s=truth.shape)[::2, ::2] + noise_std * rng.standard_normal((n // 2,) * 2)
    lam, eps = 0.004, 0.01
    print(f"super-resolution: {n // 2} x {n // 2} observed -> {n} x {n}, Gaussian blur, noise std {noise_std}, "
          f"smooth TV lam = {lam}")

    # gradient check: adc vs central differences along a random direction
    img_c, d = rng.random((n, n)), rng.standard_normal((n, n))
    g = sr_loss.grad(img_c, otf, y, lam, eps)
    h = 1e-5
    fd = (sr_loss(img_c + h * d, otf, y, lam, eps) - sr_loss(img_c - h * d, otf, y, lam, eps)) / (2 * h)
    ad = float(np.sum(g * d))
    rel = abs(ad - fd) / abs(fd)
    print(f"gradient check: <grad, d> = {ad:.8f}, central diff = {fd:.8f}, relative error = {rel:.1e} "
          f"({'OK' if rel < 1e-6 else 'MISMATCH'})")
    if not rel < 1e-6:
        raise AssertionError(f"adc's gradient disagrees with central differences: {ad} vs {fd} (relative {rel:.1e})")

    # Nesterov from img = 0; the misfit's Lipschitz constant is at most 1 (|otf| <= 1, subsampling), TV's 8 lam / eps
    step = 1.0 / (1.0 + 8.0 * lam / eps)
    x, x_prev = np.zeros((n, n)), np.zeros((n, n))
    loss0 = sr_loss(x, otf, y, lam, eps)
    losses, psnrs = [loss0], [psnr(x, truth)]
    for k in range(iters):
        v = x + (k - 1) / (k + 2) * (x - x_prev) if k > 0 else x
        _, g = sr_loss.value_and_grad(v, otf, y, lam, eps)
        x_prev = x
        x = v - step * g
        losses.append(sr_loss(x, otf, y, lam, eps))
        psnrs.append(psnr(x, truth))
    nearest = np.repeat(np.repeat(y, 2, axis=0), 2, axis=1)
    bilinear = bilinear_up(y, n)
    factor = loss0 / losses[-1]
    print(f"Nesterov, {iters} steps: loss {loss0:.4f} -> {losses[-1]:.5f}, a factor of {factor:.0f} "
          f"(required: {LOSS_FACTOR:g})")
    print(f"PSNR: nearest {psnr(nearest, truth):.2f} dB, bilinear {psnr(bilinear, truth):.2f} dB, "
          f"TV super-resolution {psnrs[-1]:.2f} dB")
    if not (factor >= LOSS_FACTOR and psnrs[-1] > psnr(bilinear, truth) + 1):
        raise AssertionError(f"super-resolution did not converge: loss {loss0:.4g} -> {losses[-1]:.4g}, "
                             f"PSNR {psnrs[-1]:.2f} dB vs bilinear {psnr(bilinear, truth):.2f} dB")

    # --- plots ---------------------------------------------------------------
    os.makedirs(out_dir, exist_ok=True)
    fig, axs = plt.subplots(2, 3, figsize=(13, 8.8))
    kw = dict(cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    for ax, im, title in ((axs[0, 0], truth, f"truth ({n} x {n})"),
                          (axs[0, 1], y, f"observed: blurred, 2x downsampled ({n // 2} x {n // 2})"),
                          (axs[0, 2], x, f"TV super-resolution: PSNR {psnrs[-1]:.1f} dB"),
                          (axs[1, 0], nearest, f"nearest upsampling: PSNR {psnr(nearest, truth):.1f} dB"),
                          (axs[1, 1], bilinear, f"bilinear upsampling: PSNR {psnr(bilinear, truth):.1f} dB")):
        ax.imshow(im, **kw)
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    row = int(0.25 * n)
    axs[0, 0].axhline(row, color="C1", lw=0.8, ls="--")
    ax = axs[1, 2]
    ax.plot(truth[row], "k", lw=2, alpha=0.5, label="truth")
    ax.plot(bilinear[row], "C0", lw=1, label="bilinear")
    ax.plot(x[row], "C3", lw=1.2, label="TV super-resolution")
    ax.set_title(f"row {row} (bars; dashed line in the truth)", fontsize=10)
    ax.set_xlabel("column")
    ax.set_ylim(0, 1.1)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    fig.suptitle("adc: super-resolution by gradient descent through blur (np.fft.rfft2) and a strided slice "
                 f"({iters} Nesterov steps, loss {loss0:.3g} -> {losses[-1]:.3g})")
    fig.tight_layout()
    path = os.path.join(out_dir, "super_resolution.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"\nsaved {os.path.relpath(path)}  ({time.perf_counter() - t0:.1f} s)")
    return dict(psnr=float(psnrs[-1]), loss_factor=float(factor), gradient_error=float(rel))


if __name__ == "__main__":
    main(small="--full" not in sys.argv[1:])
