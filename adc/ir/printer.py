"""Text form of the SSA IR, in the spirit of MLIR's `scf` dialect."""
from __future__ import annotations

from .core import Function, Loop, Op, Region


def format_function(fn: Function) -> str:
    return _Printer().function(fn)


class _Printer:
    """Numbers values in order of appearance, so a function always prints the same."""

    def __init__(self):
        self.numbers: dict[int, int] = {}
        self.lines: list[str] = []

    def name(self, v) -> str:
        n = self.numbers.setdefault(v.id, len(self.numbers))
        return f"%{v.hint or 't'}.{n}"

    def names(self, values) -> str:
        return ", ".join(self.name(v) for v in values)

    def function(self, fn: Function) -> str:
        params = ", ".join(f"{self.name(v)}: {v.type}" for v in fn.params)
        results = ", ".join(str(v.type) for v in fn.returned)
        self.lines.append(f"func @{fn.name}({params}) -> {results} {{")
        self.region(fn.body, 1)
        self.lines.append("}")
        return "\n".join(self.lines)

    def region(self, region: Region, depth: int) -> None:
        for op in region.ops:
            self.op(op, depth)

    def carry(self, args, inits) -> str:
        return ", ".join(f"{self.name(a)} = {self.name(i)}" for a, i in zip(args, inits))

    def op(self, op: Op, depth: int) -> None:
        pad = "  " * depth
        results = self.names(op.results)
        head = f"{results} = " if results else ""
        typ = f" : {', '.join(str(v.type) for v in op.results)}" if op.results else ""
        loc = f"  # {op.loc}" if op.loc else ""
        if op.opcode == "for":
            loop = Loop(op)
            checkpointed = f" checkpoint(snapshots={op.attrs['snapshots']})" if "snapshots" in op.attrs else ""
            self.lines.append(f"{pad}{head}for {self.name(loop.index)} in range({self.names(loop.bounds)}){checkpointed} "
                              f"carry ({self.carry(loop.carried, loop.inits)}) {{{loc}")
            self.region(loop.body, depth + 1)
            self.lines.append(pad + "}")
        elif op.opcode == "while":
            loop = Loop(op)
            cond, body = loop.cond, loop.body
            self.lines.append(f"{pad}{head}while carry ({self.carry(loop.carried, loop.inits)}) {{{loc}")
            self.lines.append(f"{pad}  cond({self.names(cond.args)}) {{")
            self.region(cond, depth + 2)
            self.lines.append(f"{pad}  }} do({self.names(body.args)}) {{")
            self.region(body, depth + 2)
            self.lines.append(f"{pad}  }}")
            self.lines.append(pad + "}")
        elif op.opcode == "if":
            then, orelse = op.regions
            self.lines.append(f"{pad}{head}if {self.names(op.operands)} {{{loc}")
            self.region(then, depth + 1)
            self.lines.append(pad + "} else {")
            self.region(orelse, depth + 1)
            self.lines.append(pad + "}")
        elif op.opcode == "const":
            self.lines.append(f"{pad}{head}const {op.attrs['value']!r}{typ}{loc}")
        else:
            attrs = " ".join(f"{k}={v!r}" for k, v in op.attrs.items())
            self.lines.append(f"{pad}{head}{op.opcode} {self.names(op.operands)}{' ' + attrs if attrs else ''}{typ}{loc}")
