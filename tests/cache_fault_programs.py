"""A small program for tests/test_cache_faults.py, importable by the processes it starts (by name: a
spawned worker unpickles `loss` from here)."""
import json
import threading

import numpy as np

import adc

X = np.linspace(-1.0, 1.0, 5)
A = 0.7


@adc.differentiate(wrt="a")
def loss(x, a):
    return np.sum(np.tanh(a * x) ** 2)


def expected_grad(x=X, a=A):
    t = np.tanh(a * x)
    return float(np.sum(2 * t * (1 - t ** 2) * x))


def expected_hessian(x=X, a=A):
    t = np.tanh(a * x)
    return float(np.sum(2 * x ** 2 * (1 - t ** 2) * (1 - 3 * t ** 2)))


def call(f, *args):
    """What a worker runs: f and its arguments arrive pickled."""
    return f(*args)


def report(second_order=False):
    """Print, as JSON, the gradient and how numba came by its kernels: loaded from the disk cache or compiled."""
    out = {"grad": float(loss.grad(X, A)), "adc": adc.__file__}
    if second_order:  # transforms the generated vjp's source: read back from the file, or from memory
        out["hessian"] = float(np.ravel(adc.differentiate(loss.python, wrt="a", backend="python").hessian(X, A))[0])
    stats = [k.stats for spec in loss._specs.values() for k in spec.kernels.values()]
    out["hits"] = sum(sum(s.cache_hits.values()) for s in stats)
    out["misses"] = sum(sum(s.cache_misses.values()) for s in stats)
    print(json.dumps(out))


def first_calls_from_threads(n=8):
    """n threads make the first call at once; print their gradients as JSON."""
    results, start = [None] * n, threading.Barrier(n)

    def call(i):
        start.wait()
        results[i] = float(loss.grad(X, A))
    threads = [threading.Thread(target=call, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps(results))
