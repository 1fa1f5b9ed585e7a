"""adc kernels inside JAX programs: `adc.jax.function(f)` is a JAX function whose value is f's compiled
primal and whose reverse-mode derivative is f's compiled vjp, usable under `jax.jit` and `jax.grad`.

    loss = adc.jax.function(adc.differentiate(biquad_loss, wrt=("b", "a")))
    jax.grad(lambda b, a: loss(b, a, x, target) + penalty(b, a), argnums=(0, 1))(b, a)

Each call leaves JAX through `jax.pure_callback` (on the host, with numpy arrays), so XLA cannot fuse
across it, and batching (`vmap`) runs the callback once per element. Arguments are float arrays or
numbers; those outside f's `wrt` get zero cotangents. JAX itself is imported here, not by `import adc`.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .api import Differentiated, differentiate
from .batching import Batched


def _host(a):
    """A callback's argument as adc takes it: a number for a 0-d array, else a writable copy."""
    a = np.asarray(a)
    return a[()] if a.ndim == 0 else np.array(a)


def _spec(x):
    return jax.ShapeDtypeStruct(np.shape(x), jnp.result_type(x))


def function(f, out_shape=None):
    """f (an adc.differentiate'd function, its `.batched(...)`, or a plain function: then wrt is its first
    parameter) as a JAX function. out_shape: a jax.ShapeDtypeStruct (or a tuple of them) for the result; by
    default f returns one number of its arguments' float dtype (a batched f: one per element)."""
    f = f if isinstance(f, (Differentiated, Batched)) else differentiate(f)
    scalar = f.f if isinstance(f, Batched) else f

    def result_spec(args):
        if out_shape is not None:
            return out_shape
        dtype = jnp.result_type(*[jnp.asarray(a).dtype for a in args], jnp.float32)
        if isinstance(f, Batched):  # one number per element, stacked
            axis, arg = next((axis, a) for axis, a in zip(f.in_axes, args) if axis is not None)
            return jax.ShapeDtypeStruct((np.shape(arg)[axis],), dtype)
        return jax.ShapeDtypeStruct((), dtype)

    def primal(*args):
        return np.asarray(f(*[_host(a) for a in args]))

    @jax.custom_vjp
    def call(*args):
        return jax.pure_callback(primal, result_spec(args), *args)

    def call_fwd(*args):
        return call(*args), args

    def call_bwd(args, cotangent):
        wrt = scalar.wrt

        def pullback(*values):
            *inputs, ct = values
            _, grads = f.vjp(*[_host(a) for a in inputs], cotangent=_host(ct))
            grads = grads if scalar.wrt_is_tuple else (grads,)
            return tuple(np.asarray(g, dtype=np.asarray(inputs[i]).dtype) for i, g in zip(wrt, grads))
        grads = jax.pure_callback(pullback, tuple(_spec(args[i]) for i in wrt), *args, cotangent)
        by_position = dict(zip(wrt, grads))
        return tuple(by_position[i] if i in by_position else jnp.zeros_like(a) for i, a in enumerate(args))

    call.defvjp(call_fwd, call_bwd)
    return call
