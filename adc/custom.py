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
