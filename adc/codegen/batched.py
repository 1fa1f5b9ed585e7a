"""Batched kernels: one generated loop over a batch that calls a specialisation's compiled kernel per element.

The loop is `numba.prange`, so numba spreads the elements over its threads; under the python backend the
same text runs as a plain loop (`numba.prange` is `range` outside compiled code). A gradient with respect
to an argument shared by the whole batch is the sum of every element's own: each of `CHUNKS` fixed chunks
of the batch sums its elements into a row of its own, and the rows are added in order at the end, so
threads never write the same memory and the result does not depend on how many threads ran.
"""
from __future__ import annotations

from dataclasses import dataclass

CHUNKS = 64  # partial sums of shared gradients: enough rows for 64 threads, each the shared argument's size


@dataclass(frozen=True)
class BatchPlan:
    """What one batched kernel loops over: the element kernel's parameter names, which are mapped (sliced
    along their first axis, the batch), and for each kind the extra inputs and outputs it needs."""
    name: str                 # the element kernel's function name (f__vjp); the wrapper is f__vjp__batched
    origin: str               # where the element kernel lives, for the comment that binds it
    params: tuple[str, ...]   # the function's parameters, then the module arrays it reads
    mapped: tuple[bool, ...]  # per parameter
    ndims: tuple[int, ...]    # per parameter, of one element (0: a number)
    results: tuple[tuple[str, int], ...]  # (dtype, ndim) of each part of the result
    kind: str                 # "primal", "vjp" or "jvp"
    seeds: tuple[str, ...] = ()           # vjp: one cotangent per result part; jvp: one tangent per wrt
    wrt: tuple[int, ...] = ()             # vjp and jvp: the differentiated parameters
    grad_dtypes: tuple[str, ...] = ()     # vjp: the dtype each gradient is accumulated in
    stats: bool = False                   # vjp of a checkpointed function: it fills a statistics array


def batched_source(plan: BatchPlan) -> str:
    """A module body: the binding of the element kernel, then the batched function. Its own names all
    contain `__`, which the user's cannot (the frontend refuses them), so none shadows a parameter."""
    head = (f"import numba\n\n"
            f"# element__kernel: {plan.name} of {plan.origin}, compiled; adc binds it when it loads this module\n"
            f"element__kernel = None")
    return head + "\n\n\n" + {"primal": _primal, "vjp": _vjp, "jvp": _jvp}[plan.kind](plan)


def _signature(plan: BatchPlan) -> str:
    return f"def {plan.name}__batched({', '.join(plan.params + plan.seeds)}):"


def _call(plan: BatchPlan, index: str, seeds_mapped, extra: str = "") -> str:
    """The element kernel called on element `index`."""
    args = [f"{p}[{index}]" if m else p for p, m in zip(plan.params, plan.mapped)]
    args += [f"{s}[{index}]" if m else s for s, m in zip(plan.seeds, seeds_mapped)]
    return f"element__kernel({', '.join(args)}{extra})"


def _batch_size(plan: BatchPlan) -> str:
    first = next(p for p, m in zip(plan.params, plan.mapped) if m)
    return f"    batch__size = {first}.shape[0]"


def _stacked(names, results, first: str) -> list[str]:
    """Allocations for per-element results, shaped as the first element's (`first`: its value or values).
    The first element runs once, before the loop: the function may write into its arguments."""
    lines = []
    for k, (name, (dtype, ndim)) in enumerate(zip(names, results)):
        part = first if len(results) == 1 else f"{first}[{k}]"
        shape = f"(batch__size,) + {part}.shape" if ndim else "batch__size"
        lines.append(f"    {name} = np.empty({shape}, np.{dtype})")
    return lines


def _stores(names, got: str, indent: str = "        ", index: str = "batch__i") -> list[str]:
    return [f"{indent}{name}[{index}] = {got if len(names) == 1 else f'{got}[{k}]'}" for k, name in enumerate(names)]


def _out(names) -> str:
    return names[0] if len(names) == 1 else f"({', '.join(names)},)"


def _primal(plan: BatchPlan) -> str:
    values = [f"value__{k}" for k in range(len(plan.results))]
    lines = [_signature(plan), _batch_size(plan), f"    first__value = {_call(plan, '0', ())}"]
    lines += _stacked(values, plan.results, "first__value") + _stores(values, "first__value", "    ", "0")
    lines += ["    for batch__i in numba.prange(1, batch__size):", f"        got__value = {_call(plan, 'batch__i', ())}"]
    lines += _stores(values, "got__value")
    return "\n".join(lines + [f"    return {_out(values)}"])


def _jvp(plan: BatchPlan) -> str:
    seeds_mapped = tuple(plan.mapped[i] for i in plan.wrt)
    values = [f"value__{k}" for k in range(len(plan.results))]
    tangents = [f"tangent__{k}" for k in range(len(plan.results))]
    lines = [_signature(plan), _batch_size(plan),
             f"    first__value, first__tangent = {_call(plan, '0', seeds_mapped)}"]
    lines += _stacked(values, plan.results, "first__value") + _stacked(tangents, plan.results, "first__tangent")
    lines += _stores(values, "first__value", "    ", "0") + _stores(tangents, "first__tangent", "    ", "0")
    lines += ["    for batch__i in numba.prange(1, batch__size):",
              f"        got__value, got__tangent = {_call(plan, 'batch__i', seeds_mapped)}"]
    lines += _stores(values, "got__value") + _stores(tangents, "got__tangent")
    return "\n".join(lines + [f"    return {_out(values)}, {_out(tangents)}"])


def _vjp(plan: BatchPlan) -> str:
    """Values shaped as their cotangents; mapped gradients one row per element, shared ones summed by chunk."""
    values = [f"value__{k}" for k in range(len(plan.results))]
    lines = [_signature(plan), _batch_size(plan), f"    batch__chunks = min(batch__size, {CHUNKS})"]
    lines += [f"    {v} = np.empty({s}.shape, np.{dtype})" for v, s, (dtype, _) in zip(values, plan.seeds, plan.results)]
    stores, sums = [], []
    for k, (i, dtype) in enumerate(zip(plan.wrt, plan.grad_dtypes)):
        p = plan.params[i]
        if plan.mapped[i]:
            lines.append(f"    {p}__grad = np.empty({p}.shape, np.{dtype})")
            stores.append(f"            {p}__grad[batch__i] = got__grads[{k}]")
            sums.append(f"{p}__grad")
        else:  # a row of partial sums per chunk
            rows = f"(batch__chunks,) + {p}.shape" if plan.ndims[i] else "batch__chunks"
            lines.append(f"    {p}__grad = np.zeros({rows}, np.{dtype})")
            stores.append(f"            {p}__grad[chunk__c] += got__grads[{k}]")
            sums.append(f"{p}__grad.sum(axis=0)" if plan.ndims[i] else f"{p}__grad.sum()")
    call = _call(plan, "batch__i", (True,) * len(plan.seeds), ", np.zeros(4, np.int64)" if plan.stats else "")
    lines += ["    for chunk__c in numba.prange(batch__chunks):",
              "        for batch__i in range(chunk__c * batch__size // batch__chunks, "
              "(chunk__c + 1) * batch__size // batch__chunks):",
              f"            got__value, got__grads = {call}"]
    lines += _stores(values, "got__value", "            ") + stores
    return "\n".join(lines + [f"    return {_out(values)}, ({', '.join(sums)},)"])
