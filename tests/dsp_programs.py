"""Real DSP programs, written the way their users write them: plain loops over arrays."""
import math

import numpy as np


def iir_loss(b, a, x, target):
    y_prev = 0.0
    loss = 0.0
    for n in range(x.shape[0]):
        y = b * x[n] - a * y_prev
        loss += (y - target[n]) ** 2
        y_prev = y
    return loss


def biquad_loss(b0, b1, b2, a1, a2, x, target):
    """Direct form I: two input and two output states."""
    x1 = 0.0
    x2 = 0.0
    y1 = 0.0
    y2 = 0.0
    loss = 0.0
    for n in range(len(x)):
        y = b0 * x[n] + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
        x2 = x1
        x1 = x[n]
        y2 = y1
        y1 = y
        loss += (y - target[n]) ** 2
    return loss


def fir_loss(h, x, target):
    K = h.shape[0]
    loss = 0.0
    for n in range(K - 1, x.shape[0]):
        y = 0.0
        for k in range(K):
            y += h[k] * x[n - k]
        loss += (y - target[n]) ** 2
    return loss


def lms_loss(mu, x, d, K):
    """LMS adaptive filter: the weights adapt in place; the loss is the a-priori error energy."""
    w = np.zeros(K)
    loss = 0.0
    for n in range(K - 1, x.shape[0]):
        yhat = 0.0
        for k in range(K):
            yhat += w[k] * x[n - k]
        e = d[n] - yhat
        loss += e * e
        for k in range(K):
            w[k] += mu * e * x[n - k]
    return loss


def kalman_nll(phi, q, r, z):
    """Scalar Kalman filter for x' = phi x + w (var q), z = x + v (var r)."""
    m = 0.0
    P = 1.0
    nll = 0.0
    for n in range(z.shape[0]):
        m = phi * m
        P = phi * phi * P + q
        v = z[n] - m
        S = P + r
        nll += 0.5 * (np.log(2.0 * math.pi * S) + v * v / S)
        K = P / S
        m = m + K * v
        P = (1.0 - K) * P
    return nll


def newton_sqrt(c):
    """sqrt(c) by Newton's iteration, stopping on the residual."""
    x = c
    it = 0
    while abs(x * x - c) > 1e-13 * c and it < 100:
        x = 0.5 * (x + c / x)
        it += 1
    return x


def deblur_loss(img, psf, obs):
    """|| psf (*) img - obs ||^2 with a 'valid' 2-D convolution written as loops."""
    H = img.shape[0] - psf.shape[0] + 1
    W = img.shape[1] - psf.shape[1] + 1
    loss = 0.0
    for i in range(H):
        for j in range(W):
            acc = 0.0
            for p in range(psf.shape[0]):
                for q in range(psf.shape[1]):
                    acc += psf[p, q] * img[i + psf.shape[0] - 1 - p, j + psf.shape[1] - 1 - q]
            r = acc - obs[i, j]
            loss += r * r
    return loss


def resample_loss(scale, shift, x, target):
    """Linear-interpolation resampling at positions scale*k + shift (a time warp)."""
    loss = 0.0
    N = x.shape[0]
    for k in range(target.shape[0]):
        pos = scale * k + shift
        i = int(math.floor(pos))
        if i < 0:
            i = 0
        if i > N - 2:
            i = N - 2
        frac = pos - i
        y = (1.0 - frac) * x[i] + frac * x[i + 1]
        loss += (y - target[k]) ** 2
    return loss
