"""MRI reconstruction from undersampled k-space with a smooth total-variation prior.

An MR scanner measures the 2-d Fourier transform of the image (k-space), one phase-encoding line
at a time; measuring fewer lines is faster. Here a phantom is measured on a fraction of the lines
(all the low-frequency ones, a random subset of the others) with noise:

    y = mask * fft2(img, norm="ortho") + noise

Zero-filling the missing lines and transforming back leaves aliasing streaks. We minimise

    L(img) = 1/2 ||mask * (fft2(img) - y)||^2 + lam * sum sqrt(dx^2 + dy^2 + eps^2)

(the data misfit plus a smooth isotropic total variation: dx, dy the differences of neighbouring
pixels) by Nesterov-accelerated gradient descent with adc's gradient, through np.fft.fft2.

    python examples/mri_reconstruction.py         # small: 64 x 64; writes examples/out/mri_reconstruction.png
    python examples/mri_reconstruction.py --full  # 128 x 128
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
LOSS_FACTOR = 50.0  # the loss must fall at least this much from img = 0, and end above the zero-filled PSNR


@adc.differentiate(wrt="img")
def mri_loss(img, mask, y, lam, eps):
    """k-space misfit on the measured lines plus a smooth total variation."""
    r = mask * (np.fft.fft2(img, norm="ortho") - y)
    misfit = 0.5 * np.sum(r.real * r.real + r.imag * r.imag)
    dx = img[1:, :-1] - img[:-1, :-1]
    dy = img[:-1, 1:] - img[:-1, :-1]
    return misfit + lam * np.sum(np.sqrt(dx * dx + dy * dy + eps * eps))


def phantom(n):
    """A Shepp-Logan-like head phantom: (intensity, centre x, centre y, semi-axes, angle) ellipses, summed."""
    ellipses = [(1.0, 0.0, 0.0, 0.69, 0.92, 0), (-0.8, 0.0, -0.0184, 0.6624, 0.874, 0),
                (-0.2, 0.22, 0.0, 0.11, 0.31, -18), (-0.2, -0.22, 0.0, 0.16, 0.41, 18),
                (0.1, 0.0, 0.35, 0.21, 0.25, 0), (0.1, 0.0, 0.1, 0.046, 0.046, 0),
                (0.1, -0.08, -0.605, 0.046, 0.023, 0), (0.1, 0.06, -0.605, 0.023, 0.046, 0)]
    c = (np.arange(n) - n / 2 + 0.5) / (n / 2)
    X, Y = np.meshgrid(c, -c)
    img = np.zeros((n, n))
    for value, x0, y0, a, b, angle in ellipses:
        t = np.radians(angle)
        u = (X - x0) * np.cos(t) + (Y - y0) * np.sin(t)
        v = -(X - x0) * np.sin(t) + (Y - y0) * np.cos(t)
        img[(u / a) ** 2 + (v / b) ** 2 <= 1] += value
    return img


def line_mask(n, fraction, centre, rng):
    """Phase-encoding lines (rows of k-space) kept: the `centre` lowest frequencies and random others."""
    freq = np.abs(np.fft.fftfreq(n) * n)
    keep = freq < centre / 2
    others = np.flatnonzero(~keep)
    keep[rng.choice(others, int(fraction * n) - keep.sum(), replace=False)] = True
    return np.repeat(keep[:, None], n, axis=1).astype(float)


def psnr(a, ref):
    return 10 * np.log10(ref.max() ** 2 / np.mean((a - ref) ** 2))


def main(small=True, out_dir=None):
    t0 = time.perf_counter()
    out_dir = OUT if out_dir is None else out_dir
    n = 64 if small else 128
    iters = 150 if small else 300
    rng = np.random.default_rng(8)
    truth = phantom(n)
    mask = line_mask(n, 0.3, n // 8, rng)
    noise_std = 0.002
    y = mask * (np.fft.fft2(truth, norm="ortho") + noise_std * (rng.standard_normal((n, n))
                                                                + 1j * rng.standard_normal((n, n))))
    lam, eps = 0.001, 0.01
    print(f"MRI reconstruction: {n} x {n} phantom, {int(mask[:, 0].sum())} of {n} k-space lines measured "
          f"({mask.mean():.0%}), noise std {noise_std}, smooth TV lam = {lam}, eps = {eps}")

    # gradient check: adc vs central differences along a random image direction
    img_c, d = rng.random((n, n)), rng.standard_normal((n, n))
    g = mri_loss.grad(img_c, mask, y, lam, eps)
    h = 1e-5
    fd = (mri_loss(img_c + h * d, mask, y, lam, eps) - mri_loss(img_c - h * d, mask, y, lam, eps)) / (2 * h)
    ad = float(np.sum(g * d))
    rel = abs(ad - fd) / abs(fd)
    print(f"gradient check: <grad, d> = {ad:.8f}, central diff = {fd:.8f}, relative error = {rel:.1e} "
          f"({'OK' if rel < 1e-6 else 'MISMATCH'})")
    if not rel < 1e-6:
        raise AssertionError(f"adc's gradient disagrees with central differences: {ad} vs {fd} (relative {rel:.1e})")

    # Nesterov from img = 0; step 1/L with L = 1 + 8 lam / eps
    zero_filled = np.fft.ifft2(y, norm="ortho").real
    step = 1.0 / (1.0 + 8.0 * lam / eps)
    x, x_prev = np.zeros((n, n)), np.zeros((n, n))
    loss0 = mri_loss(x, mask, y, lam, eps)
    losses, psnrs = [loss0], [psnr(x, truth)]
    for k in range(iters):
        v = x + (k - 1) / (k + 2) * (x - x_prev) if k > 0 else x
        _, g = mri_loss.value_and_grad(v, mask, y, lam, eps)
        x_prev = x
        x = v - step * g
        losses.append(mri_loss(x, mask, y, lam, eps))
        psnrs.append(psnr(x, truth))
        if (k + 1) % 50 == 0:
            print(f"  iteration {k + 1:4d}: loss {losses[-1]:.5f}, PSNR {psnrs[-1]:.2f} dB")
    factor = loss0 / losses[-1]
    psnr_zf = psnr(zero_filled, truth)
    print(f"PSNR: zero-filled {psnr_zf:.2f} dB, TV reconstruction {psnrs[-1]:.2f} dB")
    print(f"loss fell by a factor of {factor:.0f} from img = 0 (required: {LOSS_FACTOR:g})")
    if not (factor >= LOSS_FACTOR and psnrs[-1] > psnr_zf + 5):
        raise AssertionError(f"the reconstruction did not converge: loss {loss0:.4g} -> {losses[-1]:.4g}, "
                             f"PSNR {psnrs[-1]:.2f} dB (zero-filled {psnr_zf:.2f} dB)")

    # --- plots ---------------------------------------------------------------
    os.makedirs(out_dir, exist_ok=True)
    fig, axs = plt.subplots(2, 3, figsize=(13, 8.8))
    kw = dict(cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    axs[0, 0].imshow(truth, **kw)
    axs[0, 0].set_title("phantom (ground truth)")
    axs[0, 1].imshow(zero_filled, **kw)
    axs[0, 1].set_title(f"zero-filled inverse FFT\nPSNR {psnr_zf:.1f} dB")
    axs[0, 2].imshow(x, **kw)
    axs[0, 2].set_title(f"smooth-TV reconstruction ({iters} steps)\nPSNR {psnrs[-1]:.1f} dB")
    kspace = np.log10(np.abs(np.fft.fftshift(np.fft.fft2(truth, norm="ortho"))) + 1e-4)
    axs[1, 0].imshow(np.where(np.fft.fftshift(mask) > 0, kspace, np.nan), cmap="viridis", interpolation="nearest")
    axs[1, 0].set_title(f"measured k-space lines ({mask.mean():.0%}), log10 |Y|")
    err_max = np.abs(zero_filled - truth).max()
    axs[1, 1].imshow(np.abs(zero_filled - truth), cmap="magma", vmin=0, vmax=err_max, interpolation="nearest")
    axs[1, 1].set_title("|error|, zero-filled")
    axs[1, 2].imshow(np.abs(x - truth), cmap="magma", vmin=0, vmax=err_max, interpolation="nearest")
    axs[1, 2].set_title("|error|, TV reconstruction (same scale)")
    for a in axs.ravel():
        a.set_xticks([])
        a.set_yticks([])
    fig.suptitle(f"adc: MRI reconstruction from {mask.mean():.0%} of k-space by gradient descent through np.fft.fft2 "
                 f"(loss {loss0:.3g} -> {losses[-1]:.3g})")
    fig.tight_layout()
    path = os.path.join(out_dir, "mri_reconstruction.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.semilogy(losses, "k", label="loss")
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3, which="both")
    ax2 = ax.twinx()
    ax2.plot(psnrs, "C3")
    ax2.axhline(psnr_zf, color="C3", ls=":", lw=1)
    ax2.text(len(psnrs) - 1, psnr_zf, "zero-filled ", color="C3", fontsize=8, ha="right", va="bottom")
    ax2.set_ylabel("PSNR vs truth (dB)", color="C3")
    ax.set_title("MRI reconstruction: loss (black) and PSNR (red)")
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, "mri_reconstruction_convergence.png"), dpi=110)
    plt.close(fig)
    print(f"\nsaved {os.path.relpath(path)} and mri_reconstruction_convergence.png  ({time.perf_counter() - t0:.1f} s)")
    return dict(psnr=float(psnrs[-1]), loss_factor=float(factor), gradient_error=float(rel))


if __name__ == "__main__":
    main(small="--full" not in sys.argv[1:])
