"""Tomography: reconstruct an image from a few noisy parallel-beam projections through a
differentiable Radon transform built by bilinear interpolation.

A parallel-beam scanner measures, for each angle theta and detector offset s, the line integral of
the image along the ray {s (cos theta, sin theta) + t (-sin theta, cos theta)}. We discretise it by
sampling the image along each ray every pixel with bilinear interpolation (adc.dsp.interp2d_linear,
zero outside the image) and summing:

    (A img)[theta, s] = sum_t interp2d_linear(img, r(theta, s, t), c(theta, s, t))

A is linear in the image; adc's reverse mode of it is the exact adjoint A^T (backprojection),
scattering each ray's residual back onto the four pixels around every sample point. From few angles
the problem is badly underdetermined, so we minimise

    L(img) = 1/2 ||A img - y||^2 + lam * sum sqrt(dx^2 + dy^2 + eps^2)

(the sinogram misfit plus a smooth isotropic total variation) by Nesterov-accelerated gradient
descent with step 1 / (||A||^2 + 8 lam / eps), ||A||^2 by power iteration on adc's gradient. The
baselines are the plain (unfiltered) backprojection A^T y, scaled, and the unregularised least-squares
solution reached by the same number of gradient steps with lam = 0.

    python examples/tomography.py         # small: 32 x 32, 10 angles; writes examples/out/tomography.png
    python examples/tomography.py --full  # 64 x 64, 16 angles
"""
import os
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import adc
from adc import dsp

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")
LOSS_FACTOR = 100.0  # the loss must fall at least this much from img = 0, and beat least squares' PSNR by 1.5 dB


def project(img, r, c, n_rays, n_samples):
    """The sinogram: the image sampled bilinearly at every ray's points (r, c), summed along each ray."""
    samples = dsp.interp2d_linear(img, r, c, "zero")
    return np.sum(samples.reshape(n_rays, n_samples), axis=1)


@adc.differentiate(wrt="img")
def ct_loss(img, r, c, n_rays, n_samples, y, lam, eps):
    """Sinogram misfit plus a smooth total variation."""
    res = project(img, r, c, n_rays, n_samples) - y
    dx = img[1:, :-1] - img[:-1, :-1]
    dy = img[:-1, 1:] - img[:-1, :-1]
    return 0.5 * np.sum(res * res) + lam * np.sum(np.sqrt(dx * dx + dy * dy + eps * eps))


def ray_points(n, angles):
    """Row and column coordinates of the sample points of every ray (angle, detector offset), flattened.

    n detector bins one pixel apart and n samples one pixel apart along each ray, centred on the image;
    an irrational-looking offset keeps the points off the pixel grid."""
    centre = (n - 1) / 2.0
    s = np.arange(n) - centre + 0.013
    t = np.arange(n) - centre + 0.029
    th = angles[:, None, None]
    S, T = s[None, :, None], t[None, None, :]
    x = S * np.cos(th) - T * np.sin(th)
    yy = S * np.sin(th) + T * np.cos(th)
    r = (centre - yy).ravel()
    c = (centre + x).ravel()
    return r, c


def phantom(n):
    """A Shepp-Logan-like head phantom: (intensity, centre x, centre y, semi-axes, angle) ellipses, summed."""
    ellipses = [(1.0, 0.0, 0.0, 0.69, 0.92, 0), (-0.8, 0.0, -0.0184, 0.6624, 0.874, 0),
                (-0.2, 0.22, 0.0, 0.11, 0.31, -18), (-0.2, -0.22, 0.0, 0.16, 0.41, 18),
                (0.1, 0.0, 0.35, 0.21, 0.25, 0), (0.3, 0.0, 0.1, 0.08, 0.08, 0),
                (0.3, -0.08, -0.605, 0.07, 0.05, 0), (0.3, 0.1, -0.605, 0.05, 0.07, 0)]
    cc = (np.arange(n) - n / 2 + 0.5) / (n / 2)
    X, Y = np.meshgrid(cc, -cc)
    img = np.zeros((n, n))
    for value, x0, y0, a, b, angle in ellipses:
        t = np.radians(angle)
        u = (X - x0) * np.cos(t) + (Y - y0) * np.sin(t)
        v = -(X - x0) * np.sin(t) + (Y - y0) * np.cos(t)
        img[(u / a) ** 2 + (v / b) ** 2 <= 1] += value
    return img


def psnr(a, ref):
    return 10 * np.log10(ref.max() ** 2 / np.mean((a - ref) ** 2))


def nesterov(args, lam, step, iters, n, truth):
    """Nesterov-accelerated gradient descent on ct_loss from img = 0: the image, losses and PSNRs."""
    x, x_prev = np.zeros((n, n)), np.zeros((n, n))
    losses, psnrs = [ct_loss(x, *args, lam, 0.01)], [psnr(x, truth)]
    for k in range(iters):
        v = x + (k - 1) / (k + 2) * (x - x_prev) if k > 0 else x
        _, g = ct_loss.value_and_grad(v, *args, lam, 0.01)
        x_prev = x
        x = v - step * g
        losses.append(ct_loss(x, *args, lam, 0.01))
        psnrs.append(psnr(x, truth))
    return x, np.array(losses), np.array(psnrs)


def main(small=True, out_dir=None):
    t0 = time.perf_counter()
    out_dir = OUT if out_dir is None else out_dir
    n = 32 if small else 64
    n_angles = 10 if small else 16
    iters = 300 if small else 500
    rng = np.random.default_rng(5)
    truth = phantom(n)
    angles = np.arange(n_angles) * np.pi / n_angles
    r, c = ray_points(n, angles)
    n_rays, n_samples = n_angles * n, n
    clean = project(truth, r, c, n_rays, n_samples)   # plain numpy (adc.dsp called directly)
    noise_std = 0.01 * np.abs(clean).max()
    y = clean + noise_std * rng.standard_normal(clean.shape)
    lam, eps = 0.05, 0.01
    geometry = (r, c, n_rays, n_samples)
    print(f"tomography: {n} x {n} phantom, {n_angles} angles x {n} detector bins ({n_rays} rays, "
          f"{n_rays * n_samples} bilinear samples), noise std {noise_std:.3f}, smooth TV lam = {lam}, eps = {eps}")

    # gradient check: adc vs central differences along a random image direction
    img_c, d = rng.random((n, n)), rng.standard_normal((n, n))
    g = ct_loss.grad(img_c, *geometry, y, lam, eps)
    h = 1e-5
    fd = (ct_loss(img_c + h * d, *geometry, y, lam, eps) - ct_loss(img_c - h * d, *geometry, y, lam, eps)) / (2 * h)
    ad = float(np.sum(g * d))
    rel = abs(ad - fd) / abs(fd)
    print(f"gradient check: <grad, d> = {ad:.8f}, central diff = {fd:.8f}, relative error = {rel:.1e} "
          f"({'OK' if rel < 1e-6 else 'MISMATCH'})")
    if not rel < 1e-6:
        raise AssertionError(f"adc's gradient disagrees with central differences: {ad} vs {fd} (relative {rel:.1e})")

    # ||A||^2 by power iteration: the gradient of 1/2 ||A v||^2 (y = 0, lam = 0) is A^T A v
    zero = np.zeros(n_rays)
    v = rng.random((n, n))
    for _ in range(30):
        w = ct_loss.grad(v, *geometry, zero, 0.0, eps)
        norm_ata = np.linalg.norm(w) / np.linalg.norm(v)
        v = w / np.linalg.norm(w)
    step = 1.0 / (norm_ata + 8.0 * lam / eps)

    # baselines: backprojection A^T y (= minus the gradient at 0, lam = 0), scaled to fit y best; least squares
    bp = -ct_loss.grad(np.zeros((n, n)), *geometry, y, 0.0, eps)
    a_bp = project(bp, r, c, n_rays, n_samples)
    bp *= float(np.dot(a_bp, y) / np.dot(a_bp, a_bp))
    ls, ls_losses, ls_psnrs = nesterov((*geometry, y), 0.0, 1.0 / norm_ata, iters, n, truth)
    x, losses, psnrs = nesterov((*geometry, y), lam, step, iters, n, truth)
    factor = losses[0] / losses[-1]
    print(f"Nesterov, {iters} steps (||A||^2 = {norm_ata:.1f}): loss {losses[0]:.3f} -> {losses[-1]:.4f}, "
          f"a factor of {factor:.0f} (required: {LOSS_FACTOR:g})")
    print(f"PSNR: backprojection {psnr(bp, truth):.2f} dB, least squares {ls_psnrs[-1]:.2f} dB, "
          f"TV reconstruction {psnrs[-1]:.2f} dB")
    if not (factor >= LOSS_FACTOR and psnrs[-1] > ls_psnrs[-1] + 1.5):
        raise AssertionError(f"the reconstruction did not converge: loss {losses[0]:.4g} -> {losses[-1]:.4g}, "
                             f"PSNR {psnrs[-1]:.2f} dB (least squares {ls_psnrs[-1]:.2f} dB)")

    # --- plots ---------------------------------------------------------------
    os.makedirs(out_dir, exist_ok=True)
    fig, axs = plt.subplots(2, 3, figsize=(13, 8.8))
    kw = dict(cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    axs[0, 0].imshow(truth, **kw)
    axs[0, 0].set_title(f"phantom ({n} x {n})")
    axs[0, 1].imshow(y.reshape(n_angles, n).T, cmap="viridis", aspect="auto", interpolation="nearest",
                     extent=(-90 / n_angles, 180 - 90 / n_angles, n / 2, -n / 2))
    axs[0, 1].set_title(f"measured sinogram: {n_angles} angles, noise {noise_std:.2f}")
    axs[0, 1].set_xlabel("angle (degrees)")
    axs[0, 1].set_ylabel("detector offset (pixels)")
    axs[0, 2].imshow(x, **kw)
    axs[0, 2].set_title(f"smooth-TV reconstruction ({iters} steps)\nPSNR {psnrs[-1]:.1f} dB")
    axs[1, 0].imshow(bp, **kw)
    axs[1, 0].set_title(f"backprojection A^T y (scaled)\nPSNR {psnr(bp, truth):.1f} dB")
    axs[1, 1].imshow(ls, **kw)
    axs[1, 1].set_title(f"least squares, no prior ({iters} steps)\nPSNR {ls_psnrs[-1]:.1f} dB")
    for a in (axs[0, 0], axs[0, 2], axs[1, 0], axs[1, 1]):
        a.set_xticks([])
        a.set_yticks([])
    ax = axs[1, 2]
    ax.semilogy(losses / losses[0], "C3", label="TV loss / initial")
    ax.semilogy(ls_losses / ls_losses[0], "C0", label="least-squares loss / initial")
    ax.set_xlabel("iteration")
    ax.grid(alpha=0.3, which="both")
    ax2 = ax.twinx()
    ax2.plot(psnrs, "C3", ls="--", lw=1)
    ax2.plot(ls_psnrs, "C0", ls="--", lw=1)
    ax2.set_ylabel("PSNR vs truth (dB, dashed)")
    ax.legend(fontsize=8, loc="center right")
    ax.set_title("convergence")
    fig.suptitle(f"adc: tomography from {n_angles} projections by gradient descent through a Radon transform "
                 f"built by adc.dsp.interp2d_linear (loss {losses[0]:.3g} -> {losses[-1]:.3g})")
    fig.tight_layout()
    path = os.path.join(out_dir, "tomography.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"\nsaved {os.path.relpath(path)}  ({time.perf_counter() - t0:.1f} s)")
    return dict(psnr=float(psnrs[-1]), psnr_least_squares=float(ls_psnrs[-1]), loss_factor=float(factor),
                gradient_error=float(rel))


if __name__ == "__main__":
    main(small="--full" not in sys.argv[1:])
