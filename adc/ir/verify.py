"""Structural checks of the SSA IR: every value defined once, before use, in scope."""
from __future__ import annotations

from .core import Function, Region


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
        terminator = op.opcode in ("yield", "return")
        if terminator and i != len(region.ops) - 1:
            raise IRError(f"{op.opcode} at {op.loc} is not the last op of its region")
    last = region.ops[-1].opcode if region.ops else None
    expected = "return" if in_function_body else "yield"
    if last != expected:
        raise IRError(f"region ends with {last}, expected {expected}")


def _define(v, scope: set[int]) -> None:
    if v.id in scope:
        raise IRError(f"{v!r} is defined twice")
    scope.add(v.id)
