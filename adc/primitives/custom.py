"""A call of a function with the user's own reverse-mode rule (adc/custom.py): a `custom_vjp` op with
operands (value, *residuals, *arguments), whose result is the value fwd computed, and attr `rule`: the
lowered bwd, a region of its own outside the function's IR (no pass sees it), which the reverse sweep
emits where it reaches the call (ad/reverse.py). fwd's own operations get no adjoint: the rule's
cotangents go to the arguments."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import CompileError, TypeCheckError, UnsupportedCallError
from ..ir.core import Region, Value, is_array
from .base import declare


@dataclass(eq=False)
class Rule:
    name: str
    region: Region  # bwd's body: its arguments are the residuals, then g
    cotangents: list  # one Value (defined in region) or None per argument of the call
    residuals: int  # how many operands after the value are residuals


def _reads_residuals(c):
    """What the rule reads, for the recording analysis; the reverse sweep emits the rule itself."""
    rule = c.op.attrs["rule"]
    reads = [c.x(1 + j) for j in range(rule.residuals)]
    first = 1 + rule.residuals
    return [(first + i, reads[0] if reads else c.g) for i, t in enumerate(rule.cotangents) if t is not None]


def _no_forward_mode(c):
    loc = c.op.loc
    raise CompileError(f"`{c.op.attrs['rule'].name}` has a custom reverse-mode rule (adc.custom_vjp) and no forward mode: "
                       "use grad/vjp, or call the plain function", loc.filename, loc.lineno, loc.col)


declare("custom_vjp", spell=lambda op, args: args[0], jvp=_no_forward_mode, vjp=_reads_residuals)


def _flat(lw, v, node, what):
    if isinstance(v, tuple):
        return [x for item in v for x in _flat(lw, item, node, what)]
    return [lw.as_value(v, node)]


def lower_custom_call(lw, custom, node, env):
    """`f(args)` for an adc.custom_vjp f: fwd inlined here, bwd lowered into the op's rule."""
    name = custom.fn.__name__
    if custom.fwd in lw.inlining or custom.bwd in lw.inlining:  # fwd computing the value by the function itself
        return lw.inline(custom.fn, node, env)
    if custom.bwd is None:
        raise lw.error(UnsupportedCallError, f"`{name}` is an adc.custom_vjp function without a rule: call "
                       f"{name}.defvjp(fwd, bwd) before differentiating code that calls it", node)
    if node.keywords:
        raise lw.error(UnsupportedCallError, f"pass the arguments of `{name}` (a custom_vjp function) by position", node)
    args = [lw.as_value(lw.expr(a, env), node) for a in node.args]
    produced = lw.call_function(custom.fwd, args, node)
    if not (isinstance(produced, tuple) and len(produced) == 2):
        raise lw.error(TypeCheckError, f"the fwd rule of `{name}` must return (value, residuals)", node)
    value = lw.as_value(produced[0], node)
    residuals = _flat(lw, produced[1], node, "residuals")
    region = Region()
    region.args = [Value(r.type, r.hint) for r in residuals]
    g = Value(value.type, "g")
    region.args.append(g)
    for a in region.args:
        a.owner = region
    packed = lw.pack(region.args[:-1]) if isinstance(produced[1], tuple) else region.args[0]
    cotangents = lw.lower_in(region, lambda sub: sub.call_function(custom.bwd, [packed, g], node))
    cotangents = list(cotangents) if isinstance(cotangents, tuple) else [cotangents]
    if len(cotangents) != len(args):
        raise lw.error(TypeCheckError, f"the bwd rule of `{name}` returns {len(cotangents)} cotangent(s) for "
                       f"{len(args)} argument(s): one per argument, None for none", node)
    checked = []
    for i, (t, a) in enumerate(zip(cotangents, args)):
        if lw.is_none(t):
            checked.append(None)
            continue
        t = lw.as_value(t, node)
        if is_array(t.type) != is_array(a.type) or (is_array(a.type) and t.type.ndim != a.type.ndim):
            raise lw.error(TypeCheckError, f"the bwd rule of `{name}` returns a cotangent of another shape than argument "
                           f"{i + 1} ({t.type} for {a.type})", node)
        checked.append(t)
    rule = Rule(name, region, checked, len(residuals))
    return lw.op1("custom_vjp", [value, *residuals, *args], value.type, rule=rule)
