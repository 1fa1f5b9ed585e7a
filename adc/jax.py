"""adc kernels inside JAX programs: `adc.jax.function(f)` is a JAX function whose value is f's compiled
primal and whose reverse-mode derivative is f's compiled vjp, usable under `jax.jit` and `jax.grad`.

    loss = adc.jax.function(adc.differentiate(biquad_loss, wrt=("b", "a")))
    jax.grad(lambda b, a: loss(b, a, x, target) + penalty(b, a), argnums=(0, 1))(b, a)

Each call leaves JAX through `jax.pure_callback` (on the host, with numpy arrays), so XLA cannot fuse
across it; under `jax.vmap` one callback runs the whole batch through `f.batched` (on all cores), and the
gradient of a shared argument is then per element, as `jax.vmap(jax.grad(...))` gives. Arguments are float
arrays or numbers; those outside f's `wrt` get zero cotangents. JAX itself is imported here, not by `import adc`.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from .api import Differentiated, differentiate
from .batching import Batched


def _host(a):
    """A callback's argument as adc takes it: a number for a 0-d array, else a writable copy."""
    a = np.asarray(a)
    return a[()] if a.ndim == 0 else np.array(a)


def _ndims(args) -> tuple:
    return tuple(np.ndim(a) for a in args)


def _batch_dims(values, ndims) -> tuple:
    """Under `jax.vmap` (vmap_method="expand_dims") every argument of a callback arrives with the batch
    dimensions in front, of size 1 where it is not batched: their shape, () outside vmap."""
    k = np.ndim(values[0]) - ndims[0]
    return tuple(np.broadcast_shapes(*[np.shape(v)[:k] for v in values])) if k else ()


def _flattened(a, ndim: int, lead: tuple):
    """An argument broadcast to the batch dimensions and flattened to one batch axis (a view where it can)."""
    a = np.asarray(a)
    rest = a.shape[a.ndim - ndim:]
    return np.broadcast_to(a, lead + rest).reshape((int(np.prod(lead)),) + rest)


def _unbatched(f):
    if isinstance(f, Batched):
        raise ValueError("jax.vmap of an adc.jax.function made from f.batched(...): make it from f itself, and "
                         "vmap batches it with f.batched")
    return f


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

    def primal(ndims, *args):
        lead = _batch_dims(args, ndims)
        if not lead:
            return np.asarray(f(*[_host(a) for a in args]))
        mapped = [np.shape(a)[:len(lead)] != (1,) * len(lead) for a in args]
        flat = [_flattened(a, d, lead) if m else _host(np.reshape(a, np.shape(a)[len(lead):]))
                for a, d, m in zip(args, ndims, mapped)]
        value = _unbatched(f).batched(in_axes=tuple(0 if m else None for m in mapped))(*flat)
        return np.reshape(value, lead + np.shape(value)[1:])

    @jax.custom_vjp
    def call(*args):
        return jax.pure_callback(functools.partial(primal, _ndims(args)), result_spec(args), *args,
                                 vmap_method="expand_dims")

    def call_fwd(*args):
        return call(*args), args

    def call_bwd(args, cotangent):
        wrt = scalar.wrt

        def pullback(ndims, *values):
            *inputs, ct = values
            lead = _batch_dims(values, ndims)
            if not lead:
                _, grads = f.vjp(*[_host(a) for a in inputs], cotangent=_host(ct))
            else:  # every element's own gradients, shared arguments included (as jax.vmap of a gradient gives)
                flat = [_flattened(a, d, lead) for a, d in zip(values, ndims)]
                _, grads = _unbatched(f).batched(in_axes=0).vjp(*flat[:-1], cotangent=flat[-1])
            grads = grads if scalar.wrt_is_tuple else (grads,)
            return tuple(np.reshape(np.asarray(g, dtype=np.asarray(inputs[i]).dtype), lead + np.shape(g)[1:] if lead
                                    else np.shape(g)) for i, g in zip(wrt, grads))
        grads = jax.pure_callback(functools.partial(pullback, _ndims((*args, cotangent))),
                                  tuple(_spec(args[i]) for i in wrt), *args, cotangent, vmap_method="expand_dims")
        by_position = dict(zip(wrt, grads))
        return tuple(by_position[i] if i in by_position else jnp.zeros_like(a) for i, a in enumerate(args))

    call.defvjp(call_fwd, call_bwd)
    return call
