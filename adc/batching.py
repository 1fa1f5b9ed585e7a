"""`f.batched(in_axes=...)`: a differentiated function over a batch of independent inputs, in `jax.vmap`'s
convention, on all cores (a `numba.prange` loop over the elements, adc/codegen/batched.py) and over the
chunks of `dask.array` inputs.

`grad` is the gradient of the sum of the per-element results: a mapped argument gets each element's own
gradient, a shared one (`in_axes` None) the sum over the batch, as `jax.grad` of
`lambda *a: jax.vmap(f, in_axes)(*a).sum()` gives. docs/batching.md.
"""
from __future__ import annotations

import importlib.util
import inspect
import threading

import numba
import numpy as np

from .api import check_cotangent_kind
from .backend import compile as backend
from .codegen.batched import BatchPlan, batched_source
from .errors import api_boundary
from .ir.core import is_array

TARGETS = ("cpu", "cuda")


class Batched:
    """The batched primal and derivatives of one differentiated function (`Differentiated.batched`)."""

    def __init__(self, f, in_axes=0, target: str = "cpu"):
        if target not in TARGETS:
            raise ValueError(f"unknown target {target!r}: use 'cpu' or 'cuda'")
        if target == "cuda" and importlib.util.find_spec("numba_cuda") is None:
            raise ImportError("target='cuda' needs numba-cuda: pip install -e '.[cuda]' (without a GPU, set "
                              "NUMBA_ENABLE_CUDASIM=1 to run the kernels in numba's simulator)")
        self.f, self.target = f, target
        self.cuda_timing: dict = {}  # target='cuda': the last kernel's own seconds ("kernel"), for benchmarks
        self.in_axes = _normalized_axes(in_axes, f.params)

    def __reduce__(self):  # the function by reference (Differentiated.__reduce__): Dask ships it to workers
        return Batched, (self.f, self.in_axes, self.target)

    def __repr__(self) -> str:
        return f"<adc batched {self.f.python.__name__} in_axes={self.in_axes} target={self.target}>"

    # -- the calls ---------------------------------------------------------------------
    @api_boundary
    def __call__(self, *args, **kwargs):
        batch = self._batch(args, kwargs)
        spec = self.f._specialization(batch.element)
        if batch.dask:
            self._check_shared_unwritten(spec)
            return _dask_call(self, spec, "primal", batch, ())
        return self._run(spec, "primal", batch.kernel_args(spec), ())

    @api_boundary
    def value_and_grad(self, *args, **kwargs):
        """(the per-element values, the gradient of their sum)."""
        batch = self._batch(args, kwargs)
        spec = self.f._differentiable_specialization(batch.element)
        if not spec.real_scalar_result:
            self.f._check_real_scalar_result(spec, "grad")
        return self._vjp(spec, batch, (np.ones(batch.size, spec.ir.returned[0].type.dtype),))

    @api_boundary
    def grad(self, *args, **kwargs):
        return self.value_and_grad(*args, **kwargs)[1]

    @api_boundary
    def vjp(self, *args, cotangent, **kwargs):
        """(per-element values, cotangent-weighted gradient): `cotangent` holds one cotangent per element,
        stacked along a first axis (a tuple of such for a tuple result)."""
        batch = self._batch(args, kwargs)
        spec = self.f._differentiable_specialization(batch.element)
        returned = spec.ir.returned
        cotangents = tuple(cotangent) if len(returned) > 1 else (cotangent,)
        if len(cotangents) != len(returned):
            raise ValueError(f"the result has {len(returned)} parts; give one batch of cotangents for each")
        seeds = []
        for r, ct in zip(returned, cotangents):
            check_cotangent_kind(r, ct)
            ct = ct if _is_dask(ct) else np.asarray(ct, dtype=r.type.dtype)
            ndim = r.type.ndim if is_array(r.type) else 0
            if ct.ndim != ndim + 1 or ct.shape[0] != batch.size:
                raise ValueError(f"each cotangent needs a first axis of the batch's {batch.size} elements and then "
                                 f"the result's {ndim} dimensions, got shape {ct.shape}")
            seeds.append(ct)
        return self._vjp(spec, batch, tuple(seeds))

    @api_boundary
    def jvp(self, *args, tangents, **kwargs):
        """(per-element values, per-element tangents of the result): a mapped argument's tangent is mapped as
        the argument is, a shared one's is shared."""
        batch = self._batch(args, kwargs)
        spec = self.f._differentiable_specialization(batch.element)
        tangents = tuple(tangents) if self.f.wrt_is_tuple else (tangents,)
        if len(tangents) != len(self.f.wrt):
            raise ValueError(f"give one tangent per wrt argument ({len(self.f.wrt)}), got {len(tangents)}")
        checked = []
        for i, t in zip(self.f.wrt, tangents):
            arg, axis = batch.args[i], self.in_axes[i]
            if _is_dask(t):
                checked.append(_moveaxis(t, axis) if axis is not None else np.asarray(t))
                continue
            t = np.asarray(t, dtype=dtype_of(arg))
            if t.shape != np.shape(arg):
                raise ValueError(f"the tangent of `{self.f.params[i]}` has shape {t.shape}, the argument "
                                 f"{np.shape(arg)}")
            if i in spec.stored_params:  # the kernel updates a written argument's tangent in place: not the caller's
                t = t.copy()
            checked.append(np.moveaxis(t, axis, 0) if axis is not None else (t if t.ndim else t.item()))
        if batch.dask or any(map(_is_dask, checked)):
            self._check_shared_unwritten(spec)
            return _dask_call(self, spec, "jvp", batch, tuple(checked))
        return self._run(spec, "jvp", batch.kernel_args(spec, copy_written=True), tuple(checked))

    def _vjp(self, spec, batch, seeds):
        if batch.dask or any(map(_is_dask, seeds)):
            self._check_shared_unwritten(spec)
            return _dask_call(self, spec, "vjp", batch, seeds)
        value, grads = self._run(spec, "vjp", batch.kernel_args(spec, copy_written=True), seeds)
        return value, self._gradients(grads, batch)

    def _gradients(self, grads, batch):
        """Each gradient shaped and typed as its argument, a mapped one with its batch axis back in place."""
        out = []
        for g, i in zip(grads, self.f.wrt):
            axis, arg = self.in_axes[i], batch.args[i]
            if axis is None:
                out.append(self.f._as_argument_type(g, arg))
            else:
                out.append(np.moveaxis(self.f._as_argument_type(g, np.asarray(arg)), 0, axis))
        return tuple(out) if self.f.wrt_is_tuple else out[0]

    @api_boundary
    def batched_source(self, kind: str = "vjp") -> str:
        """The generated batched function ("primal", "vjp" or "jvp") for the signature called last."""
        if kind not in ("primal", "vjp", "jvp"):
            raise ValueError(f"unknown kind {kind!r}: use 'primal', 'vjp' or 'jvp'")
        return batched_source(self._plan(self.f._inspected(), kind)).split("\n\n\n", 1)[1] + "\n"

    @api_boundary
    def cuda_source(self, kind: str = "vjp") -> str:
        """The generated CUDA kernel ("primal", "vjp" or "jvp") and its host-side sizes function, for the
        signature called last (target='cuda')."""
        if kind not in ("primal", "vjp", "jvp"):
            raise ValueError(f"unknown kind {kind!r}: use 'primal', 'vjp' or 'jvp'")
        from .backend import cuda
        spec = self.f._inspected()
        seeds = len(spec.ir.returned) if kind == "vjp" else len(self.f.wrt) if kind == "jvp" else 0
        mapped = tuple(self._mapped(spec)) + self._seeds_mapped(kind, range(seeds))
        return cuda.kernel_for(spec, kind, mapped)[0].text

    # -- kernels -----------------------------------------------------------------------
    def _check_shared_unwritten(self, spec) -> None:
        for i in spec.stored_params:
            if self.in_axes[i] is None:
                raise ValueError(f"{self.f.python.__name__} writes into `{self.f.params[i]}`, which in_axes shares "
                                 "across the batch: every element would write the same array at once. Map it "
                                 f"(give `{self.f.params[i]}` a batch axis) or copy it inside the function")

    def _run(self, spec, kind: str, args, seeds):
        self._check_shared_unwritten(spec)
        if self.target == "cuda":
            return self._run_cuda(spec, kind, args, seeds)
        kernel = self._kernel(spec, kind)
        try:
            if spec.backend == "python" or _threadsafe_layer():
                return kernel(*args, *seeds)
            with _ONE_AT_A_TIME:
                return kernel(*args, *seeds)
        except Exception:
            # numba's threads lose the message of an exception raised in an element (a bounds check, a shape
            # mismatch): the elements run again one by one, and the first that raises says what happened
            self._element_by_element(spec, kind, args, seeds)
            raise

    def _run_cuda(self, spec, kind: str, args, seeds):
        """One element per GPU thread (backend/cuda.py); shared gradients are the sum of the elements' rows."""
        from .backend import cuda
        call = self._cuda_call(spec, kind, args, seeds)
        cuda.launch(call, self.cuda_timing)
        return self._cuda_results(call, args, seeds)

    def _cuda_call(self, spec, kind: str, args, seeds):
        from .backend import cuda
        mapped = tuple(self._mapped(spec)) + self._seeds_mapped(kind, seeds)
        return cuda.Call(spec, kind, list(args) + list(seeds), mapped)

    def _cuda_results(self, call, args, seeds):
        out, failed = call.results()
        spec, kind = call.spec, call.kind
        if failed is not None:  # the device stored which check failed; the CPU says where
            self._element_by_element(spec, kind, args, seeds, elements=[failed])
            from .codegen.device import DeviceError  # the CPU passed: arrays that broadcast, which the device refuses
            raise DeviceError(f"element {failed} combines arrays of different shapes (numpy broadcasting), which "
                              "target='cuda' cannot run yet: use target='cpu'", spec.ir.filename, spec.ir.firstlineno)
        if kind != "vjp":
            return out
        value, grads = out
        return value, tuple(g if call.mapped[i] else g.sum(axis=0) for g, i in zip(grads, spec.wrt))

    @api_boundary
    def cuda_device(self, *args, kind: str = "vjp", seeds=(), **kwargs):
        """For a kernel of your own (target='cuda'): (element, arguments, collect). `element` is a numba.cuda
        device function, `element(*arguments, i)` runs batch element i as this target's kernel does;
        `arguments` are the device arrays to pass it, sized for these call arguments (the inputs with their
        batch axis last, then work arrays, results and a status per element); `collect()` reads back what
        the elements computed, as `vjp` returns it for kind "vjp" (seeds: one cotangent per element, stacked),
        as `__call__` for "primal" and `jvp` for "jvp" (seeds: the tangents)."""
        from .backend import cuda
        if self.target != "cuda":
            raise ValueError("cuda_device is for target='cuda'")
        batch = self._batch(args, kwargs)
        spec = self.f._specialization(batch.element) if kind == "primal" else \
            self.f._differentiable_specialization(batch.element)
        kernel_args = batch.kernel_args(spec, copy_written=kind != "primal")
        seeds = tuple(seeds)
        call = self._cuda_call(spec, kind, kernel_args, seeds)
        element = cuda.device_function(spec, kind, call.mapped)

        def collect():
            out = self._cuda_results(call, kernel_args, seeds)
            return (out[0], self._gradients(out[1], batch)) if kind == "vjp" else out
        return element, tuple(call.inputs) + tuple(call.buffers), collect

    def _seeds_mapped(self, kind: str, seeds) -> tuple[bool, ...]:
        return {"primal": (), "vjp": (True,) * len(seeds),
                "jvp": tuple(self.in_axes[i] is not None for i in self.f.wrt)}[kind]

    def _element_by_element(self, spec, kind: str, args, seeds, elements=None) -> None:
        element = spec.kernel(kind)
        mapped = self._mapped(spec)
        seeds_mapped = self._seeds_mapped(kind, seeds)
        stats = (np.zeros(4, np.int64),) if kind == "vjp" and spec.checkpointed else ()
        for b in elements if elements is not None else range(next(len(a) for a, m in zip(args, mapped) if m)):
            element(*[a[b] if m else a for a, m in zip(args, mapped)],
                    *[s[b] if m else s for s, m in zip(seeds, seeds_mapped)], *stats)

    def _mapped(self, spec) -> list[bool]:
        hidden = len(spec.ir.params) - len(self.f.params)
        return [axis is not None for axis in self.in_axes] + [False] * hidden

    def _kernel(self, spec, kind: str):
        """Kept with the specialisation, so every Batched of the function (one per Dask task on a worker) reuses it."""
        key = f"{kind} batched {''.join('m' if m else 's' for m in self._mapped(spec))}"
        if key in spec.kernels:
            return spec.kernels[key]
        element = spec.kernel(kind)
        plan = self._plan(spec, kind)
        text = backend.module_text(f"{spec.ir.name} in {spec.ir.filename}, batched", [batched_source(plan)])
        module = backend.load_module(f"{spec.ir.name}_{kind}_batched", text)
        module.element__kernel = element  # a python-backend element runs as Python, a numba one is inlined
        kernel = backend.jit(getattr(module, f"{plan.name}__batched"), spec.backend, f"{kind} batched", spec.times,
                             parallel=True)
        spec.kernels[key] = kernel
        return kernel

    def _plan(self, spec, kind: str) -> BatchPlan:
        names = tuple(inspect.signature(spec.python[kind]).parameters)
        n = len(spec.ir.params)
        wrt = tuple(spec.wrt) if kind != "primal" else ()
        results = tuple((r.type.dtype, r.type.ndim if is_array(r.type) else 0) for r in spec.ir.returned)
        seeds = names[n:n + len(spec.ir.returned)] if kind == "vjp" else names[n:n + len(wrt)] if kind == "jvp" else ()
        grad_dtypes = tuple(np.result_type(spec.ir.params[i].type.dtype, np.float64).name for i in wrt)
        return BatchPlan(name=spec.python[kind].__name__, origin=spec.python[kind].__module__, params=names[:n],
                         mapped=tuple(self._mapped(spec)),
                         ndims=tuple(p.type.ndim if is_array(p.type) else 0 for p in spec.ir.params),
                         results=results, kind=kind, seeds=seeds, wrt=wrt, grad_dtypes=grad_dtypes,
                         stats=kind == "vjp" and spec.checkpointed)

    # -- arguments ---------------------------------------------------------------------
    def _batch(self, args, kwargs) -> "_Batch":
        args = self.f._arguments(args, kwargs)
        size, moved, dask = None, [], False
        for name, arg, axis in zip(self.f.params, args, self.in_axes):
            if axis is None:
                moved.append(np.asarray(arg) if _is_dask(arg) else arg)
                continue
            if _is_dask(arg):
                dask = True
            elif not isinstance(arg, np.ndarray):
                raise TypeError(f"in_axes maps `{name}` along axis {axis}, but it is a {type(arg).__name__}: pass "
                                "an array with a batch axis, or give it in_axes None to share it")
            if not -arg.ndim <= axis < arg.ndim:
                raise ValueError(f"in_axes maps `{name}` along axis {axis}, but it has {arg.ndim} dimensions")
            arg = _moveaxis(arg, axis)
            if size is not None and arg.shape[0] != size:
                raise ValueError(f"the mapped arguments disagree on the batch size: `{name}` has {arg.shape[0]} "
                                 f"elements along axis {axis}, the ones before it {size}")
            size = arg.shape[0]
            moved.append(arg)
        if size == 0:
            raise ValueError("the batch is empty: every mapped argument has 0 elements along its batch axis")
        return _Batch(self, tuple(args), moved, size, dask)


class _Batch:
    """The arguments of one batched call: as given, with batch axes first, and one element's for typing."""

    def __init__(self, batched: Batched, args, moved, size: int, dask: bool):
        self.batched, self.args, self.moved, self.size, self.dask = batched, args, moved, size, dask
        self.element = tuple(_element(a) if axis is not None else a for a, axis in zip(moved, batched.in_axes))

    def kernel_args(self, spec, copy_written: bool = False) -> list:
        """The batched kernel's arguments; derivatives work on copies of the arrays the function writes."""
        args = list(self.moved)
        f = self.batched.f
        if copy_written and spec.stored_params:
            f._check_no_aliasing(spec, args)
            for i in spec.stored_params:
                args[i] = args[i].copy()
        return f._with_hidden(spec, tuple(args))


def _element(batch_array):
    """One element of a batch (batch axis first) with the type the kernel sees: an array, or a numpy scalar."""
    if _is_dask(batch_array):
        return np.zeros(batch_array.shape[1:], batch_array.dtype)[()]
    return batch_array[0]


def _moveaxis(arg, axis: int):
    if _is_dask(arg):
        import dask.array as da
        return da.moveaxis(arg, axis, 0)
    return np.moveaxis(arg, axis, 0)


_ONE_AT_A_TIME = threading.Lock()


def _threadsafe_layer() -> bool:
    """numba's `workqueue` threading layer (where neither OpenMP nor TBB is installed) aborts the process when
    two threads launch parallel kernels at once, as Dask's threaded scheduler does: calls then take turns."""
    try:
        return numba.threading_layer() != "workqueue"
    except ValueError:  # no parallel kernel has run yet, so none is chosen
        return False


def _normalized_axes(in_axes, params) -> tuple:
    axes = tuple(in_axes) if isinstance(in_axes, (tuple, list)) else (in_axes,) * len(params)
    if len(axes) != len(params):
        raise ValueError(f"in_axes has {len(axes)} entries for {len(params)} parameters {tuple(params)}: give "
                         "one per parameter (None for a shared one), or one int for all")
    for axis in axes:
        if axis is not None and (isinstance(axis, bool) or not isinstance(axis, (int, np.integer))):
            raise TypeError(f"in_axes entries are an axis (an int) or None, got {axis!r}")
    if all(axis is None for axis in axes):
        raise ValueError("in_axes maps no argument: give at least one argument a batch axis")
    return tuple(None if a is None else int(a) for a in axes)


def dtype_of(arg) -> np.dtype:
    return arg.dtype if hasattr(arg, "dtype") else np.result_type(arg)


def _is_dask(x) -> bool:
    return type(x).__module__.startswith("dask.")


def _dask_call(batched: Batched, spec, kind: str, batch: _Batch, seeds):
    from .dask_chunks import map_chunks
    return map_chunks(batched, spec, kind, batch, seeds)
