"""Ops that own regions or end one, and the checks: each transform handles them itself
(ad/reverse.py reverses loops, codegen/emit.py prints checks), so they declare only their effect."""
from __future__ import annotations

from .base import declare

for _code in ("for", "while", "if", "yield", "return"):
    declare(_code, effect="control")
declare("boundscheck", effect="check")  # operands [failed, index, length] (ir/bounds.py)
declare("shapecheck", effect="check")  # the arrays that must broadcast (ir/shapes.py)
declare("assertion", effect="check")  # operand [failed]: the user's `assert` (frontend/lower.py)
