"""Functions with rules of their own (adc.custom_vjp), for tests/test_custom_rules.py: the rules are
written in the subset and inlined, so they live in a module adc can read the source of."""
import numpy as np

import adc


@adc.custom_vjp
def quantise(x, step):
    """Rounding to a grid, with a straight-through gradient."""
    return step * np.round(x / step)


def quantise_fwd(x, step):
    return quantise(x, step), ()


def quantise_bwd(res, g):
    return (g, None)


quantise.defvjp(quantise_fwd, quantise_bwd)


@adc.custom_vjp
def safe_log(x):
    """log, with the gradient clipped where x is tiny."""
    return np.log(x)


def safe_log_fwd(x):
    return np.log(x), x


def safe_log_bwd(x, g):
    return (g / np.maximum(x, 1e-3),)


safe_log.defvjp(safe_log_fwd, safe_log_bwd)


@adc.custom_vjp
def newton_sqrt(a, iterations):
    """sqrt(a) by Newton's iteration: the rule differentiates the fixed point (1 / (2 y)), not the steps."""
    y = a
    for _ in range(iterations):
        y = 0.5 * (y + a / y)
    return y


def newton_sqrt_fwd(a, iterations):
    y = newton_sqrt(a, iterations)
    return y, (y, a)


def newton_sqrt_bwd(res, g):
    y, a = res
    total = 0.0 * g
    for _ in range(2):  # a rule with a loop of its own: half the slope, twice
        total = total + 0.25 * g / y
    return (total, None)


newton_sqrt.defvjp(newton_sqrt_fwd, newton_sqrt_bwd)


@adc.custom_vjp
def no_rule(x):
    return 2.0 * x


@adc.custom_vjp
def wrong_count(x, y):
    return x * y


def _two_fwd(x, y):
    return x * y, (x, y)


def _one_bwd(res, g):
    x, y = res
    return (g * y,)


wrong_count.defvjp(_two_fwd, _one_bwd)


def ste_recurrence(a, x):
    y = 0.0
    loss = 0.0
    for n in range(x.shape[0]):
        y = quantise(a * y + x[n], 0.125)
        loss += y * y
    return loss


def clipped_log_loss(w, x):
    return np.sum(quantise(w * x, 0.25) ** 2) + np.sum(safe_log(x * w * w))


def solver_loss(a):
    return newton_sqrt(a, 30) * a + newton_sqrt(a * a + 1.0, 30)


def calls_without_rule(x):
    return no_rule(x)


def calls_wrong_count(x):
    return wrong_count(x, 2.0)


@adc.custom_jvp
def softplus(x):
    """log(1 + e^x), with the tangent t / (1 + e^-x): finite where the body's own derivative is inf / inf."""
    return np.log1p(np.exp(x))


def softplus_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return softplus(x), t / (1.0 + np.exp(-x))


softplus.defjvp(softplus_jvp)


@adc.custom_jvp
def rounded(x, step):
    """Rounding to a grid, with the straight-through tangent (the identity) in x."""
    return step * np.round(x / step)


def rounded_jvp(primals, tangents):
    x, step = primals
    t, _ = tangents
    return rounded(x, step), t


rounded.defjvp(rounded_jvp)


@adc.custom_jvp
def jvp_without_rule(x):
    return 2.0 * x


@adc.custom_jvp
def jvp_wrong_structure(x):
    return 2.0 * x


def _just_the_tangent(primals, tangents):
    return tangents[0]


jvp_wrong_structure.defjvp(_just_the_tangent)


def softplus_loss(w, x):
    return np.sum(softplus(w * x)) + softplus(w[0])


def softplus_in_a_loop(a, x):
    s = 0.0
    for n in range(x.shape[0]):
        s += softplus(a * x[n]) * x[n]
    return s


def rounded_loss(w, x):
    return np.sum(rounded(w * x, 0.25) ** 2)


def calls_jvp_without_rule(x):
    return jvp_without_rule(x)


def calls_jvp_wrong_structure(x):
    return jvp_wrong_structure(x)
