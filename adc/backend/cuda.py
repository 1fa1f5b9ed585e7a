"""The CUDA target of `f.batched(..., target="cuda")`: compile an element kernel's device version
(codegen/device.py) with numba.cuda, size its arenas on the host, launch one thread per element.

numba-cuda is an extra (`pip install -e ".[cuda]"`); with `NUMBA_ENABLE_CUDASIM=1` numba's simulator runs
the same kernels on the CPU, which is how the tests check values on a machine without a GPU.
"""
from __future__ import annotations

import numpy as np

from .. import pipeline
from ..codegen.device import DeviceError, device_kernel
from . import compile as backend

THREADS = 128  # per block


def kernel_for(spec, kind: str, mapped: tuple[bool, ...]):
    """(DeviceKernel, module, compiled kernel), kept with the specialisation."""
    key = f"cuda {kind} {''.join('m' if m else 's' for m in mapped)}"
    if key not in spec.kernels:
        if spec.checkpointed and kind == "vjp":
            raise DeviceError("target='cuda' does not run checkpointed loops yet (their schedule is a runtime "
                              "helper): drop adc.checkpoint for the batch, or use target='cpu'", spec.ir.filename,
                              spec.ir.firstlineno)
        if kind in spec.errors:
            raise spec.errors[kind]
        device = device_kernel(pipeline.device_function(spec, kind), spec.ir.filename, spec.ir.firstlineno, mapped)
        module = backend.load_module(f"{spec.ir.name}_{kind}_cuda",
                                     backend.module_text(f"{spec.ir.name} in {spec.ir.filename}, for CUDA",
                                                         [device.text]))
        from numba import cuda
        spec.kernels[key] = (device, module, cuda.jit(getattr(module, f"{device.name}__cuda")))
    return spec.kernels[key]


def launch(call: "Call", timing: dict | None = None) -> None:
    """The element kernel over the batch, one thread per element. `timing`, if given, gets the kernel's own
    seconds ("kernel", by CUDA events)."""
    from numba import cuda
    kernel = kernel_for(call.spec, call.kind, call.mapped)[2]
    start, end = cuda.event(), cuda.event()
    start.record()
    kernel[(call.size + THREADS - 1) // THREADS, THREADS](*call.inputs, *call.buffers)
    end.record()
    end.synchronize()
    if timing is not None:
        timing["kernel"] = start.elapsed_time(end) / 1e3  # milliseconds


def device_function(spec, kind: str, mapped: tuple[bool, ...]):
    """The element's body as a numba.cuda device function `element(*inputs, *buffers, i)` (`Call`'s)."""
    from numba import cuda
    device, module, _ = kernel_for(spec, kind, mapped)
    return cuda.jit(device=True)(getattr(module, f"{device.name}__device"))


class Call:
    """One launch's device arrays: the inputs (batch axis last), then `buffers`, the arenas, the stacked
    results and the status, sized on the host for these arguments; `results()` reads them back as (the
    result's tree with each leaf stacked along a first axis, the first failing element or None).
    `args`: the element kernel's arguments, mapped ones with the batch axis first."""

    def __init__(self, spec, kind: str, args: list, mapped: tuple[bool, ...]):
        from numba import cuda
        if not cuda.is_available():
            raise RuntimeError("target='cuda' found no CUDA GPU (numba.cuda.is_available() is False); set "
                               "NUMBA_ENABLE_CUDASIM=1 before importing numba to run the kernels in numba's simulator")
        self.spec, self.kind, self.args, self.mapped = spec, kind, args, mapped
        self.device, module, _ = kernel_for(spec, kind, mapped)
        device = self.device
        self.size = size = next(len(a) for a, m in zip(args, mapped) if m)
        shapes = _shapes(module, device, args, mapped, size)
        arenas = []
        for dtype in device.arenas:
            words = sum(int(np.prod(s)) for k, (s, d) in enumerate(zip(shapes, device.allocation_dtypes))
                        if d == dtype and k not in device.result_allocations)
            arenas.append(cuda.device_array((max(words, 1), size), dtype))
        self.stacked = [cuda.device_array((tuple(shapes[k]) if k is not None else ()) + (size,), dtype)
                        for (dtype, _), k in zip(device.results, device.result_allocations)]
        self.status = cuda.to_device(np.zeros(size, np.int64))
        self.inputs = [cuda.to_device(_batch_last(a, m)) if isinstance(a, np.ndarray) else a
                       for a, m in zip(args, mapped)]
        self.buffers = arenas + self.stacked + [self.status]

    def results(self):
        codes = self.status.copy_to_host()
        failed = np.flatnonzero(codes)
        for a, m, d in zip(self.args, self.mapped, self.inputs):  # what the elements wrote into their arguments
            if m and isinstance(a, np.ndarray) and a.ndim > 1:
                a[...] = np.moveaxis(d.copy_to_host(), -1, 0)
        leaves = [np.moveaxis(r.copy_to_host(), -1, 0) for r in self.stacked]
        if failed.size and codes[failed[0]] == -2:
            raise RuntimeError(f"element {failed[0]} needed more work memory than adc sized for it on the host: a "
                               "bug in adc's CUDA target (please report it with the function); target='cpu' runs it")
        if failed.size and codes[failed[0]] < 0:
            raise DeviceError(f"element {failed[0]} reaches an element loop over arrays of different shapes (numpy "
                              "broadcasting, or arrays of different lengths in neighbouring statements), which "
                              "target='cuda' cannot run yet: use target='cpu'", self.spec.ir.filename,
                              self.spec.ir.firstlineno)
        return _tree(self.device.tree, leaves), (int(failed[0]) if failed.size else None)


def _batch_last(a: np.ndarray, mapped: bool) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(a, 0, -1) if mapped else a)


def _shapes(module, device, args, mapped, size) -> list[tuple]:
    """The allocations' shapes, the largest over the elements where they depend on a mapped number."""
    sizes = getattr(module, f"{device.name}__sizes")
    per_element = device.sizes_read_values or any(m and np.ndim(a) == 1 for a, m in zip(args, mapped))
    elements = range(size) if per_element else range(1)
    seen = [[tuple(np.atleast_1d(s)) for s in sizes(*[a[b] if m else a for a, m in zip(args, mapped)])]
            for b in elements]
    for k in device.result_allocations:
        if k is not None and any(s[k] != seen[0][k] for s in seen):
            raise DeviceError("target='cuda' stacks results of one shape: the elements' results differ in shape",
                              "<batch>")
    return [max((s[k] for s in seen), key=lambda shape: int(np.prod(shape))) for k in range(len(seen[0]))]


def _tree(tree, leaves):
    return tuple(_tree(t, leaves) for t in tree) if isinstance(tree, tuple) else leaves[tree]


def ptx(spec, kind: str, args: list, mapped: tuple[bool, ...], cc=(8, 0)) -> str:
    """The kernel and the element's device function for these arguments compiled to PTX by the real
    numba.cuda: proves they compile, on a machine with the CUDA toolkit's NVVM and no GPU."""
    import numba
    from numba import cuda
    device, module, _ = kernel_for(spec, kind, mapped)

    def array(dtype: str, ndim: int):
        return numba.types.Array(numba.from_dtype(np.dtype(dtype)), ndim, "C")
    types = [array(a.dtype.name, a.ndim) if isinstance(a, np.ndarray) else numba.typeof(a) for a in args]
    types += [array(d, 2) for d in device.arenas]
    types += [array(dtype, 1 + ndim) for dtype, ndim in device.results]
    types.append(array("int64", 1))
    text, _ = cuda.compile_ptx(getattr(module, f"{device.name}__cuda"), tuple(types), cc=cc)
    element, _ = cuda.compile_ptx(getattr(module, f"{device.name}__device"), tuple(types) + (numba.int64,),
                                  cc=cc, device=True)
    return text + element
