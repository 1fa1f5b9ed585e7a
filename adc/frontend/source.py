"""The one module that talks to gast: read a function's source and parse it.

gast changed its node API between releases (Tangent broke on `gast.Num`), so
everything version-dependent stays here; pyproject pins the tested range.
"""
from __future__ import annotations

import inspect
import textwrap
from dataclasses import dataclass

import gast

from ..errors import SourceNotFoundError

SUPPORTED_GAST = ((0, 5), (0, 8))  # [low, high): keep in step with pyproject.toml


@dataclass
class ParsedFunction:
    node: gast.FunctionDef
    filename: str
    lines: list[str]          # the file's lines (1-based lookups via line())
    line_offset: int          # add to a node's lineno to get the file's line number
    col_offset: int           # dedent width, add to col_offset

    def line(self, lineno: int) -> str:
        return self.lines[lineno - 1].strip() if 0 < lineno <= len(self.lines) else ""


def check_gast_version() -> None:
    version = tuple(int(p) for p in gast.__version__.split(".")[:2])
    low, high = SUPPORTED_GAST
    if not low <= version < high:
        raise ImportError(f"adc needs gast >= {low[0]}.{low[1]}, < {high[0]}.{high[1]}; found {gast.__version__}")


def parse_function(fn) -> ParsedFunction:
    if not inspect.isfunction(fn):
        raise TypeError(f"adc.differentiate needs a Python function defined with `def`, got {fn!r}")
    filename = inspect.getsourcefile(fn) or fn.__code__.co_filename
    if fn.__name__ == "<lambda>":
        raise SourceNotFoundError("a lambda cannot be differentiated: define the function with `def`",
                                  filename, fn.__code__.co_firstlineno)
    try:
        block, firstlineno = inspect.getsourcelines(fn)
    except (OSError, TypeError) as exc:
        raise SourceNotFoundError(
            f"cannot read the source of {fn.__name__!r} ({exc}); define it in a .py file, not in a REPL",
            filename, fn.__code__.co_firstlineno) from None
    text = "".join(block)
    dedented = textwrap.dedent(text)
    indent = len(block[0]) - len(block[0].lstrip())
    module = gast.parse(dedented)
    node = module.body[0]
    if not isinstance(node, gast.FunctionDef):
        raise SourceNotFoundError(f"cannot find the definition of {fn.__name__!r} in its source",
                                  filename, firstlineno)
    try:
        with open(filename) as f:
            lines = f.read().splitlines()
    except OSError:
        lines = [""] * (firstlineno - 1) + dedented.splitlines()
    return ParsedFunction(node, filename, lines, firstlineno - 1, indent)


def assigned_names(stmts) -> set[str]:
    """Names bound by assignment anywhere in a statement list (loop targets included)."""
    names = set()
    for stmt in stmts:
        for node in gast.walk(stmt):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
                names.add(node.id)
    return names


def name(id_: str, store: bool = False) -> gast.Name:
    return gast.Name(id=id_, ctx=gast.Store() if store else gast.Load(), annotation=None, type_comment=None)


def constant(value) -> gast.Constant:
    return gast.Constant(value=value, kind=None)
