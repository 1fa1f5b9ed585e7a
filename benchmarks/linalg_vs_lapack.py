"""numba's np.linalg (LAPACK through SciPy) against adc's own loop kernels (runtime/decompositions.py),
per call inside a numba loop of 10^5 iterations over n x n float64 matrices: why adc has its own.

    python benchmarks/linalg_vs_lapack.py      # needs SciPy (the bench extra brings it, with JAX)
"""
import importlib.util
import sys
import time

import numba
import numpy as np
from adc.runtime import decompositions as d

ITER = 100_000
POOL = 64  # distinct SPD matrices, cycled: nothing is loop-invariant


@numba.njit
def np_solve(A, B):
    s = 0.0
    for i in range(ITER):
        s += np.linalg.solve(A[i % POOL], B[i % POOL])[0]
    return s


@numba.njit
def own_solve(A, B):
    s = 0.0
    for i in range(ITER):
        a = A[i % POOL]
        f = d.lu_factor(a)
        s += d.lu_solve_vector(f, a, B[i % POOL], False)[0]
    return s


@numba.njit
def np_inv(A, B):
    s = 0.0
    for i in range(ITER):
        s += np.linalg.inv(A[i % POOL])[0, 0]
    return s


@numba.njit
def own_inv(A, B):
    s = 0.0
    n = A.shape[1]
    for i in range(ITER):
        a = A[i % POOL]
        f = d.lu_factor(a)
        s += d.lu_solve(f, a, np.eye(n), False)[0, 0]
    return s


@numba.njit
def np_chol(A, B):
    s = 0.0
    for i in range(ITER):
        s += np.linalg.cholesky(A[i % POOL])[-1, -1]
    return s


@numba.njit
def own_chol(A, B):
    s = 0.0
    for i in range(ITER):
        s += d.cholesky(A[i % POOL])[-1, -1]
    return s


@numba.njit
def empty_loop(A, B):
    s = 0.0
    for i in range(ITER):
        s += A[i % POOL][0, 0] + B[i % POOL][0]
    return s


def best(fn, A, B, repeat=7):
    value = fn(A, B)  # compile, warm up
    t = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(A, B)
        t = min(t, time.perf_counter() - t0)
    return t / ITER * 1e9, value


def main():
    if importlib.util.find_spec("scipy") is None:
        print("numba's np.linalg needs SciPy: pip install scipy (or the bench extra) to compare")
        sys.exit(0)
    rng = np.random.default_rng(0)
    print(f"numba {numba.__version__}, numpy {np.__version__}; ns per call, best of 7 loops of {ITER} calls")
    print("op        n   numba np.linalg   own kernels   np.linalg / own")
    for n in (2, 4, 8):
        M = rng.standard_normal((POOL, n, n))
        A = np.ascontiguousarray(M @ M.transpose(0, 2, 1) + n * np.eye(n))
        B = rng.standard_normal((POOL, n))
        base, _ = best(empty_loop, A, B)
        for name, lapack, own in (("solve", np_solve, own_solve), ("inv", np_inv, own_inv),
                                  ("cholesky", np_chol, own_chol)):
            tl, vl = best(lapack, A, B)
            to, vo = best(own, A, B)
            assert abs(vl - vo) <= 1e-9 * max(1.0, abs(vl)), (name, n, vl, vo)
            print(f"{name:<9} {n}   {tl - base:13.0f}   {to - base:11.0f}   {(tl - base) / (to - base):8.2f}x")
        print(f"(loop alone {base:.1f} ns per iteration, subtracted)")


if __name__ == "__main__":
    main()
