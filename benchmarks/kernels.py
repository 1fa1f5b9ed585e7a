"""Benchmark kernels: the plain-Python user functions handed to adc, and for
each one a plain numba primal and a hand-written numba adjoint.

The user functions are written the way a DSP user writes them (scalars, numpy
arrays, for/range loops, indexing, +=, ** and math functions) and are left
undecorated so that adc, numba and the reference Python all compile the very
same source.  Each hand adjoint returns ``(loss, grads)`` with ``grads`` in the
kernel's ``wrt`` order, exactly like ``value_and_grad``.
"""
import math
from dataclasses import dataclass
from typing import Callable

import numba
import numpy as np

# --- user functions (passed to adc.differentiate) ---------------------------

def iir1(b, a, x, target):
    y_prev = 0.0
    loss = 0.0
    for n in range(len(x)):
        y = b * x[n] - a * y_prev
        loss += (y - target[n]) ** 2
        y_prev = y
    return loss


def biquad(b0, b1, b2, a1, a2, x, target):
    x1 = 0.0
    x2 = 0.0
    y1 = 0.0
    y2 = 0.0
    loss = 0.0
    for n in range(len(x)):
        y = b0 * x[n] + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
        loss += (y - target[n]) ** 2
        x2 = x1
        x1 = x[n]
        y2 = y1
        y1 = y
    return loss


def fir(h, x, t):
    K = len(h)
    loss = 0.0
    for n in range(K - 1, len(x)):
        y = 0.0
        for k in range(K):
            y += h[k] * x[n - k]
        loss += (y - t[n]) ** 2
    return loss


def lms(mu, x, d):
    K = 16
    w = np.zeros(K)
    loss = 0.0
    for n in range(K - 1, len(x)):
        y = 0.0
        for k in range(K):
            y += w[k] * x[n - k]
        e = d[n] - y
        loss += e ** 2
        for k in range(K):
            w[k] += mu * e * x[n - k]
    return loss


def kalman(phi, q, r, z):
    m = 0.0
    P = 1.0
    nll = 0.0
    for n in range(len(z)):
        m = phi * m
        P = phi * phi * P + q
        v = z[n] - m
        S = P + r
        nll += math.log(S) + v * v / S
        K = P / S
        m = m + K * v
        P = (1.0 - K) * P
    return nll


# --- hand-written adjoints ---------------------------------------------------
# Each is a forward sweep that keeps the smallest tape the reverse sweep needs,
# followed by one reverse sweep; this is the baseline adc has to match.

@numba.njit
def iir1_adjoint(b, a, x, target):
    """Tape: y.  ybar_n = 2 (y_n - t_n) - a ybar_{n+1}; the a-term pairs
    ybar_{n+1} with y_n, so the reverse sweep needs no boundary case."""
    N = len(x)
    y = np.empty(N)
    y_prev = 0.0
    loss = 0.0
    for n in range(N):
        y_prev = b * x[n] - a * y_prev
        loss += (y_prev - target[n]) ** 2
        y[n] = y_prev
    gb = 0.0
    ga = 0.0
    ybar1 = 0.0
    for n in range(N - 1, -1, -1):
        ga -= ybar1 * y[n]
        ybar = 2.0 * (y[n] - target[n]) - a * ybar1
        gb += ybar * x[n]
        ybar1 = ybar
    return loss, (gb, ga)


@numba.njit
def biquad_adjoint(b0, b1, b2, a1, a2, x, target):
    """Tape: y.  Delayed terms are paired as ybar_{n+j} * x_n, ybar_{n+j} * y_n
    (j = 1, 2), so the states never have to be rebuilt at the boundary."""
    N = len(x)
    y = np.empty(N)
    x1 = 0.0
    x2 = 0.0
    y1 = 0.0
    y2 = 0.0
    loss = 0.0
    for n in range(N):
        yn = b0 * x[n] + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
        loss += (yn - target[n]) ** 2
        y[n] = yn
        x2 = x1
        x1 = x[n]
        y2 = y1
        y1 = yn
    gb0 = gb1 = gb2 = ga1 = ga2 = 0.0
    ybar1 = 0.0
    ybar2 = 0.0
    for n in range(N - 1, -1, -1):
        xn = x[n]
        yn = y[n]
        ybar = 2.0 * (yn - target[n]) - a1 * ybar1 - a2 * ybar2
        gb0 += ybar * xn
        gb1 += ybar1 * xn
        gb2 += ybar2 * xn
        ga1 -= ybar1 * yn
        ga2 -= ybar2 * yn
        ybar2 = ybar1
        ybar1 = ybar
    return loss, (gb0, gb1, gb2, ga1, ga2)


@numba.njit
def fir_adjoint(h, x, t):
    """Tape: dL/dy per output sample; the reverse sweep scatters it into both
    the tap and the signal gradients."""
    K = len(h)
    N = len(x)
    ybar = np.empty(N)
    loss = 0.0
    for n in range(K - 1, N):
        y = 0.0
        for k in range(K):
            y += h[k] * x[n - k]
        loss += (y - t[n]) ** 2
        ybar[n] = 2.0 * (y - t[n])
    gh = np.zeros(K)
    gx = np.zeros(N)
    for n in range(N - 1, K - 2, -1):
        yb = ybar[n]
        for k in range(K):
            gh[k] += yb * x[n - k]
            gx[n - k] += yb * h[k]
    return loss, (gh, gx)


@numba.njit
def lms_adjoint(mu, x, d):
    """Tape: the a-priori errors e.  The weights enter every partial only
    multiplied by the inactive signal x, so the reverse sweep never needs
    their values and does not rebuild them (w[k] -= mu*e*x[n-k] would be
    dead work when only mu is active)."""
    K = 16
    N = len(x)
    w = np.zeros(K)
    e = np.empty(N)
    loss = 0.0
    for n in range(K - 1, N):
        y = 0.0
        for k in range(K):
            y += w[k] * x[n - k]
        en = d[n] - y
        loss += en ** 2
        e[n] = en
        for k in range(K):
            w[k] += mu * en * x[n - k]
    wbar = np.zeros(K)
    gmu = 0.0
    for n in range(N - 1, K - 2, -1):
        s = 0.0
        for k in range(K):
            s += wbar[k] * x[n - k]
        gmu += e[n] * s
        ebar = 2.0 * e[n] + mu * s
        for k in range(K):
            wbar[k] -= ebar * x[n - k]
    return loss, (gmu,)


@numba.njit
def kalman_adjoint(phi, q, r, z):
    """Tape: filtered (m, P) entering each step; the reverse sweep recomputes
    the step's intermediates (m_pred, P_pred, v, S, K) from them."""
    N = len(z)
    m_tape = np.empty(N)
    P_tape = np.empty(N)
    m = 0.0
    P = 1.0
    nll = 0.0
    for n in range(N):
        m_tape[n] = m
        P_tape[n] = P
        m = phi * m
        P = phi * phi * P + q
        v = z[n] - m
        S = P + r
        nll += math.log(S) + v * v / S
        K = P / S
        m = m + K * v
        P = (1.0 - K) * P
    gphi = gq = gr = 0.0
    mbar = 0.0
    Pbar = 0.0
    for n in range(N - 1, -1, -1):
        m0 = m_tape[n]
        P0 = P_tape[n]
        mp = phi * m0
        Pp = phi * phi * P0 + q
        v = z[n] - mp
        S = Pp + r
        K = Pp / S
        Kbar = mbar * v - Pbar * Pp
        vbar = mbar * K + 2.0 * v / S
        Ppbar = Pbar * (1.0 - K) + Kbar / S
        Sbar = 1.0 / S - (v / S) ** 2 - Kbar * K / S
        Ppbar += Sbar
        gr += Sbar
        mpbar = mbar - vbar
        gq += Ppbar
        gphi += 2.0 * phi * P0 * Ppbar + m0 * mpbar
        Pbar = phi * phi * Ppbar
        mbar = phi * mpbar
    return nll, (gphi, gq, gr)


# --- problem set-up ----------------------------------------------------------

def _smooth(noise, pole, taps=256):
    """AR(1)-like signal: noise through a truncated one-pole response."""
    return np.convolve(noise, pole ** np.arange(taps))[: len(noise)]


def _iir1_args(n, rng):
    x = rng.standard_normal(n)
    target = 0.3 * _smooth(x, 0.9) + 0.1 * rng.standard_normal(n)
    return 0.5, -0.8, x, target


def _biquad_args(n, rng):
    x = rng.standard_normal(n)
    target = 0.2 * _smooth(x, 0.7) + 0.1 * rng.standard_normal(n)
    return 0.2, 0.3, 0.1, -0.5, 0.2, x, target


def _fir_args(n, rng):
    x = rng.standard_normal(n)
    t = np.convolve(x, rng.standard_normal(64) / 8.0)[:n] + 0.1 * rng.standard_normal(n)
    return rng.standard_normal(64) / 8.0, x, t


def _lms_args(n, rng):
    x = rng.standard_normal(n)
    d = np.convolve(x, rng.standard_normal(16) / 4.0)[:n] + 0.1 * rng.standard_normal(n)
    return 0.01, x, d


def _kalman_args(n, rng):
    state = np.sqrt(0.1) * _smooth(rng.standard_normal(n), 0.95)
    return 0.9, 0.2, 0.4, state + np.sqrt(0.5) * rng.standard_normal(n)


@dataclass(frozen=True)
class Kernel:
    """One benchmark problem: the user function, its plain numba primal and
    hand adjoint, the active arguments and the full problem size."""
    name: str
    fn: Callable
    primal: Callable
    adjoint: Callable
    wrt: tuple
    n: int
    make_args: Callable

    def args(self, n, seed=0):
        return self.make_args(n, np.random.default_rng(seed))


KERNELS = (
    Kernel("iir1", iir1, numba.njit(iir1), iir1_adjoint,
           ("b", "a"), 10**6, _iir1_args),
    Kernel("biquad", biquad, numba.njit(biquad), biquad_adjoint,
           ("b0", "b1", "b2", "a1", "a2"), 10**5, _biquad_args),
    Kernel("fir64", fir, numba.njit(fir), fir_adjoint,
           ("h", "x"), 10**5, _fir_args),
    Kernel("lms16", lms, numba.njit(lms), lms_adjoint,
           ("mu",), 10**5, _lms_args),
    Kernel("kalman", kalman, numba.njit(kalman), kalman_adjoint,
           ("phi", "q", "r"), 10**6, _kalman_args),
)
