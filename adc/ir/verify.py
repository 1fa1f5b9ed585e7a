"""Structural checks of the SSA IR: every value defined once, before use, in scope."""
from __future__ import annotations

from .core import Function, Loop, Op, Region


class IRError(AssertionError):
    """The IR broke an invariant: a bug in a compiler stage, never the user's fault."""


def verify(fn: Function) -> None:
    defined: set[int] = {v.id for v in fn.params}
    _verify_region(fn.body, defined, in_function_body=True)


def _verify_region(region: Region, outer: set[int], in_function_body: bool = False) -> None:
    scope = set(outer)
    for arg in region.args:
        _define(arg, scope)
    for i, op in enumerate(region.ops):
        for v in op.operands:
            if v.id not in scope:
                raise IRError(f"{op.opcode} at {op.loc} uses {v!r} before its definition")
        for sub in op.regions:
            _verify_region(sub, scope)
        for v in op.results:
            if v.owner is not op:
                raise IRError(f"{v!r} does not point back at its defining {op.opcode}")
            _define(v, scope)
        _verify_arity(op)
        terminator = op.opcode in ("yield", "return")
        if terminator and i != len(region.ops) - 1:
            raise IRError(f"{op.opcode} at {op.loc} is not the last op of its region")
    last = region.ops[-1].opcode if region.ops else None
    expected = "return" if in_function_body else "yield"
    if last != expected:
        raise IRError(f"region ends with {last}, expected {expected}")


def _verify_arity(op: Op) -> None:
    """Loops and branches: as many initial values, region arguments, yields and results as carried values."""
    if op.opcode == "if":
        if len(op.operands) != 1 or len(op.regions) != 2 or any(len(r.yielded) != len(op.results) for r in op.regions):
            raise IRError(f"if at {op.loc}: one condition, two regions each yielding its {len(op.results)} results")
        return
    if op.opcode not in ("for", "while"):
        return
    loop, k = Loop(op), len(op.results)
    found = {"regions": len(op.regions), "initial values": len(loop.inits), "region arguments": len(loop.carried),
             "yielded values": len(loop.body.yielded)}
    expected = {"regions": 1 if loop.is_for else 2, "initial values": k, "region arguments": k, "yielded values": k}
    if not loop.is_for:
        found.update({"condition arguments": len(loop.cond.args), "condition values": len(loop.cond.yielded)})
        expected.update({"condition arguments": k, "condition values": 1})
    if found != expected:
        raise IRError(f"{op.opcode} at {op.loc} with {k} results has {found}, expected {expected}")


def _define(v, scope: set[int]) -> None:
    if v.id in scope:
        raise IRError(f"{v!r} is defined twice")
    scope.add(v.id)
