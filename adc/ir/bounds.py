"""Bounds checks for element reads and writes: Python's IndexError at the user's line, almost free.

An index affine in the indices of the `for` loops around it (x[n - k], target[n], m[i, j + 1]),
with the loops' bounds and the offsets fixed before those loops, is checked once, before the
outermost such loop, at the extreme values the loops give it; a check the bounds already decide
(x[n] for n in range(len(x)), h[k] for k in range(len(h))) is dropped. Every other access (under
an `if`, in a `while`, through an index array) is checked where it happens. Negative indices wrap
around as in Python, so an index is in bounds from -len to len - 1.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..primitives import ACCESSES
from .core import BOOL, WEAK_INT, Function, Loop, Op, Region, Value, constant_value
from .shapes import shape_root


@dataclass(frozen=True)
class Affine:
    """const + sum(coeff * term). A term is a loop index ("index", id), an array's length
    ("len", array id, axis), the last value of a strided loop ("last", loop) or another int ("value", id)."""
    const: int = 0
    terms: tuple = ()  # sorted ((key, coeff), ...)

    @staticmethod
    def term(key, coeff: int = 1) -> "Affine":
        return Affine(0, ((key, coeff),))

    def plus(self, other: "Affine", sign: int = 1) -> "Affine":
        coeffs = dict(self.terms)
        for key, c in other.terms:
            coeffs[key] = coeffs.get(key, 0) + sign * c
        return Affine(self.const + sign * other.const, tuple(sorted((k, c) for k, c in coeffs.items() if c)))

    def scaled(self, c: int) -> "Affine":
        return Affine(self.const * c, tuple((k, v * c) for k, v in self.terms if v * c))

    def known_nonnegative(self) -> bool:
        """Lengths are never negative: len(x) - 1 - (len(x) - 1) >= 0, len(h) + 2 >= 0."""
        return self.const >= 0 and all(k[0] == "len" and c > 0 for k, c in self.terms)


def _const_int(v: Value):
    value = constant_value(v)
    return int(value) if isinstance(value, (int, bool)) else None


@dataclass
class _Check:
    """One comparison: index < -len (side "lower") or index >= len (side "upper"), placed before `before`."""
    access: Op
    before: Op  # the outermost loop it is hoisted out of, or the access itself
    array: Value
    axis: int
    side: str
    index: Affine | Value  # an Affine when hoisted, the access's own index value otherwise
    guard: list  # (lo, hi, step) of the loops that must run for the access to happen
    known: list = field(default_factory=list)  # values defined before the check, to reuse (the loops' bounds)


@dataclass
class _Scope:
    values: dict = field(default_factory=dict)  # key -> Value (or `for` op, for "last"), to materialise terms
    loops: set = field(default_factory=set)     # ids of `for` loops' indices
    inside: dict = field(default_factory=dict)  # id of a `for` op -> ids of every value defined in it


def insert_bounds_checks(fn: Function) -> Function:
    """Add a `boundscheck` op for every element access whose bounds the loops do not already decide."""
    scope = _Scope()
    before: dict[int, list[_Check]] = {}
    _visit(fn.body, [], [], scope, before)
    _insert(fn.body, scope, before)
    return fn


def _visit(region: Region, loops: list[Op], chain: list[Op], scope: _Scope, before: dict) -> None:
    """loops: the `for` ops around `region`, outermost first; chain: those of them up to the nearest
    if or while (each runs the next in every iteration)."""
    for op in region.ops:
        if op.opcode in ACCESSES:
            for check in _checks(op, loops, chain, scope):
                before.setdefault(id(check.before), []).append(check)
        for sub in op.regions:
            if op.opcode == "for":
                scope.loops.add(sub.args[0].id)
            inner = loops + [op] if op.opcode == "for" else loops
            _visit(sub, inner, chain + [op] if op.opcode == "for" else [], scope, before)


def _indices(access: Op) -> list[tuple[int, Value]]:
    """(axis, index) for each integer index: all of a load's or store's, the integer parts of a slice's
    (A[r, :] picks row r)."""
    operands = access.operands[1:-1] if access.opcode in ("store", "setslice") else access.operands[1:]
    if access.opcode in ("load", "store"):
        return list(enumerate(operands))
    pairs, rest = [], iter(operands)
    for axis, part in enumerate(access.attrs["spec"]):
        taken = [next(rest) for _ in range(1 if part == "i" else part.count("1"))]
        if part == "i":
            pairs.append((axis, taken[0]))
    return pairs


def _checks(access: Op, loops: list[Op], chain: list[Op], scope: _Scope) -> list[_Check]:
    array = access.operands[0]
    running = tuple(span for span in (_span(op, scope) for op in loops) if span is not None)
    checks = []
    for axis, index in _indices(access):
        form = _form(index, scope)
        length = _length(array, axis, scope)
        for side in ("lower", "upper"):
            if _decided(_bound(form, loops, side, scope), length, side, running):
                continue
            hoisted = _hoisted(form, length, side, chain, scope)
            if hoisted is not None:
                checks.extend(_Check(access, loop, array, axis, side, extreme, guard, known)
                              for loop, extreme, guard, known in hoisted)
            else:
                checks.append(_Check(access, access, array, axis, side, index, []))
    return checks


def _decided(form: Affine, length: Affine, side: str, running: tuple = ()) -> bool:
    """True when the index is in bounds on this side whatever the lengths are, given that the loops
    around it run (`running`: their spans, hi - lo - 1 >= 0, as x[n - 1] in range(len(x)) needs)."""
    margin = form.plus(length) if side == "lower" else length.plus(form, -1).plus(Affine(-1))
    return margin.known_nonnegative() or any(margin.plus(span, -1).known_nonnegative() for span in running)


def _hoisted(form: Affine, length: Affine, side: str, chain: list[Op], scope: _Scope):
    """[(loop to check before, extreme index, bounds of the loops that must run)] for the outermost
    loop of the chain whose bounds and offsets are fixed before it ([] when the loops decide the
    check), or None when no loop of the chain can take it."""
    for depth, loop in enumerate(chain):
        inner = chain[depth:]
        if any(not _const_int(Loop(op).step) for op in inner):
            continue
        extreme = _extreme(form, inner, side, scope)
        if extreme is None or not _available(extreme, length, inner, scope):
            continue
        if _decided(extreme, length, side):
            return []
        runs = [Loop(op).bounds for op in inner if not _runs(op, scope)]
        return [(loop, extreme, runs, [b for op in inner for b in Loop(op).bounds])]
    return None


def _span(loop: Op, scope: _Scope) -> Affine | None:
    """hi - lo - 1 (mirrored for a negative step): at least 0 wherever the loop's body runs."""
    lo, hi, step = (_form(v, scope) for v in Loop(loop).bounds)
    if step.terms or not step.const:
        return None
    return (hi.plus(lo, -1) if step.const > 0 else lo.plus(hi, -1)).plus(Affine(-1))


def _runs(loop: Op, scope: _Scope) -> bool:
    """The loop runs at least once whatever the lengths are (range(len(x) + 1), range(3))."""
    span = _span(loop, scope)
    return span is not None and span.known_nonnegative()


def _bound(form: Affine, loops: list[Op], side: str, scope: _Scope) -> Affine:
    """A bound on the index wherever the access runs: each loop's index within its range, inner loops
    first (their bounds may name outer indices). Not attained when inner ranges depend on outer
    indices, so it can only decide a check, never make one."""
    for loop in reversed(loops):
        narrowed = _extreme(form, [loop], side, scope)
        form = form if narrowed is None else narrowed
    return form


def _extreme(form: Affine, loops: list[Op], side: str, scope: _Scope) -> Affine | None:
    """The smallest (side "lower") or largest index over the loops' ranges, or None if a loop's step is
    not a constant."""
    indices = {Loop(op).index.id: op for op in loops}
    result = Affine(form.const)
    for key, c in form.terms:
        if key[0] != "index" or key[1] not in indices:
            result = result.plus(Affine.term(key, c))
            continue
        op = indices[key[1]]
        ends = _ends(op, scope)
        if ends is None:
            return None
        first, last = ends
        low, high = (first, last) if _const_int(Loop(op).step) > 0 else (last, first)
        result = result.plus((low if (c > 0) == (side == "lower") else high).scaled(c))
    return result


def _ends(loop: Op, scope: _Scope):
    """The first and last value of a `for` loop's index, when its step is a constant."""
    lo, hi, step = Loop(loop).bounds
    s = _const_int(step)
    if not s:
        return None
    first = _form(lo, scope)
    if s == 1:
        return first, _form(hi, scope).plus(Affine(-1))
    if s == -1:
        return first, _form(hi, scope).plus(Affine(1))
    scope.values[("last", id(loop))] = loop
    return first, Affine.term(("last", id(loop)))


def _available(extreme: Affine, length: Affine, loops: list[Op], scope: _Scope) -> bool:
    """Every term, and the bounds of the loops inside the outermost one, are defined before it."""
    outer = loops[0]
    inside = scope.inside.get(id(outer))
    if inside is None:
        inside = scope.inside[id(outer)] = _defined_in(outer)
    bounds = [b for op in loops for b in Loop(op).bounds]
    for key, _ in extreme.terms + length.terms:
        if key[0] == "last":
            bounds += Loop(scope.values[key]).bounds
        elif key[1] in inside:
            return False
    return not any(b.id in inside for b in bounds)


def _defined_in(op: Op) -> set[int]:
    ids = set()
    for region in op.regions:
        ids.update(a.id for a in region.args)
        for inner in region.ops:
            ids.update(r.id for r in inner.results)
            ids.update(_defined_in(inner))
    return ids


def _form(v: Value, scope: _Scope) -> Affine:
    c = _const_int(v)
    if c is not None:
        return Affine(c)
    owner = v.owner
    if isinstance(owner, Op) and owner.opcode in ("add", "sub") and owner.results[0].type.dtype == "int64":
        a, b = owner.operands
        return _form(a, scope).plus(_form(b, scope), 1 if owner.opcode == "add" else -1)
    if isinstance(owner, Op) and owner.opcode == "neg" and owner.results[0].type.dtype == "int64":
        return _form(owner.operands[0], scope).scaled(-1)
    if isinstance(owner, Op) and owner.opcode == "mul" and owner.results[0].type.dtype == "int64":
        a, b = owner.operands
        if _const_int(a) is not None:
            return _form(b, scope).scaled(_const_int(a))
        if _const_int(b) is not None:
            return _form(a, scope).scaled(_const_int(b))
    if isinstance(owner, Op) and owner.opcode == "dim":
        return _length(owner.operands[0], owner.attrs["axis"], scope)
    if v.id in scope.loops:
        scope.values[("index", v.id)] = v
        return Affine.term(("index", v.id))
    scope.values[("value", v.id)] = v
    return Affine.term(("value", v.id))


def _length(array: Value, axis: int, scope: _Scope) -> Affine:
    """The array's length along an axis: that of the array it has the shape of, or an alloc's size."""
    root = shape_root(array)
    owner = root.owner
    if isinstance(owner, Op) and owner.opcode == "alloc" and axis < len(owner.operands):
        return _form(owner.operands[axis], scope)
    scope.values[("len", root.id, axis)] = root
    return Affine.term(("len", root.id, axis))


def _insert(region: Region, scope: _Scope, before: dict, done: frozenset = frozenset()) -> None:
    """done: the in-place checks made already on every path here (A[r, :] * A[r, :] checks r once)."""
    ops, done = [], set(done)
    for op in region.ops:
        for check in _merged(before.get(id(op), [])):
            key = None if isinstance(check.index, Affine) else (check.array.id, check.axis, check.side, check.index.id)
            if key is not None and key in done:
                continue
            ops.extend(_check_ops(check, scope))
            if key is not None:
                done.add(key)
        for sub in op.regions:
            _insert(sub, scope, before, frozenset(done))
        ops.append(op)
    region.ops[:] = ops


def _known_lengths(values: list[Value]) -> dict:
    """Lengths already read into a variable before the check (range(x_len), range(h_len - 1, x_len))."""
    known, stack = {}, list(values)
    while stack:
        v = stack.pop()
        owner = v.owner
        if isinstance(owner, Op) and owner.opcode == "dim":
            known.setdefault(("len", shape_root(owner.operands[0]).id, owner.attrs["axis"]), v)
        elif isinstance(owner, Op) and owner.opcode in ("add", "sub", "neg", "mul"):
            stack.extend(owner.operands)
    return known


def _merged(checks: list[_Check]) -> list[_Check]:
    """Hoisted checks of one array that differ only in a constant offset (x[n - 1], x[n + 1]) become the
    check of the extreme one."""
    kept: dict = {}
    for check in checks:
        if not isinstance(check.index, Affine):
            kept[id(check)] = check
            continue
        key = (check.array.id, check.axis, check.side, check.index.terms, tuple(v.id for b in check.guard for v in b))
        other = kept.get(key)
        if other is None or (check.index.const < other.index.const) == (check.side == "lower"):
            kept[key] = check
    return list(kept.values())


def _check_ops(check: _Check, scope: _Scope) -> list[Op]:
    """The ops that compute the extreme index, the length and whether the loops run, then the check."""
    loc = check.access.loc
    out: list[Op] = []
    known = _known_lengths(check.known)

    def emit(opcode, operands, type_=WEAK_INT, **attrs) -> Value:
        v = Value(type_)
        v.owner = Op(opcode, operands, [v], attrs, loc=loc)
        out.append(v.owner)
        return v

    def const(c: int) -> Value:
        return emit("const", [], value=c)

    def term(key) -> Value:
        if key[0] == "len":
            return known.get(key) or emit("dim", [scope.values[key]], axis=key[2])
        if key[0] == "last":  # lo + step * ((hi - lo - 1) // step), and mirrored for a negative step
            lo, hi, step = Loop(scope.values[key]).bounds
            s = _const_int(step)
            span = emit("sub", [emit("sub", [hi, lo] if s > 0 else [lo, hi]), const(1)])
            return emit("add", [lo, emit("mul", [const(s), emit("floordiv", [span, const(abs(s))])])])
        return scope.values[key]

    def value(form: Affine) -> Value:
        parts = [(c > 0, term(key) if abs(c) == 1 else emit("mul", [const(abs(c)), term(key)])) for key, c in form.terms]
        if form.const:
            parts.append((form.const > 0, const(abs(form.const))))
        if not parts:
            return const(0)
        parts.sort(key=lambda p: not p[0])  # x_len - 1, not -1 + x_len
        positive, total = parts[0]
        total = total if positive else emit("neg", [total])
        for positive, t in parts[1:]:
            total = emit("add" if positive else "sub", [total, t])
        return total

    hoisted = isinstance(check.index, Affine)
    index = value(check.index) if hoisted else check.index
    length = value(_length(check.array, check.axis, scope))
    name = check.array.hint
    if hoisted and name and isinstance(index.owner, Op) and index.owner in out:  # target_highest = x_len - 1
        index.hint = index.hint or f"{name}_{'lowest' if check.side == 'lower' else 'highest'}"
    if name and isinstance(length.owner, Op) and length.owner in out and length.owner.opcode == "dim":
        length.hint = length.hint or f"{name}_len" + (str(check.axis) if check.axis else "")
    failed = emit("lt", [index, emit("neg", [length])], BOOL) if check.side == "lower" else emit("ge", [index, length], BOOL)
    for lo, hi, step in reversed(check.guard):  # the loops run and the extreme is out: `0 < x_len and ...`
        failed = emit("and", [emit("lt" if _const_int(step) > 0 else "gt", [lo, hi], BOOL), failed], BOOL)
    extent = ("down to " if check.side == "lower" else "up to ") if hoisted else ""
    attrs = {"where": f"{loc}:{loc.col}" if loc is not None else "", "access": loc.text.strip() if loc is not None else "",
             "array": check.array.hint or "an array", "axis": check.axis, "extent": extent}
    out.append(Op("boundscheck", [failed, index, length], [], attrs, loc=loc))
    return out
