"""Checked AST to structured SSA, specialised on the argument types of one call.

Names become SSA values through an environment; loops and branches get explicit
carried values and results (the names they assign that live before them). Types are
known on entry (they come from the call), so each op gets its result type here.
"""
from __future__ import annotations

import cmath
import math
import types

import gast
import numpy as np

from ..checkpointing import AUTO_SNAPSHOTS, checkpoint
from ..codegen import GENERATED_PREFIX
from ..custom import CustomJVP, CustomVJP
from ..errors import CompileError, TypeCheckError, UnknownNameError, UnsupportedCallError, UnsupportedSyntaxError
from ..ir.core import (
    BOOL,
    I64,
    SHORT_NAMES,
    WEAK_INT,
    Array,
    Function,
    Loc,
    Op,
    Region,
    Scalar,
    Value,
    as_float,
    constant_value,
    has_store,
    is_array,
    is_weak,
    promote,
    real_part,
    walk,
    with_dtype,
)
from ..primitives import ACCESSES, CALLED, DERIVED, METHODS, PRIMITIVES, RUNTIME_CALLS
from ..primitives.custom import lower_custom_call, lower_custom_jvp_call
from ..primitives.elementwise import FUNCTIONS
from . import resolve
from .desugar import desugar
from .fence import check_subset
from .source import ParsedFunction, assigned_names, parse_function


class Static:
    """A compile-time object: a module, a function, a dtype."""

    def __init__(self, obj):
        self.obj = obj


class TupleVal(tuple):
    """A tuple of values, unpacked at compile time."""


BINOPS = {gast.Add: "add", gast.Sub: "sub", gast.Mult: "mul", gast.Div: "div", gast.FloorDiv: "floordiv",
          gast.Mod: "mod", gast.Pow: "pow", gast.MatMult: "matmul", gast.BitAnd: "and", gast.BitOr: "or", gast.BitXor: "xor"}
CMPOPS = {gast.Lt: "lt", gast.LtE: "le", gast.Gt: "gt", gast.GtE: "ge", gast.Eq: "eq", gast.NotEq: "ne"}


def _flatten(value) -> list:
    """A returned tuple, nested or not, as its values in order."""
    if isinstance(value, TupleVal):
        return [v for item in value for v in _flatten(item)]
    return [value]


FIXED_MODULES = (np, math, cmath)  # whose numbers (np.pi, math.e) never change


# what to write instead of functions people reach for that adc does not have
ADVICE = {id(np.einsum): "write the product with @ or np.dot, or as a loop",
          id(np.tile): "concatenate copies, np.concatenate((x, x, x)), or index x[i % n] in a loop",
          id(np.polyval): "evaluate the polynomial by Horner's rule in a loop",
          id(np.searchsorted): "find the index in a loop",
          id(np.nonzero): "use np.where(cond, x, y), or x[mask] inside a reduction"}


def _spelled(obj) -> str:
    """A function as a user writes it: np.polyval, statistics.fmean."""
    module = getattr(obj, "__module__", None) or ""
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", repr(obj))
    if module == "numpy" or module.startswith("numpy."):
        return "np." + (module[len("numpy."):] + "." if module.startswith("numpy.") and not module.startswith("numpy._")
                        and module != "numpy.core" else "") + name
    return f"{module}.{name}" if module and module != "builtins" else name


def _is_number(obj) -> bool:
    return isinstance(obj, (bool, int, float, complex, np.number, np.bool_))


def _free(where, name: str):
    """What a free name of a function, or an attribute of a module, denotes now."""
    return getattr(where, name, None) if isinstance(where, types.ModuleType) else resolve.lookup(where, name)


def constants_hold(constants) -> bool:
    """Whether the free names a specialisation read as constants still have those values."""
    for where, name, value in constants:
        now = _free(where, name)
        if now is not value and now != value:
            return False
    return True


def hidden_arrays(fn: Function) -> tuple | None:
    """The module-level arrays the function reads, as they are now (passed as its last arguments), or
    None when one is no longer an array of the type it was compiled for."""
    arrays = tuple(_free(where, name) for where, name in fn.hidden)
    types_now = [Array(a.dtype.name, a.ndim) if isinstance(a, np.ndarray) else None for a in arrays]
    return arrays if types_now == [p.type for p in fn.params[len(fn.params) - len(arrays):]] else None


def _slice_spec(parts) -> tuple[tuple, list]:
    """Index parts (values, or (lower, upper, step) with None for absent) as a spec and its operands:
    "i" for an integer index, and for a slice which of lower, upper, step are given ("101": x[a::c])."""
    spec, operands = [], []
    for p in parts:
        if isinstance(p, Value):
            spec.append("i")
            operands.append(p)
        else:
            spec.append("".join("1" if e is not None else "0" for e in p))
            operands.extend(e for e in p if e is not None)
    return tuple(spec), operands


def parse_checked(fn) -> ParsedFunction:
    parsed = parse_function(fn)
    check_subset(parsed, generated=fn.__module__.startswith(GENERATED_PREFIX))
    desugar(parsed, lambda name: resolve.lookup(fn, name))
    return parsed


def lower_function(fn, arg_types: list) -> Function:
    parsed = parse_checked(fn)
    params = [p.id for p in parsed.node.args.args]
    if len(params) != len(arg_types):
        raise TypeError(f"{fn.__name__}() takes {len(params)} arguments, got {len(arg_types)}")
    values = [Value(t, name) for name, t in zip(params, arg_types)]
    body = Region()
    lowerer = Lowerer(parsed, fn, [body])
    lowerer.arguments = values
    env = dict(zip(params, values))
    *stmts, ret = parsed.node.body
    for stmt in stmts:
        lowerer.stmt(stmt, env)
    lowerer.at(ret)
    result = lowerer.expr(ret.value, env)
    results = [lowerer.as_value(r, ret) for r in _flatten(result)]
    for r in results:
        r.hint = r.hint or "result"
    lowerer.emit("return", results, [])
    hidden = list(lowerer.hidden.values())
    taken = set(params)
    for _, _, v in hidden:  # parameters of generated code: one name each
        while v.hint in taken:
            v.hint += "_global"
        taken.add(v.hint)
    values += [v for _, _, v in hidden]
    function = Function(fn.__name__, values, body, parsed.filename, parsed.line_offset + parsed.node.lineno,
                        constants=lowerer.folded, hidden=[(where, name) for where, name, _ in hidden])
    for v in values:
        v.owner = function
    return function


class Lowerer:
    def __init__(self, parsed: ParsedFunction, fn, regions: list[Region], inlining: tuple = (), folded=None,
                 hidden=None, computed=None):
        self.parsed = parsed
        self.fn = fn
        self.regions = regions
        self.inlining = inlining + (fn,)
        self.loc: Loc | None = None
        self.assigned_anywhere = assigned_names(parsed.node.body)
        self.folded = [] if folded is None else folded  # (where, name, value) of free names read as constants
        self.hidden = {} if hidden is None else hidden  # module-level arrays read: (id(fn), name) -> (fn, name, param)
        self.arguments: list[Value] = []  # the differentiated function's parameters, for errors about what was passed
        self.views: dict[tuple, Value] = {}  # (opcode, array id) -> the view made of it: z.real read twice is one op
        self.computed = {} if computed is None else computed  # Lowerer.once, shared with inlined helpers

    # -- building ------------------------------------------------------------------
    @property
    def region(self) -> Region:
        return self.regions[-1]

    def emit(self, opcode, operands, types, attrs=None, regions=None, hints=None) -> Op:
        hints = hints or [None] * len(types)
        results = [Value(t, h) for t, h in zip(types, hints)]
        op = Op(opcode, list(operands), results, attrs or {}, regions or [], self.loc)
        if PRIMITIVES[opcode].effect in ("writes", "control"):
            self.computed.clear()  # what Lowerer.once made may read memory this changes
        for r in results:
            r.owner = op
        self.region.ops.append(op)
        return op

    def once(self, key: tuple, make) -> Value:
        """make(), or what it made before in this region with no write or control flow since: np.linalg.inv(S),
        det(S) and solve(S, v) share one factorisation of S."""
        key = (*key, id(self.region))
        if key not in self.computed:
            self.computed[key] = make()
        return self.computed[key]

    def op1(self, opcode, operands, type_, **attrs) -> Value:
        return self.emit(opcode, operands, [type_], attrs).result

    def const(self, value) -> Value:
        if isinstance(value, np.generic) and np.dtype(type(value)).name in SHORT_NAMES:
            t = Scalar(np.dtype(type(value)).name)
        elif isinstance(value, (bool, int, float, complex)):  # a Python number is weak (NEP 50)
            t = Scalar({bool: "bool", int: "int64", float: "float64", complex: "complex128"}[type(value)], weak=True)
        else:
            raise self.error(TypeCheckError, f"the constant {value!r} is not a number", None)
        return self.op1("const", [], t, value=value.item() if isinstance(value, np.generic) else value)

    def cast(self, v: Value, type_) -> Value:
        if v.type == type_:
            return v
        if is_array(type_) != is_array(v.type):
            raise self.error(TypeCheckError, f"a {'array' if is_array(v.type) else 'scalar'} value cannot take the place of a "
                             f"{'array' if is_array(type_) else 'scalar'}: keep the variable's kind the same in loops and branches", None)
        if np.dtype(v.type.dtype).kind == "c" and np.dtype(type_.dtype).kind != "c":
            raise self.error(TypeCheckError, "a complex value cannot be stored where a real one is expected: take .real or abs() first", None)
        return self.op1("cast", [v], type_, dtype=type_.dtype)

    def at(self, node) -> None:
        lineno = node.lineno + self.parsed.line_offset
        self.loc = Loc(self.parsed.filename, lineno, node.col_offset + self.parsed.col_offset, self.parsed.line(lineno))

    def error(self, cls, message: str, node) -> CompileError:
        if node is not None and hasattr(node, "lineno"):
            self.at(node)
        loc = self.loc
        return cls(message, loc.filename if loc else self.parsed.filename, loc.lineno if loc else 0, loc.col if loc else 0)

    def not_an_array(self, v: Value, message: str, node) -> CompileError:
        """Indexing a number, or its .shape: when the number is an argument, it was passed as one (energy(1.5))."""
        if any(v is a for a in self.arguments):
            message = (f"argument `{v.hint}` is a number ({v.type.dtype}) where {self.fn.__name__} uses it as an array: "
                       "pass a numpy array")
        return self.error(TypeCheckError, message, node)

    def as_value(self, v, node) -> Value:
        if isinstance(v, Value):
            return v
        raise self.error(TypeCheckError, "expected a number or an array here, not a module, function or tuple", node)

    def region_of(self, build) -> tuple[Region, object]:
        """A new region filled by `build(region)`, and what `build` returned."""
        region = Region()
        self.regions.append(region)
        try:
            result = build(region)
        finally:
            self.regions.pop()
        return region, result

    # -- statements ----------------------------------------------------------------
    def stmt(self, node, env) -> None:
        self.at(node)
        method = getattr(self, "stmt_" + type(node).__name__, None)
        if method is None:
            raise self.error(UnsupportedSyntaxError, f"the statement `{type(node).__name__}` is not supported", node)
        method(node, env)

    def block(self, stmts, env) -> None:
        for s in stmts:
            self.stmt(s, env)

    def stmt_Pass(self, node, env):
        pass

    def stmt_Expr(self, node, env):
        if isinstance(node.value, gast.Constant) and isinstance(node.value.value, str):
            return  # docstring
        self.expr(node.value, env)  # an unsupported call says so first
        raise self.error(UnsupportedSyntaxError, "an expression statement has no effect in differentiated code: assign its value to a variable", node)

    def stmt_Assign(self, node, env):
        value = self.expr(node.value, env)
        if len(node.targets) == 1 and isinstance(node.targets[0], gast.Name) and isinstance(value, Value):
            self.note_accumulation(value, env.get(node.targets[0].id))  # s = s + t
        for target in node.targets:
            self.assign(target, value, env)

    @staticmethod
    def note_accumulation(new: Value, old) -> None:
        """`s += t`, `s = s + t`, `s = t + s`, `s -= t`: the add or sub says which operand is s's old value
        (attrs accumulates), so reverse mode passes s's adjoint through and gives t its share."""
        owner = new.owner
        if isinstance(owner, Op) and isinstance(old, Value) and not is_array(old.type) and owner.opcode in ("add", "sub"):
            a, b = owner.operands
            if a is old and b is not old:
                owner.attrs["accumulates"] = 0
            elif owner.opcode == "add" and b is old and a is not old:
                owner.attrs["accumulates"] = 1

    def stmt_AugAssign(self, node, env):
        op = BINOPS[type(node.op)]
        target = node.target
        if isinstance(target, gast.Name):
            old = self.as_value(self.name(target, env), target)
            new = self.binop(op, old, self.as_value(self.expr(node.value, env), node.value))
            if is_array(old.type):  # numpy's `y += e` writes into y's memory, which views of y see
                self.store(old, [(None, None, None)] * old.type.ndim, new, target, in_place=True)
            else:
                self.note_accumulation(new, old)
                self.assign(target, new, env)
        elif isinstance(target, gast.Subscript):
            array, index = self.subscript_parts(target, env)
            old = self.load(array, index, target)
            start = len(self.region.ops)
            new = self.binop(op, old, self.as_value(self.expr(node.value, env), node.value))
            # `x[i] += d` updates the element unless d's own evaluation wrote into memory (`x[0] += f(x)`)
            updates = new.owner.operands[0] is old and not any(has_store(o) for o in self.region.ops[start:])
            self.store(array, index, new, target, in_place=True, augmented=new.owner.opcode if updates else None)
        else:
            raise self.error(UnsupportedSyntaxError, "augmented assignment needs a name or an array element as its target", node)

    def assign(self, target, value, env) -> None:
        if isinstance(target, gast.Name):
            if isinstance(value, Value) and value.hint is None:
                value.hint = target.id
            env[target.id] = value
        elif isinstance(target, gast.Tuple):
            if not isinstance(value, TupleVal) or len(value) != len(target.elts):
                raise self.error(UnsupportedSyntaxError, f"cannot unpack into {len(target.elts)} names: the right side must be a tuple of the same length", target)
            for t, v in zip(target.elts, value):
                self.assign(t, v, env)
        elif isinstance(target, gast.Subscript):
            array, index = self.subscript_parts(target, env)
            self.store(array, index, self.as_value(value, target), target)
        else:
            raise self.error(UnsupportedSyntaxError, "assign to a name, a tuple of names or an array element", target)

    def carried(self, stmts, env, exclude=()) -> list[str]:
        return sorted(n for n in assigned_names(stmts) if isinstance(env.get(n), Value) and n not in exclude)

    def stmt_For(self, node, env):
        it, attrs = self.checkpointed(node.iter, env)
        callee = self.expr(it.func, env) if isinstance(it, gast.Call) else None
        if not (isinstance(callee, Static) and callee.obj is range) or it.keywords or not 1 <= len(it.args) <= 3:
            raise self.error(UnsupportedSyntaxError, "`for` loops must iterate over range(stop), range(start, stop) or range(start, stop, step); index arrays inside the loop", node)
        if not isinstance(node.target, gast.Name):
            raise self.error(UnsupportedSyntaxError, "the loop variable must be a single name", node)
        bounds = [self.int_value(a, env) for a in it.args]
        lo, hi, step = self.range_parts(bounds)
        names = self.carried(node.body, env, exclude={node.target.id})
        loc = self.loc

        def lower_body(types):
            def build(region):
                region.args = [Value(WEAK_INT, node.target.id)] + [Value(t, n) for n, t in zip(names, types)]
                inner = dict(env, **dict(zip([node.target.id] + names, region.args)))
                self.block(node.body, inner)
                return [self.env_value(inner, n, node) for n in names]
            body, yielded = self.region_of(build)
            return [body], yielded
        regions, types = self.fixpoint(lower_body, [env[n].type for n in names], node)
        self.loc = loc
        inits = [self.cast(env[n], t) for n, t in zip(names, types)]
        op = self.emit("for", [lo, hi, step, *inits], types, attrs=attrs, regions=regions, hints=names)
        env.update(zip(names, op.results))

    def checkpointed(self, it, env):
        """`adc.checkpoint(range(...), snapshots=s)`: the range, and the loop's attrs {"snapshots": s}."""
        callee = self.expr(it.func, env) if isinstance(it, gast.Call) else None
        if not (isinstance(callee, Static) and callee.obj is checkpoint):
            return it, {}
        usage = "write `for t in adc.checkpoint(range(N), snapshots=s):` with s a whole number >= 1 known before the call"
        keywords = {k.arg: k.value for k in it.keywords}
        if len(it.args) != 1 or set(keywords) - {"snapshots"} or (len(it.args) + len(keywords) > 2):
            raise self.error(UnsupportedCallError, f"adc.checkpoint takes one range and snapshots=: {usage}", it)
        snapshots = AUTO_SNAPSHOTS
        if "snapshots" in keywords:
            value = self.expr(keywords["snapshots"], env)
            snapshots = value.obj if isinstance(value, Static) else constant_value(value) if isinstance(value, Value) else None
            if isinstance(snapshots, bool) or not isinstance(snapshots, (int, np.integer)) or snapshots < 1:
                raise self.error(UnsupportedCallError, f"adc.checkpoint's snapshots must be a constant: {usage} "
                                 "(a literal or a module-level constant)", keywords["snapshots"])
        if len(self.regions) > 1:
            raise self.error(UnsupportedSyntaxError, "adc.checkpoint marks a loop of the function's own body, "
                             "not one inside another loop or a branch: checkpoint the outer loop instead", it)
        return it.args[0], {"snapshots": int(snapshots)}

    def stmt_While(self, node, env):
        names = self.carried(node.body, env)
        loc = self.loc

        def lower_regions(types):
            def carried_env(region):
                region.args = [Value(t, n) for n, t in zip(names, types)]
                return dict(env, **dict(zip(names, region.args)))

            def build_cond(region):
                self.finish_yield([self.condition(node.test, carried_env(region))], [BOOL])

            def build_body(region):
                inner = carried_env(region)
                self.block(node.body, inner)
                return [self.env_value(inner, n, node) for n in names]
            cond, _ = self.region_of(build_cond)
            body, yielded = self.region_of(build_body)
            return [cond, body], yielded
        regions, types = self.fixpoint(lower_regions, [env[n].type for n in names], node)
        self.loc = loc
        inits = [self.cast(env[n], t) for n, t in zip(names, types)]
        op = self.emit("while", inits, types, regions=regions, hints=names)
        env.update(zip(names, op.results))

    def fixpoint(self, lower_regions, types, node):
        """Lower a loop until its carried types stop widening (an int 0 that becomes a float)."""
        for _ in range(4):
            regions, yielded = lower_regions(types)
            widened = [self.join_type(t, y.type, node) for t, y in zip(types, yielded)]
            if [(t, is_weak(t)) for t in widened] == [(t, is_weak(t)) for t in types]:
                self.finish(regions[-1], yielded, types)
                return regions, types
            types = widened
        raise self.error(TypeCheckError, "the types of the loop's variables do not settle", node)

    def finish(self, region, values, types):
        self.regions.append(region)
        self.finish_yield(values, types)
        self.regions.pop()

    def finish_yield(self, values, types):
        self.emit("yield", [self.cast(v, t) for v, t in zip(values, types)], [])

    def join_type(self, a, b, node):
        if is_array(a) != is_array(b) or (is_array(a) and a != b and a.ndim != b.ndim):
            raise self.error(TypeCheckError, "a variable changes between scalar and array, or between array ranks, across a loop or branch: use separate names", node)
        return promote(a, b)

    def env_value(self, env, name, node) -> Value:
        return self.as_value(env[name], node)

    def stmt_If(self, node, env):
        if len(node.body) == 1 and isinstance(node.body[0], gast.Raise) and not node.orelse:
            return self.own_check(node, env)
        cond = self.condition(node.test, env)
        if isinstance(constant_value(cond), bool) and isinstance(node.test, gast.Compare):  # `if mode == "full":`
            return self.block(node.body if constant_value(cond) else node.orelse, env)
        loc = self.loc
        env_then, env_else = dict(env), dict(env)
        then, _ = self.region_of(lambda r: self.block(node.body, env_then))
        orelse, _ = self.region_of(lambda r: self.block(node.orelse, env_else))
        names = sorted(n for n in assigned_names(node.body) | assigned_names(node.orelse)
                       if isinstance(env_then.get(n), Value) and isinstance(env_else.get(n), Value))
        types = [self.join_type(env_then[n].type, env_else[n].type, node) for n in names]
        self.finish(then, [env_then[n] for n in names], types)
        self.finish(orelse, [env_else[n] for n in names], types)
        self.loc = loc
        op = self.emit("if", [cond], types, regions=[then, orelse], hints=names)
        env.update(zip(names, op.results))

    def stmt_Assert(self, node, env):
        """Checked where it stands, as Python checks it; a condition has no derivative."""
        failed = self.op1("not", [self.condition(node.test, env)], BOOL)
        reason = node.msg.value if node.msg is not None else f"`{self.loc.text}` failed"
        self.emit("assertion", [failed], [], {"message": f"{self.loc}: {reason}"})

    def own_check(self, node, env) -> None:
        """A check in adc's own output (the fence refuses raise elsewhere). A bounds check and the user's
        assert are kept, as they name the user's line; code derived from the others checks again."""
        call = node.body[0].exc
        if isinstance(call, gast.Call) and isinstance(call.func, gast.Name) and call.func.id == "AssertionError":
            self.emit("assertion", [self.condition(node.test, env)], [], {"message": call.args[0].value})
            return
        name = call.func.attr if isinstance(call, gast.Call) and isinstance(call.func, gast.Attribute) else None
        if name == "LinAlgError":
            attrs = {"message": call.args[0].value, "error": "np.linalg.LinAlgError"}
            self.emit("assertion", [self.condition(node.test, env)], [], attrs)
            return
        if name != "OutOfBounds":
            return
        where, access, array, axis, extent = (a.value for a in call.args[:5])
        index, length = (self.value(a, env) for a in call.args[5:])
        attrs = {"where": where, "access": access, "array": array, "axis": axis, "extent": extent}
        self.emit("boundscheck", [self.condition(node.test, env), index, length], [], attrs)

    def condition(self, node, env) -> Value:
        v = self.as_value(self.expr(node, env), node)
        if v.type != BOOL:
            if is_array(v.type):
                raise self.error(TypeCheckError, "the condition is an array: reduce it to one value (np.sum, a comparison of elements)", node)
            v = self.truth(v)
        return v

    # -- expressions ---------------------------------------------------------------
    def expr(self, node, env):
        method = getattr(self, "expr_" + type(node).__name__, None)
        if method is None:
            raise self.error(UnsupportedSyntaxError, f"the expression `{type(node).__name__}` is not supported", node)
        return method(node, env)

    def value(self, node, env) -> Value:
        return self.as_value(self.expr(node, env), node)

    def int_value(self, node, env) -> Value:
        return self.int_index(self.value(node, env), node)

    def expr_Constant(self, node, env):
        if isinstance(node.value, str):
            return Static(node.value)
        if node.value is None:
            return Static(None)
        return self.const(node.value)

    def expr_Name(self, node, env):
        return self.name(node, env)

    def name(self, node, env):
        if node.id in env:
            return env[node.id]
        obj = resolve.lookup(self.fn, node.id)
        if obj is None:
            if node.id in self.assigned_anywhere:
                raise self.error(UnknownNameError, f"`{node.id}` is used here but assigned only inside a loop or a branch that may not run: give it a value before the loop or `if`", node)
            raise self.error(UnknownNameError, f"unknown name `{node.id}`: define it, import it at module level or pass it as an argument", node)
        if _is_number(obj):
            self.folded.append((self.fn, node.id, obj))
        if isinstance(obj, np.ndarray):
            return self.hidden_array(self.fn, node.id, obj, node)
        return self.static(obj, node)

    def hidden_array(self, where, name: str, array: np.ndarray, node) -> Value:
        """A module-level array (a window, a filterbank) is an argument the caller does not pass: read at
        each call as it is then, never frozen into the kernel. `where`: the function whose global it is,
        or the module whose attribute."""
        key = (id(where), name)
        if key not in self.hidden:
            if array.dtype.name not in SHORT_NAMES or array.ndim == 0:
                raise self.error(TypeCheckError, f"the module-level array `{name}` has dtype {array.dtype} and "
                                 f"{array.ndim} dimensions: adc reads float, complex, int64 and bool arrays of "
                                 "one dimension or more; convert it, or pass it as an argument", node)
            self.hidden[key] = (where, name, Value(Array(array.dtype.name, array.ndim), name))
        return self.hidden[key][2]

    def static(self, obj, node):
        if _is_number(obj):
            return self.const(obj)
        if isinstance(obj, np.ndarray):
            raise self.error(TypeCheckError, "global arrays are not supported: pass the array as an argument", node)
        return Static(obj)

    def expr_Tuple(self, node, env):
        return TupleVal(self.expr(e, env) for e in node.elts)

    expr_List = expr_Tuple  # only as a call's argument (the fence refuses the others): np.array([a, b])

    def expr_Attribute(self, node, env):
        base = self.expr(node.value, env)
        if isinstance(base, Static):
            if not hasattr(base.obj, node.attr):
                raise self.error(UnknownNameError, f"`{node.attr}` is not an attribute of {base.obj!r}", node)
            value = getattr(base.obj, node.attr)
            if _is_number(value) and isinstance(base.obj, types.ModuleType) and base.obj not in FIXED_MODULES:
                self.folded.append((base.obj, node.attr, value))  # config.GAIN: may be set again later
            if isinstance(value, np.ndarray) and isinstance(base.obj, types.ModuleType):
                return self.hidden_array(base.obj, node.attr, value, node)  # config.WINDOW
            return self.static(value, node)
        base = self.as_value(base, node)
        attr = node.attr
        if is_array(base.type):
            if attr == "shape":
                return TupleVal(self.dim(base, k) for k in range(base.type.ndim))
            if attr == "ndim":
                return self.const(base.type.ndim)
            if attr == "size":
                return self.size(base)
        elif attr in ("shape", "ndim", "size"):
            raise self.not_an_array(base, f"`.{attr}` needs an array, not a number", node)
        if attr in ("real", "imag"):
            return self.view(attr, base, real_part(base.type))
        if attr == "T" and is_array(base.type):
            return base if base.type.ndim == 1 else self.view("transpose", base, base.type)
        return Static(("method", base, attr))

    def view(self, opcode: str, base: Value, type_) -> Value:
        """`S.real * S.real` makes one view of S, not two (a view is the same whenever it is read, so the
        first is reused while its region is open): fewer whole-array statements to compile and run."""
        made = self.views.get((opcode, base.id))
        if made is not None and any(made.owner in r.ops for r in self.regions):
            return made
        made = self.views[(opcode, base.id)] = self.op1(opcode, [base], type_)
        return made

    def size(self, array: Value) -> Value:
        size = self.const(1)
        for k in range(array.type.ndim):
            size = self.binop("mul", size, self.dim(array, k))
        return size

    def full(self, shape: list[Value], value: Value) -> Value:
        """np.full(shape, value): an array of value's type."""
        return self.op1("full", [value, *shape], Array(value.type.dtype, len(shape)))

    def expand_dims(self, v: Value, axis: int) -> Value:
        """v with a new axis of length 1 at `axis` (a view, as x[:, None] is)."""
        return self.op1("expand_dims", [v], Array(v.type.dtype, v.type.ndim + 1), axis=axis)

    def truth(self, v: Value) -> Value:
        """A condition, or a boolean array, from a value: numbers are true when nonzero."""
        if v.type.dtype == "bool":
            return v
        return self.op1("ne", [v, self.const(0)], with_dtype(v.type, "bool") if is_array(v.type) else BOOL)

    def logical(self, kind: str, operands: list[Value], node) -> Value:
        """np.logical_and, np.logical_or, np.logical_not, elementwise (and on numbers, Python's and/or/not)."""
        operands = [self.truth(v) for v in operands]
        ndim = max(v.type.ndim if is_array(v.type) else 0 for v in operands)
        return self.op1(kind, operands, Array("bool", ndim) if ndim else BOOL)

    def where(self, cond: Value, x: Value, y: Value, node) -> Value:
        """np.where(cond, x, y): x where cond holds, else y, broadcast together."""
        cond = self.truth(cond)
        t = promote(x.type, y.type)
        x, y = self.narrowed(x, t), self.narrowed(y, t)
        x, y = (self.cast(v, with_dtype(v.type, t.dtype)) for v in (x, y))
        ndim = max(v.type.ndim if is_array(v.type) else 0 for v in (cond, x, y))
        return self.op1("select", [cond, x, y], Array(t.dtype, ndim) if ndim else Scalar(t.dtype))

    def check(self, failed: Value, reason: str, node, error: str = "AssertionError") -> None:
        """A check of the user's line that raises `error` when `failed` holds (np.pad's widths, a singular matrix)."""
        self.at(node)
        self.emit("assertion", [failed], [], {"message": f"{self.loc}: {reason}", "error": error})

    def negate(self, v: Value) -> Value:
        if constant_value(v) is not None and not isinstance(constant_value(v), bool):
            return self.const(-constant_value(v))  # -1 is a constant (an axis, a step)
        return self.op1("neg", [v], with_dtype(v.type, "int64") if v.type.dtype == "bool" else v.type)

    def dim(self, array: Value, axis: int) -> Value:
        v = self.op1("dim", [array], WEAK_INT, axis=axis)
        v.hint = f"{array.hint}_len" + (str(axis) if axis else "") if array.hint else None
        return v

    def expr_BinOp(self, node, env):
        return self.binop(BINOPS[type(node.op)], self.value(node.left, env), self.value(node.right, env), node)

    def binop(self, op, a: Value, b: Value, node=None) -> Value:
        if op == "matmul":
            return self.matmul(a, b, node)
        if op in ("and", "or", "xor"):
            return self.boolean_operator(op, a, b, node)
        t = promote(a.type, b.type)
        if op != "pow":  # numba keeps x ** 2 float32 itself
            a, b = self.narrowed(a, t), self.narrowed(b, t)
        if op == "div":
            t = as_float(t)
        elif op == "pow" and t.dtype in ("int64", "bool"):
            exponent_ok = constant_value(b) is not None and constant_value(b) >= 0
            t = t if exponent_ok else as_float(t)
            if not exponent_ok:
                a = self.cast(a, with_dtype(a.type, "float64"))
        elif t.dtype == "bool":
            t = with_dtype(t, "int64")
        if op in ("floordiv", "mod") and np.dtype(t.dtype).kind == "c":
            raise self.error(TypeCheckError, f"`{op}` is not defined for complex numbers", node)
        return self.op1(op, [a, b], t)

    def matmul(self, a, b, node, dot=False) -> Value:
        if not (is_array(a.type) and is_array(b.type)):
            raise self.error(TypeCheckError, "`@`, np.matmul and np.dot need arrays: multiply by a number with `*`", node)
        ndims = a.type.ndim, b.type.ndim
        if (max(ndims) > 2 and dot) or max(ndims) > 3 or (max(ndims) == 3 and min(ndims) == 1):
            raise self.error(TypeCheckError, "`@` and np.matmul take vectors, matrices and stacks (3-d) of matrices, "
                             "and np.dot vectors and matrices: for others loop over the leading axis", node)
        ndim = max(ndims) if max(ndims) == 3 else a.type.ndim + b.type.ndim - 2
        dtype = promote(a.type, b.type).dtype
        return self.op1("dot" if ndim == 0 else "matmul", [a, b], Scalar(dtype) if ndim == 0 else Array(dtype, ndim))

    def boolean_operator(self, op, a: Value, b: Value, node) -> Value:
        """`m1 & m2`, `m1 | m2`, `m1 ^ m2` of boolean masks or conditions: elementwise logic, as numpy does it."""
        symbol = {"and": "&", "or": "|", "xor": "^"}[op]
        if a.type.dtype != "bool" or b.type.dtype != "bool":
            raise self.error(UnsupportedSyntaxError, f"`{symbol}` is supported on booleans (masks, comparisons) only: "
                             "bitwise integer arithmetic is not differentiable code; use `and`/`or` on conditions", node)
        if op == "xor":
            t = promote(a.type, b.type)
            return self.op1("ne", [a, b], Array("bool", t.ndim) if is_array(t) else BOOL)
        return self.logical(op, [a, b], node)

    def expr_UnaryOp(self, node, env):
        v = self.value(node.operand, env)
        if isinstance(node.op, gast.Invert):
            if v.type.dtype != "bool":
                raise self.error(UnsupportedSyntaxError, "`~` is supported on booleans (masks, comparisons) only: negate "
                                 "a condition with `not`, a mask with ~mask or np.logical_not(mask)", node)
            return self.logical("not", [v], node)
        if isinstance(node.op, gast.Not):
            return self.op1("not", [self.condition(node.operand, env) if v.type != BOOL else v], BOOL)
        if isinstance(node.op, gast.UAdd):
            return v
        return self.negate(v)

    def expr_BoolOp(self, node, env):
        """`a and b`, `a or b`, short-circuiting as Python does: an operand that reads or writes memory (an
        element that may be out of bounds when the left side decides, `i < n and x[i] > 0`; a helper that
        stores into an array) runs inside an `if`; constants decide or drop out (the flags desugaring
        introduces start as False)."""
        is_and = isinstance(node.op, gast.And)
        result = self.condition(node.values[0], env)
        for operand in node.values[1:]:
            if constant_value(result) is (not is_and):
                return result
            region, v = self.region_of(lambda r, operand=operand: self.condition(operand, env))
            if constant_value(result) is is_and:
                self.region.ops.extend(region.ops)
                result = v
            elif any(op.opcode in ACCESSES for op in walk(region)):
                decided = Region()
                self.regions.append(decided)
                self.finish_yield([self.const(not is_and)], [BOOL])
                self.regions.pop()
                self.finish(region, [v], [BOOL])
                result = self.emit("if", [result], [BOOL], regions=[region, decided] if is_and else [decided, region]).result
            else:
                self.region.ops.extend(region.ops)
                decided = constant_value(v) is not None
                result = (result if constant_value(v) is is_and else v) if decided else \
                    self.op1("and" if is_and else "or", [result, v], BOOL)
        return result

    def expr_Compare(self, node, env):
        static = self.static_comparison(node, env)
        if static is not None:
            return static
        left = self.value(node.left, env)
        result = None
        for op, comp in zip(node.ops, node.comparators):
            right = self.value(comp, env)
            for side in (left, right):
                if np.dtype(side.type.dtype).kind == "c" and type(op) not in (gast.Eq, gast.NotEq):
                    raise self.error(TypeCheckError, "complex numbers cannot be ordered: compare abs(z) or z.real", node)
            if is_array(left.type) or is_array(right.type):
                if len(node.ops) > 1:
                    raise self.error(TypeCheckError, "a chained comparison of arrays is not elementwise in numpy: write "
                                     "np.logical_and(a < b, b < c)", node)
                t = promote(left.type, right.type)
                left, right = self.narrowed(left, t), self.narrowed(right, t)
                return self.op1(CMPOPS[type(op)], [left, right], Array("bool", t.ndim))
            c = self.op1(CMPOPS[type(op)], [left, right], BOOL)
            result = c if result is None else self.op1("and", [result, c], BOOL)
            left = right
        return result

    def static_comparison(self, node, env):
        """`mode == "full"` of compile-time strings (a helper's options): decided while lowering, so only the
        branch taken is compiled."""
        if len(node.ops) != 1 or not isinstance(node.ops[0], (gast.Eq, gast.NotEq)):
            return None
        left, right = self.expr(node.left, env), self.expr(node.comparators[0], env)
        if not (isinstance(left, Static) and isinstance(right, Static)
                and all(isinstance(v.obj, (str, type(None))) for v in (left, right))):
            return None
        return self.const((left.obj == right.obj) == isinstance(node.ops[0], gast.Eq))

    def expr_IfExp(self, node, env):
        """`a if c else b`: a select, or an `if` when a branch reads an element (only the branch Python
        runs may index out of bounds: `x[n - 1] if n > 0 else 0.0`)."""
        cond = self.condition(node.test, env)
        if not any(isinstance(n, gast.Subscript) for branch in (node.body, node.orelse) for n in gast.walk(branch)):
            a, b = self.value(node.body, env), self.value(node.orelse, env)
            t = self.join_type(a.type, b.type, node)
            return self.op1("select", [cond, self.cast(a, t), self.cast(b, t)], t)
        loc = self.loc
        then, a = self.region_of(lambda r: self.value(node.body, env))
        orelse, b = self.region_of(lambda r: self.value(node.orelse, env))
        t = self.join_type(a.type, b.type, node)
        self.finish(then, [a], [t])
        self.finish(orelse, [b], [t])
        self.loc = loc
        return self.emit("if", [cond], [t], regions=[then, orelse]).result

    # -- indexing ------------------------------------------------------------------
    NEW_AXIS, MASK = "new axis", "mask"

    def subscript_items(self, node, env, array=None):
        """The array and its index items: integer values, (lower, upper, step) slices, NEW_AXIS (None,
        np.newaxis) and (MASK, boolean array)."""
        array = self.value(node.value, env) if array is None else array
        if not is_array(array.type):
            raise self.not_an_array(array, "only arrays can be indexed", node)
        index = node.slice.elts if isinstance(node.slice, gast.Tuple) else [node.slice]
        items = []
        for item in index:
            if isinstance(item, gast.Slice):
                items.append(tuple(None if e is None else self.int_value(e, env) for e in (item.lower, item.upper, item.step)))
                continue
            v = self.expr(item, env)
            if isinstance(v, Static) and v.obj is None:
                items.append(self.NEW_AXIS)
            elif isinstance(v, Value) and is_array(v.type) and v.type.dtype == "bool":
                items.append((self.MASK, v))
            elif isinstance(v, Value) and is_array(v.type):
                raise self.error(TypeCheckError, "indexing with an array of indices (x[idx], x[[0, 2]]) is not supported: "
                                 "index one element at a time in a loop", node)
            else:
                items.append(self.int_index(self.as_value(v, item), item))
        if any(isinstance(i, tuple) and i[0] == self.MASK for i in items) and len(items) > 1:
            raise self.error(TypeCheckError, "a boolean mask must be the only index here (x[mask])", node)
        if sum(i is not self.NEW_AXIS for i in items) > array.type.ndim:
            raise self.error(TypeCheckError, f"too many indices: the array has {array.type.ndim} dimensions", node)
        return array, items

    def int_index(self, v: Value, node) -> Value:
        if v.type not in (I64, BOOL):
            raise self.error(TypeCheckError, "range() bounds and array indices must be integers: wrap the value in int()", node)
        return v

    def subscript_parts(self, node, env):
        """The array and index of an element or slice written to (no new axes, no masks)."""
        array, items = self.subscript_items(node, env)
        if self.NEW_AXIS in items:
            raise self.error(TypeCheckError, "a write through a new axis (x[:, None] = ...) is not supported: "
                             "write into x itself", node)
        if items and isinstance(items[0], tuple) and items[0][0] == self.MASK:
            raise self.error(TypeCheckError, "a write through a boolean mask (x[mask] = v) is not supported: "
                             "write x = np.where(mask, v, x)", node)
        return array, items

    def expr_Subscript(self, node, env):
        base = self.expr(node.value, env)
        if isinstance(base, TupleVal):
            if not isinstance(node.slice, gast.Constant) or not isinstance(node.slice.value, int):
                raise self.error(UnsupportedSyntaxError, "index a tuple (such as x.shape) with a constant integer", node)
            return base[node.slice.value]
        array, items = self.subscript_items(node, env, self.as_value(base, node))
        if items and isinstance(items[0], tuple) and items[0][0] == self.MASK:
            return self.masked(array, items[0][1], node)
        parts = [i for i in items if i is not self.NEW_AXIS]
        if len(parts) == len(items):
            return self.load(array, parts, node)
        result = array if all(p == (None, None, None) for p in parts) else self.load(array, parts, node)
        axis = 0  # where each new axis lands: after the axes the items before it keep
        for item in items:
            if item is self.NEW_AXIS:
                result = self.expand_dims(result, axis)
            if not isinstance(item, Value):
                axis += 1
        return result

    def masked(self, array: Value, mask: Value, node) -> Value:
        """x[mask]: the selected elements, in order, as a new 1-d array."""
        if mask.type.ndim != array.type.ndim:
            raise self.error(TypeCheckError, "a boolean mask needs the array's number of dimensions here", node)
        return self.op1("masked", [array, mask], Array(array.type.dtype, 1))

    def load(self, array, parts, node) -> Value:
        if len(parts) == array.type.ndim and all(isinstance(p, Value) for p in parts):
            return self.op1("load", [array, *parts], Scalar(array.type.dtype))
        spec, operands = _slice_spec(parts)
        ndim = array.type.ndim - spec.count("i")
        return self.op1("getslice", [array, *operands], Array(array.type.dtype, ndim), spec=spec)

    def store(self, array, parts, value, node, in_place: bool = False, augmented: str | None = None) -> None:
        """array[parts] = value. `in_place`: value is `array[parts] <op> e`, which numpy computes only when it
        has the slice's shape, so its adjoint needs no summing down. `augmented`: value is the op (add, mul...)
        of the element's old value (a load just before) and a delta, and nothing wrote in between: the store
        says so (attrs augmented), printed `x[i] += d`, and an add's or sub's adjoint is the delta's."""
        element = len(parts) == array.type.ndim and all(isinstance(p, Value) for p in parts)
        if element and is_array(value.type):
            raise self.error(TypeCheckError, "an array cannot be stored into one element", node)
        if np.dtype(value.type.dtype).kind == "c" and np.dtype(array.type.dtype).kind != "c":
            raise self.error(TypeCheckError, "a complex value cannot be stored into a real array: take .real or abs() first", node)
        if element:
            stored = self.cast(value, Scalar(array.type.dtype))
            self.emit("store", [array, *parts, stored], [], {"augmented": augmented} if augmented and stored is value else {})
            return
        spec, operands = _slice_spec(parts)
        view_ndim = array.type.ndim - spec.count("i")
        if is_array(value.type) and value.type.ndim > view_ndim:
            raise self.error(TypeCheckError, f"a {value.type.ndim}-d array cannot be stored into a {view_ndim}-d slice", node)
        value = self.cast(value, with_dtype(value.type, array.type.dtype))
        exact = in_place and is_array(value.type) and value.type.ndim == view_ndim
        self.emit("setslice", [array, *operands, value], [], {"spec": spec, "exact": exact})

    # -- calls ---------------------------------------------------------------------
    def expr_Call(self, node, env):
        callee = self.expr(node.func, env)
        if not isinstance(callee, Static):
            raise self.error(UnsupportedCallError, "only functions can be called", node)
        obj = callee.obj
        if isinstance(obj, tuple) and obj and obj[0] == "method":
            return self.method_call(obj[1], obj[2], node, env)
        kind = resolve.primitive(obj)
        if kind is None and id(obj) in resolve.DTYPES and len(node.args) == 1:
            dtype = resolve.DTYPES[id(obj)]
            return self.cast(self.value(node.args[0], env), Scalar(dtype)) if dtype != "bool" else self.condition(node.args[0], env)
        if kind is None:
            if isinstance(obj, CustomVJP):
                return lower_custom_call(self, obj, node, env)
            if isinstance(obj, CustomJVP):
                return lower_custom_jvp_call(self, obj, node, env)
            if resolve.is_helper(obj):
                return self.inline(obj, node, env)
            advice = ADVICE.get(id(obj), "see docs/subset.md for the numpy and math functions it differentiates, "
                                "or write the computation as a helper function")
            raise self.error(UnsupportedCallError, f"adc does not know {_spelled(obj)}: {advice}", node)
        family, name = kind
        return getattr(self, "call_" + family)(name, node, env, obj)

    def args(self, node, env, names, this=None):
        """Positional and keyword arguments by name, as compile-time objects or values. `this`: a method's
        object (x in x.sum(axis=0)), the first of `names`."""
        positional = names[1:] if this is not None else names
        if len(node.args) > len(positional):
            raise self.error(UnsupportedCallError, f"this call takes at most {len(positional)} positional argument(s) here "
                             f"({', '.join(positional)}); the others (an axis, an out array) are not supported", node)
        bound = dict(zip(positional, node.args))
        for kw in node.keywords:
            if kw.arg not in positional:
                raise self.error(UnsupportedCallError, f"unsupported keyword argument `{kw.arg}`", node)
            bound[kw.arg] = kw.value
        values = {k: self.expr(v, env) for k, v in bound.items()}
        return {names[0]: this, **values} if this is not None else values

    def call_elementwise(self, name, node, env, obj):
        args = [self.value(a, env) for a in node.args]
        arity = FUNCTIONS[name].arity
        if name in ("minimum", "maximum") and obj in (min, max) and len(args) > 2:
            result = args[0]
            for a in args[1:]:
                result = self.elementwise(name, [result, a], node)
            return result
        if obj in (min, max) and len(args) == 1:
            raise self.error(UnsupportedCallError, f"{obj.__name__}() of one array: write np.min(x) or np.max(x) for its "
                             "smallest or largest element", node)
        if len(args) != arity or node.keywords:
            called = _spelled(obj)
            if name == "rint":
                raise self.error(UnsupportedCallError, f"{called} rounds to integers here (no `decimals`): scale first, "
                                 "np.round(x * 100.0) / 100.0", node)
            raise self.error(UnsupportedCallError, f"{called} takes {arity} positional argument(s) here", node)
        result = self.elementwise(name, args, node)
        if isinstance(obj, np.ufunc):  # keep numpy's semantics on scalars too (NaN, not an exception)
            result.owner.attrs["numpy"] = True
        if id(obj) in resolve.INT_RESULT:
            result = self.cast(result, I64)
        return result

    def narrowed(self, v: Value, t) -> Value:
        """A weak Python number cast to the precision numpy gives the result (numba would widen it)."""
        if not is_weak(v.type) or np.result_type(v.type.dtype, t.dtype) == t.dtype:
            return v
        value = constant_value(v)
        target = Scalar(t.dtype)
        return self.cast(v, target) if value is None or isinstance(value, bool) else self.const(np.dtype(t.dtype).type(value))

    def elementwise(self, name, args, node) -> Value:
        declared = FUNCTIONS[name]
        t = promote(*[a.type for a in args])
        args = [self.narrowed(a, t) for a in args]
        t = declared.result(t)
        if declared.real_only and np.dtype(t.dtype).kind == "c":
            raise self.error(TypeCheckError, f"{name} is not defined for complex numbers", node)
        return self.op1("call", args, t, fn=name)

    def call_builtin(self, name, node, env, obj):
        if name == "range":
            raise self.error(UnsupportedSyntaxError, "range() is supported only as the iterable of a `for` loop", node)
        if name == "complex" and len(node.args) == 2:
            re, im = (self.value(a, env) for a in node.args)
            imaginary = self.binop("mul", self.const(1j), im, node)
            return self.binop("add", self.cast(re, Scalar("complex128")), imaginary, node)
        if len(node.args) != 1 or node.keywords:
            raise self.error(UnsupportedCallError, f"{name}() takes one positional argument here", node)
        (arg,) = node.args
        v = self.expr(arg, env)
        if name == "len":
            v = self.as_value(v, node)
            if isinstance(v, Value) and is_array(v.type):
                return self.dim(v, 0)
            raise self.not_an_array(v, "len() needs an array", node)
        v = self.as_value(v, node)
        if name == "bool":
            return self.condition(arg, env)
        return self.cast(v, Scalar({"int": "int64", "float": "float64", "complex": "complex128"}[name]))

    def range_parts(self, bounds: list[Value]) -> list[Value]:
        """(start, stop, step) of range(stop), range(start, stop) or range(start, stop, step), and of np.arange."""
        if len(bounds) == 1:
            return [self.const(0), bounds[0], self.const(1)]
        return [bounds[0], bounds[1], bounds[2] if len(bounds) == 3 else self.const(1)]

    def int_value_of(self, v, node) -> Value:
        v = self.as_value(v, node)
        if v.type not in (I64, BOOL):
            raise self.error(TypeCheckError, "array shapes must be integers: wrap the value in int()", node)
        return v

    def dtype_arg(self, d, node) -> str:
        if d is None:
            return "float64"
        if isinstance(d, Static) and id(d.obj) in resolve.DTYPES:
            return resolve.DTYPES[id(d.obj)]
        if isinstance(d, Static) and isinstance(d.obj, str):
            return np.dtype(d.obj).name
        raise self.error(TypeCheckError, "dtype must be written as np.float64, np.float32, np.complex128 or np.int64", node)

    def call_derived(self, name, node, env, obj):
        """A numpy function written with primitives (primitives/derived.py: np.clip, np.var, np.pad)."""
        return DERIVED[name].lower(self, obj.__name__, node, env)

    def call_declared(self, opcode, node, env, obj):
        """A primitive whose declaration says how a call is lowered (np.fft.rfft), or one array typed by it (np.sum)."""
        declared = CALLED[opcode]
        if declared.lower_call is not None:
            return declared.lower_call(self, obj.__name__, node, env)
        a = self.args(node, env, ["a"])
        return self.reduce(opcode, self.as_value(a["a"], node), node)

    @staticmethod
    def pack(values) -> TupleVal:
        """Several results of one call (np.meshgrid), unpacked at compile time."""
        return TupleVal(values)

    @staticmethod
    def items(v) -> list:
        """The elements of a tuple argument (a shape, axes), or the one argument."""
        return list(v) if isinstance(v, TupleVal) else [v]

    @staticmethod
    def given(v) -> bool:
        """An optional argument passed, and not None."""
        return v is not None and not (isinstance(v, Static) and v.obj is None)

    def constant_arg(self, v, node, allowed, what, default=None):
        """A compile-time argument (axis, norm): a literal or a module constant."""
        if v is None or (isinstance(v, Static) and v.obj is None):
            return default
        value = v.obj if isinstance(v, Static) else constant_value(v) if isinstance(v, Value) else None
        if value is None:
            raise self.error(UnsupportedCallError, f"`{what}` must be a constant here", node)
        if allowed is not None and value not in allowed:
            raise self.error(UnsupportedCallError, f"`{what}` is {value!r}; adc supports "
                             f"{', '.join(repr(a) for a in allowed)} here", node)
        return value

    def static_axes(self, v, x, node, default=None):
        if v is None or (isinstance(v, Static) and v.obj is None):
            return tuple(range(x.type.ndim)) if default is None else tuple(a % x.type.ndim for a in default)
        return tuple(self.constant_arg(i, node, None, "axes") % x.type.ndim for i in self.items(v))

    def call_runtime(self, name, node, env, obj):
        """adc's runtime helpers, met when adc differentiates code it generated."""
        if name == "tape":  # rt.tape(n, dtype) is np.empty that names its size when it does not fit
            return self.call_declared("alloc", node, env, np.empty)
        if name == "reshape":  # a view, as the primitive is (primitives/shapes.py)
            array, shape = self.value(node.args[0], env), self.items(self.expr(node.args[1], env))
            return self.op1("reshape", [array, *shape], Array(array.type.dtype, len(shape)))
        args = [self.value(a, env) for a in node.args]
        if name in RUNTIME_CALLS:
            return RUNTIME_CALLS[name](self, args, node)
        if name in ("dot", "matvec", "vecmat", "matmat", "matmat_33", "matmat_32", "matmat_23"):
            return self.matmul(*args, node)
        if name in ("max_along", "min_along"):  # back to the primitive, which has the rules
            return self.op1(name[:3], [args[0]], Array(args[0].type.dtype, 1), axis=constant_value(args[1]))
        if name == "unmask":
            return self.op1("runtime", args, Array(args[0].type.dtype, args[1].type.ndim), fn=name)
        if name == "embed_diagonal":
            return self.op1("runtime", args, Array(args[0].type.dtype, 2), fn=name)
        if name in ("convolve", "correlate"):  # back to the primitive, which has the rules (primitives/convolution.py)
            return self.op1("convolution", args, promote(args[0].type, args[1].type), kind=name)
        if name == "trip_count":
            return self.op1("runtime", args, I64, fn=name)
        if name == "safe_div":
            return self.op1("runtime", args, promote(*[a.type for a in args]), fn=name)
        if name.startswith("unbroadcast"):
            return self.op1("runtime", args, Array(args[0].type.dtype, args[1].type.ndim), fn=name)
        if name.startswith("recorded_"):
            return self.op1("runtime", args, Array(args[0].type.dtype, int(name[-1])), fn=name)
        return self.op1("runtime", args, args[0].type, fn=name)  # grow, record, same_shape

    def call_reduction(self, name, node, env, obj):
        """np.dot, np.matmul: a product (primitives/products.py)."""
        a = self.args(node, env, ["a", "b"] if name == "dot" else ["x1", "x2"])
        x, y = a["a" if name == "dot" else "x1"], a["b" if name == "dot" else "x2"]
        return self.matmul(self.as_value(x, node), self.as_value(y, node), node, dot=name == "dot")

    def reduce(self, name, v, node) -> Value:
        """A primitive called with one array (primitives.CALLED: np.sum, np.mean), typed by its declaration;
        of a number, the number itself (np.sum(3.0) is 3.0, np.mean(3) is 3.0)."""
        t = CALLED[name].result(Scalar(v.type.dtype))
        return self.op1(name, [v], t) if is_array(v.type) else self.cast(v, t)

    def method_call(self, base, attr, node, env):
        if is_array(base.type) and attr in METHODS:  # x.sum(axis=0), x.reshape(2, 3), x.clip(0, 1)
            return METHODS[attr](self, attr, node, env, base)
        if node.keywords:
            raise self.error(UnsupportedCallError, f"keyword arguments of `.{attr}()` (`{node.keywords[0].arg}=`) "
                             "are not supported: reduce the whole array, or loop over the axis", node)
        if attr in ("conjugate", "conj") and not node.args:
            return self.op1("conj", [base], base.type)
        if is_array(base.type):
            if attr == "copy" and not node.args:
                return self.op1("copy", [base], base.type)
            if attr in CALLED and CALLED[attr].lower_call is None and not node.args:
                return self.reduce(attr, base, node)
            if attr == "dot" and len(node.args) == 1:
                return self.matmul(base, self.value(node.args[0], env), node, dot=True)
            if attr == "astype" and len(node.args) == 1:
                return self.cast(base, Array(self.dtype_arg(self.expr(node.args[0], env), node), base.type.ndim))
        raise self.error(UnsupportedCallError, f"the method `.{attr}()` is not supported: see docs/subset.md for the methods adc knows", node)

    def inline(self, helper, node, env):
        keywords = {kw.arg: self.expr(kw.value, env) for kw in node.keywords}
        return self.call_function(resolve.python_function(helper), [self.expr(a, env) for a in node.args], node, keywords)

    def lower_in(self, region: Region, build):
        """build(lowerer) lowering into `region`, a region of its own (a custom rule's), not the current one's."""
        sub = Lowerer(self.parsed, self.fn, [region], self.inlining, self.folded, self.hidden, {})
        sub.loc = self.loc
        return build(sub)

    @staticmethod
    def is_none(v) -> bool:
        return isinstance(v, Static) and v.obj is None

    def call_function(self, fn, args: list, node, keywords=None):
        """The helper fn inlined with these arguments (values, tuples or compile-time objects)."""
        if fn in self.inlining:
            raise self.error(UnsupportedCallError, f"recursive call to `{fn.__name__}` cannot be inlined: write it as a loop", node)
        parsed = parse_checked(fn)
        params = [p.id for p in parsed.node.args.args]
        defaults = parsed.node.args.defaults
        bound = dict(zip(params, args))
        bound.update(keywords or {})
        caller_loc = self.loc
        sub = Lowerer(parsed, fn, self.regions, self.inlining, self.folded, self.hidden, self.computed)
        for p, d in zip(params[len(params) - len(defaults):], defaults):
            if p not in bound:  # defaults belong to the helper's module, not the caller's
                bound[p] = sub.expr(d, {})
        self.loc = caller_loc
        if set(bound) != set(params):
            raise self.error(TypeCheckError, f"`{fn.__name__}` needs the arguments {params}", node)
        inner = dict(bound)
        *stmts, ret = parsed.node.body
        sub.block(stmts, inner)
        sub.at(ret)
        result = sub.expr(ret.value, inner)
        self.loc = caller_loc
        return result
