"""`adc.differentiate`: the decorator, its dispatcher and the calls users make."""
from __future__ import annotations

import functools
import inspect
import sys
import threading
from typing import NamedTuple

import numpy as np

from .errors import api_boundary
from .frontend.lower import constants_hold, hidden_arrays, parse_checked
from .frontend.resolve import python_function
from .ir.core import STORES, Array, Scalar, is_array, is_differentiable, is_weak, walk
from .pipeline import Specialization, format_ir, second_order, source_of, specialize, vector_tangent_kernel
from .runtime import TapeTooLarge

SUPPORTED_DTYPES = ("float64", "float32", "complex128", "complex64", "int64", "bool")
BACKENDS = ("numba", "python")
CHECKPOINT_POLICIES = (None, "auto")


COMPLEX_GRADS = {
    # what grad returns for a complex argument z = x + iy of a real loss L (docs/complex.md)
    "real-imag": lambda g: g,                       # dL/dx + 1j dL/dy: the steepest-ascent direction
    "wirtinger": lambda g: 0.5 * np.conj(g),        # dL/dz = (dL/dx - 1j dL/dy) / 2
    "conj-wirtinger": lambda g: 0.5 * g,            # dL/dconj(z) = (dL/dx + 1j dL/dy) / 2
}


@api_boundary
def differentiate(fn=None, *, wrt=None, backend: str = "numba", complex_grad: str = "real-imag",
                  debug: bool = False, boundscheck: bool = True, checkpoint: str | None = None):
    """Make `fn` differentiable: `@differentiate`, `@differentiate(wrt=...)` or `differentiate(fn, wrt=...)`.

    complex_grad: what gradients with respect to complex arguments mean ("real-imag", the default,
    "wirtinger" or "conj-wirtinger"); see docs/complex.md.
    debug: check every float the primal and the derivative sweeps compute for NaN and Inf; the first
    raises FloatingPointError naming the variable and your source line.
    boundscheck: element reads and writes outside their array raise IndexError (the default; the checks
    are hoisted out of loops, docs/conventions.md). False leaves them out, as numba does by default: an
    access out of bounds then reads garbage or writes past the array.
    checkpoint: None (the default) checkpoints the loops marked `adc.checkpoint(range(N), snapshots=s)`;
    "auto" also every loop of the function's own body that would keep a tape growing with its steps, with
    64 stored states each (docs/checkpointing.md).
    """
    if fn is None:  # a partial, not a lambda: no frame of adc's above the call that raises
        return functools.partial(differentiate, wrt=wrt, backend=backend, complex_grad=complex_grad, debug=debug,
                                 boundscheck=boundscheck, checkpoint=checkpoint)
    return Differentiated(fn, wrt, backend, complex_grad, debug, boundscheck, checkpoint)


def argument_type(name: str, value):
    if isinstance(value, (bool, np.bool_)):
        return Scalar("bool")
    if type(value) in (int, float, complex):  # a Python number is weak in numpy's promotion (NEP 50)
        return Scalar({int: "int64", float: "float64", complex: "complex128"}[type(value)], weak=True)
    if isinstance(value, np.integer):
        return Scalar("int64")
    if isinstance(value, (np.floating, np.complexfloating)):
        return Scalar(value.dtype.name) if value.dtype.name in SUPPORTED_DTYPES else Scalar("float64")
    if isinstance(value, np.ndarray):
        if value.dtype.name not in SUPPORTED_DTYPES:
            raise TypeError(f"argument `{name}` has dtype {value.dtype}, which adc does not support: "
                            f"convert it with .astype(np.float64) (supported: {', '.join(SUPPORTED_DTYPES)})")
        if value.ndim == 0:
            raise TypeError(f"argument `{name}` is a 0-d array: pass a Python number or a 1-d array instead")
        return Array(value.dtype.name, value.ndim)
    raise TypeError(f"argument `{name}` is a {type(value).__name__}, which adc does not support: "
                    "pass a number or a numpy array")


def check_cotangent_kind(result, cotangent) -> None:
    """A real result's cotangent is real: a complex one would lose its imaginary part without a word."""
    if np.iscomplexobj(cotangent) and np.dtype(result.type.dtype).kind != "c":
        raise ValueError(f"the result is real ({result.type.dtype}), so its cotangent is real too, not complex")


def _scalar_or_array(block):
    return block.item() if block.ndim == 0 else block


def cheap_key(args) -> tuple:
    """Distinguishes signatures as argument_type does, at the cost of a few attribute reads."""
    return tuple([(a.dtype.num, a.ndim) if type(a) is np.ndarray else type(a) for a in args])  # dtypes hash slowly


class Kernels(NamedTuple):
    """A specialisation's compiled kernels. The derivative kernels write into the arrays in `written` (the
    parameters the function writes) as the primal does: pass them copies. Gradients of complex arguments are
    dL/dRe + 1j dL/dIm whatever `complex_grad` says (the conversion happens in Python)."""
    primal: object
    vjp: object
    jvp: object
    written: tuple


class Differentiated:
    """A user function with its compiled primal and derivatives, one kernel per signature."""

    def __init__(self, fn, wrt, backend: str, complex_grad: str = "real-imag", debug: bool = False,
                 boundscheck: bool = True, checkpoint: str | None = None):
        self.debug = debug
        self.boundscheck = boundscheck
        if checkpoint not in CHECKPOINT_POLICIES:
            raise ValueError(f"unknown checkpoint policy {checkpoint!r}: use None (the loops marked with "
                             "adc.checkpoint) or 'auto'")
        self.checkpoint = checkpoint
        self._last_stats: dict | None = None
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}: use one of {BACKENDS}")
        if complex_grad not in COMPLEX_GRADS:
            raise ValueError(f"unknown complex_grad {complex_grad!r}: use one of {tuple(COMPLEX_GRADS)}")
        self.complex_grad = complex_grad
        fn = python_function(fn)  # of another differentiated function, or of a @numba.njit one
        parsed = parse_checked(fn)
        self.python = fn
        self.backend = backend
        self.params = [p.id for p in parsed.node.args.args]
        self._signature = inspect.signature(fn)
        self.wrt, self.wrt_is_tuple = self._resolve_wrt(wrt)
        self._specs: dict[tuple, Specialization] = {}
        self._by_key: dict[tuple, Specialization] = {}  # keyed by what is cheap to read off the arguments
        self._last: Specialization | None = None
        self._compiling = threading.RLock()
        functools.update_wrapper(self, fn)

    def _resolve_wrt(self, wrt):
        if wrt is None:
            if not self.params:
                raise ValueError(f"{self.python.__name__} has no parameters to differentiate with respect to")
            return [0], False
        items = wrt if isinstance(wrt, (tuple, list)) else (wrt,)
        indices = []
        for item in items:
            if isinstance(item, str):
                if item not in self.params:
                    raise ValueError(f"wrt names {item!r}, which is not a parameter of "
                                     f"{self.python.__name__}{tuple(self.params)}")
                indices.append(self.params.index(item))
            elif isinstance(item, int) and not isinstance(item, bool):
                if not 0 <= item < len(self.params):
                    raise ValueError(f"wrt index {item} is out of range for {len(self.params)} parameters")
                indices.append(item)
            else:
                raise TypeError(f"wrt entries must be parameter names or indices, got {item!r}")
        if len(set(indices)) != len(indices):
            raise ValueError("wrt names the same parameter twice")
        return indices, isinstance(wrt, (tuple, list))

    # -- dispatch ------------------------------------------------------------------
    def _arguments(self, args, kwargs) -> tuple:
        """The arguments in parameter order, defaults filled in: kernels take every parameter by position."""
        if not kwargs and len(args) == len(self.params):
            return args
        try:
            bound = self._signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{self.python.__name__}() takes {len(self.params)} arguments {self._signature}: "
                            f"{exc}") from None
        bound.apply_defaults()
        return bound.args

    def _types(self, args):
        return [argument_type(n, a) for n, a in zip(self.params, args)]

    def _specialization(self, args, key=None) -> Specialization:
        key = cheap_key(args) if key is None else key
        spec = self._by_key.get(key)
        if spec is not None and spec.reads_module and (spec.ir.constants and not constants_hold(spec.ir.constants)
                                                       or spec.ir.hidden and hidden_arrays(spec.ir) is None):
            self._specs.clear()  # a module-level number it read changed since, or an array its type: compile again
            self._by_key.clear()
            spec = None
        if spec is None:
            spec = self._by_key[key] = self._specialize(args)
        self._last = spec
        return spec

    def _specialize(self, args) -> Specialization:
        types = self._types(args)
        key = tuple((t, is_weak(t)) for t in types)  # 0.5 and np.float64(0.5) promote differently
        with self._compiling:  # threads making the first call compile once
            spec = self._specs.get(key)
            if spec is None:
                spec = specialize(self.python, types, self.wrt, self.backend, self.debug, self.boundscheck,
                                  self.checkpoint)
                self._specs[key] = spec
        return spec

    def __reduce__(self):
        """Pickled by reference, as numba pickles its dispatchers: by the module-level name that holds
        it, or as the decorator applied to the module-level function (compiled again where unpickled,
        from the disk cache)."""
        module = sys.modules.get(self.python.__module__)
        named = getattr(module, self.python.__qualname__, None)
        if named is self:
            return self.python.__qualname__
        fn = named if isinstance(named, Differentiated) and named.python is self.python else self.python
        wrt = tuple(self.params[i] for i in self.wrt)
        return (Differentiated, (fn, wrt if self.wrt_is_tuple else wrt[0], self.backend,
                                 self.complex_grad, self.debug, self.boundscheck, self.checkpoint))

    def _differentiable_specialization(self, args) -> Specialization:
        key = cheap_key(args)
        spec = self._by_key.get(key)
        if spec is not None and not spec.reads_module:  # the hot path: grad's own overhead is about 4.5 us
            self._last = spec
            return spec
        if spec is None:  # first call with these types: check wrt before any work
            self._check_wrt_types(args)
        return self._specialization(args, key)

    def _check_wrt_types(self, args) -> None:
        for i in self.wrt:
            t = argument_type(self.params[i], args[i])
            if not is_differentiable(t):
                raise TypeError(f"wrt names `{self.params[i]}`, an integer or boolean argument: "
                                "only float and complex arguments have derivatives; pass it as a float or leave it out of wrt")

    # -- the calls -------------------------------------------------------------------
    @api_boundary
    def __call__(self, *args, **kwargs):
        args = self._arguments(args, kwargs)
        spec = self._specialization(args)
        args = self._with_hidden(spec, args)
        if spec.stored_params:
            self._check_writable(spec, args)
        return spec.kernel("primal")(*args)

    @staticmethod
    def _with_hidden(spec: Specialization, args) -> tuple:
        """The kernels' arguments: the caller's, then the module-level arrays the function reads."""
        return (*args, *hidden_arrays(spec.ir)) if spec.ir.hidden else args

    def _check_writable(self, spec: Specialization, args) -> None:
        """A write into a read-only array: numba's kernel would not compile (a typing error), numpy's refuses."""
        for i in spec.stored_params:
            if not args[i].flags.writeable:
                name, loc = spec.ir.params[i].hint, self._first_write(spec, i)
                raise ValueError(f"argument `{name}` is read-only, but {self.python.__name__}() writes into it at "
                                 f"{loc.filename}:{loc.lineno} (`{loc.text.strip()}`): "
                                 f"pass a writable copy (`{name}.copy()`)")

    @staticmethod
    def _first_write(spec: Specialization, i: int):
        param = spec.ir.params[i]
        memory = spec.activity.aliases.get(param.id, {param.id})  # the argument and its views
        return next(op.loc for op in walk(spec.ir.body) if op.opcode in STORES and op.operands[0].id in memory)

    @api_boundary
    def value_and_grad(self, *args, **kwargs):
        return self._value_and_grad(args, kwargs)

    def _value_and_grad(self, args, kwargs):
        args = self._arguments(args, kwargs)
        spec = self._differentiable_specialization(args)
        if not spec.real_scalar_result:
            self._check_real_scalar_result(spec, "grad")
        return self._run_vjp(spec, args, (1.0,))

    def _check_real_scalar_result(self, spec: Specialization, what: str) -> None:
        """Passed once, it holds for every later call of the specialisation."""
        (result,) = spec.ir.returned if len(spec.ir.returned) == 1 else (None,)
        if result is None or is_array(result.type):
            raise TypeError(f"{what} needs a scalar result, but {self.python.__name__} returns "
                            f"{'a tuple' if result is None else 'an array'}: use vjp(..., cotangent=...) for non-scalar results")
        if np.dtype(result.type.dtype).kind != "f":
            raise TypeError(f"{what} needs a real floating-point result, but {self.python.__name__} returns "
                            f"{result.type}: return a real loss (abs(z)**2, z.real) or use vjp")
        spec.real_scalar_result = True

    @api_boundary
    def grad(self, *args, **kwargs):
        return self._value_and_grad(args, kwargs)[1]

    @api_boundary
    def vjp(self, *args, cotangent, **kwargs):
        args = self._arguments(args, kwargs)
        spec = self._differentiable_specialization(args)
        returned = spec.ir.returned
        cotangents = tuple(cotangent) if len(returned) > 1 else (cotangent,)
        if len(cotangents) != len(returned):
            raise ValueError(f"the result has {len(returned)} parts; give one cotangent for each")
        seeds = []
        for r, ct in zip(returned, cotangents):
            check_cotangent_kind(r, ct)
            if is_array(r.type):
                ct = np.array(ct, dtype=r.type.dtype, copy=True)
                if ct.ndim != r.type.ndim:
                    raise ValueError(f"the cotangent must have {r.type.ndim} dimensions like the result")
            elif np.ndim(ct):
                raise ValueError(f"the result is a number ({r.type.dtype}), so its cotangent is one too, "
                                 f"not an array of shape {np.shape(ct)}")
            else:
                ct = np.dtype(r.type.dtype).type(ct)
            seeds.append(ct)
        return self._run_vjp(spec, args, tuple(seeds))

    def _run_vjp(self, spec: Specialization, args, seeds):
        """The hot path of grad: what it does besides the kernel's own work costs about 5 us a call."""
        kernel = spec.kernels.get("vjp") or spec.kernel("vjp")
        args = self._untouched(spec, args)
        stats = np.zeros(4, np.int64) if spec.checkpointed else None
        try:
            value, grads = kernel(*args, *seeds, stats) if spec.checkpointed else kernel(*args, *seeds)
        except MemoryError as exc:
            raise self._out_of_tape(spec, exc) from None
        self._last_stats = stats
        convert = self._as_argument_type
        grads = tuple([convert(g, args[i]) for g, i in zip(grads, self.wrt)])
        return value, grads if self.wrt_is_tuple else grads[0]

    def last_stats(self) -> dict:
        """What the last reverse-mode call (grad, value_and_grad, vjp) of a function with checkpointed loops
        kept and redid: `peak_tape_bytes` (its tapes, which in a checkpointed loop hold one step),
        `snapshot_bytes` (the stored states), `snapshots` (the most states stored at once, of any loop) and
        `recomputed_steps` (primal steps the reverse sweep ran again to get back to stored states' successors,
        besides the one recording run of each step). docs/checkpointing.md."""
        if self._last_stats is None:
            raise RuntimeError(f"{self.python.__name__} has no statistics: they are kept by reverse-mode calls of "
                               "functions with checkpointed loops (adc.checkpoint, or checkpoint='auto')")
        stats = self._last_stats
        return {"peak_tape_bytes": int(stats[0]), "snapshot_bytes": int(stats[1]), "snapshots": int(stats[2]),
                "recomputed_steps": int(stats[3])}

    def _run_taped(self, spec: Specialization, kernel, *args):
        """Runs a kernel that keeps every step of its loops on tapes; one that does not fit names the loop."""
        try:
            return kernel(*args)
        except MemoryError as exc:
            raise self._out_of_tape(spec, exc) from None

    def _out_of_tape(self, spec: Specialization, exc: MemoryError) -> MemoryError:
        loops = [op.loc for op in spec.ir.body.ops if op.opcode in ("for", "while")]
        if not loops:
            return exc
        size = f", a tape of {exc.args[0]:,} bytes" if isinstance(exc, TapeTooLarge) else ""
        where = " and ".join(f"{loc.filename}:{loc.lineno} (`{loc.text.strip()}`)" for loc in loops)
        return MemoryError(
            f"{self.python.__name__} ran out of memory in reverse mode ({exc}): it keeps the values of every "
            f"step of the loop{'s' if len(loops) > 1 else ''} at {where} on a tape{size}. Checkpoint the loop: "
            "`for t in adc.checkpoint(range(N), snapshots=64):` keeps 64 states instead of every step's values, "
            "and recomputes the rest (docs/checkpointing.md); or shorten the loop")

    def _untouched(self, spec: Specialization, args) -> list:
        """The kernels' arguments, with copies of the arrays the function writes into, so derivatives leave
        the caller's (and the module's) alone."""
        args = self._with_hidden(spec, args)
        if not spec.stored_params:
            return args
        self._check_no_aliasing(spec, args)
        return [a.copy() if i in spec.stored_params else a for i, a in enumerate(args)]

    def _check_no_aliasing(self, spec: Specialization, args) -> None:
        """f(z, z) where f writes one and reads the other is a different function from f(x, y): each
        argument has no derivative of its own there, so derivatives refuse it (the primal runs as Python)."""
        for i in spec.stored_params:
            for j, other in enumerate(args):
                if j != i and isinstance(other, np.ndarray) and np.may_share_memory(args[i], other) \
                        and np.shares_memory(args[i], other):
                    name, other_name = spec.ir.params[i].hint, spec.ir.params[j].hint
                    raise ValueError(
                        f"arguments `{name}` and `{other_name}` of {self.python.__name__} share memory, and it writes "
                        f"into `{name}`: derivatives treat every argument as its own array, so pass a copy "
                        f"(`{other_name}.copy()`), or differentiate a function that takes the array once")

    def _per_wrt(self, values: tuple):
        return values if self.wrt_is_tuple else values[0]

    # -- forward mode ------------------------------------------------------------------
    @api_boundary
    def jvp(self, *args, tangents, **kwargs):
        """(value, directional derivative of the result along `tangents`)."""
        args = self._arguments(args, kwargs)
        spec = self._differentiable_specialization(args)
        tangents = self._tangents(args, tangents)
        return spec.kernel("jvp")(*self._untouched(spec, args), *tangents)

    def _tangents(self, args, tangents) -> list:
        tangents = tuple(tangents) if self.wrt_is_tuple else (tangents,)
        if len(tangents) != len(self.wrt):
            raise ValueError(f"give one tangent per wrt argument ({len(self.wrt)}), got {len(tangents)}")
        out = []
        for i, t in zip(self.wrt, tangents):
            arg = args[i]
            if np.iscomplexobj(t) and not np.iscomplexobj(arg):
                raise ValueError(f"the tangent of `{self.params[i]}` must be real like the argument, not complex")
            if isinstance(arg, np.ndarray):
                t = np.array(t, dtype=arg.dtype)  # a copy: the kernel writes tangents of written arrays
                if t.shape != arg.shape:
                    raise ValueError(f"the tangent of `{self.params[i]}` has shape {t.shape}, the argument {arg.shape}")
                out.append(t)
            elif np.ndim(t):
                raise ValueError(f"the tangent of `{self.params[i]}` must be a number like the argument "
                                 f"(a {type(arg).__name__}), not an array of shape {np.shape(t)}")
            else:
                out.append(type(arg)(t) if isinstance(arg, np.generic) else (complex(t) if isinstance(arg, complex) else float(t)))
        return out

    @api_boundary
    def jacobian(self, *args, mode: str | None = None, **kwargs):
        """d result / d wrt: result shape + argument shape, one per wrt argument."""
        args = self._arguments(args, kwargs)
        spec = self._differentiable_specialization(args)
        if len(spec.ir.returned) != 1:
            raise TypeError("jacobian needs a single result (an array or a scalar), not a tuple")
        sizes = [np.size(args[i]) for i in self.wrt]
        if mode not in (None, "fwd", "rev"):
            raise ValueError(f"mode must be 'fwd', 'rev' or None, not {mode!r}")
        if mode is None:  # forward when there are no more directions than result entries
            scalar = not is_array(spec.ir.returned[0].type)
            entries = 1 if scalar else np.size(spec.kernel("primal")(*self._untouched(spec, args)))
            mode = "fwd" if sum(sizes) <= entries else "rev"
        if mode == "fwd":
            value, blocks = self._jacobian_forward(spec, args, sizes)
        else:
            value = spec.kernel("primal")(*self._untouched(spec, args))
            blocks = self._jacobian_reverse(spec, args, value)
        shape = np.shape(value)
        return self._per_wrt(tuple(np.reshape(b, shape + np.shape(args[i])) if shape or np.ndim(args[i]) else b.item()
                                   for b, i in zip(blocks, self.wrt)))

    # -- second order ----------------------------------------------------------------------
    @api_boundary
    def hvp(self, *args, tangents, **kwargs):
        """(grad, H v): forward mode applied to the generated reverse-mode function."""
        args = self._arguments(args, kwargs)
        spec = self._differentiable_specialization(args)
        self._check_real_scalar_result(spec, "hvp")
        second = second_order(spec)
        tangents = self._tangents(args, tangents)
        args = self._untouched(spec, args)
        (_, *grads), (_, *hv) = self._run_taped(spec, second.kernel("jvp"), *args, 1.0, *tangents)
        as_args = [tuple(self._as_argument_type(g, args[i]) for g, i in zip(part, self.wrt)) for part in (grads, hv)]
        return self._per_wrt(as_args[0]), self._per_wrt(as_args[1])

    @api_boundary
    def hessian(self, *args, **kwargs):
        """The Hessian by one Hessian-vector product per parameter entry (for small parameter vectors).

        With a tuple `wrt`, block [i][j] is d2 result / d wrt_i d wrt_j, shaped wrt_i's shape + wrt_j's.
        """
        args = self._arguments(args, kwargs)
        shapes = [np.shape(args[i]) for i in self.wrt]
        sizes = [int(np.prod(s)) for s in shapes]
        columns = []
        for j, (shape_j, size_j) in enumerate(zip(shapes, sizes)):
            for k in range(size_j):
                tangents = [np.zeros(s) if s else 0.0 for s in shapes]
                if shape_j:
                    tangents[j].flat[k] = 1.0
                else:
                    tangents[j] = 1.0
                _, hv = self.hvp(*args, tangents=tuple(tangents) if self.wrt_is_tuple else tangents[0])
                columns.append([np.ravel(h) for h in (hv if self.wrt_is_tuple else (hv,))])
        blocks, start = [], 0
        for shape_j, size_j in zip(shapes, sizes):
            cols = columns[start:start + size_j]
            blocks.append([np.array([c[i] for c in cols]).T.reshape(shapes[i] + shape_j) for i in range(len(shapes))])
            start += size_j
        rows = [tuple(_scalar_or_array(blocks[j][i]) for j in range(len(shapes))) for i in range(len(shapes))]
        return tuple(rows) if self.wrt_is_tuple else rows[0][0]

    def _jacobian_forward(self, spec: Specialization, args, sizes) -> list:
        """All directions in one vector-mode sweep: tangents with a leading axis of directions."""
        total, offset, seeds = sum(sizes), 0, []
        for i, size in zip(self.wrt, sizes):
            eye = np.zeros((total, size), dtype=np.result_type(args[i], np.float64) if not isinstance(args[i], np.ndarray)
                           else args[i].dtype)
            eye[offset:offset + size] = np.eye(size)
            seeds.append(eye.reshape((total,) + np.shape(args[i])))
            offset += size
        kernel = vector_tangent_kernel(spec, total)
        value, tangent = kernel(*self._untouched(spec, args), *seeds)
        tangent = np.asarray(tangent).reshape(total, -1)
        blocks, offset = [], 0
        for size in sizes:
            blocks.append(tangent[offset:offset + size].T)  # result entries x argument entries
            offset += size
        return value, blocks

    def _jacobian_reverse(self, spec: Specialization, args, value) -> list:
        """One reverse sweep per result entry."""
        rows = []
        for k in range(max(np.size(value), 1)):
            if np.ndim(value):
                cotangent = np.zeros(np.shape(value))
                cotangent.flat[k] = 1.0
            else:
                cotangent = 1.0
            _, grads = self.vjp(*args, cotangent=cotangent)
            rows.append([np.ravel(g) for g in (grads if self.wrt_is_tuple else (grads,))])
        return [np.array([row[j] for row in rows]) for j in range(len(self.wrt))]

    def _as_argument_type(self, g, arg):
        """A gradient with its argument's type; for complex arguments, in the chosen convention."""
        if type(arg) is np.ndarray and arg.dtype.kind == "f":  # the common cases first: a call costs microseconds
            return g if type(g) is np.ndarray and g.dtype == arg.dtype else np.asarray(g, dtype=arg.dtype)
        if type(arg) is float:
            return float(g.real)
        if np.iscomplexobj(arg):
            g = COMPLEX_GRADS[self.complex_grad](g)
        if isinstance(arg, np.ndarray):
            return np.asarray(g, dtype=arg.dtype)
        if isinstance(arg, np.generic):
            return arg.dtype.type(g)
        return complex(g) if isinstance(arg, complex) else float(np.real(g))

    # -- kernels for the user's own numba code ----------------------------------------------
    @api_boundary
    def kernels(self, *args, **kwargs) -> "Kernels":
        """The compiled primal, vjp and jvp for the types of `args`, as numba dispatchers a `@numba.njit`
        function can call (docs/interop.md): `primal(*args)`, `vjp(*args, *cotangents)` returning
        `(value, grads)` with grads a tuple in wrt's order, `jvp(*args, *tangents)` returning `(value, tangent)`."""
        args = self._arguments(args, kwargs)
        spec = self._differentiable_specialization(args)
        if self.backend != "numba":
            raise ValueError(f"kernels() gives numba dispatchers, but {self.python.__name__} uses the "
                             f"{self.backend!r} backend: differentiate it with backend='numba'")
        if spec.ir.hidden:
            names = ", ".join(f"`{name}`" for _, name in spec.ir.hidden)
            raise ValueError(f"{self.python.__name__} reads the module-level array{'s' if len(spec.ir.hidden) > 1 else ''} "
                             f"{names}, which its kernels take as extra arguments: pass "
                             f"{'them' if len(spec.ir.hidden) > 1 else 'it'} to {self.python.__name__} as parameters instead")
        if spec.checkpointed:
            raise ValueError(f"{self.python.__name__} checkpoints loops, and its vjp kernel then takes a statistics "
                             "array: call f.vjp from Python, or leave adc.checkpoint out for kernels()")
        written = tuple(self.params[i] for i in spec.stored_params)
        return Kernels(spec.kernel("primal"), spec.kernel("vjp"), spec.kernel("jvp"), written)

    # -- batches -----------------------------------------------------------------------
    @api_boundary
    def batched(self, in_axes=0, target: str = "cpu"):
        """This function over a batch of independent inputs, in `jax.vmap`'s `in_axes` convention: an axis
        per argument (an int for all), None for an argument the whole batch shares. Its calls return the
        per-element results stacked along a first axis; its `grad` is the gradient of their sum
        (docs/batching.md)."""
        from .batching import Batched
        return Batched(self, in_axes, target)

    # -- inspection ------------------------------------------------------------------
    def _inspected(self) -> Specialization:
        if self._last is None:
            raise RuntimeError(f"{self.python.__name__} has not been called yet: adc specialises on the "
                               "argument types, so call it (or its grad) once first")
        return self._last

    @api_boundary
    def compile_stats(self) -> dict[str, float]:
        """Seconds spent per compile stage for the last signature called: adc's own ("lower", "checks",
        "primal", "activity", "vjp", "jvp", "jvp_vec", "fuse", "print", "load") and numba's for each
        kernel compiled so far ("numba vjp", with "llvm vjp" the part of it in LLVM). ADC_TIMING=1 prints each as it finishes."""
        return dict(self._inspected().times)

    @api_boundary
    def adjoint_source(self) -> str:
        return source_of(self._inspected(), "vjp")

    @api_boundary
    def tangent_source(self) -> str:
        return source_of(self._inspected(), "jvp")

    @api_boundary
    def primal_source(self) -> str:
        return source_of(self._inspected(), "primal")

    @api_boundary
    def ir(self, stage: str = "ssa") -> str:
        return format_ir(self._inspected(), stage)

    def __repr__(self) -> str:
        return f"<adc.differentiate {self.python.__name__} wrt={[self.params[i] for i in self.wrt]} backend={self.backend}>"

    @property
    def __signature__(self):
        return self._signature

    @api_boundary
    def __get__(self, obj, objtype=None):
        """Decorated in a class body and read off an instance: refused, as `self` cannot be an argument."""
        owner = self.python.__qualname__.rpartition(".")[0]
        if obj is None or not owner or owner.endswith("<locals>"):  # read off the class, or not defined in one
            return self
        raise TypeError(f"{self.python.__qualname__} is a method, and adc differentiates functions of numbers and "
                        f"arrays: it cannot take `{self.params[0]}` (the {type(obj).__name__} object). Decorate a "
                        f"function at module level and pass it the object's arrays and numbers, as in "
                        f"`{self.python.__name__}(self.w, x)`")
