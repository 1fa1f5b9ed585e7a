"""JAX (lax.scan) versions of the kernels for the optional comparison columns.

Importing this module fails with ImportError when JAX is not installed; run.py
treats that as "no JAX columns".  Signatures match kernels.py so the same
arguments and ``wrt`` positions apply.
"""
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

jax.config.update("jax_enable_x64", True)


def _windows(x, K):
    """Rows x[n], x[n-1], ..., x[n-K+1] for n = K-1 .. N-1 (one gather, so
    the gradient w.r.t. x is a single scatter-add instead of a scan carry)."""
    n = np.arange(K - 1, x.shape[0])[:, None] - np.arange(K)[None, :]
    return x[n]


def iir1(b, a, x, target):
    def step(carry, xt):
        y_prev, loss = carry
        y = b * xt[0] - a * y_prev
        return (y, loss + (y - xt[1]) ** 2), None

    zero = jnp.zeros((), x.dtype)
    (_, loss), _ = lax.scan(step, (zero, zero), (x, target))
    return loss


def biquad(b0, b1, b2, a1, a2, x, target):
    def step(carry, xt):
        x1, x2, y1, y2, loss = carry
        xn, tn = xt
        y = b0 * xn + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
        return (xn, x1, y, y1, loss + (y - tn) ** 2), None

    zero = jnp.zeros((), x.dtype)
    carry, _ = lax.scan(step, (zero,) * 5, (x, target))
    return carry[-1]


def fir(h, x, t):
    K = h.shape[0]

    def step(loss, xt):
        y = jnp.dot(h, xt[0])
        return loss + (y - xt[1]) ** 2, None

    loss, _ = lax.scan(step, jnp.zeros((), x.dtype), (_windows(x, K), t[K - 1:]))
    return loss


def lms(mu, x, d):
    K = 16

    def step(carry, xt):
        w, loss = carry
        window, dn = xt
        e = dn - jnp.dot(w, window)
        return (w + mu * e * window, loss + e ** 2), None

    init = (jnp.zeros(K, x.dtype), jnp.zeros((), x.dtype))
    (_, loss), _ = lax.scan(step, init, (_windows(x, K), d[K - 1:]))
    return loss


def kalman(phi, q, r, z):
    def step(carry, zn):
        m, P, nll = carry
        m = phi * m
        P = phi * phi * P + q
        v = zn - m
        S = P + r
        K = P / S
        return (m + K * v, (1.0 - K) * P, nll + jnp.log(S) + v * v / S), None

    init = (jnp.zeros((), z.dtype), jnp.ones((), z.dtype), jnp.zeros((), z.dtype))
    (_, _, nll), _ = lax.scan(step, init, z)
    return nll


KERNELS = {"iir1": iir1, "biquad": biquad, "fir64": fir, "lms16": lms, "kalman": kalman}


def value_and_grad(name, argnums):
    """jit(value_and_grad) of a kernel, blocking so timings include the work."""
    vg = jax.jit(jax.value_and_grad(KERNELS[name], argnums=argnums))
    return lambda *args: jax.block_until_ready(vg(*args))


def device_args(args):
    """Move arguments to the device once, outside the timed region."""
    return tuple(jnp.asarray(a, dtype=jnp.float64) for a in args)
