"""The derivatives of np.interp (its slope in x, the transposes of its linear maps of fp) and of np.kaiser in beta."""
import math

import numba
import numpy as np


@numba.njit(cache=True)
def interp_slopes(x, xp, fp):
    """d np.interp(x, xp, fp) / dx: the slope of the segment x lies on (the right one at a knot), zero
    outside [xp[0], xp[-1]], where numpy holds the end values. Linear in fp."""
    segments = np.diff(fp) / np.diff(xp)
    slopes = np.zeros(segments.shape[0] + 2, segments.dtype)  # one more at each end: the flat outside
    slopes[1:-1] = segments
    return slopes[np.searchsorted(xp, x, side="right")]


@numba.njit(cache=True)
def interp_transpose(g, x, xp, m, slopes):
    """The transpose of fp -> np.interp(x, xp, fp) (each point's g shared between the knots around it by the
    hat weights, all of it to the end knot outside), or with `slopes` of fp -> interp_slopes(x, xp, fp): the
    gradient in fp (m entries) of sum(g * interp(x, xp, fp)), or of sum(g * interp_slopes(x, xp, fp))."""
    gs, xs = np.asarray(g).ravel(), np.asarray(x).ravel()
    out = np.zeros(m, gs.dtype)
    right = np.searchsorted(xp, xs, side="right")
    for q in range(xs.shape[0]):
        i = right[q]
        if i == 0 or i == m:
            if not slopes:
                out[0 if i == 0 else m - 1] += gs[q]
            continue
        h = xp[i] - xp[i - 1]
        if slopes:
            out[i - 1] -= gs[q] / h
            out[i] += gs[q] / h
        else:
            t = (xs[q] - xp[i - 1]) / h
            out[i - 1] += gs[q] * (1.0 - t)
            out[i] += gs[q] * t
    return out


@numba.njit(cache=True)
def _i0_derivatives(z, k):
    """I0 and its first k derivatives at z >= 0, from the series I0(z) = sum_n (z/2)^2n / n!^2 taken termwise."""
    out = np.zeros(k + 1)
    if z == 0.0:  # only the term of z^j is left: j! / (4^(j/2) (j/2)!^2) for even j
        for j in range(0, k + 1, 2):
            out[j] = math.gamma(j + 1.0) / (4.0 ** (j // 2) * math.gamma(j // 2 + 1.0) ** 2)
        return out
    term, n = 1.0, 0  # (z/2)^2n / n!^2
    while True:
        for j in range(min(k, 2 * n) + 1):
            falling = 1.0  # (2n)! / (2n - j)!: the j-th derivative of z^2n is falling z^2n / z^j
            for i in range(j):
                falling *= 2 * n - i
            out[j] += term * falling / z ** j
        n += 1
        term *= (0.5 * z) ** 2 / n ** 2
        if n > z + k + 30 and term * (2 * n) ** k <= 1e-17 * out[0]:
            return out


@numba.njit(cache=True)
def kaiser_derivative(M, beta, order):
    """The order-th derivative in beta of np.kaiser(M, beta) = I0(beta r) / I0(beta), r = sqrt(1 - (2n/(M-1) - 1)^2)
    (1 for M = 1): h = f / g differentiated through f = h g, h^(k) = (f^(k) - sum_i<k C(k, i) h^(i) g^(k-i)) / g."""
    out = np.zeros(max(M, 0))
    alpha = max(M - 1, 1) / 2.0
    b = abs(beta)  # I0 is even: the odd derivatives change sign with beta
    g = _i0_derivatives(b, order)
    for n in range(M):
        r = 1.0 if M == 1 else np.sqrt(max(0.0, 1.0 - ((n - alpha) / alpha) ** 2))
        f = _i0_derivatives(b * r, order)
        h = np.zeros(order + 1)
        for k in range(order + 1):
            s = r ** k * f[k]
            binomial = 1.0
            for i in range(k):
                s -= binomial * h[i] * g[k - i]
                binomial = binomial * (k - i) / (i + 1)
            h[k] = s / g[0]
        out[n] = h[order] if beta >= 0.0 or order % 2 == 0 else -h[order]
    return out
