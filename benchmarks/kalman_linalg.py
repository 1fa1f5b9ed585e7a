"""Matrix Kalman NLL with np.linalg (inv, det, solve): gradient/primal (target <= 3), JAX/adc gradient
(target >= 3), and plain numba beside it when numba's np.linalg can run (it needs SciPy).

    python benchmarks/kalman_linalg.py [--quick] [--repeat 20]

A 4-state constant-velocity tracker (state [px, py, vx, vy], dt = 1) observing 2-d positions, written
with matrices as a user writes it; the gradient is w.r.t. F, H, Lq (Q = Lq Lq^T) and R. Checked before
anything is timed: adc's value_and_grad against jit(value_and_grad) of a lax.scan version (relative
1e-8 per argument, on the quick and the timed size) and against central differences of the plain
numpy function along a random direction (quick size, relative 1e-5). The exit status is 1 if a check
fails.
"""
import argparse
import sys
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]  # the working-tree adc first

from timing import best_of  # noqa: E402

STEPS = 100_000
WRT = ("F", "H", "Lq", "R")
TARGET_GRAD_PRIMAL = 3.0
TARGET_JAX_ADC = 3.0


def tracker_nll(F, H, Lq, R, z):
    """Negative log-likelihood of the observations z (N x 2) under the linear-Gaussian model (F, H, Q, R)."""
    n = F.shape[0]
    Q = Lq @ Lq.T
    x = np.zeros(n)
    P = np.eye(n)
    nll = 0.0
    for k in range(z.shape[0]):
        x = F @ x
        P = F @ P @ F.T + Q
        S = H @ P @ H.T + R
        K = P @ H.T @ np.linalg.inv(S)
        innov = z[k] - H @ x
        x = x + K @ innov
        P = (np.eye(n) - K @ H) @ P
        nll += 0.5 * (np.log(np.linalg.det(S)) + innov @ np.linalg.solve(S, innov) + 2 * np.log(2 * np.pi))
    return nll


def tracker_args(steps, seed=7):
    """Observations of a true constant-velocity model (white-noise acceleration q = 1e-3, position noise
    0.5), and the model at which the NLL is differentiated: the true F and H, Lq and R of 1.5x and 0.8x
    the true noise (so the gradient is clearly nonzero)."""
    rng = np.random.default_rng(seed)
    F = np.eye(4)
    F[0, 2] = F[1, 3] = 1.0
    H = np.zeros((2, 4))
    H[0, 0] = H[1, 1] = 1.0
    q, sigma = 1e-3, 0.5
    Q = np.kron(q * np.array([[1 / 3, 1 / 2], [1 / 2, 1.0]]), np.eye(2))  # [px, py, vx, vy] ordering
    Lq = np.linalg.cholesky(Q)
    w = rng.standard_normal((steps, 4)) @ Lq.T
    v = sigma * rng.standard_normal((steps, 2))
    state, z = np.zeros(4), np.empty((steps, 2))
    for k in range(steps):
        state = F @ state + w[k]
        z[k] = H @ state + v[k]
    return F, H, 1.5 * Lq, 0.8 * sigma ** 2 * np.eye(2), z


def _jax_functions():
    """(jit(value_and_grad), jit(primal), jnp.asarray) of a lax.scan version of tracker_nll, or (None, why not)."""
    try:
        import jax
        import jax.numpy as jnp
    except Exception as exc:  # absent, or a broken install
        return None, f"{type(exc).__name__}: {exc}"
    jax.config.update("jax_enable_x64", True)

    def nll(F, H, Lq, R, z):
        n = F.shape[0]
        Q = Lq @ Lq.T

        def step(carry, zk):
            x, P, total = carry
            x = F @ x
            P = F @ P @ F.T + Q
            S = H @ P @ H.T + R
            K = P @ H.T @ jnp.linalg.inv(S)
            innov = zk - H @ x
            x = x + K @ innov
            P = (jnp.eye(n) - K @ H) @ P
            total = total + 0.5 * (jnp.log(jnp.linalg.det(S)) + innov @ jnp.linalg.solve(S, innov)
                                   + 2 * jnp.log(2 * jnp.pi))
            return (x, P, total), None

        start = (jnp.zeros(n, F.dtype), jnp.eye(n, dtype=F.dtype), jnp.zeros((), F.dtype))
        (_, _, total), _ = jax.lax.scan(step, start, z)
        return total

    return (jax.jit(jax.value_and_grad(nll, argnums=(0, 1, 2, 3))), jax.jit(nll), jnp.asarray), None


def _numba_primal(args):
    """Plain @numba.njit of tracker_nll and its value, or (None, why not): numba's np.linalg calls LAPACK
    through SciPy."""
    try:
        import numba
        fn = numba.njit(tracker_nll)
        return fn, float(fn(*args)), None
    except Exception as exc:
        text = str(exc)
        why = "needs SciPy" if "scipy" in text.lower() else f"{type(exc).__name__}: {text.splitlines()[0][:120]}"
        return None, None, why


def _rel(a, b):
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / max(np.linalg.norm(np.asarray(b)), 1e-300))


def _fd_check(f, args, step=1e-5):
    """grad . v from adc against central differences of the plain numpy function along a random v, one
    argument at a time (F's derivative is 10^4 times the others' and would hide theirs in one direction),
    Richardson-extrapolated from steps h and h/2 (F's third derivative is large: plain differences are
    off by 6e-5 at h = 1e-6). The largest relative error and each argument's."""
    rng = np.random.default_rng(3)
    grads = f.grad(*args)
    errors = []
    for i, g in enumerate(grads):
        d = rng.standard_normal(g.shape)

        def moved(h, i=i, d=d):
            return tracker_nll(*(a + h * d if j == i else a for j, a in enumerate(args)))

        coarse, fine = ((moved(h) - moved(-h)) / (2 * h) for h in (step, step / 2))
        fd = (4 * fine - coarse) / 3
        errors.append(abs(float(np.sum(g * d)) - fd) / abs(fd))
    return errors


def section(repeat, quick):
    import adc
    jax_fns, why_no_jax = _jax_functions()
    steps = STEPS // 100 if quick else STEPS
    print(f"Matrix Kalman NLL, 4 states, 2-d observations, np.linalg inv/det/solve per step (wrt {', '.join(WRT)}; "
          f"targets grad/primal <= {TARGET_GRAD_PRIMAL:g}, JAX/adc grad >= {TARGET_JAX_ADC:g}):")
    if jax_fns is None:
        print(f"  JAX columns and the JAX check skipped ({why_no_jax}).")
    f = adc.differentiate(tracker_nll, wrt=WRT)
    small = tracker_args(STEPS // 100)
    args = small if quick else tracker_args(steps)

    ok = True
    fd_errors = _fd_check(f, small)
    good = max(fd_errors) <= 1e-5
    ok = ok and good
    print(f"  check (N={small[4].shape[0]}): grad.v ~ central differences, "
          + ", ".join(f"{w} {e:.1e}" for w, e in zip(WRT, fd_errors)) + f" {'ok' if good else 'FAIL'}")
    value_err = abs(f(*small) - tracker_nll(*small)) / abs(tracker_nll(*small))
    ok = ok and value_err <= 1e-10
    print(f"  check (N={small[4].shape[0]}): adc primal ~ numpy {value_err:.1e} {'ok' if value_err <= 1e-10 else 'FAIL'}")
    if jax_fns is not None:
        jax_vg, jax_primal, to_jax = jax_fns
        for case in ((small,) if quick else (small, args)):
            value, grads = f.value_and_grad(*case)
            jvalue, jgrads = jax_vg(*(to_jax(a) for a in case))
            errors = [_rel(value, float(jvalue))] + [_rel(g, np.asarray(j)) for g, j in zip(grads, jgrads)]
            good = max(errors) <= 1e-8
            ok = ok and good
            print(f"  check (N={case[4].shape[0]}): adc ~ JAX, value {errors[0]:.1e}, grads "
                  + ", ".join(f"{w} {e:.1e}" for w, e in zip(WRT, errors[1:])) + f" {'ok' if good else 'FAIL'}")
    numba_fn, numba_value, why_no_numba = _numba_primal(args)
    if numba_fn is None:
        print(f"  numba: {why_no_numba} (plain @numba.njit column skipped)")
    else:
        numba_err = abs(numba_value - f(*args)) / abs(numba_value)
        ok = ok and numba_err <= 1e-10
        print(f"  check (N={steps}): adc primal ~ plain numba {numba_err:.1e} {'ok' if numba_err <= 1e-10 else 'FAIL'}")

    fns = {"primal": lambda: f(*args), "grad": lambda: f.value_and_grad(*args)}
    if numba_fn is not None:
        fns["numba"] = lambda: numba_fn(*args)
    if jax_fns is not None:
        import jax
        jargs = tuple(to_jax(a) for a in args)
        fns["jax grad"] = lambda: jax.block_until_ready(jax_vg(*jargs))
        fns["jax primal"] = lambda: jax.block_until_ready(jax_primal(*jargs))
    t = best_of(fns, repeat)
    r = t["grad"] / t["primal"]
    print(f"  N={steps}: adc primal {1e3 * t['primal']:.3g} ms, adc value_and_grad {1e3 * t['grad']:.3g} ms, "
          f"grad/primal {r:.2f}x {'ok' if r <= TARGET_GRAD_PRIMAL else 'MISS'}")
    if numba_fn is not None:
        print(f"  plain numba primal (np.linalg through LAPACK) {1e3 * t['numba']:.3g} ms: "
              f"adc primal / numba {t['primal'] / t['numba']:.2f}x")
    if jax_fns is not None:
        s = t["jax grad"] / t["grad"]
        print(f"  JAX jit(value_and_grad) {1e3 * t['jax grad']:.3g} ms, JAX primal {1e3 * t['jax primal']:.3g} ms: "
              f"JAX grad / adc grad {s:.2f}x {'ok' if s >= TARGET_JAX_ADC else 'MISS'}, "
              f"JAX grad/primal {t['jax grad'] / t['jax primal']:.2f}x")
    print()
    return ok


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10^3 steps (smoke test)")
    parser.add_argument("--repeat", type=int, default=20, help="timed runs per measurement, best one reported")
    opts = parser.parse_args()
    sys.exit(0 if section(opts.repeat, opts.quick) else 1)
