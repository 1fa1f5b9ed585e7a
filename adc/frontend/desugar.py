"""Rewrite `break` and `continue` into flags, so the IR keeps only structured loops.

A `while` whose condition reads an element behind `and`/`or` (`while k < n and x[k] > 0`) tests it
at the top of the body and breaks, so the read is guarded as Python guards it.

`for ... break` becomes a `while` loop over the range with a `break` flag in its
condition; both `break` and `continue` set a flag and guard the rest of the body
with `if not flag:`. The structured IR then needs no jumps, and the reverse sweep
replays exactly the iterations the forward sweep ran.
"""
from __future__ import annotations

import itertools

import gast

from .source import constant, name


def desugar(fn: gast.FunctionDef) -> gast.FunctionDef:
    counter = itertools.count(1)
    fn.body = _block(fn.body, counter)
    return fn


def _block(stmts, counter):
    out = []
    for stmt in stmts:
        if isinstance(stmt, (gast.For, gast.While)):
            out.extend(_loop(stmt, counter))
        elif isinstance(stmt, gast.If):
            stmt.body = _block(stmt.body, counter)
            stmt.orelse = _block(stmt.orelse, counter)
            out.append(stmt)
        else:
            out.append(stmt)
    return out


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


def _loop(loop, counter):
    if isinstance(loop, gast.While) and _guarded_read(loop.test):
        # `while k < n and x[k] > 0:` reads x[k] only when k < n: the test moves into the body, where an
        # operand that reads memory runs inside an `if` (the condition of a while is one expression)
        stop = gast.copy_location(gast.If(test=gast.UnaryOp(op=gast.Not(), operand=loop.test),
                                          body=[gast.copy_location(gast.Break(), loop)], orelse=[]), loop)
        loop.test, loop.body = constant(True), [stop] + loop.body
    loop.body = _block(loop.body, counter)
    has_break = _jumps(loop.body, gast.Break)
    has_continue = _jumps(loop.body, gast.Continue)
    if not (has_break or has_continue):
        return [loop]
    k = next(counter)
    brk, cont = f"break__{k}", f"continue__{k}"
    flags = ([brk] if has_break else []) + ([cont] if has_continue else [])
    body = _guard(loop.body, brk, cont, flags)
    before = [_assign(f, constant(False), loop) for f in flags]
    if has_continue:
        body = [_assign(cont, constant(False), loop)] + body
    if not has_break:
        loop.body = body
        return before + [loop]
    stop_flag = gast.UnaryOp(op=gast.Not(), operand=name(brk))
    if isinstance(loop, gast.While):
        loop.test = gast.BoolOp(op=gast.And(), values=[stop_flag, loop.test])
        loop.body = body
        return before + [loop]
    return before + _range_as_while(loop, body, stop_flag, k)


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
