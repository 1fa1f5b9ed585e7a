"""A call of a function with the user's own derivative rule (adc/custom.py).

custom_vjp: an op with operands (value, *residuals, *arguments), whose result is the value fwd computed,
and attr `rule`: the lowered bwd, a region of its own outside the function's IR (no pass sees it), which
the reverse sweep emits where it reaches the call (ad/reverse.py). fwd's own operations get no adjoint:
the rule's cotangents go to the arguments.

custom_jvp: an op with operands (value, *arguments), the value computed by the function's own body, and
attr `rule`: the lowered jvp rule, a region whose arguments are the primals then the tangents, which
forward mode emits in place of the body's tangents (ad/forward.py). The body's operations are not made
useful by the call, so they get no tangents of their own."""
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


def _arguments(lw, name: str, kind: str, rule, define: str, node, env) -> list:
    """The call's arguments as values, once the function has its rule and they come by position."""
    if rule is None:
        raise lw.error(UnsupportedCallError, f"`{name}` is an adc.{kind} function without a rule: call "
                       f"{name}.{define} before differentiating code that calls it", node)
    if node.keywords:
        raise lw.error(UnsupportedCallError, f"pass the arguments of `{name}` (a {kind} function) by position", node)
    return [lw.as_value(lw.expr(a, env), node) for a in node.args]


def lower_custom_call(lw, custom, node, env):
    """`f(args)` for an adc.custom_vjp f: fwd inlined here, bwd lowered into the op's rule."""
    name = custom.fn.__name__
    if custom.fwd in lw.inlining or custom.bwd in lw.inlining:  # fwd computing the value by the function itself
        return lw.inline(custom.fn, node, env)
    args = _arguments(lw, name, "custom_vjp", custom.bwd, "defvjp(fwd, bwd)", node, env)
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


@dataclass(eq=False)
class JvpRule:
    name: str
    region: Region  # the rule's body: its arguments are the primals, then the tangents
    tangent: Value  # the result's tangent, defined in region
    arguments: int


def _no_reverse_mode(c):
    loc = c.op.loc
    raise CompileError(f"`{c.op.attrs['rule'].name}` has a custom forward-mode rule (adc.custom_jvp) and no "
                       "reverse mode: give it a reverse-mode rule too (an adc.custom_vjp function with the same "
                       "body), or use jvp", loc.filename, loc.lineno, loc.col)


def _emitted_by_forward_mode(c):
    raise AssertionError("ad/forward.py emits the rule of a custom_jvp op itself")


declare("custom_jvp", spell=lambda op, args: args[0], jvp=_emitted_by_forward_mode, vjp=_no_reverse_mode)


def lower_custom_jvp_call(lw, custom, node, env):
    """`f(args)` for an adc.custom_jvp f: the body inlined here for the value, the rule lowered into the op."""
    name = custom.fn.__name__
    if custom.jvp in lw.inlining:  # the rule computing the value by the function itself
        return lw.inline(custom.fn, node, env)
    args = _arguments(lw, name, "custom_jvp", custom.jvp, "defjvp(rule)", node, env)
    value = lw.as_value(lw.call_function(custom.fn, args, node), node)
    region = Region()
    region.args = [Value(a.type, a.hint) for a in args] + [Value(a.type, f"{a.hint or 't'}_dot") for a in args]
    for a in region.args:
        a.owner = region

    def rule(sub):
        produced = sub.call_function(custom.jvp, [sub.pack(region.args[:len(args)]), sub.pack(region.args[len(args):])],
                                     node)
        if not (isinstance(produced, tuple) and len(produced) == 2):
            raise lw.error(TypeCheckError, f"the jvp rule of `{name}` must return (value, tangent)", node)
        return sub.as_value(produced[1], node)
    tangent = lw.lower_in(region, rule)
    from ..ir.dce import eliminate_dead_code_in  # ir/dce.py reads the primitives' table: imported once it exists
    eliminate_dead_code_in(region, frozenset({tangent.id}))  # the rule's own value is the body's: not computed again
    if is_array(tangent.type) != is_array(value.type) or (is_array(value.type) and tangent.type.ndim != value.type.ndim):
        raise lw.error(TypeCheckError, f"the jvp rule of `{name}` returns a tangent of another shape than the value "
                       f"({tangent.type} for {value.type})", node)
    return lw.op1("custom_jvp", [value, *args], value.type, rule=JvpRule(name, region, tangent, len(args)))
