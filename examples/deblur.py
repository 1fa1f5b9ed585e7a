"""2-D deconvolution: restore an image from a blurred, noisy observation.

    obs = psf * truth + noise                (2-D convolution, zero boundary)

We minimise

    L(img) = 1/2 ||psf * img - obs||^2 + lam/2 ||img||^2      (Tikhonov)

by Nesterov-accelerated gradient descent.  The convolution is written as four
nested loops with a bounds check, exactly as one would write it by hand; adc
differentiates the loss w.r.t. the whole image (a 2-D array), producing the
transposed convolution (correlation) in the adjoint automatically.

    python examples/deblur.py             # small: 40 iterations; writes examples/out/deblur.png
    python examples/deblur.py --full      # 100 iterations
"""
import os
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import adc  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")
LOSS_FACTOR = 3.0  # the restoration must lower the loss at least this much from the observation's


def convolve2d(img, psf, out):
    """'same'-size 2-D convolution with zero boundary, as plain loops (for data/plots)."""
    H = img.shape[0]
    W = img.shape[1]
    P = psf.shape[0]
    c = P // 2
    for i in range(H):
        for j in range(W):
            acc = 0.0
            for u in range(P):
                for v in range(P):
                    ii = i - u + c
                    jj = j - v + c
                    if ii >= 0 and ii < H and jj >= 0 and jj < W:
                        acc += psf[u, v] * img[ii, jj]
            out[i, j] = acc
    return out


@adc.differentiate(wrt="img")
def deblur_loss(img, psf, obs, lam):
    H = img.shape[0]
    W = img.shape[1]
    P = psf.shape[0]
    c = P // 2
    loss = 0.0
    for i in range(H):
        for j in range(W):
            acc = 0.0
            for u in range(P):
                for v in range(P):
                    ii = i - u + c
                    jj = j - v + c
                    if ii >= 0 and ii < H and jj >= 0 and jj < W:
                        acc += psf[u, v] * img[ii, jj]
            r = acc - obs[i, j]
            loss += 0.5 * r * r + 0.5 * lam * img[i, j] * img[i, j]
    return loss


def test_image(n=80):
    """A small synthetic scene: bar groups of decreasing period, a disk, a ramp, dots."""
    y, x = np.mgrid[0:n, 0:n] / n
    img = np.full((n, n), 0.1)
    # bar groups (periods 8, 6, 4 pixels) in the top half
    for period, x0 in [(8, 5), (6, 33), (4, 57)]:
        for b in range(3):
            c0 = x0 + b * period
            img[6:34, c0:c0 + period // 2] = 0.9
    # disk
    img[((x - 0.28) ** 2 + (y - 0.68) ** 2) < 0.16 ** 2] = 0.7
    # ramp
    img[int(0.5 * n):int(0.9 * n), int(0.55 * n):int(0.95 * n)] = \
        0.2 + 0.7 * x[int(0.5 * n):int(0.9 * n), int(0.55 * n):int(0.95 * n)] - 0.35
    # isolated dots
    for (i, j) in [(48, 50), (70, 70), (62, 8), (44, 10)]:
        img[i:i + 2, j:j + 2] = 1.0
    return np.clip(img, 0.0, 1.0)


def gaussian_psf(size=9, sigma=1.6):
    r = np.arange(size) - size // 2
    g = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * sigma ** 2))
    return g / g.sum()


def psnr(a, ref):
    return 10 * np.log10(1.0 / np.mean((a - ref) ** 2))


def main(small=True, out_dir=None):
    t0 = time.perf_counter()
    out_dir = OUT if out_dir is None else out_dir
    rng = np.random.default_rng(3)

    truth = test_image(80)
    psf = gaussian_psf(9, 1.6)
    noise_std = 0.01
    obs = convolve2d(truth, psf, np.zeros_like(truth)) + noise_std * rng.standard_normal(truth.shape)
    lam = 2e-3
    print(f"deconvolution of a {truth.shape[0]}x{truth.shape[1]} image, "
          f"{psf.shape[0]}x{psf.shape[1]} Gaussian PSF (sigma 1.6), noise std {noise_std}, "
          f"Tikhonov lam = {lam}")

    # gradient check: directional derivative along a random image direction
    img_c = rng.random(truth.shape)
    d = rng.standard_normal(truth.shape)
    g = deblur_loss.grad(img_c, psf, obs, lam)
    h = 1e-3  # the loss is quadratic: central differences are exact up to rounding
    fd = (deblur_loss(img_c + h * d, psf, obs, lam) - deblur_loss(img_c - h * d, psf, obs, lam)) / (2 * h)
    ad = float(np.sum(g * d))
    rel = abs(ad - fd) / abs(fd)
    print(f"gradient check (random direction d): <grad, d> = {ad:.8f}, "
          f"central diff = {fd:.8f}, relative error = {rel:.2e} ({'OK' if rel < 1e-6 else 'MISMATCH'})")
    if not rel < 1e-6:
        raise AssertionError(f"adc's gradient disagrees with central differences: {ad} vs {fd} (relative {rel:.1e})")

    # Nesterov-accelerated gradient descent, step 1/L with L = ||psf||_1^2 + lam
    L = np.abs(psf).sum() ** 2 + lam
    x = obs.copy()
    x_prev = x.copy()
    iters = 40 if small else 100
    loss_obs = deblur_loss(x, psf, obs, lam)
    losses, psnrs = [], []
    print(f"\nNesterov gradient descent, {iters} iterations, step 1/L = {1 / L:.4f}")
    print(f"  {'iter':>4}  {'loss':>12}  {'PSNR (dB)':>9}")
    for k in range(iters):
        yk = x + (k - 1) / (k + 2) * (x - x_prev) if k > 0 else x
        loss, g = deblur_loss.value_and_grad(yk, psf, obs, lam)
        x_prev = x
        x = yk - g / L
        losses.append(deblur_loss(x, psf, obs, lam))
        psnrs.append(psnr(x, truth))
        if k == 0 or (k + 1) % 25 == 0:
            print(f"  {k + 1:4d}  {losses[-1]:12.6f}  {psnrs[-1]:9.2f}")
    print(f"PSNR: blurred observation {psnr(obs, truth):.2f} dB -> restored {psnrs[-1]:.2f} dB")
    factor = loss_obs / losses[-1]
    print(f"loss fell by a factor of {factor:.1f} from the observation's (required: {LOSS_FACTOR:g})")
    if not (factor >= LOSS_FACTOR and psnrs[-1] > psnr(obs, truth)):
        raise AssertionError(f"deblurring did not converge: loss {loss_obs:.4g} -> {losses[-1]:.4g}")

    # --- plots ---------------------------------------------------------------
    os.makedirs(out_dir, exist_ok=True)
    fig, axs = plt.subplots(2, 3, figsize=(13, 8.8))
    kw = dict(cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    axs[0, 0].imshow(truth, **kw)
    axs[0, 0].set_title("ground truth")
    axs[0, 1].imshow(obs, **kw)
    axs[0, 1].set_title(f"observed: blurred + noise\nPSNR {psnr(obs, truth):.1f} dB")
    axs[0, 2].imshow(x, **kw)
    axs[0, 2].set_title(f"restored ({iters} gradient steps)\nPSNR {psnrs[-1]:.1f} dB")
    for a in axs[0]:
        a.set_xticks([])
        a.set_yticks([])

    im = axs[1, 0].imshow(psf, cmap="magma", interpolation="nearest")
    axs[1, 0].set_title("point-spread function")
    fig.colorbar(im, ax=axs[1, 0], fraction=0.046)
    axs[1, 0].set_xticks([])
    axs[1, 0].set_yticks([])

    it = np.arange(1, iters + 1)
    axs[1, 1].plot(it, losses, "k", label="loss")
    axs[1, 1].set_xlabel("iteration")
    axs[1, 1].set_ylabel("loss")
    axs[1, 1].grid(alpha=0.3, which="both")
    ax2 = axs[1, 1].twinx()
    ax2.plot(it, psnrs, "C3", label="PSNR")
    ax2.set_ylabel("PSNR vs truth (dB)", color="C3")
    axs[1, 1].set_title("loss (black) and PSNR (red)")

    row = 20
    axs[1, 2].plot(truth[row], "k", lw=2, label="truth")
    axs[1, 2].plot(obs[row], "C0", label="observed")
    axs[1, 2].plot(x[row], "C3", label="restored")
    axs[1, 2].set_title(f"profile through row {row} (bar groups)")
    axs[1, 2].set_xlabel("column")
    axs[1, 2].set_ylabel("intensity")
    axs[1, 2].set_ylim(-0.15, 1.4)
    axs[1, 2].legend(loc="upper center", ncol=3)
    axs[1, 2].grid(alpha=0.3)
    axs[0, 0].axhline(row, color="C1", lw=0.8, ls="--")

    fig.suptitle("adc: 2-D deconvolution by gradient descent through a hand-written convolution")
    fig.tight_layout()
    path = os.path.join(out_dir, "deblur.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"\nsaved {os.path.relpath(path)}  ({time.perf_counter() - t0:.1f} s)")
    return dict(psnr=float(psnrs[-1]), loss_factor=float(factor), gradient_error=float(rel))


if __name__ == "__main__":
    main(small="--full" not in sys.argv[1:])
