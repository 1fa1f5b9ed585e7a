"""Text form of the SSA IR, in the spirit of MLIR's `scf` dialect."""
from __future__ import annotations

from .core import Function, Op, Region


def format_function(fn: Function) -> str:
    params = ", ".join(f"{v!r}: {v.type}" for v in fn.params)
    results = ", ".join(str(v.type) for v in fn.returned)
    lines = [f"func @{fn.name}({params}) -> {results} {{"]
    _format_region(fn.body, 1, lines)
    lines.append("}")
    return "\n".join(lines)


def _format_region(region: Region, depth: int, lines: list[str]) -> None:
    for op in region.ops:
        _format_op(op, depth, lines)


def _format_op(op: Op, depth: int, lines: list[str]) -> None:
    pad = "  " * depth
    results = ", ".join(repr(v) for v in op.results)
    head = f"{results} = " if results else ""
    operands = ", ".join(repr(v) for v in op.operands)
    attrs = " ".join(f"{k}={v!r}" for k, v in op.attrs.items())
    typ = f" : {', '.join(str(v.type) for v in op.results)}" if op.results else ""
    loc = f"  # {op.loc}" if op.loc else ""
    if op.opcode == "for":
        lo, hi, step, *inits = op.operands
        body = op.regions[0]
        iv, *carried = body.args
        carry = ", ".join(f"{a!r} = {i!r}" for a, i in zip(carried, inits))
        lines.append(f"{pad}{head}for {iv!r} in range({lo!r}, {hi!r}, {step!r}) carry ({carry}) {{{loc}")
        _format_region(body, depth + 1, lines)
        lines.append(pad + "}")
    elif op.opcode == "while":
        cond, body = op.regions
        carry = ", ".join(f"{a!r} = {i!r}" for a, i in zip(body.args, op.operands))
        lines.append(f"{pad}{head}while carry ({carry}) {{{loc}")
        lines.append(f"{pad}  cond({', '.join(map(repr, cond.args))}) {{")
        _format_region(cond, depth + 2, lines)
        lines.append(f"{pad}  }} do({', '.join(map(repr, body.args))}) {{")
        _format_region(body, depth + 2, lines)
        lines.append(f"{pad}  }}")
        lines.append(pad + "}")
    elif op.opcode == "if":
        then, orelse = op.regions
        lines.append(f"{pad}{head}if {operands} {{{loc}")
        _format_region(then, depth + 1, lines)
        lines.append(pad + "} else {")
        _format_region(orelse, depth + 1, lines)
        lines.append(pad + "}")
    elif op.opcode == "const":
        lines.append(f"{pad}{head}const {op.attrs['value']!r}{typ}{loc}")
    else:
        lines.append(f"{pad}{head}{op.opcode} {operands}{' ' + attrs if attrs else ''}{typ}{loc}")
