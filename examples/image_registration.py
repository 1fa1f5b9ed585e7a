"""Registration and time warping by gradients with respect to interpolation coordinates.

(a) Image registration. A moving image m was taken with the camera shifted, rotated and zoomed
relative to a fixed image f. We look for the similarity transform (shift ty, tx, rotation a, log
scale z) that maps each pixel (r, c) of f to the point of m it shows,

    (r', c') = centre + e^z R(a) ((r, c) - centre) + (ty, tx),

by minimising the squared difference between the resampled moving image and the fixed one,

    L(p) = 1/2 sum_pixels (interp2d_cubic(m, r'(p), c'(p)) - f)^2,

over pixels inside a central disc (the border sees outside the image). adc differentiates
adc.dsp.interp2d_cubic (separable Keys, C1) in its coordinates, and through them in p. The
parameters are scaled to pixels at the disc's edge (a and z times its radius) and fitted by
Adam, coarse-to-fine: first on blurred copies of the images (a wider basin), then on the originals.

(b) Time warping without dynamic programming. A signal x(t) is observed as y(t) = x(w(t)) + noise,
with a smooth monotone warp fixed at both ends,

    w(t) = t + sum_k b_k sin(pi k t / (N - 1)),   k = 1 .. K,

monotone while sum_k pi k |b_k| / (N - 1) < 1. We recover the K coefficients b by gradient
descent (Adam) on 1/2 ||interp_cubic(x, w(t)) - y||^2, adc differentiating adc.dsp.interp_cubic in
its coordinates w(t); again coarse-to-fine, smoothed signals first. The warp is pinned down only where
x has slope, so its error is largest where x is flat.

    python examples/image_registration.py         # small: 48 x 48 image, 400 samples; writes examples/out/image_registration.png
    python examples/image_registration.py --full  # 96 x 96 image, 1600 samples
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
LOSS_FACTOR = 100.0  # both losses must fall at least this much from the start, and recover the parameters
TRUE_AFFINE = np.array([2.6, -3.4, np.radians(7.0), np.log(1.06)])  # ty, tx (pixels at 48 x 48), rotation, log scale
TRUE_WARP = np.array([14.0, -6.0, 2.5])  # b_k in samples at N = 400


def warp_points(p, R, C, centre, radius):
    """The moving image's coordinates of the fixed pixels (R, C) under the scaled parameters p."""
    a = p[2] / radius
    s = np.exp(p[3] / radius)
    dr = R - centre
    dc = C - centre
    r = centre + s * (np.cos(a) * dr - np.sin(a) * dc) + p[0]
    c = centre + s * (np.sin(a) * dr + np.cos(a) * dc) + p[1]
    return r, c


@adc.differentiate(wrt="p")
def registration_loss(p, moving, fixed, R, C, centre, radius):
    """1/2 sum (moving resampled at the transformed pixels - fixed)^2 over the pixels R, C (1-d arrays)."""
    r, c = warp_points(p, R, C, centre, radius)
    res = dsp.interp2d_cubic(moving, r, c, "clamp") - fixed
    return 0.5 * np.sum(res * res)


@adc.differentiate(wrt="b")
def warp_loss(b, x, y, t, basis):
    """1/2 ||x(w(t)) - y||^2 for the warp w(t) = t + basis @ b (Keys cubic interpolation of x)."""
    w = t + basis @ b
    res = dsp.interp_cubic(x, w, "clamp") - y
    return 0.5 * np.sum(res * res)


def texture(n, rng, blobs=40):
    """A smooth random scene: Gaussian blobs of random sizes, signs and places."""
    R, C = np.mgrid[0:n, 0:n].astype(float)
    img = np.zeros((n, n))
    for _ in range(blobs):
        r0, c0 = rng.uniform(-0.1, 1.1, 2) * n
        w = rng.uniform(0.04, 0.12) * n
        img += rng.uniform(-1, 1) * np.exp(-((R - r0) ** 2 + (C - c0) ** 2) / (2 * w * w))
    return (img - img.min()) / (img.max() - img.min())


def blur(img, sigma):
    """Gaussian blur by FFT (circular; the scene is smooth at the scale of the wrap)."""
    n = img.shape[0]
    f = np.fft.fftfreq(n)
    g = np.exp(-2 * (np.pi * sigma) ** 2 * (f[:, None] ** 2 + f[None, :] ** 2))
    return np.fft.ifft2(np.fft.fft2(img) * g).real


def smooth(z, sigma):
    """Gaussian smoothing of a 1-d signal by FFT, mirrored to avoid wrap-around at the ends."""
    n = z.size
    f = np.fft.rfftfreq(2 * n)
    return np.fft.irfft(np.fft.rfft(np.concatenate((z, z[::-1]))) * np.exp(-2 * (np.pi * sigma * f) ** 2))[:n]


def adam(value_and_grad, p, steps, rate, args, decay=1.0):
    """Adam from p, the rate falling geometrically by `decay` over the steps: the parameters after each step
    and the losses."""
    m, v = np.zeros_like(p), np.zeros_like(p)
    losses, path = [], [p.copy()]
    for k in range(1, steps + 1):
        loss, g = value_and_grad(p, *args)
        losses.append(loss)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        p = p - rate * decay ** ((k - 1) / steps) * (m / (1 - 0.9 ** k)) / (np.sqrt(v / (1 - 0.999 ** k)) + 1e-12)
        path.append(p.copy())
    losses.append(value_and_grad(p, *args)[0])
    return p, np.array(losses), np.array(path)


def check_gradient(f, p, args, rng, what):
    """adc's directional derivative against float64 central differences; raises on a mismatch."""
    d = rng.standard_normal(p.shape)
    h = 1e-5
    fd = (f(p + h * d, *args) - f(p - h * d, *args)) / (2 * h)
    ad = float(np.dot(f.grad(p, *args), d))
    rel = abs(ad - fd) / abs(fd)
    print(f"gradient check ({what}): <grad, d> = {ad:.9f}, central diff = {fd:.9f}, relative error = {rel:.1e} "
          f"({'OK' if rel < 1e-6 else 'MISMATCH'})")
    if not rel < 1e-6:
        raise AssertionError(f"adc's gradient disagrees with central differences ({what}): {ad} vs {fd} "
                             f"(relative {rel:.1e})")
    return rel


def main(small=True, out_dir=None):
    t0 = time.perf_counter()
    out_dir = OUT if out_dir is None else out_dir
    rng = np.random.default_rng(3)

    # --- (a) registration ----------------------------------------------------
    n = 48 if small else 96
    scale = n / 48
    centre, radius = (n - 1) / 2, 0.42 * n
    scene = texture(2 * n, rng)[n // 2:n // 2 + n, n // 2:n // 2 + n]   # a crop: structure up to the edges
    scene = (scene - scene.min()) / (scene.max() - scene.min())
    truth = TRUE_AFFINE * np.array([scale, scale, radius, radius])     # in the scaled units
    # the moving image: the scene resampled so that moving(warp(r, c)) = scene(r, c), i.e. by the inverse map
    Rg, Cg = np.mgrid[0:n, 0:n].astype(float)
    a, s = TRUE_AFFINE[2], np.exp(TRUE_AFFINE[3])
    dr, dc = Rg - centre - truth[0], Cg - centre - truth[1]
    r_inv = centre + (np.cos(a) * dr + np.sin(a) * dc) / s
    c_inv = centre + (-np.sin(a) * dr + np.cos(a) * dc) / s
    moving = dsp.interp2d_cubic(scene, r_inv.ravel(), c_inv.ravel(), "clamp").reshape(n, n)
    moving = moving + 0.005 * rng.standard_normal((n, n))
    fixed = scene + 0.005 * rng.standard_normal((n, n))
    # the pixels of the fixed image that the moving one shows too: a disc, its image inside the moving frame
    inside = np.hypot(Rg - centre, Cg - centre) < (n / 2 - 2 - np.abs(truth[:2]).max()) / s
    R, C = Rg[inside], Cg[inside]
    print(f"(a) registration: {n} x {n} images, {R.size} pixels in the disc; true shift ({truth[0]:.2f}, "
          f"{truth[1]:.2f}) px, rotation {np.degrees(a):.1f} deg, scale {s:.3f}")
    rel_a = check_gradient(registration_loss, rng.standard_normal(4), (moving, fixed[inside], R, C, centre, radius),
                           rng, "registration")
    p = np.zeros(4)
    loss_a0 = registration_loss(p, moving, fixed[inside], R, C, centre, radius)
    steps = 150 if small else 200
    losses_a, paths = [], []
    for sigma, rate, decay in ((2.0 * scale, 0.3 * scale, 0.1), (0.0, 0.1 * scale, 0.01)):
        mv, fx = (blur(moving, sigma), blur(fixed, sigma)) if sigma > 0 else (moving, fixed)
        p, ls, path = adam(registration_loss.value_and_grad, p, steps, rate, (mv, fx[inside], R, C, centre, radius),
                           decay)
        losses_a.append(ls)
        paths.append(path)
    loss_a = registration_loss(p, moving, fixed[inside], R, C, centre, radius)
    factor_a = loss_a0 / loss_a
    err_shift = np.abs(p[:2] - truth[:2]).max()
    err_rot = np.degrees(abs(p[2] - truth[2]) / radius)
    err_scale = abs(np.exp(p[3] / radius) - s)
    print(f"    Adam, 2 x {steps} steps (blurred, then sharp): loss {loss_a0:.3f} -> {loss_a:.5f}, a factor of "
          f"{factor_a:.0f} (required: {LOSS_FACTOR:g}); errors: shift {err_shift:.3f} px, rotation "
          f"{err_rot:.3f} deg, scale {err_scale:.4f}")
    if not (factor_a >= LOSS_FACTOR and err_shift < 0.1 * scale and err_rot < 0.2 and err_scale < 0.005):
        raise AssertionError(f"registration did not converge: loss {loss_a0:.4g} -> {loss_a:.4g}, parameters "
                             f"{p} vs {truth}")

    # --- (b) time warping ----------------------------------------------------
    N = 400 if small else 1600
    t = np.arange(N, dtype=float)
    K = TRUE_WARP.size
    basis = np.sin(np.pi * np.outer(t, np.arange(1, K + 1)) / (N - 1))
    b_true = TRUE_WARP * N / 400
    assert np.sum(np.pi * np.arange(1, K + 1) * np.abs(b_true)) / (N - 1) < 1   # the warp is monotone
    u = t / N
    x = (np.sin(2 * np.pi * 9 * u + 4 * u * u) * np.exp(-((u - 0.3) / 0.25) ** 2)
         + 0.6 * np.sin(2 * np.pi * 5 * u) * np.exp(-((u - 0.75) / 0.15) ** 2))
    clean_y = dsp.interp_cubic(x, t + basis @ b_true, "clamp")
    y = clean_y + 0.02 * rng.standard_normal(N)
    print(f"(b) time warping: {N} samples, warp coefficients {b_true} (samples)")
    rel_b = check_gradient(warp_loss, rng.standard_normal(K), (x, y, t, basis), rng, "time warp")
    b = np.zeros(K)
    loss_b0 = warp_loss(b, x, y, t, basis)
    steps_b = 200 if small else 500
    losses_b, path_b = [], []
    for sigma, rate, decay in ((8.0 * N / 400, 0.3 * N / 400, 0.1), (0.0, 0.1 * N / 400, 0.01)):
        xs, ys = (smooth(x, sigma), smooth(y, sigma)) if sigma > 0 else (x, y)
        b, ls, path = adam(warp_loss.value_and_grad, b, steps_b, rate, (xs, ys, t, basis), decay)
        losses_b.append(ls)
        path_b.append(path)
    losses_b, path_b = np.concatenate(losses_b), np.concatenate(path_b)
    losses_b[-1] = warp_loss(b, x, y, t, basis)
    factor_b = loss_b0 / losses_b[-1]
    warp_err = np.abs(basis @ (b - b_true)).max()
    warp_rms = np.sqrt(np.mean((basis @ (b - b_true)) ** 2))
    print(f"    Adam, 2 x {steps_b} steps (smoothed, then sharp): loss {loss_b0:.3f} -> {losses_b[-1]:.5f}, a factor of {factor_b:.0f} "
          f"(required: {LOSS_FACTOR:g}); coefficients {np.round(b, 3)}; warp error RMS {warp_rms:.3f}, largest {warp_err:.3f} samples")
    if not (factor_b >= LOSS_FACTOR and warp_rms < 0.2 * N / 400):   # the signal is N / 400 times slower
        raise AssertionError(f"time warping did not converge: loss {loss_b0:.4g} -> {losses_b[-1]:.4g}, b = {b}")

    # --- plots ---------------------------------------------------------------
    os.makedirs(out_dir, exist_ok=True)
    registered = dsp.interp2d_cubic(moving, *[q.ravel() for q in warp_points(p, Rg, Cg, centre, radius)],
                                    "clamp").reshape(n, n)

    def overlay(ax, a_img, b_img, title):
        rgb = np.stack([np.clip(a_img, 0, 1), np.clip(b_img, 0, 1), np.clip(a_img, 0, 1)], axis=-1)
        ax.imshow(rgb, interpolation="nearest")
        ax.contour(inside, levels=[0.5], colors="w", linewidths=0.6)
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])

    fig, axs = plt.subplots(2, 3, figsize=(14, 8.8))
    overlay(axs[0, 0], fixed, moving, "before: fixed (magenta) over moving (green)")
    overlay(axs[0, 1], fixed, registered, "after: fixed over registered moving")
    ax = axs[0, 2]
    ls = np.concatenate(losses_a)
    ax.semilogy(ls, "C0", label="registration (blurred, then sharp)")
    ax.axvline(len(losses_a[0]) - 0.5, color="C0", ls=":", lw=1)
    ax.semilogy(losses_b, "C3", label="time warping")
    ax.set_xlabel("Adam step")
    ax.set_ylabel("loss")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    ax.set_title("loss curves")
    ax = axs[1, 0]
    path = np.concatenate(paths) / np.array([scale, scale, radius, radius])
    labels = ("shift r (px)", "shift c (px)", "rotation (rad)", "log scale")
    for j in range(4):
        ax.plot(path[:, j] / TRUE_AFFINE[j], f"C{j}", label=labels[j])
    ax.axhline(1.0, color="k", lw=0.8, ls="--")
    ax.set_ylim(-0.2, 1.5)
    ax.set_xlabel("Adam step")
    ax.set_ylabel("estimate / true value")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax.set_title("(a) recovered / true parameters")
    ax = axs[1, 1]
    ax.plot(t, y, "k", lw=0.8, alpha=0.6, label="observed y = x(w(t)) + noise")
    ax.plot(t, x, "C0", lw=1, label="x (unwarped)")
    ax.plot(t, dsp.interp_cubic(x, t + basis @ b, "clamp"), "C3--", lw=1, label="x(w_fit(t))")
    ax.set_xlabel("t (samples)")
    ax.legend(fontsize=8, loc="lower left")
    ax.set_title("(b) signals before and after warping", fontsize=10)
    ax = axs[1, 2]
    ax.plot(t, basis @ b_true, "k", lw=2, alpha=0.5, label="true w(t) - t")
    for j in (0, 10, 30, 100):
        ax.plot(t, basis @ path_b[j], lw=0.8, label=f"step {j}")
    ax.plot(t, basis @ b, "C3--", lw=1.2, label=f"fitted (error RMS {warp_rms:.3f}, max {warp_err:.3f})")
    ax.set_xlabel("t (samples)")
    ax.set_ylabel("w(t) - t (samples)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax.set_title("(b) recovered vs true warp", fontsize=10)
    fig.suptitle("adc: registration and time warping by gradients w.r.t. interpolation coordinates "
                 "(adc.dsp.interp2d_cubic, interp_cubic)")
    fig.tight_layout()
    path_png = os.path.join(out_dir, "image_registration.png")
    fig.savefig(path_png, dpi=110)
    plt.close(fig)
    print(f"\nsaved {os.path.relpath(path_png)}  ({time.perf_counter() - t0:.1f} s)")
    return dict(loss_factor_registration=float(factor_a), loss_factor_warp=float(factor_b),
                shift_error=float(err_shift), warp_error_rms=float(warp_rms),
                gradient_error=float(max(rel_a, rel_b)))


if __name__ == "__main__":
    main(small="--full" not in sys.argv[1:])
