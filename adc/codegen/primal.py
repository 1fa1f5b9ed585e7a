"""The primal function: the user's program, as adc compiles it."""
from __future__ import annotations

from ..ir.core import Function
from . import pyir as P
from .emit import ForwardEmitter


def primal_function(fn: Function, name: str, debug: bool = False) -> P.FunctionDef:
    vars_ = {p.id: P.Var(p.hint, name=p.hint, type=p.type) for p in fn.params}
    emitter = ForwardEmitter(fn.body, vars_, debug=debug)
    body: list = []
    emitter.region(fn.body, body)
    returned = [emitter.ref(v) for v in fn.returned]
    body.append(P.Return(returned[0] if len(returned) == 1 else P.TupleExpr(returned)))
    return P.FunctionDef(name, [vars_[p.id] for p in fn.params], body)
