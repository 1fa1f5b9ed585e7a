"""Bounds checks (adc/ir/bounds.py, docs/conventions.md "Bounds checks"): an element access outside
its array raises IndexError (adc.runtime.OutOfBounds) naming the user's file, line, array and index,
in every kernel (primal, grad, jvp, hvp), where plain Python would raise; and nothing is raised
where Python raises nothing (negative indices wrap around, guarded reads, loops that never run).

The kernels are module-level functions of this file, so messages name `test_bounds.py`. Broad
cases run on the python backend; the five the issue names (and a few more) on both.
"""
import inspect
import re

import numpy as np
import pytest

import adc

FILE = "test_bounds.py"


def line_of(fn, text: str) -> int:
    lines, start = inspect.getsourcelines(fn)
    return start + next(i for i, line in enumerate(lines) if text in line)


def copies(args) -> list:
    return [a.copy() if isinstance(a, np.ndarray) else a for a in args]


def tangents_for(args, wrt_idx, seed: int = 0):
    rng = np.random.default_rng(seed)
    out = [rng.standard_normal(np.shape(args[i])) if isinstance(args[i], np.ndarray) else float(rng.standard_normal())
           for i in wrt_idx]
    return tuple(out)


def kernel_calls(f, args, wrt_idx, hvp: bool = True) -> dict:
    """Every kind of kernel call of f at args: name -> a thunk."""
    v = tangents_for(args, wrt_idx)
    calls = {
        "primal": lambda: f(*copies(args)),
        "value_and_grad": lambda: f.value_and_grad(*copies(args)),
        "grad": lambda: f.grad(*copies(args)),
        "jvp": lambda: f.jvp(*copies(args), tangents=v),
    }
    if hvp:
        calls["hvp"] = lambda: f.hvp(*copies(args), tangents=v)
    return calls


def assert_out_of_bounds(call, fn, text: str, array: str, index, axis: int = 0, where: bool = True) -> str:
    """call() raises IndexError naming this file and the line holding `text`, the array, axis and index
    (one of several, when a check may be hoisted to more than one place: the index Python raises at,
    or the loops' extreme)."""
    with pytest.raises(IndexError) as info:
        call()
    assert isinstance(info.value, adc.runtime.OutOfBounds)
    message = str(info.value)
    if where:
        assert f"{FILE}:{line_of(fn, text)}:" in message, message
        assert text.strip() in message, message
    indices = "|".join(str(i) for i in (index if isinstance(index, tuple) else (index,)))
    assert re.search(rf"indexes {re.escape(array)} at (up to |down to )?({indices}), out of bounds for axis {axis} ", message), \
        message
    return message


def assert_python_raises(fn, args) -> None:
    """The plain function raises IndexError at these arguments too (the check is where Python's is)."""
    with pytest.raises(IndexError):
        fn(*copies(args))


def raises_everywhere(fn, args, wrt, text, array, index, backend, axis=0, hvp=True):
    """Python raises IndexError; so does every kernel of adc, naming the place, array and index."""
    assert_python_raises(fn, args)
    f = adc.differentiate(fn, wrt=wrt, backend=backend)
    params = list(inspect.signature(fn).parameters)
    wrt_idx = [params.index(w) for w in wrt]
    for call in kernel_calls(f, args, wrt_idx, hvp).values():
        assert_out_of_bounds(call, fn, text, array, index, axis)


def central_differences(fn, args, wrt_idx, h: float = 1e-5) -> list:
    out = []
    for i in wrt_idx:
        a = args[i]
        if isinstance(a, np.ndarray):
            g = np.zeros(a.shape)
            for j in np.ndindex(a.shape):
                up, down = copies(args), copies(args)
                up[i][j] += h
                down[i][j] -= h
                g[j] = (fn(*up) - fn(*down)) / (2 * h)
        else:
            up, down = copies(args), copies(args)
            up[i] += h
            down[i] -= h
            g = (fn(*up) - fn(*down)) / (2 * h)
        out.append(g)
    return out


def matches_python(fn, args, wrt, backend, hvp=False) -> None:
    """No false positive: every kernel runs, the value is the plain function's, the gradient matches
    central differences (float64, rtol 1e-7), jvp agrees with grad, hvp with differences of grad."""
    expected = fn(*copies(args))
    f = adc.differentiate(fn, wrt=wrt, backend=backend)
    params = list(inspect.signature(fn).parameters)
    wrt_idx = [params.index(w) for w in wrt]
    assert f(*copies(args)) == pytest.approx(expected, rel=1e-12, abs=1e-14)
    value, grads = f.value_and_grad(*copies(args))
    assert value == pytest.approx(expected, rel=1e-12, abs=1e-14)
    fd = central_differences(fn, args, wrt_idx)
    for g, d in zip(grads, fd):
        np.testing.assert_allclose(g, d, rtol=1e-7, atol=1e-8)
    v = tangents_for(args, wrt_idx)
    value, tangent = f.jvp(*copies(args), tangents=v)
    assert value == pytest.approx(expected, rel=1e-12, abs=1e-14)
    expected_tangent = sum(float(np.sum(g * t)) for g, t in zip(grads, v))
    assert tangent == pytest.approx(expected_tangent, rel=1e-10, abs=1e-12)
    if hvp:
        g2, hv = f.hvp(*copies(args), tangents=v)
        for a, b in zip(g2, grads):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
        h = 1e-5
        plus = f.grad(*[a + h * t if i in wrt_idx else a
                        for i, (a, t) in enumerate(zip(copies(args), _spread(v, wrt_idx, len(args))))])
        minus = f.grad(*[a - h * t if i in wrt_idx else a
                         for i, (a, t) in enumerate(zip(copies(args), _spread(v, wrt_idx, len(args))))])
        for a, p, m in zip(hv, plus, minus):
            np.testing.assert_allclose(a, (p - m) / (2 * h), rtol=1e-6, atol=1e-7)


def _spread(v, wrt_idx, n):
    out = [0.0] * n
    for i, t in zip(wrt_idx, v):
        out[i] = t
    return out


X4 = np.array([0.3, -1.2, 0.7, 0.45])


# -- the five of the issue: Python raises IndexError, so does every kernel, on both backends ------

def off_by_one(x):
    s = 0.0
    for n in range(len(x)):
        s += x[n + 1] * x[n]
    return s


def fit(w, x, target):
    s = 0.0
    for n in range(len(x)):
        e = target[n] - w * x[n]
        s += e * e
    return s


def far(x):
    s = 0.0
    for n in range(len(x)):
        s += x[n + 10**6] * x[n]
    return s


def first(x):
    return x[0] * x[0] + np.sum(x)


def scatter(x, k):
    y = np.zeros(len(x))
    for n in range(len(x)):
        y[n + k] = x[n] * x[n]
    return np.sum(y * y)


def test_off_by_one_read(backend):
    raises_everywhere(off_by_one, (X4,), ("x",), "s += x[n + 1] * x[n]", "x", 4, backend)
    matches_python(neighbours, (X4,), ("x",), backend)


def neighbours(x):
    s = 0.0
    for n in range(len(x) - 1):
        s += x[n + 1] * x[n]
    return s


def test_target_shorter_than_x(backend):
    raises_everywhere(fit, (0.7, X4, X4[:3].copy()), ("w", "x"), "e = target[n] - w * x[n]", "target", 3, backend)
    matches_python(fit, (0.7, X4, X4[::-1].copy()), ("w", "x"), backend, hvp=backend == "python")


def test_large_offset_raises_instead_of_reading_far_away(backend):
    raises_everywhere(far, (X4[:3].copy(),), ("x",), "s += x[n + 10**6] * x[n]", "x", 10**6, backend)


def test_empty_array(backend):
    raises_everywhere(first, (np.zeros(0),), ("x",), "return x[0] * x[0] + np.sum(x)", "x", 0, backend)
    matches_python(first, (X4[:1].copy(),), ("x",), backend)


def test_out_of_range_write(backend):
    raises_everywhere(scatter, (X4[:3].copy(), 1), ("x",), "y[n + k] = x[n] * x[n]", "y", 3, backend)
    raises_everywhere(scatter, (X4[:3].copy(), -4), ("x",), "y[n + k] = x[n] * x[n]", "y", -4, backend)
    for k in (0, -3):  # y[n - 3] for n in 0..2 wraps around to y[0..2], as in Python
        matches_python(scatter, (X4[:3].copy(), k), ("x",), backend)


def test_hvp_names_the_users_line(backend):
    """hvp differentiates the generated reverse-mode code; its checks still name the user's line
    (they named adc's generated file and line before d5a4a59)."""
    f = adc.differentiate(off_by_one, backend=backend)
    assert_out_of_bounds(lambda: f.hvp(X4, tangents=np.ones(4)), off_by_one, "s += x[n + 1] * x[n]", "x", 4)


# -- no false positives: these run, and match Python --------------------------------------------

def triangular(h, x):
    y = 0.0
    for n in range(len(x)):
        for k in range(n + 1):
            y += h[k] * x[n - k] * x[n]
    return y


def test_triangular_loops(backend):
    h = np.array([0.5, -0.25, 0.125, 0.8, 0.3])
    matches_python(triangular, (h[:4].copy(), X4), ("h", "x"), backend, hvp=True)
    matches_python(triangular, (h, X4), ("h", "x"), backend)  # h longer than x
    raises_everywhere(triangular, (h[:3].copy(), X4), ("h", "x"), "y += h[k] * x[n - k] * x[n]", "h", 3, backend)


def guarded_expression(x):
    s = 0.0
    for n in range(len(x)):
        s += x[n] * (x[n - 1] if n > 0 else 0.0) + x[n] * (x[n + 1] if n < len(x) - 1 else 0.5)
    return s


def guarded_if(h, x):
    y = 0.0
    for n in range(len(x)):
        for k in range(len(h)):
            if n >= k:
                y += h[k] * x[n - k] * x[n]
    return y


def guarded_ahead(x):
    s = 0.0
    for n in range(len(x)):
        if n + 2 < len(x):
            s += x[n + 2] * x[n]
    return s


def test_guarded_reads():
    matches_python(guarded_expression, (X4,), ("x",), "python", hvp=True)
    h = np.array([0.5, -0.25, 0.125])
    matches_python(guarded_if, (h, X4), ("h", "x"), "python")
    matches_python(guarded_if, (np.array([0.5, -0.25, 0.125, 0.8, 0.3, 0.2]), X4), ("h", "x"), "python")  # k > n
    matches_python(guarded_ahead, (X4,), ("x",), "python")
    matches_python(guarded_ahead, (X4[:2].copy(),), ("x",), "python")  # the branch never runs


def circular(x):
    s = 0.0
    for n in range(len(x)):
        s += x[n] * x[n - 1]  # x[-1] at n = 0: the last element, as in Python
    return s


def lagged(x):
    s = 0.0
    for n in range(len(x)):
        s += x[n - 5] * x[n]
    return s


def test_negative_indices_wrap_around(backend):
    matches_python(circular, (X4,), ("x",), backend)
    x5 = np.array([0.3, -1.2, 0.7, 0.45, 1.1])
    matches_python(lagged, (x5,), ("x",), "python")  # x[-5] .. x[-1]
    raises_everywhere(lagged, (X4,), ("x",), "s += x[n - 5] * x[n]", "x", -5, "python")


def stride3(x):
    s = 0.0
    for n in range(0, len(x), 3):
        s += x[n + 2] * x[n]
    return s


def stride3_short(x):
    s = 0.0
    for n in range(0, len(x) - 2, 3):
        s += x[n + 2] * x[n] + x[n - 1]
    return s


def reversed_loop(x):
    s = 0.0
    for n in range(len(x) - 1, -1, -1):
        s = 0.5 * s + x[n] * x[len(x) - 1 - n] + x[n - 1]
    return s


def reversed_overrun(x):
    s = 0.0
    for n in range(len(x) - 1, -1, -1):
        s += x[n + 1] * x[n]
    return s


def reversed_step2(x):
    s = 0.0
    for n in range(len(x) - 1, 0, -2):
        s += x[n] * x[n - 1] + x[n - 2]
    return s


def reversed_step2_under(x):
    s = 0.0
    for n in range(len(x) - 1, 0, -2):
        s += x[n] * x[n - len(x) - 2]
    return s


def test_strided_and_reversed_loops(backend):
    x9 = np.linspace(-1.0, 1.3, 9)
    matches_python(stride3, (x9,), ("x",), backend)  # the last n is 6: x[8] is the last element
    for size, last in ((7, 6), (8, 6)):  # the last n is 6: x[8] is past the end
        raises_everywhere(stride3, (x9[:size].copy(),), ("x",), "s += x[n + 2] * x[n]", "x", last + 2, "python")
    for size in (3, 5, 8, 9):
        matches_python(stride3_short, (x9[:size].copy(),), ("x",), "python")
    matches_python(reversed_loop, (X4,), ("x",), backend, hvp=backend == "python")
    raises_everywhere(reversed_overrun, (X4,), ("x",), "s += x[n + 1] * x[n]", "x", 4, "python")
    for size in (2, 3, 4, 5):
        matches_python(reversed_step2, (x9[:size].copy(),), ("x",), "python")
    # n goes down to 2 for an odd length: n - len - 2 is -len at least, in bounds; down to 1 for an
    # even one: -len - 1, past the start
    for size in (3, 5, 7):
        matches_python(reversed_step2_under, (x9[:size].copy(),), ("x",), "python")
    for size in (4, 6):
        raises_everywhere(reversed_step2_under, (x9[:size].copy(),), ("x",), "s += x[n] * x[n - len(x) - 2]", "x",
                          -size - 1, backend if size == 4 else "python")


def walk(x):
    s = 0.0
    i = 0
    while i < len(x) - 1:
        s += x[i] * x[i + 1]
        i += 1
    return s


def walk_too_far(x):
    s = 0.0
    i = 0
    while i < len(x):
        s += x[i] * x[i + 1]
        i += 1
    return s


def test_while_loop(backend):
    matches_python(walk, (X4,), ("x",), backend)
    raises_everywhere(walk_too_far, (X4,), ("x",), "s += x[i] * x[i + 1]", "x", 4, backend)


def scan_to_the_end(x):
    """Python reads x[i] only while i < len(x): the scan runs off the end without an IndexError."""
    s = 0.0
    i = 0
    while i < len(x) and x[i] > -2.0:
        s += x[i] * x[i]
        i += 1
    return s


def test_while_condition_guarded_by_and(backend):
    matches_python(scan_to_the_end, (X4,), ("x",), backend, hvp=True)


def rows(m):
    s = 0.0
    for i in range(m.shape[0]):
        for j in range(m.shape[1] - 1):
            s += m[i, j + 1] * m[i, j]
    return s


def rows_too_far(m):
    s = 0.0
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            s += m[i, j + 1] * m[i, j]
    return s


def test_two_dimensional(backend):
    m = np.arange(12.0).reshape(3, 4) * 0.1 - 0.5
    matches_python(rows, (m,), ("m",), backend)
    raises_everywhere(rows_too_far, (m,), ("m",), "s += m[i, j + 1] * m[i, j]", "m", 4, backend, axis=1)


def gather(x, idx):
    s = 0.0
    for i in range(len(idx)):
        s += x[idx[i]] * x[i]
    return s


def test_index_array(backend):
    matches_python(gather, (X4, np.array([3, 0, -1, -4])), ("x",), backend)
    raises_everywhere(gather, (X4, np.array([1, 4, 0])), ("x",), "s += x[idx[i]] * x[i]", "x", 4, backend)
    raises_everywhere(gather, (X4, np.array([1, -5])), ("x",), "s += x[idx[i]] * x[i]", "x", -5, "python")


def truncated(x, a):
    s = 0.0
    for i in range(len(x)):
        s += x[int(a * i)] * x[i]
    return s


def test_index_from_a_float():
    matches_python(truncated, (X4, 0.5), ("x",), "python")
    raises_everywhere(truncated, (X4, 1.5), ("x",), "s += x[int(a * i)] * x[i]", "x", 4, "python")


def first_n(x, n):
    s = 0.0
    for i in range(n):
        s += x[i] * x[i]
    return s


def test_loop_bounds_from_a_parameter(backend):
    matches_python(first_n, (X4, 4), ("x",), backend)
    matches_python(first_n, (X4, 2), ("x",), "python")
    raises_everywhere(first_n, (X4, 5), ("x",), "s += x[i] * x[i]", "x", 4, backend)


def never_runs(x, n):
    s = np.sum(x * x)
    for i in range(n):
        s += x[i + 100]
    return s


def inner_never_runs(x, m):
    s = 0.0
    for i in range(len(x)):
        s += x[i] * x[i]
        for k in range(m):
            s += x[i] * x[i + k + 100]
    return s


def empty_range(x):
    s = np.sum(x * x)
    for i in range(len(x), len(x)):
        s += x[i]
    for i in range(len(x) - 1, len(x) - 1, -1):
        s += x[i + 1]
    return s


def test_loops_that_never_run(backend):
    matches_python(never_runs, (X4, 0), ("x",), backend)
    matches_python(never_runs, (X4, -3), ("x",), "python")
    raises_everywhere(never_runs, (X4, 1), ("x",), "s += x[i + 100]", "x", 100, "python")
    matches_python(inner_never_runs, (X4, 0), ("x",), backend)
    raises_everywhere(inner_never_runs, (X4, 1), ("x",), "s += x[i] * x[i + k + 100]", "x", (100, 103),
                      "python")
    matches_python(empty_range, (X4,), ("x",), "python")
    matches_python(off_by_one, (np.zeros(0),), ("x",), "python")  # x[n + 1] in a loop over nothing


def differences(x):
    y = np.zeros(len(x) - 1)
    for i in range(len(x) - 1):
        y[i] = x[i + 1] - x[i]
    return np.sum(y * y * x[1:])


def fill(x, n):
    y = np.zeros(n)
    for i in range(len(x)):
        y[i] = x[i] * 2.0
    return np.sum(y * y)


def test_arrays_made_inside(backend):
    matches_python(differences, (X4,), ("x",), backend)
    matches_python(fill, (X4, 4), ("x",), "python")
    matches_python(fill, (X4, 6), ("x",), "python")
    raises_everywhere(fill, (X4, 3), ("x",), "y[i] = x[i] * 2.0", "y", 3, "python")


def get(v, i):
    return v[i]


def through_helper(x):
    s = 0.0
    for n in range(len(x)):
        s += get(x, n - 1) * x[n]
    return s


def through_helper_too_far(x):
    s = 0.0
    for n in range(len(x)):
        s += get(x, n + 1) * x[n]
    return s


def test_helper_function(backend):
    matches_python(through_helper, (X4,), ("x",), backend)
    # the message names the helper's line; the array is the caller's
    assert_python_raises(through_helper_too_far, (X4,))
    f = adc.differentiate(through_helper_too_far, wrt=("x",), backend=backend)
    for call in kernel_calls(f, (X4,), [0]).values():
        assert_out_of_bounds(call, get, "return v[i]", "x", 4)


# -- hoisted where it can be, absent where the loops decide it ----------------------------------

def fir(h, x, target):
    K = len(h)
    s = 0.0
    for n in range(K - 1, len(x)):
        acc = 0.0
        for k in range(K):
            acc += h[k] * x[n - k]
        e = target[n] - acc
        s += e * e
    return s


def energy(x):
    s = 0.0
    for n in range(len(x)):
        s += x[n] * x[n]
    return s


def raise_lines_before_loops(source: str) -> None:
    lines = source.splitlines()
    first_for = next(i for i, line in enumerate(lines) if line.lstrip().startswith("for "))
    raises = [i for i, line in enumerate(lines) if "OutOfBounds" in line]
    assert raises and max(raises) < first_for, source


def test_fir_checks_are_hoisted_out_of_the_loops():
    f = adc.differentiate(fir, wrt=("h", "x"), backend="python")
    h, x = np.array([0.5, -0.25, 0.125]), np.linspace(-1.0, 1.0, 6)
    matches_python(fir, (h, x, x[::-1].copy()), ("h", "x"), "python")
    f(h, x, x.copy())
    raise_lines_before_loops(f.primal_source())
    f.grad(h, x, x.copy())
    raise_lines_before_loops(f.adjoint_source())
    f.jvp(h, x, x.copy(), tangents=(h, x))
    raise_lines_before_loops(f.tangent_source())
    # the raised error comes before the loop runs: target is read at up to len(x) - 1
    assert_out_of_bounds(lambda: f(h, x, x[:5].copy()), fir, "e = target[n] - acc", "target", 5)


def test_checks_the_loop_bounds_decide_are_not_generated():
    f = adc.differentiate(energy, backend="python")
    f.grad(X4)
    f.jvp(X4, tangents=X4)
    for source in (f.primal_source(), f.adjoint_source(), f.tangent_source()):
        assert "OutOfBounds" not in source, source
    g = adc.differentiate(fir, wrt=("h", "x"), backend="python")
    g(np.ones(3), np.ones(5), np.ones(5))
    source = g.primal_source()  # h[k] and x[n - k] are decided by the loops; target[n] is not
    assert "'h'" not in source and "'x'" not in source and "'target'" in source, source


# -- break and continue: the reads after them happen only where Python's do ---------------------

def stops_at_the_end(x):
    s = 0.0
    for i in range(len(x) + 5):
        if i >= len(x):
            break
        for k in range(2):
            s += x[i - k] * x[i]
    return s


def skips_the_end(x):
    s = 0.0
    for i in range(len(x) + 2):
        for k in range(2):
            if i + k >= len(x):
                continue
            s += x[i + k] * x[0]
    return s


def stops_inside(x):
    s = 0.0
    for i in range(len(x)):
        for k in range(10):
            if k > i:
                break
            s += x[i - k] * x[k]
    return s


def test_break_and_continue(backend):
    matches_python(stops_at_the_end, (X4,), ("x",), backend)
    matches_python(skips_the_end, (X4,), ("x",), "python")
    matches_python(stops_inside, (X4,), ("x",), "python")


# -- once open bugs (fixed in c546fa4 and d5a4a59) ----------------------------------------------

def unused_read(x):
    s = x[len(x)]  # overwritten before it is used: Python still raises
    s = np.sum(x * x)
    return s


def test_an_unused_read_out_of_bounds_raises(backend):
    """Found by the fuzzer (`s0 = x[n]`, then `s0 = 0.5`): the read was removed as dead code, and its
    check with it."""
    raises_everywhere(unused_read, (X4,), ("x",), "s = x[len(x)]", "x", 4, backend)


def row_energy(A, r):
    return np.sum(A[r, :] * A[r, :])


def column_energy(A, c):
    return np.sum(A[:, c] * A[:, c])


A34 = np.arange(12.0).reshape(3, 4) * 0.1 - 0.4


def test_row_and_column_indices_are_checked(backend):
    """A[r, :] and A[:, c] select by an integer: numba read past the array (garbage, or a segfault
    for A[-4, :]); the python backend raised numpy's IndexError without the user's line."""
    raises_everywhere(row_energy, (A34, 3), ("A",), "return np.sum(A[r, :] * A[r, :])", "A", 3, backend)
    raises_everywhere(row_energy, (A34, -4), ("A",), "return np.sum(A[r, :] * A[r, :])", "A", -4, backend)
    raises_everywhere(column_energy, (A34, 4), ("A",), "return np.sum(A[:, c] * A[:, c])", "A", 4, backend, axis=1)
    for r in (2, -3):
        matches_python(row_energy, (A34, r), ("A",), backend)
    matches_python(column_energy, (A34, -4), ("A",), "python")


# found by the numba fuzz campaign, not about bounds (here until it has a home in fuzz_regressions.py)

def overwritten_in_a_branch(x):
    s0 = x[0]
    if s0 > 0.1:
        x[0] = x[0] * (np.sum(x) + 0.5)
    return s0 + np.sum(x * x)


def test_hvp_of_a_write_in_a_branch_on_numba():
    """The vjp names the branch condition `t = s0 > 0.1` and, in the branch's reverse sweep, a float `t`: hvp
    differentiates that code and casts the bool to a float, which numba spells np.float64(t), not float(t)."""
    x = np.array([0.12573, -0.132105])
    expected = adc.differentiate(overwritten_in_a_branch, backend="python").hvp(x, tangents=np.ones(2))
    f = adc.differentiate(overwritten_in_a_branch, backend="numba")
    got = f.hvp(x, tangents=np.ones(2))
    np.testing.assert_allclose(got[1], expected[1], rtol=1e-12)
    h = 1e-6  # and H v against central differences of the gradient
    np.testing.assert_allclose(got[1], (f.grad(x + h) - f.grad(x - h)) / (2 * h), rtol=1e-6)
