"""debug=True finds the first NaN or Inf and names the variable and the user's line."""
import inspect

import numpy as np
import pytest

import adc

import construct_programs as cp


def line_of(fn, text: str) -> int:
    lines, start = inspect.getsourcelines(fn)
    return start + next(i for i, line in enumerate(lines) if text in line)


def test_nan_planted_in_the_middle_of_a_loop_is_located(backend):
    f = adc.differentiate(cp.nan_in_the_middle, debug=True, backend=backend)
    x = np.array([0.1, 0.2, 0.5, 0.3])
    assert f.grad(1.0, x) == pytest.approx(np.sum(0.5 / np.sqrt(1.0 - x)))  # finite: no complaint
    line = line_of(cp.nan_in_the_middle, "r = np.sqrt(c - x[n])")
    for call in (f, f.grad):
        with np.errstate(invalid="ignore"), pytest.raises(FloatingPointError) as info:
            call(0.4, x)  # c - x[n] turns negative at the third sample
        message = str(info.value)
        assert f"construct_programs.py:{line}" in message
        assert "NaN or Inf in r (forward sweep)" in message and "r = np.sqrt(c - x[n])" in message


def test_infinite_adjoint_in_the_reverse_sweep_is_located(backend):
    """Derivative code has numpy's float semantics: 1 / 0 is inf, and debug names it."""
    f = adc.differentiate(cp.inf_in_the_reverse_sweep, debug=True, backend=backend)
    x = np.array([0.5, 1.0, 0.2])  # arcsin is finite at 1, its derivative is not
    with np.errstate(divide="ignore"), pytest.raises(FloatingPointError, match="the adjoint of x .reverse sweep."):
        f.grad(x)
    assert f(x) == pytest.approx(np.sum(np.arcsin(x)))


def test_without_debug_no_checks_are_generated():
    f = adc.differentiate(cp.nan_in_the_middle, backend="python")
    f.grad(1.0, np.array([0.1, 0.2]))
    assert "FloatingPointError" not in f.adjoint_source()



def ratio(g, x):
    return g * x[0] / x[1]


def test_debug_names_an_infinite_primal_value(backend):
    f = adc.differentiate(ratio, debug=True, backend=backend)
    with pytest.raises(FloatingPointError, match="NaN or Inf in .* .forward sweep."):
        f(2.0, np.array([1.0, 0.0]))


def test_forward_mode_checks_values_and_tangents(backend):
    """jvp with debug=True: a NaN in the primal is named as in grad, an infinite tangent as the tangent."""
    f = adc.differentiate(cp.nan_in_the_middle, debug=True, backend=backend)
    x = np.array([0.1, 0.2, 0.5, 0.3])
    with np.errstate(invalid="ignore"), pytest.raises(FloatingPointError, match=r"NaN or Inf in r .forward sweep.*sqrt"):
        f.jvp(0.4, x, tangents=1.0)
    g = adc.differentiate(cp.inf_in_the_reverse_sweep, debug=True, backend=backend)
    with np.errstate(divide="ignore", invalid="ignore"), \
            pytest.raises(FloatingPointError, match="NaN or Inf in the tangent of .* .forward mode."):
        g.jvp(np.array([0.5, 1.0, 0.2]), tangents=np.ones(3))
    assert g.jvp(np.array([0.5, 0.1, 0.2]), tangents=np.ones(3))[1] == pytest.approx(
        np.sum(1 / np.sqrt(1 - np.array([0.5, 0.1, 0.2]) ** 2)))
