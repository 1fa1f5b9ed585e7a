"""Derivative rules, applied: the rules themselves are declared with their primitives (adc/primitives/),
by partial derivatives or as explicit JVP and VJP; this module derives each mode from them, gives
rules the context they read the primal through, and finds which primal values a rule reads by running
it on placeholders, so the to-be-recorded analysis and the rule cannot disagree.
"""
from __future__ import annotations

from ..codegen import pyir as P
from ..errors import CompileError
from ..ir.core import Op, is_array
from ..primitives import ACCESSES, ELEMENTWISE_OPCODES, PRIMITIVES
from ..primitives.base import adjoints_from_partials, tangent_from_partials


def jvp(c):
    """The tangent of an op's result, or None when it has none."""
    if all(c.t(i) is None for i in range(len(c.op.operands))):
        return None
    declared = PRIMITIVES[c.op.opcode]
    if declared.jvp is not None:
        return declared.jvp(c)
    tangent = tangent_from_partials(c, declared.partials(c))
    arrays_moving = any(c.t(i) is not None and is_array(o.type) for i, o in enumerate(c.op.operands))
    if c.op.opcode in ("add", "sub") and is_array(c.op.results[0].type) and not arrays_moving:
        return P.Call("np.full_like", [c.out, tangent])  # a + y with only the scalar a moving: every entry moves
    return tangent


def vjp(c):
    """Contributions (operand index, expression[, "index"]) to the operands' adjoints."""
    declared = PRIMITIVES[c.op.opcode]
    if declared.vjp is not None:
        return declared.vjp(c)
    if declared.partials is None:
        loc = c.op.loc
        raise CompileError(f"reverse mode has no rule for `{c.op.opcode}` {c.op.attrs.get('fn', '')}".rstrip(),
                           loc.filename if loc else "<unknown>", loc.lineno if loc else 0, loc.col if loc else 0)
    return adjoints_from_partials(c, declared.partials(c))


# -- the context rules run in -----------------------------------------------------------
class RuleContext:
    """What a rule sees: primal values through `primal(value)`, tangents through `tangent(value)`
    (forward mode), the result's adjoint as `g` (reverse mode)."""

    def __init__(self, op: Op, primal, tangent=None, g: P.Expr | None = None, shape=None):
        self.op, self._primal, self._tangent, self.g = op, primal, tangent, g
        self._shape = shape or primal

    def x(self, i):
        return self._primal(self.op.operands[i])

    @property
    def out(self):
        return self._primal(self.op.results[0])

    def t(self, i):
        return self._tangent(self.op.operands[i])

    def like(self, i):
        """Operand i read for its shape only (np.full_like, .size): element writes cannot change that."""
        return self._shape(self.op.operands[i])


# -- what the rules read -------------------------------------------------------------
class _Read(P.Lit):
    def __init__(self, value, shape_only: bool = False):
        super().__init__("primal")
        self.value, self.shape_only = value, shape_only


def _probe(op: Op) -> RuleContext:
    """A rule context whose primal reads are placeholders naming the value read."""
    return RuleContext(op, _Read, lambda v: P.Lit("t"), P.Lit("g"), shape=lambda v: _Read(v, shape_only=True))


def broadcasts(op: Op, operand) -> bool:
    """An array operand of an elementwise op with another array operand: its adjoint may need summing
    down to its shape. (Against scalars, alone, or against itself, `x * x`, it has the result's shape already.)"""
    arrays = {o.id for o in op.operands if is_array(o.type)}
    return op.opcode in ELEMENTWISE_OPCODES and is_array(operand.type) and len(arrays) > 1


def needs(op: Op, active, contents_only: bool = False) -> list:
    """The primal values the reverse rule reads for the contributions to active operands
    (with `contents_only`, not those read for their shape alone)."""
    if op.opcode in ACCESSES or not has_rule(op):  # an element's adjoint goes to its array at the index
        return []
    read = []
    for i, expr, *_ in vjp(_probe(op)):
        v = op.operands[i]
        if active(v):
            read.extend(r.value for r in _reads(expr) if not (contents_only and r.shape_only))
            if broadcasts(op, v) and not contents_only:
                read.append(v)  # for its shape
    return read


def _reads(e) -> list:
    if isinstance(e, _Read):
        return [e]
    if not isinstance(e, (P.Expr, P.Slice)):
        return []
    return [v for child in P.children(e) for v in _reads(child)]


def has_rule(op: Op) -> bool:
    declared = PRIMITIVES[op.opcode]
    return declared.vjp is not None or declared.partials is not None
