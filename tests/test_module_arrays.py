"""Module-level arrays are read at each call, as arguments the caller does not pass; whole-array
arithmetic on shapes that do not broadcast raises numpy's ValueError at the user's line."""
import inspect
import types

import numpy as np
import pytest

import adc

WINDOW = np.hanning(8)
config = types.ModuleType("config")
config.FILTERBANK = np.linspace(0.5, 1.5, 8)


def windowed_energy(x, g):
    return g * np.sum((WINDOW * x) ** 2)


def _tap(x, n):
    return config.FILTERBANK[n] * x[n]


def filterbank_sum(x, g):
    s = 0.0
    for n in range(x.shape[0]):
        s += g * _tap(x, n) ** 2
    return s


def central_fd(fn, x, g, h=1e-6):
    return np.array([(fn(x + h * e, g) - fn(x - h * e, g)) / (2 * h) for e in np.eye(x.size)])


@pytest.mark.parametrize("fn", [windowed_energy, filterbank_sum])
def test_module_arrays_are_read_at_each_call(backend, fn):
    global WINDOW
    x = np.linspace(-1.0, 1.0, 8)
    f = adc.differentiate(fn, wrt="x", backend=backend)
    saved = WINDOW.copy(), config.FILTERBANK.copy()
    try:
        for change in (lambda: None, lambda: WINDOW.__setitem__(slice(None), 2.0),
                       lambda: config.FILTERBANK.__setitem__(slice(None), -1.0)):
            change()
            assert f(x, 0.7) == pytest.approx(fn(x, 0.7), rel=1e-13)
            np.testing.assert_allclose(f.grad(x, 0.7), central_fd(fn, x, 0.7), rtol=1e-7, atol=1e-9)
            v = np.cos(np.arange(8.0))
            assert f.jvp(x, 0.7, tangents=v)[1] == pytest.approx(np.dot(f.grad(x, 0.7), v), rel=1e-12)
        WINDOW = np.full(8, 0.25)  # rebound to another array of the same type: read, no recompiling
        assert f(x, 0.7) == pytest.approx(fn(x, 0.7), rel=1e-13)
        WINDOW = np.full(8, 0.25, dtype=np.float32)  # another dtype: compiled again for it
        assert f(x, 0.7) == pytest.approx(fn(x, 0.7), rel=1e-6)
    finally:
        WINDOW, config.FILTERBANK = saved


def test_module_arrays_are_not_differentiated_nor_written_by_derivatives():
    f = adc.differentiate(windowed_energy, wrt=("x", "g"), backend="python")
    x = np.linspace(-1.0, 1.0, 8)
    dx, dg = f.grad(x, 0.7)
    assert dg == pytest.approx(np.sum((WINDOW * x) ** 2)) and dx.shape == x.shape
    assert "WINDOW" in f.primal_source().splitlines()[0]  # a parameter of the kernel


def mismatched(x, y):
    return np.sum(x * 2.0 + y)


def outer_sum(a, b):
    return np.sum(a + b)


def test_shapes_that_do_not_broadcast_raise_numpys_error_at_the_users_line(backend):
    f = adc.differentiate(mismatched, backend=backend)
    lines, start = inspect.getsourcelines(mismatched)
    for call in (f, f.grad, lambda x, y: f.jvp(x, y, tangents=np.ones(3))):
        with pytest.raises(ValueError, match=r"operands could not be broadcast together with shapes \(3,\) \(5,\)") as info:
            call(np.ones(3), np.ones(5))
        assert f"test_module_arrays.py:{start + 1}:" in str(info.value) and "x * 2.0 + y" in str(info.value)


def test_shapes_that_broadcast_are_not_refused(backend):
    f = adc.differentiate(outer_sum, backend=backend)
    a, b = np.arange(3.0).reshape(3, 1), np.arange(4.0).reshape(1, 4)
    assert f(a, b) == pytest.approx(np.sum(a + b))
    assert "rt.broadcastable" in f.primal_source()
    g = adc.differentiate(mismatched, backend=backend)
    g(np.ones(3), np.ones(3))
    assert "broadcastable(x.shape, y.shape)" in g.primal_source()  # checked once, on the arrays themselves
