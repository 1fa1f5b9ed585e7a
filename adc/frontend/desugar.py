"""Rewrite the Python forms the IR has no op for into ones it has.

- `for v in x`, `for i, v in enumerate(x)`, `for a, b in zip(x, y)` (nested freely) become a loop over
  range(len(x)) that reads the elements, as Python's iterator does; each iterable is evaluated once.
- An `if` whose arms all return, last in the function or just before its last `return` (elif chains
  nest), assigns one result variable in each arm and returns it once at the end.
- `print(...)` statements are dropped, with a warning naming the line: compiled code does no I/O.
- `break` and `continue` become flags, so the IR keeps only structured loops (below).

A `while` whose condition reads an element behind `and`/`or` (`while k < n and x[k] > 0`) tests it
at the top of the body and breaks, so the read is guarded as Python guards it.

`for ... break` becomes a `while` loop over the range with a `break` flag in its
condition; both `break` and `continue` set a flag and guard the rest of the body
with `if not flag:`. The structured IR then needs no jumps, and the reverse sweep
replays exactly the iterations the forward sweep ran.

Builtins are known by identity, as resolve.py knows functions: a `zip` the user defined is not rewritten.
"""
from __future__ import annotations

import copy
import itertools
import warnings
from dataclasses import dataclass, field
from typing import Callable

import gast

from ..checkpointing import checkpoint
from ..errors import UnsupportedSyntaxError
from .source import ParsedFunction, assigned_names, constant, name

# the warnings already shown, per user file (as warnings.warn keeps them per module): a print is reported
# at its own line, once, not at every compilation
_WARNED: dict[str, dict] = {}


@dataclass
class _Context:
    parsed: ParsedFunction
    free: Callable[[str], object]  # what a free name of the function denotes (resolve.lookup)
    local: set[str]  # the names the function binds, which hide the builtins
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))

    def calls(self, node, builtin) -> bool:
        """node is a call of `builtin` through a name that denotes it."""
        return isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and node.func.id not in self.local \
            and self.free(node.func.id) is builtin


    def checkpoints(self, node) -> bool:
        """node is a call of adc.checkpoint, through its name or the module's (`adc.checkpoint(range(N))`)."""
        if not isinstance(node, gast.Call):
            return False
        func = node.func
        if isinstance(func, gast.Name):
            return func.id not in self.local and self.free(func.id) is checkpoint
        return isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name) and func.value.id not in self.local \
            and getattr(self.free(func.value.id), func.attr, None) is checkpoint


def desugar(parsed: ParsedFunction, free: Callable[[str], object]) -> gast.FunctionDef:
    """free(name): what a free name of the function denotes, so that `zip` and `print` are known by identity."""
    fn = parsed.node
    ctx = _Context(parsed, free, assigned_names(fn.body) | {a.id for a in fn.args.args})
    fn.body = _block(_one_return(fn.body), ctx)
    return fn


def _block(stmts, ctx):
    out = []
    for stmt in stmts:
        if isinstance(stmt, (gast.For, gast.While)):
            out.extend(_loop(stmt, ctx))
        elif isinstance(stmt, gast.If):
            stmt.body = _block(stmt.body, ctx)
            stmt.orelse = _block(stmt.orelse, ctx)
            out.append(stmt)
        elif isinstance(stmt, gast.Expr) and ctx.calls(stmt.value, print):
            lineno = stmt.lineno + ctx.parsed.line_offset
            warnings.warn_explicit("print() is ignored in differentiated code", UserWarning,
                                   ctx.parsed.filename, lineno, registry=_WARNED.setdefault(ctx.parsed.filename, {}))
        else:
            out.append(stmt)
    return out


# -- returns -------------------------------------------------------------------------
def final_returns(body) -> list:
    """The returns that end the function: its last statement, and those ending the arms of an `if` that is last
    or stands just before the last `return`, arm within arm. Desugaring folds them into one; the fence refuses
    every other `return`."""
    last = body[-1] if body else None
    if isinstance(last, gast.Return):
        return (final_returns([body[-2]]) if len(body) > 1 and isinstance(body[-2], gast.If) else []) + [last]
    if isinstance(last, gast.If):
        return final_returns(last.body) + final_returns(last.orelse)
    return []


def always_returns(body) -> bool:
    last = body[-1] if body else None
    return isinstance(last, gast.Return) or \
        (isinstance(last, gast.If) and always_returns(last.body) and always_returns(last.orelse))


def _one_return(body):
    """`if c: return a` / `else: return b`: each arm assigns the result (one variable per element when every
    arm returns a tuple of the same length, as the IR joins values, not tuples), returned after the `if`."""
    if len(final_returns(body)) < 2:
        return body
    body = _returning(body)
    values = [r.value for r in final_returns(body)]
    sizes = {len(v.elts) if isinstance(v, gast.Tuple) else None for v in values}
    size = sizes.pop() if len(sizes) == 1 else None
    results = [f"result__{j}" for j in range(size or 1)]
    _assign_results(body, results)
    value = name(results[0]) if not size else gast.Tuple(elts=[name(r) for r in results], ctx=gast.Load())
    return body + [_at(gast.Return(value=value), body[-1])]


def _returning(stmts, then=None):
    """stmts followed by the return `then`, moved into the arms that do not return: afterwards every final
    return ends an arm, and no statement follows an `if` that returns."""
    last = stmts[-1] if stmts else None
    if isinstance(last, gast.Return):
        if len(stmts) > 1 and isinstance(stmts[-2], gast.If) and final_returns([stmts[-2]]):
            return stmts[:-2] + _returning([stmts[-2]], last)
        return stmts
    if isinstance(last, gast.If) and final_returns([last]):
        last.body, last.orelse = _returning(last.body, then), _returning(last.orelse, then)
        return stmts
    return stmts + [copy.deepcopy(then)]


def _assign_results(stmts, results) -> None:
    last = stmts[-1]
    if isinstance(last, gast.If):
        _assign_results(last.body, results)
        _assign_results(last.orelse, results)
        return
    target = name(results[0], store=True) if len(results) == 1 else \
        gast.Tuple(elts=[name(r, store=True) for r in results], ctx=gast.Store())
    stmts[-1] = _at(gast.Assign(targets=[target], value=last.value, type_comment=None), last)


# -- loops ---------------------------------------------------------------------------
def _guarded_read(test) -> bool:
    """An `and`/`or` whose later operands index an array: Python reads it only when the first ones allow."""
    return any(isinstance(n, gast.BoolOp) and any(isinstance(m, gast.Subscript) for v in n.values[1:] for m in gast.walk(v))
               for n in gast.walk(test))


def _jumps(stmts, kind) -> bool:
    """Whether a break/continue of this loop (not of a nested one) occurs in stmts."""
    for stmt in stmts:
        if isinstance(stmt, kind):
            return True
        if isinstance(stmt, gast.If) and (_jumps(stmt.body, kind) or _jumps(stmt.orelse, kind)):
            return True
    return False


def _loop(loop, ctx):
    before = []
    checkpointed = isinstance(loop, gast.For) and ctx.checkpoints(loop.iter)
    if isinstance(loop, gast.For) and not ctx.calls(loop.iter, range) and not checkpointed:
        before = _over_indices(loop, ctx)
    if isinstance(loop, gast.While) and _guarded_read(loop.test):
        # `while k < n and x[k] > 0:` reads x[k] only when k < n: the test moves into the body, where an
        # operand that reads memory runs inside an `if` (the condition of a while is one expression)
        stop = gast.copy_location(gast.If(test=gast.UnaryOp(op=gast.Not(), operand=loop.test),
                                          body=[gast.copy_location(gast.Break(), loop)], orelse=[]), loop)
        loop.test, loop.body = constant(True), [stop] + loop.body
    loop.body = _block(loop.body, ctx)
    has_break = _jumps(loop.body, gast.Break)
    has_continue = _jumps(loop.body, gast.Continue)
    if not (has_break or has_continue):
        return before + [loop]
    k = next(ctx.counter)
    brk, cont = f"break__{k}", f"continue__{k}"
    flags = ([brk] if has_break else []) + ([cont] if has_continue else [])
    body = _guard(loop.body, brk, cont, flags)
    before += [_assign(f, constant(False), loop) for f in flags]
    if has_continue:
        body = [_assign(cont, constant(False), loop)] + body
    if not has_break:
        loop.body = body
        return before + [loop]
    if checkpointed:
        raise UnsupportedSyntaxError("a checkpointed loop runs all its steps: `break` would end it early. Keep the "
                                     "loop whole (an `if` around the rest of the step), or drop adc.checkpoint",
                                     ctx.parsed.filename, loop.lineno + ctx.parsed.line_offset, loop.col_offset)
    stop_flag = gast.UnaryOp(op=gast.Not(), operand=name(brk))
    if isinstance(loop, gast.While):
        loop.test = gast.BoolOp(op=gast.And(), values=[stop_flag, loop.test])
        loop.body = body
        return before + [loop]
    return before + _range_as_while(loop, body, stop_flag, k)


def _over_indices(loop: gast.For, ctx) -> list:
    """`for v in x` as `for i in range(len(x)): v = x[i]` (a row of a matrix, as numpy iterates), and the same
    through enumerate and zip (the shortest length). Rewrites `loop` in place; returns the assignments of
    the iterables to run before it, so each is evaluated once, as Python does."""
    target, iterable, index = loop.target, loop.iter, f"index__{next(ctx.counter)}"
    if _enumerates(iterable, ctx) and _start(iterable) is None and isinstance(target, gast.Tuple) \
            and len(target.elts) == 2 and isinstance(target.elts[0], gast.Name):  # the user's index is the loop's
        index, target, iterable = target.elts[0].id, target.elts[1], iterable.args[0]
    arrays = []
    element = _element(iterable, index, arrays, ctx)
    lengths = [gast.Call(func=name("len"), args=[name(a.targets[0].id)], keywords=[]) for a in arrays]
    stop = lengths[0] if len(lengths) == 1 else gast.Call(func=name("min"), args=lengths, keywords=[])
    loop.target = _at(name(index, store=True), loop)
    loop.iter = _at(gast.Call(func=name("range"), args=[stop], keywords=[]), loop)
    loop.body = [_at(gast.Assign(targets=[target], value=element, type_comment=None), loop)] + loop.body
    return [_at(a, loop) for a in arrays]


def _enumerates(node, ctx) -> bool:
    """enumerate(x), enumerate(x, k), enumerate(x, start=k)."""
    return ctx.calls(node, enumerate) and (len(node.args), len(node.keywords)) in ((1, 0), (2, 0), (1, 1)) \
        and all(k.arg == "start" for k in node.keywords)


def _start(node):
    """enumerate's start, or None."""
    return node.args[1] if len(node.args) == 2 else node.keywords[0].value if node.keywords else None


def _element(iterable, index: str, arrays: list, ctx):
    """What the iteration gives at `index`: a tuple through enumerate and zip, an element (or row) otherwise;
    each array iterated is appended to `arrays` as the assignment of a name to it."""
    if _enumerates(iterable, ctx):
        start = _start(iterable)
        count = name(index) if start is None else gast.BinOp(left=name(index), op=gast.Add(), right=start)
        return gast.Tuple(elts=[count, _element(iterable.args[0], index, arrays, ctx)], ctx=gast.Load())
    if ctx.calls(iterable, zip) and iterable.args and not iterable.keywords:
        return gast.Tuple(elts=[_element(a, index, arrays, ctx) for a in iterable.args], ctx=gast.Load())
    items = f"items__{next(ctx.counter)}"
    arrays.append(gast.Assign(targets=[name(items, store=True)], value=iterable, type_comment=None))
    return gast.Subscript(value=name(items), slice=name(index), ctx=gast.Load())


def _range_as_while(loop: gast.For, body, stop_flag, k):
    args = loop.iter.args
    start, stop, step = (constant(0), args[0], constant(1)) if len(args) == 1 else \
        (args[0], args[1], args[2] if len(args) == 3 else constant(1))
    it, end, inc = f"index__{k}", f"stop__{k}", f"step__{k}"
    setup = [_assign(it, start, loop), _assign(end, stop, loop), _assign(inc, step, loop)]
    ascending = gast.Compare(left=name(it), ops=[gast.Lt()], comparators=[name(end)])
    descending = gast.Compare(left=name(it), ops=[gast.Gt()], comparators=[name(end)])
    if isinstance(step, gast.Constant):
        in_range = ascending if step.value > 0 else descending
    else:
        positive = gast.Compare(left=name(inc), ops=[gast.Gt()], comparators=[constant(0)])
        in_range = gast.IfExp(test=positive, body=ascending, orelse=descending)
    advance = [gast.Assign(targets=[loop.target], value=name(it), type_comment=None),
               gast.AugAssign(target=name(it, store=True), op=gast.Add(), value=name(inc))]
    for node in advance:
        gast.copy_location(node, loop)
    test = gast.BoolOp(op=gast.And(), values=[stop_flag, in_range])
    return setup + [gast.copy_location(gast.While(test=test, body=advance + body, orelse=[]), loop)]


def _guard(stmts, brk, cont, flags):
    out = []
    for i, stmt in enumerate(stmts):
        if isinstance(stmt, gast.Break):
            out.append(_assign(brk, constant(True), stmt))
            return out
        if isinstance(stmt, gast.Continue):
            out.append(_assign(cont, constant(True), stmt))
            return out
        if isinstance(stmt, gast.If) and (_jumps([stmt], gast.Break) or _jumps([stmt], gast.Continue)):
            stmt.body = _guard(stmt.body, brk, cont, flags)
            stmt.orelse = _guard(stmt.orelse, brk, cont, flags)
            out.append(stmt)
            rest = _guard(stmts[i + 1:], brk, cont, flags)
            if rest:
                raised = [name(f) for f in flags]
                test = raised[0] if len(raised) == 1 else gast.BoolOp(op=gast.Or(), values=raised)
                out.append(gast.copy_location(
                    gast.If(test=gast.UnaryOp(op=gast.Not(), operand=test), body=rest, orelse=[]), stmts[i + 1]))
            return out
        out.append(stmt)
    return out


def _assign(target: str, value, where):
    return gast.copy_location(gast.Assign(targets=[name(target, store=True)], value=value, type_comment=None), where)


def _at(node, where):
    """node, and the parts of it that have none, located at `where` (errors name the user's line)."""
    return gast.fix_missing_locations(gast.copy_location(node, where))
