"""CUDA kernels from element kernels ([8/10]): one GPU thread runs one batch element's generated function.

Device code can neither allocate nor raise, so the element's pyir is rewritten, a pure function from one
FunctionDef to the text of a module holding two functions:
- every allocation (`rt.tape`, `np.zeros`, `np.empty`, `np.ones`, `np.zeros_like`, `np.empty_like`) must
  stand in the function's top level, outside loops and branches; it becomes the thread's column of a slice
  of an arena (one per dtype), or, for an array the element returns, its column of that stacked result;
- batches lie with their batch axis last (mapped arguments, arenas, results): at each step neighbouring
  threads touch neighbouring words, which the GPU reads in one transaction (coalescing);
- a `raise` stores the check's number in the thread's status and returns: the host runs that element
  again on the CPU, where the same check raises its located error;
- numpy functions of numbers become math's or cmath's (numba.cuda compiles few numpy ufuncs of scalars).
`{name}__sizes`, run on the host, computes the allocations' shapes from the statements of the top level
they depend on; the kernel computes the same sizes again to find its slices. `{name}__device` is the
kernel's body as a device function of the element's index, for a user's own kernels.
Whole-array statements, runtime helpers and allocations inside loops are refused, naming the user's line.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import CompileError
from ..ir.core import is_array
from . import pyir as P

ALLOCATORS = {"rt.tape", "np.zeros", "np.empty", "np.ones", "np.zeros_like", "np.empty_like"}
FILL = {"np.zeros": "0", "np.zeros_like": "0", "np.ones": "1"}  # the others leave their entries unset
# numpy functions of one number and what numba.cuda compiles for them: (real, complex)
SCALAR_FUNCTIONS = {
    "np.exp": ("math.exp", "cmath.exp"), "np.log": ("math.log", "cmath.log"),
    "np.sqrt": ("math.sqrt", "cmath.sqrt"), "np.sin": ("math.sin", "cmath.sin"),
    "np.cos": ("math.cos", "cmath.cos"), "np.tan": ("math.tan", "cmath.tan"),
    "np.tanh": ("math.tanh", "cmath.tanh"), "np.sinh": ("math.sinh", "cmath.sinh"),
    "np.cosh": ("math.cosh", "cmath.cosh"), "np.arctan": ("math.atan", "cmath.atan"),
    "np.arcsin": ("math.asin", "cmath.asin"), "np.arccos": ("math.acos", "cmath.acos"),
    "np.log10": ("math.log10", "cmath.log10"), "np.log1p": ("math.log1p", None),
    "np.expm1": ("math.expm1", None), "np.floor": ("math.floor", None), "np.ceil": ("math.ceil", None),
    "np.abs": ("abs", "abs"), "np.absolute": ("abs", "abs"), "np.arctan2": ("math.atan2", None),
    "np.hypot": ("math.hypot", None),
}


class DeviceError(CompileError):
    """What target='cuda' cannot run yet, located in the user's source."""


@dataclass(frozen=True)
class DeviceKernel:
    """The text of a module with `{name}__sizes` (host) and `{name}__cuda` (the kernel), and how to call them."""
    name: str
    text: str
    arenas: tuple[str, ...]          # dtypes of the arenas the kernel takes, after the parameters
    results: tuple[tuple[str, int], ...]  # (dtype, ndim) of each leaf of the returned value, in order
    tree: object                     # the returned value's nesting: a leaf's index, or a tuple of trees
    result_allocations: tuple[int | None, ...]  # per leaf: the allocation whose shape it has (arrays)
    allocation_dtypes: tuple[str, ...]  # per allocation, in the order `__sizes` gives their shapes
    sizes_read_values: bool  # `__sizes` reads entries of arrays (not only shapes): run it for every element


@dataclass
class _Allocation:
    var: P.Var
    fn: str
    shape: P.Expr     # a tuple expression or a number
    size: P.Expr
    dtype: str
    where: str


def device_kernel(fn: P.FunctionDef, filename: str, line: int, mapped: tuple[bool, ...]) -> DeviceKernel:
    """fn: an element kernel with its names assigned (pipeline.device_function); filename, line: the user's
    function; mapped: per parameter of fn, whether it arrives with a batch axis first (else it is shared)."""
    fn = P.FunctionDef(fn.name, fn.params, _fused_branches(fn.body), fn.docstring)
    allocations = _allocations(fn, _Locator(filename, line))
    _check_body(fn.body, _Locator(filename, line), top=True)
    returned = [s for s in P.statements(fn.body) if isinstance(s, P.Return)]
    if len(returned) != 1 or returned[0] is not fn.body[-1]:
        raise DeviceError("target='cuda' needs the function to return once, at its end", filename, line)
    leaves, tree = _leaves(returned[0].value)
    by_var = {id(a.var): k for k, a in enumerate(allocations)}
    result_allocations, results = [], []
    for leaf in leaves:
        var = _aliased(fn.body, leaf.var) if isinstance(leaf, P.Ref) else None
        if var is not None and is_array(var.type):
            if id(var) not in by_var or _definitions(fn.body, var) != 1:
                raise DeviceError(f"target='cuda' returns arrays the function allocates itself (np.zeros, "
                                  f"np.empty); `{var.name}` is another array: return a new one and copy into it",
                                  filename, line)
            result_allocations.append(by_var[id(var)])
            results.append((var.type.dtype, var.type.ndim))
        else:
            result_allocations.append(None)
            results.append((var.type.dtype if var is not None and var.type is not None else "float64", 0))
    for k, a in enumerate(allocations):
        if k not in result_allocations and a.var.type is not None and a.var.type.ndim > 1:
            raise DeviceError(f"target='cuda' keeps one-dimensional work arrays only; `{a.var.name}` has "
                              f"{a.var.type.ndim} dimensions ({a.where or 'in the generated code'})", filename, line)
    arenas = tuple(sorted({a.dtype for k, a in enumerate(allocations) if k not in result_allocations}))
    sizes, reads_values = _sizes_source(fn, allocations, filename, line)
    text = "\n\n\n".join([sizes,
                          _kernel_source(fn, mapped, allocations, arenas, result_allocations, leaves)])
    return DeviceKernel(fn.name, "from numba import cuda\n\n\n" + text, arenas, tuple(results), tree,
                        tuple(result_allocations), tuple(a.dtype for a in allocations), reads_values)


# -- what the kernel allocates -----------------------------------------------------------
class _Locator:
    """The user's line of a statement: the last `# file:line  source` comment emitted before it, else the
    function's first line (the forward sweep has no such comments) and the generated statement."""

    def __init__(self, filename: str, line: int):
        self.filename, self.line, self.text, self.seen = filename, line, "", False

    def see(self, stmt) -> None:
        if isinstance(stmt, P.Comment):
            head = stmt.text.split("  ", 1)
            if ":" in head[0] and head[0].rsplit(":", 1)[1].isdigit():
                self.line, self.text = int(head[0].rsplit(":", 1)[1]), head[1] if len(head) > 1 else ""
                self.seen = True

    def error(self, message: str, stmt) -> DeviceError:
        if self.seen:
            return DeviceError(f"{message} (`{self.text.strip()}`)", self.filename, self.line)
        generated = P._block_text([stmt], 0).splitlines()[0]
        return DeviceError(f"{message} (the generated `{generated}`)", self.filename, self.line)


def _allocations(fn: P.FunctionDef, where: _Locator) -> list[_Allocation]:
    found = []
    for s in fn.body:
        where.see(s)
        if not (isinstance(s, P.Assign) and isinstance(s.target, P.Ref) and _allocator(s.value)):
            continue
        call, var = s.value, s.target.var
        if call.fn in ("np.zeros_like", "np.empty_like"):
            base = call.args[0]
            shape, size = P.Attr(base, "shape"), P.Attr(base, "size")
        else:
            shape = call.args[0]
            size = _product(shape)
        found.append(_Allocation(var, call.fn, shape, size, _dtype(call, var), where.text))
    return found


def _dtype(call: P.Call, var: P.Var) -> str:
    """The allocation's dtype: its variable's type, else the dtype it names, else its model's."""
    if var.type is not None:
        return var.type.dtype
    if len(call.args) > 1 and isinstance(call.args[1], P.Lit) and call.args[1].text.startswith("np."):
        return call.args[1].text[3:]
    base = call.args[0]
    if call.fn.endswith("_like") and isinstance(base, P.Ref) and base.var.type is not None:
        return base.var.type.dtype
    return "float64"


def _allocator(e) -> bool:
    return isinstance(e, P.Call) and e.fn in ALLOCATORS


def _tuple_valued(shape: P.Expr) -> bool:
    return isinstance(shape, P.TupleExpr) or (isinstance(shape, P.Attr) and shape.attr == "shape")


def _product(shape: P.Expr) -> P.Expr:
    if isinstance(shape, P.Attr) and shape.attr == "shape":  # another array's shape: its size
        return P.Attr(shape.base, "size")
    if isinstance(shape, P.TupleExpr):
        out = shape.items[0] if shape.items else P.Lit("1")
        for item in shape.items[1:]:
            out = out * item
        return out
    return shape


def _check_body(stmts, where: _Locator, top: bool) -> None:
    """Refuse what device code cannot run: allocations below the top level, whole-array arithmetic and
    calls, runtime helpers."""
    for s in stmts:
        where.see(s)
        if isinstance(s, (P.For, P.While)):
            _check_expr(s.bounds if isinstance(s, P.For) else [s.test], where, s)
            _check_body(s.body, where, top=False)
            continue
        if isinstance(s, P.If):
            _check_expr([s.test], where, s)
            _check_body(s.body, where, top=False)
            _check_body(s.orelse, where, top=False)
            continue
        if isinstance(s, (P.Assign, P.AugAssign)):
            if isinstance(s, P.Assign) and _allocator(s.value):
                if not top or not isinstance(s.target, P.Ref):
                    raise where.error("target='cuda' needs every array allocated once, before the loops: "
                                      "this allocates inside a loop or a branch; allocate it before and reuse it", s)
                _check_expr(s.value.args, where, s)
                continue
            if isinstance(s, P.AugAssign) and _whole_update(s):
                continue
            _check_expr([s.target, s.value], where, s)
            if isinstance(s.target, P.Ref) and is_array(s.target.var.type) and not _view(s.value):
                raise where.error("target='cuda' runs element loops, not whole-array statements: write this "
                                  "with a loop over the entries", s)
        elif isinstance(s, P.Return):
            _check_expr([s.value], where, s)


def _whole_update(s: P.AugAssign) -> bool:
    """`a += b` of two whole arrays (the cotangent of a result array added to its adjoint): an element loop."""
    return (isinstance(s.target, P.Ref) and isinstance(s.value, P.Ref) and is_array(s.target.var.type)
            and is_array(s.value.var.type) and s.target.var.type.ndim == s.value.var.type.ndim <= 2)


def _element_loops(s: P.AugAssign, var) -> P.For:
    ndim = s.target.var.type.ndim
    js = [var(f"entry__{d}") for d in range(ndim)]
    index = [P.Ref(j) for j in js]
    loop = [P.AugAssign(P.Index(s.target, index), s.op, P.Index(s.value, index))]
    for d in reversed(range(ndim)):
        bound = P.Index(P.Attr(s.target, "shape"), [P.Lit(str(d))])
        loop = [P.For(js[d], [P.Lit("0"), bound, P.Lit("1")], loop)]
    return loop[0]


def _view(e) -> bool:
    """A name, an element or a slice of an array: no new memory."""
    return isinstance(e, (P.Ref, P.Index)) or (isinstance(e, P.Attr) and e.attr in ("T", "real", "imag"))


def _check_expr(exprs, where: _Locator, stmt) -> None:
    for e in exprs:
        if e is None or isinstance(e, (P.Ref, P.Lit)):
            continue
        if isinstance(e, P.Call) and isinstance(e.fn, str):
            if e.fn.startswith("rt.") and e.fn not in ("rt.trip_count", "rt.broadcastable"):
                raise where.error(f"target='cuda' cannot call adc's runtime helper {e.fn} (it allocates or is "
                                  "compiled for the CPU): use target='cpu'", stmt)
            if e.fn not in ("len", "range") and any(_array_valued(a) for a in e.args):
                raise where.error(f"target='cuda' runs element loops, not whole-array calls: {e.fn} of a "
                                  "whole array; write it with a loop over the entries", stmt)
        if isinstance(e, (P.BinOp, P.Unary)) and _array_valued(e):
            raise where.error("target='cuda' runs element loops, not whole-array arithmetic: write this with a "
                              "loop over the entries", stmt)
        _check_expr([c for c in P.children(e) if c is not None], where, stmt)


def _array_valued(e) -> bool:
    """Whether an expression is an array (a whole one, a slice, a row, arithmetic on them): what device code
    cannot compute without allocating."""
    if isinstance(e, P.Ref):
        return is_array(e.var.type)
    if isinstance(e, P.Index):
        if any(isinstance(i, P.Slice) or _array_valued(i) for i in e.index):
            return True
        base = e.base
        return isinstance(base, P.Ref) and is_array(base.var.type) and base.var.type.ndim > len(e.index)
    if isinstance(e, P.Attr):
        return e.attr in ("T", "real", "imag") and _array_valued(e.base)
    if isinstance(e, (P.BinOp, P.Unary, P.Cond)):
        return any(_array_valued(c) for c in P.children(e) if c is not None)
    if isinstance(e, P.Call) and isinstance(e.fn, str) and e.fn.startswith("np."):
        return any(_array_valued(a) for a in e.args)
    return False


def _fused_branches(stmts) -> list:
    """Fusion's guarded runs (`if shapes agree: the element loop, else: the statements as written`) as the
    element loop alone, after a check whose failure (arrays that broadcast) the host reports."""
    out = []
    for s in stmts:
        if isinstance(s, P.If) and s.guard:
            out.append(P.If(P.Unary("not", s.test), [P.Raise(BROADCAST, "")]))
            out += _fused_branches(s.body)
        elif isinstance(s, P.If):
            out.append(P.If(s.test, _fused_branches(s.body), _fused_branches(s.orelse)))
        elif isinstance(s, (P.For, P.While)):
            head = (s.var, s.bounds) if isinstance(s, P.For) else (s.test,)
            out.append(type(s)(*head, _fused_branches(s.body)))
        else:
            out.append(s)
    return out


BROADCAST = "broadcast"  # the exception of a fusion guard: status -1, "shapes that broadcast"; -2: an
# allocation larger than the host sized (adc's own error)


def _aliased(stmts, var: P.Var) -> P.Var:
    """What a returned name stands for when fusion left `v = v_fused` (defined once, from a name) before it."""
    for s in stmts:
        if isinstance(s, P.Assign) and isinstance(s.target, P.Ref) and s.target.var is var \
                and isinstance(s.value, P.Ref) and _definitions(stmts, var) == 1:
            return _aliased(stmts, s.value.var)
    return var


def _definitions(stmts, var: P.Var) -> int:
    count = 0
    for s in P.statements(stmts):
        if isinstance(s, (P.Assign, P.AugAssign)):
            defined, _ = P._target_defs_uses(s.target)
            count += sum(d is var for d in defined)
        elif isinstance(s, P.For):
            count += s.var is var
    return count


def _leaves(e):
    if isinstance(e, P.TupleExpr):
        leaves, trees = [], []
        for item in e.items:
            sub, tree = _leaves(item)
            trees.append(_shifted(tree, len(leaves)))
            leaves += sub
        return leaves, tuple(trees)
    return [e], 0


def _shifted(tree, by: int):
    return tuple(_shifted(t, by) for t in tree) if isinstance(tree, tuple) else tree + by


# -- the host's sizes ----------------------------------------------------------------------
def _sizes_source(fn: P.FunctionDef, allocations: list[_Allocation], filename: str, line: int) -> tuple[str, bool]:
    """The top-level statements the allocations' shapes read, then their shapes; a shape that depends on
    what a loop computes is refused. Also whether they read array entries (`n = int(x[0])`)."""
    needed = {id(v) for a in allocations for v in P.expr_vars(a.shape)}
    params = {id(p) for p in fn.params}
    kept = []
    for s in reversed(fn.body):
        if isinstance(s, P.Assign) and isinstance(s.target, P.Ref) and id(s.target.var) in needed \
                and _definitions(fn.body, s.target.var) == 1:
            kept.append(s)  # allocations too: a shape may be another allocation's
            needed.discard(id(s.target.var))
            needed |= {id(v) for v in P.expr_vars(s.value)}
    rebound = {id(p) for p in fn.params if _definitions(fn.body, p)}
    if needed - params or needed & rebound:  # defined in a loop or a branch, or more than once
        raise DeviceError("target='cuda' sizes every array before the kernel runs: an array's size here depends "
                          "on a value computed in a loop or a branch; compute it from the arguments' shapes",
                          filename, line)
    shapes = [a.shape if _tuple_valued(a.shape) else P.TupleExpr([a.shape]) for a in allocations]
    body = list(reversed(kept)) + [P.Return(P.TupleExpr(shapes) if shapes else P.Lit("()"))]
    reads_values = any(_indexes(e) for e in [s.value for s in kept] + shapes)
    return P.format_function(P.FunctionDef(f"{fn.name}__sizes", fn.params, body,
                                           "The shape of each array the kernel allocates, for one element.")), \
        reads_values


def _indexes(e) -> bool:
    if isinstance(e, P.Index) and not (isinstance(e.base, P.Attr) and e.base.attr == "shape"):
        return True
    return any(_indexes(c) for c in P.children(e) if c is not None and not isinstance(c, P.Slice))


# -- the kernel ----------------------------------------------------------------------------
def _kernel_source(fn, mapped, allocations, arenas, result_allocations, leaves) -> str:
    fixed = {}

    def var(name: str) -> P.Var:
        if name not in fixed:
            fixed[name] = P.Var(name, name)
        return fixed[name]

    index = P.Ref(var("batch__i"))
    batched = {p.name: var(f"{p.name}__batch") for p, m in zip(fn.params, mapped) if m}
    results = [var(f"result__{k}") for k in range(len(leaves))]
    params = [var(f"{p.name}__batch") if m else p for p, m in zip(fn.params, mapped)]
    params += [var(f"arena__{d}") for d in arenas] + results + [var("status__")]
    head = [P.Assign(index, P.Call("cuda.grid", [P.Lit("1")])),
            P.If(P.BinOp(">=", index, P.Index(P.Attr(P.Ref(var("status__")), "shape"), [P.Lit("0")])),
                 [P.Return(None)])]
    for p in fn.params:
        if p.name in batched:
            ndim = p.type.ndim if is_array(p.type) else 0
            head.append(P.Assign(P.Ref(p), _column(P.Ref(batched[p.name]), ndim, index)))
    head += [P.Assign(P.Ref(var(f"arena__{d}__top")), P.Lit("0")) for d in arenas]
    slot = {k: leaf for leaf, k in enumerate(result_allocations) if k is not None}
    state = {"raises": 0}

    def stop(code: str) -> list:
        return [P.Assign(P.Index(P.Ref(var("status__")), [index]), P.Lit(code)), P.Return(None)]

    def allocation(a: _Allocation, k: int) -> list:
        if k in slot:  # the thread's column of the stacked result
            column = _column(P.Ref(results[slot[k]]), a.var.type.ndim, index)
            out = [P.If(P.BinOp("!=", P.Attr(column, "size"), a.size), stop("-2")),
                   P.Assign(P.Ref(a.var), column)]
        else:  # a size the host's __sizes did not foresee would run past the arena: stop instead
            arena, top = P.Ref(var(f"arena__{a.dtype}")), P.Ref(var(f"arena__{a.dtype}__top"))
            past = P.BinOp(">", P.BinOp("+", top, a.size), P.Index(P.Attr(arena, "shape"), [P.Lit("0")]))
            out = [P.If(past, stop("-2")),
                   P.Assign(P.Ref(a.var), P.Index(arena, [P.Slice(top, P.BinOp("+", top, a.size), None), index])),
                   P.AugAssign(top, "+", a.size)]
        if a.fn in FILL:
            ndim = a.var.type.ndim if a.var.type is not None else 1
            js = [var(f"alloc__j{d}") for d in range(ndim)]
            loop = [P.Assign(P.Index(P.Ref(a.var), [P.Ref(j) for j in js]), P.Lit(FILL[a.fn]))]
            for d in reversed(range(ndim)):
                bound = P.Index(P.Attr(P.Ref(a.var), "shape"), [P.Lit(str(d))])
                loop = [P.For(js[d], [P.Lit("0"), bound, P.Lit("1")], loop)]
            out += loop
        return out

    order = {id(a.var): k for k, a in enumerate(allocations)}

    def rewrite(stmts) -> list:
        out = []
        for s in stmts:
            if isinstance(s, P.Assign) and isinstance(s.target, P.Ref) and id(s.target.var) in order \
                    and _allocator(s.value):
                k = order[id(s.target.var)]
                out += allocation(allocations[k], k)
            elif isinstance(s, P.Raise):
                state["raises"] += s.exception != BROADCAST
                out += stop("-1" if s.exception == BROADCAST else str(state["raises"]))
            elif isinstance(s, P.Return):
                for k, leaf in enumerate(leaves):
                    if result_allocations[k] is None:
                        out.append(P.Assign(P.Index(P.Ref(results[k]), [index]), _scalar_calls(leaf)))
                out.append(P.Return(None))
            elif isinstance(s, P.For):
                out.append(P.For(s.var, [_scalar_calls(b) for b in s.bounds], rewrite(s.body)))
            elif isinstance(s, P.While):
                out.append(P.While(_scalar_calls(s.test), rewrite(s.body)))
            elif isinstance(s, P.If):
                out.append(P.If(_scalar_calls(s.test), rewrite(s.body), rewrite(s.orelse)))
            elif isinstance(s, P.Assign):
                out.append(P.Assign(s.target, _scalar_calls(s.value)))
            elif isinstance(s, P.AugAssign) and _whole_update(s):
                out.append(_element_loops(s, var))
            elif isinstance(s, P.AugAssign):
                out.append(P.AugAssign(s.target, s.op, _scalar_calls(s.value)))
            else:
                out.append(s)
        return out

    body = rewrite(fn.body)
    kernel = P.FunctionDef(f"{fn.name}__cuda", params, head + body,
                           "One batch element per thread; status__ says which check failed.")
    device = P.FunctionDef(f"{fn.name}__device", params + [var("batch__i")], head[2:] + body,
                           "Element batch__i, for a kernel of your own (Batched.cuda_device): the same as the kernel.")
    return P.format_function(kernel) + "\n\n\n" + P.format_function(device)


def _column(batch: P.Expr, ndim: int, index: P.Expr) -> P.Expr:
    """The thread's element of an array whose batch axis is last: neighbouring threads read neighbouring words."""
    return P.Index(batch, [P.Slice(None, None, None)] * ndim + [index])


def _scalar_calls(e):
    """numpy functions of numbers spelled as math's or cmath's, which numba.cuda compiles; a shape check
    `rt.broadcastable(a.shape, b.shape)` as `a.shape == b.shape` (the host tells a broadcast from an error)."""
    if e is None or isinstance(e, (P.Ref, P.Lit)):
        return e
    e = P.map_expr(e, _scalar_calls)
    if isinstance(e, P.Call) and e.fn == "rt.broadcastable" and len(e.args) == 2:
        return P.BinOp("==", e.args[0], e.args[1])
    if isinstance(e, P.Call) and isinstance(e.fn, str) and e.fn in SCALAR_FUNCTIONS:
        real, complex_ = SCALAR_FUNCTIONS[e.fn]
        name = complex_ if any(_complex(a) for a in e.args) else real
        if name is not None:
            return P.Call(name, e.args)
    if isinstance(e, P.Call) and e.fn in ("np.real", "np.imag") and len(e.args) == 1:
        return P.Attr(e.args[0], e.fn[3:])
    return e


def _complex(e) -> bool:
    """Whether an expression of numbers may be complex (a guess that errs towards complex)."""
    if isinstance(e, P.Ref):
        return e.var.type is None or e.var.type.dtype.startswith("complex")
    if isinstance(e, P.Lit):
        return "j" in e.text
    if isinstance(e, P.Attr) and e.attr in ("real", "imag", "shape", "size"):
        return False
    if isinstance(e, P.Index):
        return _complex(e.base)
    if isinstance(e, P.Call) and e.fn in ("abs", "math.atan2", "math.hypot", "float", "int", "len", "min", "max"):
        return e.fn in ("min", "max") and any(_complex(a) for a in e.args)
    return any(_complex(c) for c in P.children(e) if c is not None and not isinstance(c, P.Slice))
