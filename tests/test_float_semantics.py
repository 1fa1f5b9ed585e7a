"""The kernels compute as the plain function does with numpy: numpy's floating-point policy (inf and
nan, no exception) and numpy's promotion rules (NEP 50), on both backends."""
import math

import numpy as np
import pytest

import adc


def ratio(g, x):
    return g * x[0] / x[1]


def python_math(a):
    return math.sqrt(a) + math.log(a + 1.0)


def sum_arccos(x):
    return np.sum(np.arccos(x)) + math.log(x[0])


def integer_ratio(a, n):
    return a / n + a * n


@pytest.mark.parametrize("args, value, grad", [
    ((2.0, np.array([1.0, 0.0])), math.inf, (math.inf, np.array([math.inf, -math.inf]))),
    ((0.0, np.array([0.0, 0.0])), math.nan, (math.nan, np.array([math.nan, math.nan]))),
])
def test_division_by_zero_gives_numpys_inf_and_nan(backend, args, value, grad):
    """The plain function with numpy floats returns inf or nan here; so do the kernels, with Python
    floats too (where plain Python would raise ZeroDivisionError), without an exception."""
    f = adc.differentiate(ratio, wrt=("g", "x"), backend=backend)
    with np.errstate(all="ignore"):
        assert np.array_equal(ratio(np.float64(args[0]), args[1]), value, equal_nan=True)
    assert np.array_equal(f(*args), value, equal_nan=True)
    v, (dg, dx) = f.value_and_grad(*args)
    assert np.array_equal(v, value, equal_nan=True) and np.array_equal(dg, grad[0], equal_nan=True)
    assert np.array_equal(dx, grad[1], equal_nan=True)


def test_math_outside_its_domain_is_nan_not_an_exception(backend):
    """math.sqrt(-1.0) raises in Python; numpy's policy makes it nan in the kernels, as np.sqrt does."""
    f = adc.differentiate(python_math, backend=backend)
    assert math.isnan(f(-0.5)) and math.isnan(f.grad(-0.5))
    assert f(0.0) == 0.0 and f.grad(0.0) == 1.0  # adc's sqrt'(0) is 0 (docs/conventions.md), log's is 1
    g = adc.differentiate(sum_arccos, backend=backend)
    x = np.array([0.0, 1.0])
    assert g(x) == -math.inf
    assert np.array_equal(g.grad(x), [math.inf, -math.inf])  # 1/x - 1/sqrt(1 - x^2), -1/sqrt(1 - x^2)


def test_integer_division_by_zero(backend):
    f = adc.differentiate(integer_ratio, wrt="a", backend=backend)
    assert f(1.5, 0) == math.inf and f.grad(1.5, 0) == math.inf



def energy_of_gained(g, x):
    s = 0.0
    for n in range(x.shape[0]):
        s += g * x[n] * x[n] + 0.5 * n * x[n]
    return s


def whole_array(g, x):
    y = g * x + 2
    return np.sum(np.sin(y) * 0.5)


def complex_gain(g, z):
    return np.sum((g * z).real)


@pytest.fixture
def signal32():
    return np.random.default_rng(1).standard_normal(3000).astype(np.float32)


def test_float32_state_accumulates_in_float32_as_the_plain_function_does(backend, signal32):
    """`s = 0.0` and the Python float g are weak: s becomes float32 at the first float32 sample, so the
    kernel's sum is the plain function's, bit for bit (the same order of float32 additions)."""
    f = adc.differentiate(energy_of_gained, wrt=("g", "x"), backend=backend)
    expected = energy_of_gained(0.3, signal32)
    assert type(expected) is np.float32
    assert np.float32(f(0.3, signal32)) == expected
    assert energy_of_gained(0.3, signal32.astype(np.float64)) != expected  # float64 would differ
    value, (dg, dx) = f.value_and_grad(0.3, signal32)
    assert np.float32(value) == expected and dx.dtype == np.float32
    _, (dg64, dx64) = f.value_and_grad(0.3, signal32.astype(np.float64))  # the float64 path, checked by FD elsewhere
    assert dg == pytest.approx(dg64, rel=1e-5)
    assert np.allclose(dx, dx64, rtol=1e-5, atol=1e-5)


def test_a_numpy_float64_argument_is_strong(backend, signal32):
    """NEP 50: np.float64(0.3) * float32 is float64, 0.3 * float32 is float32; each gets its own kernel."""
    f = adc.differentiate(energy_of_gained, wrt=("g", "x"), backend=backend)
    weak, strong = f(0.3, signal32), f(np.float64(0.3), signal32)
    assert np.float32(weak) == energy_of_gained(0.3, signal32)
    assert strong == pytest.approx(energy_of_gained(np.float64(0.3), signal32), rel=1e-12)
    assert strong != weak


@pytest.mark.parametrize("fn, args", [
    (whole_array, (0.7, np.linspace(-1, 1, 64, dtype=np.float32))),
    (complex_gain, (0.7, (np.arange(8) + 1j * np.arange(8)).astype(np.complex64))),
])
def test_whole_array_arithmetic_keeps_single_precision(backend, fn, args):
    f = adc.differentiate(fn, wrt=("g", fn.__code__.co_varnames[1]), backend=backend)
    assert f(*args) == pytest.approx(fn(*args), rel=1e-6)
    dg, dx = f.grad(*args)
    assert dx.dtype == args[1].dtype
    dg64, dx64 = f.grad(args[0], args[1].astype(np.complex128 if args[1].dtype.kind == "c" else np.float64))
    assert dg == pytest.approx(dg64, rel=1e-5) and np.allclose(dx, dx64, rtol=1e-5, atol=1e-6)


def test_generated_code_spells_the_single_precision_constants(signal32):
    f = adc.differentiate(energy_of_gained, wrt=("g", "x"))
    f(0.3, signal32)
    source = f.primal_source()
    assert "np.float32(g)" in source and "s = np.float32(0.0)" in source
