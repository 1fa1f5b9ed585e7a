"""`adc.differentiate`: the decorator, its dispatcher and the calls users make."""
from __future__ import annotations

import functools
import inspect

import numpy as np

from .frontend.lower import parse_checked
from .ir.core import Array, Scalar, is_array, is_differentiable
from .pipeline import Specialization, format_ir, specialize

SUPPORTED_DTYPES = ("float64", "float32", "complex128", "complex64", "int64", "bool")
BACKENDS = ("numba", "python")


def differentiate(fn=None, *, wrt=None, backend: str = "numba"):
    """Make `fn` differentiable: `@differentiate`, `@differentiate(wrt=...)` or `differentiate(fn, wrt=...)`."""
    if fn is None:
        return lambda f: Differentiated(f, wrt, backend)
    return Differentiated(fn, wrt, backend)


def argument_type(name: str, value):
    if isinstance(value, (bool, np.bool_)):
        return Scalar("bool")
    if isinstance(value, (int, np.integer)):
        return Scalar("int64")
    if isinstance(value, np.floating):
        return Scalar(np.dtype(type(value)).name) if value.dtype.name in SUPPORTED_DTYPES else Scalar("float64")
    if isinstance(value, float):
        return Scalar("float64")
    if isinstance(value, np.complexfloating):
        return Scalar(value.dtype.name)
    if isinstance(value, complex):
        return Scalar("complex128")
    if isinstance(value, np.ndarray):
        if value.dtype.name not in SUPPORTED_DTYPES:
            raise TypeError(f"argument `{name}` has dtype {value.dtype}, which adc does not support: "
                            f"convert it with .astype(np.float64) (supported: {', '.join(SUPPORTED_DTYPES)})")
        if value.ndim == 0:
            raise TypeError(f"argument `{name}` is a 0-d array: pass a Python number or a 1-d array instead")
        return Array(value.dtype.name, value.ndim)
    raise TypeError(f"argument `{name}` is a {type(value).__name__}, which adc does not support: "
                    "pass a number or a numpy array")


def cheap_key(args) -> tuple:
    """Distinguishes signatures as argument_type does, at the cost of a few attribute reads."""
    return tuple((a.dtype, a.ndim) if type(a) is np.ndarray else type(a) for a in args)


class Differentiated:
    """A user function with its compiled primal and derivatives, one kernel per signature."""

    def __init__(self, fn, wrt, backend: str):
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}: use one of {BACKENDS}")
        if isinstance(fn, Differentiated):
            fn = fn.python
        parsed = parse_checked(fn)
        self.python = fn
        self.backend = backend
        self.params = [p.id for p in parsed.node.args.args]
        self.wrt, self.wrt_is_tuple = self._resolve_wrt(wrt)
        self._specs: dict[tuple, Specialization] = {}
        self._by_key: dict[tuple, Specialization] = {}  # keyed by what is cheap to read off the arguments
        self._last: Specialization | None = None
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
    def _types(self, args):
        if len(args) != len(self.params):
            raise TypeError(f"{self.python.__name__}() takes {len(self.params)} arguments "
                            f"({', '.join(self.params)}), got {len(args)}")
        return [argument_type(n, a) for n, a in zip(self.params, args)]

    def _specialization(self, args) -> Specialization:
        key = cheap_key(args)
        spec = self._by_key.get(key)
        if spec is None:
            spec = self._by_key[key] = self._specialize(args)
        self._last = spec
        return spec

    def _specialize(self, args) -> Specialization:
        types = self._types(args)
        key = tuple(types)
        spec = self._specs.get(key)
        if spec is None:
            spec = specialize(self.python, types, self.wrt, self.backend)
            self._specs[key] = spec
        return spec

    def _differentiable_specialization(self, args) -> Specialization:
        if cheap_key(args) not in self._by_key:  # first call with these types: check wrt before any work
            self._check_wrt_types(args)
        return self._specialization(args)

    def _check_wrt_types(self, args) -> None:
        for i in self.wrt:
            t = argument_type(self.params[i], args[i])
            if not is_differentiable(t):
                raise TypeError(f"wrt names `{self.params[i]}`, an integer or boolean argument: "
                                "only float and complex arguments have derivatives; pass it as a float or leave it out of wrt")

    # -- the calls -------------------------------------------------------------------
    def __call__(self, *args):
        return self._specialization(args).primal(*args)

    def value_and_grad(self, *args):
        spec = self._differentiable_specialization(args)
        (result,) = spec.ir.returned if len(spec.ir.returned) == 1 else (None,)
        if result is None or is_array(result.type):
            raise TypeError(f"grad needs a scalar result, but {self.python.__name__} returns "
                            f"{'a tuple' if result is None else 'an array'}: use vjp(..., cotangent=...) for non-scalar results")
        if np.dtype(result.type.dtype).kind != "f":
            raise TypeError(f"grad needs a real floating-point result, but {self.python.__name__} returns "
                            f"{result.type}: return a real loss (abs(z)**2, z.real) or use vjp")
        value, grads = self._run_vjp(spec, args, (1.0,))
        return value, grads

    def grad(self, *args):
        return self.value_and_grad(*args)[1]

    def vjp(self, *args, cotangent):
        spec = self._differentiable_specialization(args)
        returned = spec.ir.returned
        cotangents = tuple(cotangent) if len(returned) > 1 else (cotangent,)
        if len(cotangents) != len(returned):
            raise ValueError(f"the result has {len(returned)} parts; give one cotangent for each")
        seeds = []
        for r, ct in zip(returned, cotangents):
            if is_array(r.type):
                ct = np.array(ct, dtype=r.type.dtype, copy=True)
                if ct.ndim != r.type.ndim:
                    raise ValueError(f"the cotangent must have {r.type.ndim} dimensions like the result")
            else:
                ct = np.dtype(r.type.dtype).type(ct)
            seeds.append(ct)
        return self._run_vjp(spec, args, tuple(seeds))

    def _run_vjp(self, spec: Specialization, args, seeds):
        if spec.vjp is None:
            raise spec.adjoint_error
        args = [a.copy() if i in spec.stored_params else a for i, a in enumerate(args)]
        value, grads = spec.vjp(*args, *seeds)
        grads = tuple(self._as_argument_type(g, args[i]) for g, i in zip(grads, self.wrt))
        return value, grads if self.wrt_is_tuple else grads[0]

    @staticmethod
    def _as_argument_type(g, arg):
        if isinstance(arg, np.ndarray):
            return np.asarray(g, dtype=arg.dtype)
        if isinstance(arg, np.generic):
            return arg.dtype.type(g)
        return complex(g) if isinstance(arg, complex) else float(g.real if isinstance(g, complex) and not isinstance(arg, complex) else g)

    # -- inspection ------------------------------------------------------------------
    def _inspected(self) -> Specialization:
        if self._last is None:
            raise RuntimeError(f"{self.python.__name__} has not been called yet: adc specialises on the "
                               "argument types, so call it (or its grad) once first")
        return self._last

    def adjoint_source(self) -> str:
        spec = self._inspected()
        if spec.adjoint_error:
            raise spec.adjoint_error
        return spec.adjoint_source

    def primal_source(self) -> str:
        return self._inspected().primal_source

    def ir(self, stage: str = "ssa") -> str:
        return format_ir(self._inspected(), stage)

    def __repr__(self) -> str:
        return f"<adc.differentiate {self.python.__name__} wrt={[self.params[i] for i in self.wrt]} backend={self.backend}>"

    @property
    def __signature__(self):
        return inspect.signature(self.python)
