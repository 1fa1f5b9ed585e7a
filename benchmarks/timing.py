"""Timing shared by the benchmark modules."""
import math
import time


def best_of(fns, repeat):
    """Best wall time of each callable over `repeat` rounds, after one warm-up
    call each (compilation, first-touch allocation).  A round times every
    callable once, so load changes on a shared machine hit them all alike and
    the ratios stay fair; the minimum is the least noisy estimator."""
    for fn in fns.values():
        fn()
    best = dict.fromkeys(fns, math.inf)
    for _ in range(repeat):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best
