"""Your own derivative rule for a function called from differentiated code, in JAX's spelling:

    @adc.custom_vjp
    def quantise(x, step):
        return step * np.round(x / step)

    def quantise_fwd(x, step):
        return quantise(x, step), ()          # the value, and the residuals the rule reads

    def quantise_bwd(res, g):
        return (g, None)                      # one cotangent per argument (None: none)

    quantise.defvjp(quantise_fwd, quantise_bwd)

fwd and bwd are written in adc's subset: adc inlines fwd where the function is called and bwd where
the reverse sweep reaches the call, so `adjoint_source()` shows the rule. Called outside
differentiated code, the function is itself. A function with a custom rule has no forward mode
(`jvp`, `jacobian(mode="fwd")`), as in JAX: adc refuses it with the line of the call.
"""
from __future__ import annotations

import functools
import inspect

import numpy as np


class CustomVJP:
    """A function with a reverse-mode rule of the user's (module docstring)."""

    def __init__(self, fn):
        self.fn = fn
        self.fwd = self.bwd = None
        functools.update_wrapper(self, fn)

    def defvjp(self, fwd, bwd) -> None:
        """fwd(*args) -> (value, residuals); bwd(residuals, g) -> a tuple of one cotangent (or None) per argument."""
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args, **kwargs):
        return self.fn(*args, **kwargs)


def custom_vjp(fn) -> CustomVJP:
    return CustomVJP(fn)


class CustomJVP:
    """A function with a forward-mode rule of the user's: `f.defjvp(rule)`, `rule(primals, tangents)` returning
    `(value, tangent)`, as in JAX. Forward mode (`jvp`) inlines the rule where the function is called;
    reverse mode refuses the call (JAX transposes the rule; adc asks for a custom_vjp instead)."""

    def __init__(self, fn):
        self.fn = fn
        self.jvp = None
        functools.update_wrapper(self, fn)

    def defjvp(self, jvp) -> None:
        self.jvp = jvp

    def __call__(self, *args, **kwargs):
        return self.fn(*args, **kwargs)


def custom_jvp(fn) -> CustomJVP:
    return CustomJVP(fn)


def check_rule(f, *args, rtol: float = 1e-6, seed: int = 0, h: float = 1e-4) -> dict:
    """Test f's own rule (adc.custom_vjp or adc.custom_jvp) against central differences of f itself, at `args`,
    run as plain Python.

    For a random cotangent g of the value and a random direction v_i of each float argument the rule
    differentiates, the rule's <g, df . v_i> (a custom_vjp's <bwd(res, g)_i, v_i>, a custom_jvp's
    <g, tangent of jvp(args, v_i)>) must equal the derivative of <g, f(..., x_i + t v_i, ...)> at t = 0
    (4-point differences, step h relative to the argument's size) within `rtol`. Checks first the rule's
    structure (a cotangent or None per argument, shaped like it; a (value, tangent) pair). Returns
    {parameter: relative error}; raises AssertionError naming the parameter and both numbers. A rule meant to
    differ from the function's derivative (a straight-through quantiser) fails here by design.
    """
    if isinstance(f, CustomVJP) and f.fwd is not None:
        value, residuals = f.fwd(*args)
        g = _random_like(value, np.random.default_rng(seed))
        cotangents = f.bwd(residuals, g)
        if not isinstance(cotangents, tuple) or len(cotangents) != len(args):
            raise AssertionError(f"the rule of {f.__name__} returns {cotangents!r}: it must return a tuple of "
                                 f"{len(args)} cotangents (or None), one per argument")
        for i, cot in enumerate(cotangents):
            if cot is not None and np.shape(cot) != np.shape(args[i]):
                raise AssertionError(f"the rule of {f.__name__} returns a cotangent of shape {np.shape(cot)} for "
                                     f"argument {i + 1}, whose shape is {np.shape(args[i])}")
        predicted = {i: (lambda v, cot=cot: _real_inner(cot, v)) for i, cot in enumerate(cotangents) if cot is not None}
    elif isinstance(f, CustomJVP) and f.jvp is not None:
        g = _random_like(f.fn(*args), np.random.default_rng(seed))

        def along(i, v):
            tangents = tuple(v if j == i else _zero_like(a) for j, a in enumerate(args))
            produced = f.jvp(tuple(args), tangents)
            if not (isinstance(produced, tuple) and len(produced) == 2):
                raise AssertionError(f"the jvp rule of {f.__name__} returns {produced!r}: it must return (value, tangent)")
            return _real_inner(g, produced[1])
        predicted = {i: (lambda v, i=i: along(i, v)) for i in range(len(args))}
    else:
        raise TypeError("check_rule takes an adc.custom_vjp function after its defvjp(fwd, bwd), or an "
                        "adc.custom_jvp function after its defjvp(rule)")
    names = list(inspect.signature(f.fn).parameters)
    rng = np.random.default_rng(seed + 1)
    errors = {}
    for i, rule in predicted.items():
        arg = args[i]
        if np.asarray(arg).dtype.kind not in "fc":
            continue
        v = _random_like(arg, rng)
        step = h * max(1.0, float(np.max(np.abs(arg), initial=0.0)))

        def moved(t, i=i, v=v):
            shifted = list(args)
            shifted[i] = args[i] + t * v
            return _real_inner(g, f.fn(*shifted))
        with np.errstate(all="ignore"):  # a step out of the function's domain gives nan, reported below
            fd = (8 * (moved(step) - moved(-step)) - (moved(2 * step) - moved(-2 * step))) / (12 * step)
        if not np.isfinite(fd):
            raise AssertionError(f"central differences of {f.__name__} along `{names[i]}` are {fd!r} at these "
                                 f"arguments (steps of {step:.1e} leave its domain?): check further inside it, or "
                                 "pass a smaller h")
        ad = rule(v)
        errors[names[i]] = abs(ad - fd) / max(abs(fd), abs(ad), 1e-300)
        if abs(ad - fd) > rtol * max(abs(fd), 1e-12):
            raise AssertionError(f"the rule of {f.__name__} for `{names[i]}`: it gives {ad!r}, central "
                                 f"differences of {f.__name__} give {fd!r} (relative error {errors[names[i]]:.2e}, "
                                 f"rtol {rtol})")
    return errors


def _zero_like(x):
    return np.zeros_like(x) if isinstance(x, np.ndarray) else type(x)(0)


def _random_like(x, rng):
    x = np.asarray(x)
    v = rng.standard_normal(x.shape)
    if x.dtype.kind == "c":
        v = v + 1j * rng.standard_normal(x.shape)
    return v if x.ndim else v.item()


def _real_inner(a, b) -> float:
    """Re <a, b> = sum Re(conj(a) b): the inner product in which a real loss's gradient is a cotangent."""
    return float(np.sum(np.real(np.conj(np.asarray(a)) * np.asarray(b))))
