"""The whole compiler in one place: each stage a function from one structure to the next.

    source --frontend--> SSA IR --analyses--> facts --ad--> derivative code --backend--> kernels
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field

from .ad import rules
from .ad.forward import tangent_function
from .ad.reverse import ReverseBuilder
from .analysis.activity import Activity, analyse_activity
from .analysis.recording import analyse_recording
from .backend import compile as backend
from .backend.python import python_kernel
from .checkpointing import AUTO_SNAPSHOTS
from .codegen import pyir as P
from .codegen.fusion import fuse_elementwise
from .codegen.primal import primal_function
from .codegen.scratch import name_products, reuse_scratch
from .frontend.lower import lower_function
from .ir.bounds import insert_bounds_checks
from .ir.core import STORES, Function, walk
from .ir.dce import eliminate_dead_code
from .ir.printer import format_function
from .ir.shapes import insert_shape_checks
from .ir.verify import verify
from .timing import StageTimes


def reverse_function(ir: Function, wrt: list[int], act: Activity, name: str, debug: bool = False,
                     checkpoint: str | None = None) -> P.FunctionDef:
    """checkpoint: None (the loops the user marked with adc.checkpoint), "auto" (those and every loop of the
    function's body that keeps a tape) or "off" (none: the reverse sweep that second order differentiates)."""
    loops = checkpointed_loops(ir, act, checkpoint)
    return ReverseBuilder(ir, wrt, act, analyse_recording(ir, act, rules.needs, loops), debug).build(name)


def checkpointed_loops(ir: Function, act: Activity, policy: str | None) -> dict[int, int]:
    """id(loop) -> stored states, for the loops of the function's own body that reverse mode checkpoints."""
    if policy == "off":
        return {}
    marked = {id(op): op.attrs["snapshots"] for op in ir.body.ops if "snapshots" in op.attrs}
    if policy != "auto":
        return marked
    rec = analyse_recording(ir, act, rules.needs)
    taped = {id(rec.region_of[v]) for v in rec.taped} | {id(rec.op_region[k]) for k in rec.snapshots}
    for op in ir.body.ops:
        if op.opcode == "for" and id(op) not in marked and any(id(r) in taped for r in _regions_within(op)):
            marked[id(op)] = AUTO_SNAPSHOTS
    return marked


def _regions_within(op):
    for r in op.regions:
        yield r
        for inner in walk(r):
            yield from _regions_within(inner)


# the generated functions of one specialisation: name suffix -> what makes it from (ir, wrt, activity, name, debug)
TRANSFORMS = {
    "vjp": reverse_function,
    "jvp": tangent_function,
    "jvp_vec": functools.partial(tangent_function, vector=True),
}


@dataclass
class Specialization:
    """Everything adc made for one function, one argument-type signature and one `wrt`."""
    ir: Function
    wrt: list[int]
    backend: str
    debug: bool
    boundscheck: bool
    activity: Activity                      # of ir for wrt: computed once, read by every transform
    sources: dict[str, str]                 # "primal", "vjp", "jvp", "jvp_vec" -> function source
    errors: dict[str, Exception]            # transforms that refused (or failed on) this function, and why
    kernels: dict[str, object] = field(default_factory=dict)
    python: dict[str, object] = field(default_factory=dict)  # the generated functions, uncompiled
    stored_params: list[int] = field(default_factory=list)
    second_order: "Specialization | None" = None  # the transforms of this one's vjp, made on demand
    real_scalar_result: bool = False  # checked once by grad and hvp (api.py)
    checkpointed: bool = False  # its vjp checkpoints loops, and takes an array it fills with statistics
    times: StageTimes = field(default_factory=lambda: StageTimes(""))  # seconds per stage (adc/timing.py)

    def __post_init__(self):
        self.reads_module = bool(self.ir.constants or self.ir.hidden)  # each call checks what it read still holds

    def kernel(self, kind: str):
        if kind in self.errors:
            raise self.errors[kind]
        return self.kernels[kind]


def specialize(fn, arg_types: list, wrt: list[int], backend_name: str, debug: bool = False,
               boundscheck: bool = True, checkpoint: str | None = None) -> Specialization:
    """debug: every assignment of a float in the primal and in both sweeps of reverse mode is checked
    for NaN and Inf, and the first one raises FloatingPointError naming the variable and the line.
    boundscheck: element accesses are checked (adc/ir/bounds.py)."""
    name = fn.__name__
    times = StageTimes(f"{name}({', '.join(map(str, arg_types))})")
    with times.stage("lower"):
        ir = lower_function(fn, arg_types)
    with times.stage("checks"):
        ir = insert_shape_checks(ir)  # before dead code goes: Python would raise there too
        if boundscheck:
            ir = insert_bounds_checks(ir)
        ir = eliminate_dead_code(ir)
        verify(ir)
    with times.stage("primal"):
        functions = {"primal": primal_function(ir, name, debug)}
    with times.stage("activity"):
        act = analyse_activity(ir, wrt)
    errors = {}
    for kind, make in TRANSFORMS.items():
        with times.stage(kind):
            try:
                if kind == "vjp":
                    make = functools.partial(make, checkpoint=checkpoint)
                functions[kind] = make(ir, wrt, act, f"{name}__{kind}", debug)
            except Exception as exc:  # noqa: BLE001  a transform that fails (a refusal, or a bug) fails its own calls only
                errors[kind] = exc
    with times.stage("fuse"):
        functions = {kind: fused_for(backend_name, function) for kind, function in functions.items()}
    with times.stage("print"):
        sources = {}
        for kind, function in functions.items():
            P.assign_names(function)
            sources[kind] = P.format_function(function)
    with times.stage("load"):
        module = backend.load_module(name, backend.module_text(f"{name} in {ir.filename}", list(sources.values())))
    kernels = {kind: _compiled(module, functions[kind].name, backend_name, kind, times) for kind in functions}
    python = {kind: getattr(module, functions[kind].name) for kind in functions}
    targets = {op.operands[0].id for op in walk(ir.body) if op.opcode in STORES}
    stored = sorted(i for i, p in enumerate(ir.params) if act.aliases.get(p.id, {p.id}) & targets)  # through views too
    return Specialization(ir, wrt, backend_name, debug, boundscheck, act, sources, errors, kernels, python, stored,
                          times=times, checkpointed=bool(checkpointed_loops(ir, act, checkpoint)))


def fused_for(backend_name: str, function: P.FunctionDef) -> P.FunctionDef:
    """Elementwise loops and loop buffers for numba; plain Python runs an element loop far slower than numpy's
    whole-array calls."""
    return function if backend_name == "python" else reuse_scratch(fuse_elementwise(name_products(function)))


def device_function(spec: Specialization, kind: str) -> P.FunctionDef:
    """The element kernel of `kind` generated afresh, fused whatever the CPU backend (a device wants element
    loops, not whole-array statements) and named: codegen/device.py's input."""
    ir = spec.ir
    if kind == "primal":
        function = primal_function(ir, ir.name, spec.debug)
    else:
        function = TRANSFORMS[kind](ir, spec.wrt, spec.activity, f"{ir.name}__{kind}", spec.debug)
    function = fuse_elementwise(function, every_run=True)
    P.assign_names(function)
    return function


UNROLL_LIMIT = 16  # up to this many directions, vector mode gives each its own variables


def vector_tangent_kernel(spec: Specialization, directions: int):
    """Vector-mode forward kernel; for a few directions, one unrolled for exactly that many."""
    if directions > UNROLL_LIMIT:
        return spec.kernel("jvp_vec")
    kind = f"jvp_vec{directions}"
    if kind not in spec.kernels:
        ir = spec.ir
        name = f"{ir.name}__{kind}"
        function = tangent_function(ir, spec.wrt, spec.activity, name, spec.debug, unroll=directions)
        function = fused_for(spec.backend, function)
        P.assign_names(function)
        text = P.format_function(function)
        module = backend.load_module(f"{ir.name}_{kind}", backend.module_text(f"{ir.name} in {ir.filename}", [text]))
        spec.sources[kind] = text
        spec.kernels[kind] = _compiled(module, name, spec.backend, kind, spec.times)
    return spec.kernels[kind]


def _compiled(module, function_name: str, backend_name: str, kind: str, times: StageTimes):
    if backend_name == "python":
        return python_kernel(module, function_name)
    return backend.jit(getattr(module, function_name), backend_name, kind, times)


def second_order(spec: Specialization) -> Specialization:
    """Forward mode over the generated reverse-mode function: the transforms compose."""
    if spec.second_order is None:
        vjp = spec.python.get("vjp")
        if vjp is None:
            raise spec.errors["vjp"]
        if spec.checkpointed or spec.backend != "python":  # forward mode over the reverse sweep as the adjoint
            # emitter wrote it: one that keeps its tapes (a schedule has no tangent), its arrays unfused
            ir = spec.ir
            function = reverse_function(ir, spec.wrt, spec.activity, f"{ir.name}__vjp", spec.debug, checkpoint="off")
            P.assign_names(function)
            module = backend.load_module(f"{ir.name}_taped_vjp", backend.module_text(f"{ir.name} in {ir.filename}",
                                                                                    [P.format_function(function)]))
            vjp = getattr(module, function.name)
        seeds = [r.type for r in spec.ir.returned]
        spec.second_order = specialize(vjp, [p.type for p in spec.ir.params] + seeds, spec.wrt, spec.backend,
                                       boundscheck=False)  # the vjp's own checks are kept: they name the user's lines
    return spec.second_order


STAGES = {"primal": "primal", "reverse": "vjp", "forward": "jvp", "forward-vector": "jvp_vec"}


def format_ir(spec: Specialization, stage: str) -> str:
    if stage == "ssa":
        return format_function(spec.ir)
    if stage not in STAGES:
        raise ValueError(f"unknown IR stage {stage!r}: use 'ssa' or one of {sorted(STAGES)}")
    return source_of(spec, STAGES[stage])


def source_of(spec: Specialization, kind: str) -> str:
    if kind in spec.errors:
        raise spec.errors[kind]
    return spec.sources[kind]
