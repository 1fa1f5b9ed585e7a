"""Every opcode of the IR, declared once (base.py's Primitive), a module per family; the sets the
compiler's passes consult are derived from the declarations here. How to add one: docs/design.md."""
from __future__ import annotations

from . import (  # noqa: F401 (each module declares its family)
    constructors,
    convolution,
    custom,
    derived,
    elementwise,
    fourier,
    generated,
    indexing,
    linalg,
    products,
    reductions,
    shapes,
    signal,
    structure,
)
from .base import DERIVED, PRIMITIVES
from .base import RUNTIME_CALLS as RUNTIME_CALLS  # the frontend lowers these calls of generated code back

# recomputable in the reverse sweep: no memory effect, no regions
PURE_OPCODES = frozenset(code for code, p in PRIMITIVES.items() if p.effect == "pure")
# dropped when nothing reads their results
REMOVABLE = frozenset(code for code, p in PRIMITIVES.items() if p.effect in ("pure", "reads", "fresh"))
FRESH = frozenset(code for code, p in PRIMITIVES.items() if p.effect == "fresh")
ELEMENTWISE_OPCODES = frozenset(code for code, p in PRIMITIVES.items() if p.elementwise)
VIEW_OPCODES = frozenset(code for code, p in PRIMITIVES.items() if p.view)  # may look into operand 0's memory
ACCESSES = frozenset(code for code, p in PRIMITIVES.items() if p.accesses)  # index into operand 0
# views whose elements are operand 0's elements (x[1:], x.T): their adjoint is the same view of the base's
ELEMENT_VIEWS = frozenset(code for code, p in PRIMITIVES.items() if p.view in ("slice", "layout"))
MEMORY_EFFECTS = frozenset(code for code, p in PRIMITIVES.items() if p.effect in ("reads", "writes"))
EXPENSIVE = frozenset(code for code, p in PRIMITIVES.items() if p.expensive)  # products, factorisations, solves
SHAPED_LIKE_FIRST = frozenset(code for code, p in PRIMITIVES.items() if p.shaped_like_first)
# the primitives a user calls by a function (`np.sum(x)`, `np.fft.rfft(x, n)`), lowered by the declaration's
# lower_call, or when it has none as one array typed by `result` (then also as a method, `x.sum()`)
CALLED = {code: p for code, p in PRIMITIVES.items() if p.spellings}
# `x.<name>(...)`: the lowering of the primitive or derived function that the method means (a primitive
# typed by `result` alone is a method of its own name without arguments, `x.max()`)
METHODS = {name: p.lower_call for p in PRIMITIVES.values() for name in p.methods}
assert None not in METHODS.values()
METHODS.update({name: f.lower for f in DERIVED.values() for name in f.methods})


def spell(op, args: list):
    """The expression computing a (non-control) op's result from its operands' expressions."""
    return PRIMITIVES[op.opcode].spell(op, args)
