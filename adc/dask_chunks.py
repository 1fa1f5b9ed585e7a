"""Batched calls on `dask.array` inputs: the batched kernel mapped over the chunks of the batch axis.

Each chunk of the mapped arguments (chunked along the batch axis, whole along the others) is one task
that runs the CPU-batched kernel on that chunk; a shared gradient is the sum of the chunks' partial sums,
added by Dask's own tree reduction (`da.sum` with `split_every`). The results are lazy dask arrays, as
Dask's own functions return: `dask.compute(...)` runs them, on a `dask.distributed` cluster when a Client
is active. Workers import the differentiated function by name (`Differentiated.__reduce__`), so it must be
defined at module level in a module they can import. `dask[array,distributed]` is an extra (docs/batching.md).
"""
from __future__ import annotations

import numpy as np

from .ir.core import is_array

SPLIT_EVERY = 8  # partial sums added per task of the tree reduction


def map_chunks(batched, spec, kind: str, batch, seeds):
    import dask
    import dask.array as da

    from .batching import Batched, dtype_of

    f, axes = batched.f, batched.in_axes
    mapped_seeds = _mapped_seeds(batched, kind, seeds)
    candidates = [a for a, axis in zip(batch.moved, axes) if axis is not None] + \
        [s for s, m in zip(seeds, mapped_seeds) if m]
    chunks = next(a for a in candidates if _is_dask(a)).chunks[0]  # along the batch axis

    def pieces(a):
        """The chunks of a mapped array (batch axis first) along the batch axis, each whole otherwise."""
        a = a if _is_dask(a) else da.from_array(a)
        a = a.rechunk((chunks,) + tuple(-1 for _ in a.shape[1:]))
        return list(a.to_delayed().ravel())

    shapes = _result_shapes(batched, spec, kind, batch, seeds)
    args = [pieces(a) if axis is not None else dask.delayed(a) for a, axis in zip(batch.moved, axes)]
    seeds = [pieces(s) if m else dask.delayed(s) for s, m in zip(seeds, mapped_seeds)]
    inner = dask.delayed(Batched(f, tuple(None if a is None else 0 for a in axes), batched.target))
    dtypes = [r.type.dtype for r in spec.ir.returned]
    parts = []
    for j, n in enumerate(chunks):
        chunk_args = [a[j] if isinstance(a, list) else a for a in args]
        chunk_seeds = [s[j] if isinstance(s, list) else s for s in seeds]
        parts.append((n, dask.delayed(_run_chunk, pure=True)(inner, kind, chunk_args, chunk_seeds)))

    def stacked(index, shape, dtype):
        return da.concatenate([da.from_delayed(d[index], (n,) + shape, dtype) for n, d in parts], axis=0)

    values = tuple(stacked(k, s, t) for k, (s, t) in enumerate(zip(shapes, dtypes)))
    value = values if len(values) > 1 else values[0]
    if kind == "primal":
        return value
    if kind == "jvp":
        tangents = tuple(stacked(len(values) + k, s, t) for k, (s, t) in enumerate(zip(shapes, dtypes)))
        return value, tangents if len(tangents) > 1 else tangents[0]
    grads = []
    for k, i in enumerate(f.wrt):
        arg, axis, at = batch.args[i], axes[i], len(values) + k
        dtype = dtype_of(arg)
        if axis is None:
            partial = [da.from_delayed(d[at], np.shape(arg), dtype) for _, d in parts]
            total = da.stack(partial).sum(axis=0, split_every=SPLIT_EVERY)
        else:
            total = da.moveaxis(stacked(at, tuple(batch.moved[i].shape[1:]), dtype), 0, axis)
        grads.append(total)
    return value, tuple(grads) if f.wrt_is_tuple else grads[0]


def _run_chunk(inner, kind: str, args, seeds) -> tuple:
    """One task: the batched call on a chunk, flattened to arrays (values, then tangents or gradients)."""
    if kind == "primal":
        value, rest = inner(*args), ()
    elif kind == "jvp":
        value, rest = inner.jvp(*args, tangents=tuple(seeds) if inner.f.wrt_is_tuple else seeds[0])
    else:
        value, rest = inner.vjp(*args, cotangent=tuple(seeds) if len(seeds) > 1 else seeds[0])
    values = value if isinstance(value, tuple) else (value,)
    rest = rest if isinstance(rest, tuple) else (rest,)
    return tuple(np.asarray(v) for v in (*values, *rest))


def _mapped_seeds(batched, kind: str, seeds) -> list[bool]:
    if kind == "vjp":
        return [True] * len(seeds)
    if kind == "jvp":
        return [batched.in_axes[i] is not None for i in batched.f.wrt]
    return []


def _result_shapes(batched, spec, kind: str, batch, seeds) -> list[tuple]:
    """The shape of one element's result parts: numbers need nothing; arrays are read off the cotangents
    (vjp) or off one element run here (the primal and jvp)."""
    returned = spec.ir.returned
    if not any(is_array(r.type) for r in returned):
        return [()] * len(returned)
    if kind == "vjp":
        return [tuple(s.shape[1:]) for s in seeds]
    first = [np.asarray(a[:1]) if axis is not None else a for a, axis in zip(batch.moved, batched.in_axes)]
    value = batched.f(*[a[0] if axis is not None else a for a, axis in zip(first, batched.in_axes)])
    values = value if isinstance(value, tuple) else (value,)
    return [np.shape(v) for v in values]


def _is_dask(x) -> bool:
    return type(x).__module__.startswith("dask.")
