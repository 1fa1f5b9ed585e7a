"""The whole compiler in one place: each stage a function from one structure to the next.

    source --frontend--> SSA IR --analyses--> facts --ad--> adjoint code --backend--> kernels
"""
from __future__ import annotations

import types
from dataclasses import dataclass, field

from .ad import rules
from .ad.reverse import ReverseBuilder
from .analysis.activity import analyse_activity
from .analysis.recording import analyse_recording
from .backend import compile as backend
from .backend import pyir as P
from .backend.primal import primal_function
from .errors import CompileError
from .frontend.lower import lower_function
from .ir.core import Function
from .ir.printer import format_function
from .ir.verify import verify


@dataclass
class Specialization:
    """Everything adc made for one function, one argument-type signature and one `wrt`."""
    ir: Function
    primal_source: str
    adjoint_source: str | None
    adjoint_error: CompileError | None
    primal: object = None
    vjp: object = None
    stored_params: list[int] = field(default_factory=list)
    reverse_ir: str | None = None


def specialize(fn, arg_types: list, wrt: list[int], backend_name: str) -> Specialization:
    ir = lower_function(fn, arg_types)
    verify(ir)
    name = fn.__name__
    primal = primal_function(ir, name)
    P.assign_names(primal)
    primal_text = P.format_function(primal)
    functions = [primal_text]
    adjoint_text, error = None, None
    try:
        adjoint = reverse_function(ir, wrt, f"{name}__vjp")
        adjoint_text = P.format_function(adjoint)
        functions.append(adjoint_text)
    except CompileError as exc:
        error = exc
    module = backend.load_module(name, backend.module_text(f"{name} in {ir.filename}", functions))
    namespace = module.__dict__ if backend_name == "numba" else dict(module.__dict__, rt=backend.python_runtime())

    def kernel(fname):
        f = getattr(module, fname)
        if backend_name == "python":
            f = types.FunctionType(f.__code__, namespace, fname)
        return backend.jit(f, backend_name)

    stored = sorted({i for i, p in enumerate(ir.params) for op in _stores(ir) if op.operands[0] is p})
    return Specialization(ir, primal_text, adjoint_text, error, kernel(name),
                          kernel(f"{name}__vjp") if adjoint_text else None, stored)


def reverse_function(ir: Function, wrt: list[int], name: str) -> P.FunctionDef:
    act = analyse_activity(ir, wrt)
    rec = analyse_recording(ir, act, rules.needs)
    adjoint = ReverseBuilder(ir, wrt, act, rec).build(name)
    P.assign_names(adjoint)
    return adjoint


def _stores(ir: Function):
    from .ir.core import walk
    return [op for op in walk(ir.body) if op.opcode == "store"]


def format_ir(spec: Specialization, stage: str) -> str:
    if stage == "ssa":
        return format_function(spec.ir)
    if stage == "reverse":
        if spec.adjoint_error:
            raise spec.adjoint_error
        return spec.adjoint_source
    if stage == "primal":
        return spec.primal_source
    raise ValueError(f"unknown IR stage {stage!r}: use 'ssa', 'primal' or 'reverse'")
