"""adc.custom_vjp ([9/10]): the user's own reverse-mode rule, in JAX's spelling, inlined where the
reverse sweep reaches the call; checked against closed forms (straight-through, clipped), against
finite differences (a rule that is the true derivative of an iterative solver), and second order."""
import math

import custom_rule_programs as prog
import numpy as np
import pytest

import adc

from checks import assert_grad_matches_fd

X = np.array([0.3, 0.7, 1.1, -0.4, 0.05])


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_straight_through_and_clipped_rules_give_their_closed_form(backend):
    f = adc.differentiate(prog.clipped_log_loss, wrt="w", backend=backend)
    x, w = np.abs(X), 0.9
    assert f(w, x) == pytest.approx(prog.clipped_log_loss(w, x), rel=1e-13)
    y = 0.25 * np.round(w * x / 0.25)
    expected = np.sum(2 * y * x) + np.sum(2 * w * x / np.maximum(x * w * w, 1e-3))
    assert f.grad(w, x) == pytest.approx(expected, rel=1e-13)
    assert "the rule of quantise (adc.custom_vjp)" in f.adjoint_source()


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_a_rule_inside_a_recurrence(backend):
    """y_n = Q(a y_{n-1} + x_n) with a straight-through Q: dy_n/da = y_{n-1} + a dy_{n-1}/da."""
    f = adc.differentiate(prog.ste_recurrence, wrt="a", backend=backend)
    a = 0.8
    y, slope, expected = 0.0, 0.0, 0.0
    for xn in X:
        slope = y + a * slope
        y = 0.125 * np.round((a * y + xn) / 0.125)
        expected += 2 * y * slope
    value, grad = f.value_and_grad(a, X)
    assert value == pytest.approx(prog.ste_recurrence(a, X), rel=1e-13)
    assert grad == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_a_solver_with_the_implicit_rule_matches_differences(backend):
    """The rule (with residuals in a tuple, and a loop of its own) is the true derivative of sqrt."""
    f = adc.differentiate(prog.solver_loss, wrt="a", backend=backend)
    a = 1.7
    expected = math.sqrt(a) + a / (2 * math.sqrt(a)) + a / math.sqrt(a * a + 1.0)
    assert f.grad(a) == pytest.approx(expected, rel=1e-12)
    assert_grad_matches_fd(prog.solver_loss, (a,), [0], [f.grad(a)], rtol=1e-8)
    # second order: forward mode over the generated adjoint differentiates the rule as written
    d2 = (0.5 / math.sqrt(a) - 0.25 / a ** 1.5 * a + 0.5 / math.sqrt(a)) + (1.0 / math.sqrt(a * a + 1) - a * a / (a * a + 1) ** 1.5)
    gradient, curvature = f.hvp(a, tangents=1.0)
    assert (gradient, curvature) == (pytest.approx(expected, rel=1e-12), pytest.approx(d2, rel=1e-9))


def test_outside_differentiated_code_the_function_is_itself():
    assert prog.quantise(0.3, 0.25) == 0.25
    assert prog.newton_sqrt(2.0, 30) == pytest.approx(math.sqrt(2.0), rel=1e-15)


def test_forward_mode_is_refused_with_the_line_of_the_call():
    f = adc.differentiate(prog.clipped_log_loss, wrt="w", backend="python")
    with pytest.raises(adc.CompileError, match="custom reverse-mode rule") as info:
        f.jvp(0.9, np.abs(X), tangents=1.0)
    assert info.value.filename == prog.__file__
    assert info.value.lineno == prog.clipped_log_loss.__code__.co_firstlineno + 1


@pytest.mark.parametrize("fn, message", [
    (prog.calls_without_rule, r"no_rule.defvjp\(fwd, bwd\)"),
    (prog.calls_wrong_count, "returns 1 cotangent"),
])
def test_a_rule_that_is_missing_or_malformed_is_refused_with_the_line(fn, message):
    f = adc.differentiate(fn, wrt="x", backend="python")
    with pytest.raises(adc.CompileError, match=message) as info:
        f.grad(1.5)
    assert (info.value.filename, info.value.lineno) == (prog.__file__, fn.__code__.co_firstlineno + 1)


def test_check_rule_passes_exact_rules_and_names_the_wrong_ones():
    """adc.check_rule compares a rule with central differences of the function, as plain Python."""
    from custom_rule_programs import newton_sqrt, quantise, safe_log, wrong_count
    errors = adc.check_rule(newton_sqrt, 2.0, 30)  # the fixed-point rule is the derivative of sqrt
    assert set(errors) == {"a"} and errors["a"] < 1e-8
    assert adc.check_rule(safe_log, np.array([0.5, 2.0, 3.0]))["x"] < 1e-8  # unclipped away from 0
    with pytest.raises(AssertionError, match=r"the rule of safe_log for `x`: it gives .*central differences "
                                             r"of safe_log give"):
        adc.check_rule(safe_log, np.array([1e-5, 2.0]), h=1e-8)  # clipped: not the derivative, by design
    with pytest.raises(AssertionError, match=r"central differences of safe_log along `x` are nan at these arguments"):
        adc.check_rule(safe_log, np.array([1e-5, 2.0]))  # the steps cross 0
    with pytest.raises(AssertionError, match=r"the rule of quantise for `x`"):
        adc.check_rule(quantise, np.array([0.3, 0.61]), 0.25)  # straight-through: not the derivative either
    with pytest.raises(AssertionError, match=r"returns .*: it must return a tuple of 2 cotangents"):
        adc.check_rule(wrong_count, 1.0, 2.0)
    with pytest.raises(TypeError, match=r"check_rule takes an adc.custom_vjp function"):
        adc.check_rule(np.sin, 1.0)


# -- adc.custom_jvp: forward-mode rules -----------------------------------------------------------------
def test_a_custom_jvp_rule_is_what_forward_mode_uses(backend):
    """softplus's rule is exact (against central differences of the plain function, and in a loop); where
    the body's own derivative is inf / inf (x = 800) the rule's is finite; rounding's straight-through rule
    gives the identity where the true derivative is 0."""
    from custom_rule_programs import rounded_loss, softplus_in_a_loop, softplus_loss

    from checks import directional_fd
    rng = np.random.default_rng(4)
    w, x = rng.standard_normal(5), rng.standard_normal(5)
    v = rng.standard_normal(5)
    f = adc.differentiate(softplus_loss, wrt="w", backend=backend)
    value, tangent = f.jvp(w, x, tangents=v)
    assert value == pytest.approx(softplus_loss(w, x), rel=1e-13)
    assert tangent == pytest.approx(directional_fd(softplus_loss, (w, x), [0], [v]), rel=1e-8)
    assert "# the rule of softplus (adc.custom_jvp)" in f.tangent_source()
    g = adc.differentiate(softplus_in_a_loop, wrt="a", backend=backend)
    assert g.jvp(0.7, x, tangents=1.0)[1] == pytest.approx(directional_fd(softplus_in_a_loop, (0.7, x), [0], [1.0]),
                                                            rel=1e-8)
    with np.errstate(over="ignore"):
        _, far = f.jvp(np.array([800.0, 1.0]), np.array([1.0, -900.0]), tangents=np.array([1.0, 0.0]))
    assert far == pytest.approx(2.0, rel=1e-12)  # d/dw0 of softplus(800 w0) at w0 = 1 is 1 * 1, twice (w[0] term)
    h = adc.differentiate(rounded_loss, wrt="w", backend=backend)
    w, x = np.array([0.3, 0.61]), np.array([1.0, 2.0])
    expect = np.sum(2 * 0.25 * np.round(w * x / 0.25) * x * v[:2])  # the identity in place of round's 0
    assert h.jvp(w, x, tangents=v[:2])[1] == pytest.approx(expect, rel=1e-13)


def test_what_a_custom_jvp_cannot_do_is_refused_at_the_call(backend):
    from custom_rule_programs import calls_jvp_without_rule, calls_jvp_wrong_structure, softplus_loss
    f = adc.differentiate(softplus_loss, wrt="w", backend=backend)
    w, x = np.ones(3), np.ones(3)
    for call in (f.grad, lambda *a: f.vjp(*a, cotangent=1.0), lambda *a: f.hvp(*a, tangents=np.ones(3))):
        with pytest.raises(adc.CompileError, match=r"`softplus` has a custom forward-mode rule \(adc.custom_jvp\) and no "
                                                   r"reverse mode: give it a reverse-mode rule too") as info:
            call(w, x)
        assert info.value.filename.endswith("custom_rule_programs.py") and info.value.lineno > 0
    with pytest.raises(adc.CompileError, match=r"call jvp once per direction instead of jacobian\(mode='fwd'\)"):
        f.jacobian(w, x, mode="fwd")
    with pytest.raises(adc.CompileError, match=r"`jvp_without_rule` is an adc.custom_jvp function without a rule: call "
                                               r"jvp_without_rule.defjvp\(rule\)"):
        adc.differentiate(calls_jvp_without_rule, backend=backend).jvp(1.0, tangents=1.0)
    with pytest.raises(adc.CompileError, match=r"the jvp rule of `jvp_wrong_structure` must return \(value, tangent\)"):
        adc.differentiate(calls_jvp_wrong_structure, backend=backend).jvp(1.0, tangents=1.0)


def test_check_rule_takes_custom_jvp_rules():
    from custom_rule_programs import rounded, softplus
    assert adc.check_rule(softplus, np.array([-3.0, 0.5, 2.0]))["x"] < 1e-8
    with pytest.raises(AssertionError, match=r"the rule of rounded for `x`"):
        adc.check_rule(rounded, np.array([0.3, 0.61]), 0.25)
