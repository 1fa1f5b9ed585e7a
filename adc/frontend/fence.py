"""The subset gate: refuse every construct outside the differentiable subset, with a fix.

One entry per rejected node type, each a sentence naming the construct and what to
write instead, with the user's file, line and column. Every refusal of a function is
reported in one error, so a port from numpy code takes one round, not one per construct.
"""
from __future__ import annotations

import gast

from ..errors import UnsupportedSyntaxError
from .desugar import always_returns, final_returns
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
    gast.Starred: "starred expressions are not supported: unpack into named variables",
    gast.NamedExpr: "the walrus operator `:=` is not supported: assign on its own line",
    gast.AnnAssign: "annotated assignments are not supported: write a plain assignment",
    gast.Match: "`match` is not supported: use `if`/`elif`",
}


def check_subset(parsed: ParsedFunction, generated: bool = False) -> None:
    """`generated`: adc's own output (its `__` names are fine), lowered again to compose transforms."""
    fn = parsed.node
    args = fn.args
    refusals = []

    def refuse(node, message: str) -> None:
        refusals.append(UnsupportedSyntaxError(message, parsed.filename, getattr(node, "lineno", 1) + parsed.line_offset,
                                               getattr(node, "col_offset", 0) + parsed.col_offset))

    if args.vararg or args.kwarg or args.kwonlyargs or args.posonlyargs:
        refuse(fn, "only plain positional parameters are supported: replace *args, **kwargs and keyword-only parameters by named ones")
    arguments = _list_arguments(fn)
    for node in _walk_body(fn):
        message = REJECTED.get(type(node))
        if message and not (generated and isinstance(node, gast.Raise)) and id(node) not in arguments:
            refuse(node, message)  # raise: adc's own checks (cotangent shapes); lists: np.array([a, b])
        if isinstance(node, (gast.For, gast.While)) and node.orelse:
            refuse(node, "`else` on a loop is not supported: use a flag variable set before `break`")
        if isinstance(node, gast.Name) and "__" in node.id and not generated:
            refuse(node, f"the name {node.id!r} contains '__', which adc reserves for generated code: rename it")
        if isinstance(node, gast.Compare) and any(isinstance(o, (gast.Is, gast.IsNot, gast.In, gast.NotIn)) for o in node.ops):
            refuse(node, "`is` and `in` comparisons are not supported: compare numbers with ==, <, >")
        if isinstance(node, gast.BinOp) and isinstance(node.op, (gast.LShift, gast.RShift)):
            refuse(node, "shift operators are not supported: use arithmetic")
        if isinstance(node, gast.Assert) and node.msg is not None and not isinstance(node.msg, gast.JoinedStr) \
                and not (isinstance(node.msg, gast.Constant) and isinstance(node.msg.value, str)):
            refuse(node.msg, "the message of `assert` must be a string literal: it is part of the compiled check")
    _check_returns(fn, refuse)
    if refusals:
        raise _one_error(refusals)


def _list_arguments(fn: gast.FunctionDef) -> set[int]:
    """The list literals that are arguments of a call, or nested in one (np.array([[c, -s], [s, c]]),
    np.concatenate([a, b])): the call says what they mean; lists elsewhere are refused."""
    allowed = set()

    def mark(node):
        if isinstance(node, (gast.List, gast.Tuple)):
            allowed.add(id(node))
            for item in node.elts:
                mark(item)
    for node in gast.walk(fn):
        if isinstance(node, gast.Call):
            for argument in node.args + [k.value for k in node.keywords]:
                mark(argument)
    return allowed


def _walk_body(fn: gast.FunctionDef):
    """Every node of the body but those of print(...) statements, which desugaring drops (print(f"{x}") is fine)."""
    stack = list(reversed(fn.body))
    while stack:
        node = stack.pop()
        if not _prints(node):
            yield node
            stack.extend(reversed(list(gast.iter_child_nodes(node))))


def _prints(node) -> bool:
    """By its spelling: a `print` that names something else is lowered, and refused there if it must be."""
    return isinstance(node, gast.Expr) and isinstance(node.value, gast.Call) \
        and isinstance(node.value.func, gast.Name) and node.value.func.id == "print"


def _check_returns(fn: gast.FunctionDef, refuse) -> None:
    final = final_returns(fn.body)
    for node in _walk_body(fn):
        if isinstance(node, gast.Return) and not any(node is r for r in final):
            refuse(node, "`return` is supported only as the last statement: assign the result to a variable and return it once at the end")
    ends = [r for r in final if r.value is None] or ([] if always_returns(fn.body) else [fn.body[-1]])
    for node in ends:
        refuse(node, "the function must end with `return <value>`")


def _one_error(refusals: list) -> UnsupportedSyntaxError:
    """A refusal as it is; several in one error that lists them all, located at the first in the source."""
    refusals.sort(key=lambda e: (e.lineno, e.col_offset))
    if len(refusals) == 1:
        return refusals[0]
    first = refusals[0]
    listing = "\n".join(f"  {e}" for e in refusals)
    return UnsupportedSyntaxError(f"{len(refusals)} constructs are outside the differentiable subset:\n{listing}",
                                  first.filename, first.lineno, first.col_offset)
