"""The subset gate: refuse every construct outside the differentiable subset, with a fix.

One entry per rejected node type, each a sentence naming the construct and what to
write instead, raised with the user's file, line and column.
"""
from __future__ import annotations

import gast

from ..errors import UnsupportedSyntaxError
from .source import ParsedFunction

REJECTED = {
    gast.Try: "`try` is not supported: differentiated code cannot catch exceptions; check the condition with `if` instead",
    gast.With: "`with` is not supported: move the context manager outside the differentiated function",
    gast.Yield: "`yield` is not supported: return an array filled in a loop instead of a generator",
    gast.YieldFrom: "`yield from` is not supported: return an array filled in a loop instead",
    gast.Lambda: "`lambda` is not supported: define a module-level function with `def` and call it",
    gast.ClassDef: "class definitions are not supported inside differentiated code: define classes outside and pass arrays and numbers in",
    gast.Global: "`global` is not supported: pass the value in as an argument and return the new value",
    gast.Nonlocal: "`nonlocal` is not supported: pass the value in as an argument and return the new value",
    gast.FunctionDef: "nested function definitions are not supported: define the helper at module level; adc inlines it",
    gast.AsyncFunctionDef: "async functions are not supported: use a plain `def`",
    gast.Await: "`await` is not supported in differentiated code",
    gast.ListComp: "list comprehensions are not supported: allocate with np.zeros(n) and fill it in a `for` loop",
    gast.SetComp: "set comprehensions are not supported: use arrays",
    gast.DictComp: "dict comprehensions are not supported: use arrays",
    gast.GeneratorExp: "generator expressions are not supported: accumulate in a `for` loop",
    gast.List: "lists are not supported: use a numpy array (np.zeros(n), np.empty(n)) or a tuple",
    gast.Dict: "dicts are not supported: pass the values as separate arguments",
    gast.Set: "sets are not supported: use arrays",
    gast.JoinedStr: "f-strings are not supported in differentiated code",
    gast.Delete: "`del` is not supported: let the variable go out of use",
    gast.Import: "`import` inside the function is not supported: import at module level",
    gast.ImportFrom: "`import` inside the function is not supported: import at module level",
    gast.Raise: "`raise` is not supported in differentiated code: check inputs before calling",
    gast.Assert: "`assert` is not supported in differentiated code: check inputs before calling",
    gast.Starred: "starred expressions are not supported: unpack into named variables",
    gast.NamedExpr: "the walrus operator `:=` is not supported: assign on its own line",
    gast.AnnAssign: "annotated assignments are not supported: write a plain assignment",
    gast.Match: "`match` is not supported: use `if`/`elif`",
}


def check_subset(parsed: ParsedFunction, generated: bool = False) -> None:
    """`generated`: adc's own output (its `__` names are fine), lowered again to compose transforms."""
    fn = parsed.node
    args = fn.args
    if args.vararg or args.kwarg or args.kwonlyargs or args.posonlyargs:
        _fail(parsed, fn, "only plain positional parameters are supported: replace *args, **kwargs and keyword-only parameters by named ones")
    for node in _walk_body(fn):
        message = REJECTED.get(type(node))
        if message and not (generated and isinstance(node, gast.Raise)):  # adc's own checks (cotangent shapes)
            _fail(parsed, node, message)
        if isinstance(node, (gast.For, gast.While)) and node.orelse:
            _fail(parsed, node, "`else` on a loop is not supported: use a flag variable set before `break`")
        if isinstance(node, gast.Name) and "__" in node.id and not generated:
            _fail(parsed, node, f"the name {node.id!r} contains '__', which adc reserves for generated code: rename it")
        if isinstance(node, gast.Compare) and any(isinstance(o, (gast.Is, gast.IsNot, gast.In, gast.NotIn)) for o in node.ops):
            _fail(parsed, node, "`is` and `in` comparisons are not supported: compare numbers with ==, <, >")
        if isinstance(node, gast.BinOp) and isinstance(node.op, (gast.BitAnd, gast.BitOr, gast.BitXor, gast.LShift, gast.RShift)):
            _fail(parsed, node, "bitwise operators are not supported: use `and`/`or` on comparisons, or arithmetic")
        if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.Invert):
            _fail(parsed, node, "`~` is not supported: use `not` on a comparison")
    _check_returns(parsed, fn)


def _walk_body(fn: gast.FunctionDef):
    for stmt in fn.body:
        yield from gast.walk(stmt)


def _check_returns(parsed: ParsedFunction, fn: gast.FunctionDef) -> None:
    last = fn.body[-1]
    for node in _walk_body(fn):
        if isinstance(node, gast.Return) and node is not last:
            _fail(parsed, node, "`return` is supported only as the last statement: assign the result to a variable and return it once at the end")
    if not isinstance(last, gast.Return) or last.value is None:
        _fail(parsed, last, "the function must end with `return <value>`")


def _fail(parsed: ParsedFunction, node, message: str):
    raise UnsupportedSyntaxError(message, parsed.filename, getattr(node, "lineno", 1) + parsed.line_offset,
                                 getattr(node, "col_offset", 0) + parsed.col_offset)
