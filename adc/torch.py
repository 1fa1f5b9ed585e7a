"""adc kernels inside PyTorch programs: `adc.torch.function(f)` is a callable on tensors whose forward is f's
compiled primal and whose backward is f's compiled vjp, a `torch.autograd.Function`.

    loss = adc.torch.function(adc.differentiate(biquad_loss, wrt=("b0", "b1", "b2", "a1", "a2")))
    value = loss(*coefficients, x, target)     # coefficients: tensors with requires_grad=True
    value.backward()

CPU tensors cross to numpy without a copy (arrays the function writes into are copied first, so the
caller's tensors stay as they were); float32 and float64 tensors keep their dtype; 0-d tensors and Python
numbers are numbers. A tensor that requires grad but is not in f's `wrt` is refused: its gradient would be
missing silently. `f.batched(...)` works the same way (each element's cotangent is the incoming gradient's
row). The backward is not itself differentiable (`once_differentiable`). PyTorch is imported here, not by
`import adc` (docs/interop.md).
"""
from __future__ import annotations

import numpy as np
import torch
from torch.autograd.function import once_differentiable

from .api import Differentiated, differentiate
from .batching import Batched


def function(f):
    """f (an adc.differentiate'd function, its `.batched(...)`, or a plain function: then wrt is its first
    parameter) as a function of tensors that torch.autograd differentiates."""
    f = f if isinstance(f, (Differentiated, Batched)) else differentiate(f)
    scalar = f.f if isinstance(f, Batched) else f
    names, wrt = scalar.params, set(scalar.wrt)

    def call(*args):
        for i, a in enumerate(args):
            if isinstance(a, torch.Tensor) and a.requires_grad and i not in wrt:
                raise ValueError(f"argument `{names[i]}` requires grad, but {scalar.python.__name__} is differentiated "
                                 f"with respect to {tuple(names[j] for j in scalar.wrt)} only: add it to wrt, or "
                                 "pass it detached")
            if isinstance(a, torch.Tensor) and a.device.type != "cpu":
                raise ValueError(f"argument `{names[i]}` is on {a.device}: adc's kernels run on the CPU, pass "
                                 f"`{names[i]}.cpu()`")
        return _AdcFunction.apply(f, scalar, *args)

    call.__name__ = getattr(scalar.python, "__name__", "adc_function")
    call.__doc__ = scalar.python.__doc__
    return call


def _host(a):
    """A tensor as adc takes it: a number for a 0-d tensor, else a numpy view of it (no copy)."""
    if isinstance(a, torch.Tensor):
        a = a.detach()
        return a.item() if a.ndim == 0 else a.numpy()
    return a


def _written_copied(f, scalar, host: list) -> list:
    """The arrays the function writes into, copied: a tensor's numpy view would carry the writes back."""
    if isinstance(f, Batched):
        return [a.copy() if isinstance(a, np.ndarray) else a for a in host]
    stored = scalar._specialization(tuple(host)).stored_params
    return [a.copy() if i in stored and isinstance(a, np.ndarray) else a for i, a in enumerate(host)]


class _AdcFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, f, scalar, *args):
        value = f(*_written_copied(f, scalar, [_host(a) for a in args]))
        ctx.f, ctx.scalar = f, scalar
        ctx.numbers = [None if isinstance(a, torch.Tensor) else a for a in args]
        ctx.save_for_backward(*[a if isinstance(a, torch.Tensor) else None for a in args])
        values = value if isinstance(value, tuple) else (value,)
        ctx.parts = len(values)
        outs = tuple(torch.as_tensor(np.array(v)) for v in values)  # a copy: a result may be an argument
        return outs if isinstance(value, tuple) else outs[0]

    @staticmethod
    @once_differentiable
    def backward(ctx, *grad_outputs):
        f, scalar = ctx.f, ctx.scalar
        args = [n if t is None else t for t, n in zip(ctx.saved_tensors, ctx.numbers)]
        host = [_host(a) for a in args]
        cotangents = [g.detach().numpy() if g.ndim else g.item() for g in grad_outputs]
        _, grads = f.vjp(*host, cotangent=tuple(cotangents) if ctx.parts > 1 else cotangents[0])
        grads = grads if scalar.wrt_is_tuple else (grads,)
        by_position = dict(zip(scalar.wrt, grads))
        out = []
        for i, a in enumerate(args):
            if i in by_position and isinstance(a, torch.Tensor) and ctx.needs_input_grad[i + 2]:
                out.append(torch.as_tensor(np.asarray(by_position[i]), dtype=a.dtype).reshape(a.shape))
            else:
                out.append(None)
        return (None, None, *out)
