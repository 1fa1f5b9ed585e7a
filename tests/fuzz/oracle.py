"""The oracle: what adc must do on a program of its subset, checked against the plain function.

For a case (source text, arguments, wrt, which costly checks to run):

1. primal: the compiled primal returns the plain function's value (rtol 1e-12) and writes the
   same values into its argument arrays;
2. grad: `value_and_grad` returns that value, leaves the caller's arrays untouched and its gradient
   matches central finite differences (4-point stencil) along a random direction (rtol 1e-6);
3. jvp/vjp: the dot-product test <J v, w> == <v, J^T w> (1e-10 relative to the terms' size);
4. numba (when asked): the numba backend agrees with the python backend (primal, grad, jvp);
5. hvp (when asked): its gradient equals `grad` and H v matches finite differences of `grad`.

Out-of-bounds indices: when the plain function raises IndexError at the test point, every kernel
(primal, value_and_grad, jvp, vjp, hvp and numba when asked) must raise adc.runtime.OutOfBounds
naming the program's file and one of its lines, with its text; a numpy IndexError instead means
the access went unchecked (on numba it reads out of bounds), a value means the error was missed
("bounds-missed-dead" when the statement that raises in Python is dead code).
An IndexError from adc where the plain function succeeded is a false positive (kind
"bounds-false:<stage>"). A finite-difference point where the plain function raises IndexError is
not used, like one where a branch flips.

Finite differences are only trusted where they are meaningful. The plain function runs in an
instrumented twin (every comparison recorded through `_cmp`); a step size h is used only if the
branch decisions at x +- h v and x +- 2h v are those at x. Steps shrink with the size of the
derivative's terms (sum |g_i v_i|), so that they move large intermediates by little. A mismatch
is a failure only if two steps agree with each other and adc is off by more than the tolerance
and by more than ten times their spread; when no step settles it, when the plain function
overflows (numpy floating-point errors are raised) or its value is not finite or over 1e6, or
when a gradient is non-finite in both modes (0 * inf in the derivative), the case is `Invalid`:
dropped and counted, not failed. Every failure is recorded and the checks that do not depend on
it still run; the first is raised with the others in `.also`.

An `adc.CompileError` is a refusal, not a failure: it is reported in the `Outcome` (stage and
message), unless `strict` (the regression tests), where it fails as `Refused`.
"""
from __future__ import annotations

import ast
import hashlib
import importlib.util
import os
import re
import sys
import tempfile
import traceback
from dataclasses import dataclass, field

import numpy as np

import adc

STEPS = (1e-3, 1e-4, 3e-3, 3e-5)  # finite-difference step sizes, tried in this order
RTOL_PRIMAL = 1e-12
RTOL_FD = 1e-6
RTOL_DOT = 1e-10
RTOL_HVP = 1e-5
RTOL_BACKENDS = 1e-9
MAX_VALUE = 1e6


# -- failures -----------------------------------------------------------------------------------

class Invalid(Exception):
    """The case cannot be judged at this point (overflow, a branch too close, noisy differences)."""


class _Stop(Exception):
    """Ends the current check after a failure that makes its later steps meaningless."""


class FuzzFailure(AssertionError):
    """adc got a program of its subset wrong. The message holds the program and a reproduction."""
    kind = "failure"
    summary = "adc disagrees with the oracle"

    def __init__(self, detail: str, case: "Case", backend: str = "python"):
        self.detail = detail
        self.case = case
        self.backend = backend
        self.also: list = []  # the other failures of the same case
        super().__init__(report(self.kind, self.summary, detail, case, backend))

    @property
    def key(self) -> str:
        return self.kind


class PrimalMismatch(FuzzFailure):
    kind, summary = "primal", "the compiled primal differs from the plain function"


class PrimalWrites(FuzzFailure):
    kind, summary = "primal-writes", "the compiled primal writes different values into its argument arrays"


class ValueMismatch(FuzzFailure):
    kind, summary = "value", "a derivative call returns a different value from the plain function"


class ArgumentsTouched(FuzzFailure):
    kind, summary = "touches-args", "a derivative call changed the caller's argument arrays"


class GradShape(FuzzFailure):
    kind, summary = "grad-shape", "grad returned the wrong number, type or shape of gradients"


class GradMismatch(FuzzFailure):
    kind, summary = "grad-fd", "reverse mode disagrees with finite differences"


class JvpMismatch(FuzzFailure):
    kind, summary = "jvp-fd", "forward mode disagrees with finite differences"


class DotMismatch(FuzzFailure):
    kind, summary = "jvp-vjp", "forward and reverse mode fail the dot-product test <J v, w> == <v, J^T w>"


class HvpGradMismatch(FuzzFailure):
    kind, summary = "hvp-grad", "hvp's gradient differs from grad's"


class HvpMismatch(FuzzFailure):
    kind, summary = "hvp-fd", "hvp disagrees with finite differences of grad"


class BackendMismatch(FuzzFailure):
    kind, summary = "numba-python", "the numba and python backends disagree"


class BatchedMismatch(FuzzFailure):
    kind, summary = "batched", "f.batched disagrees with the unbatched calls element by element"


class MissedIndexError(FuzzFailure):
    kind, summary = "bounds-missed", "the plain function raises IndexError, adc's kernel returns a value"


class MissedDeadIndexError(MissedIndexError):
    """The statement that raises in Python computes nothing the result uses: deleting it, the plain
    function returns what adc returned (adc removed the dead read, and its check with it)."""
    kind, summary = "bounds-missed-dead", ("the plain function raises IndexError in a statement whose value is "
                                           "never used; adc's kernel drops it and returns a value")


class UncheckedIndex(FuzzFailure):
    kind, summary = "bounds-unchecked", ("adc's kernel raised numpy's IndexError, not adc.runtime.OutOfBounds: "
                                         "the access is not checked (numba reads out of bounds there)")


class OutOfBoundsWhere(FuzzFailure):
    kind, summary = "bounds-where", "adc's OutOfBounds does not name a line of the program"


class FalseIndexError(FuzzFailure):
    """adc raised IndexError where the plain function succeeded; one subclass per stage."""
    kind, summary = "bounds-false", "adc raised IndexError where the plain function succeeded (a false positive)"


def false_index_error(stage: str) -> type:
    name = f"FalseIndexError_{stage.replace('-', '_')}"
    if name not in _SUBCLASSES:
        _SUBCLASSES[name] = type(name, (FalseIndexError,), {"kind": f"bounds-false:{stage}"})
    return _SUBCLASSES[name]


class Crash(FuzzFailure):
    """An exception other than adc.CompileError; one subclass per exception type (see `crash`)."""
    kind, summary = "crash", "adc raised an unexpected exception"


class Refused(FuzzFailure):
    """A refusal in strict mode; one subclass per message (see `refused`)."""
    kind, summary = "refused", "adc refused a program of its subset"
    stage = ""
    message = ""

    @property
    def key(self) -> str:
        return f"refused:{self.stage}:{self.message}"


_SUBCLASSES: dict = {}


def crash(exc_type: type, stage: str) -> type:
    """A Crash subclass per exception type and stage, so hypothesis shrinks each separately."""
    name = f"Crash_{stage}_{exc_type.__name__}"
    if name not in _SUBCLASSES:
        _SUBCLASSES[name] = type(name, (Crash,), {"kind": f"crash:{stage}:{exc_type.__name__}"})
    return _SUBCLASSES[name]


def refused(stage: str, message: str) -> type:
    digest = hashlib.sha1(f"{stage}:{message}".encode()).hexdigest()[:8]
    name = f"Refused_{digest}"
    if name not in _SUBCLASSES:
        _SUBCLASSES[name] = type(name, (Refused,), {"stage": stage, "message": message})
    return _SUBCLASSES[name]


# -- cases --------------------------------------------------------------------------------------

@dataclass
class Case:
    source: str
    args: tuple
    wrt: tuple  # parameter names
    hvp: bool = False
    numba: bool = False
    name: str = "main"
    tags: frozenset = field(default_factory=frozenset)
    seed: int = 0  # of the direction and cotangent
    batched: bool = False  # check f.batched too (the fuzzer's programs; the hand-written cases test it elsewhere)

    @classmethod
    def from_program(cls, program) -> "Case":
        return cls(program.source(), program.args(), tuple(program.wrt), program.checks.hvp,
                   program.checks.numba, program.name, program.tags, program.seed, batched=True)

    @property
    def params(self) -> list:
        tree = ast.parse(self.source)
        fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == self.name)
        return [a.arg for a in fn.args.args]

    @property
    def wrt_indices(self) -> list:
        params = self.params
        return [params.index(w) for w in self.wrt]


def literal(value) -> str:
    """Python text that rebuilds an argument exactly."""
    if isinstance(value, np.ndarray):
        return f"np.array({_nested(value.tolist())})"
    return repr(float(value)) if isinstance(value, (float, np.floating)) else repr(value)


def _nested(v) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_nested(e) for e in v) + "]"
    return repr(float(v))


def case_literal(case: Case, indent: str = "") -> str:
    """The case as Python keyword arguments of `Case(...)`."""
    args = ", ".join(literal(a) for a in case.args) + ("," if len(case.args) == 1 else "")
    return (f"{indent}source={triple_quoted(case.source)},\n"
            f"{indent}args=({args}),\n"
            f"{indent}wrt={tuple(case.wrt)!r},\n"
            f"{indent}hvp={case.hvp!r}, numba={case.numba!r}, seed={case.seed!r},"
            + (f"\n{indent}batched=True," if case.batched else "")
            + (f"\n{indent}tags=frozenset({sorted(rule_tags)!r})," if (rule_tags := case.tags & RULE_TAGS) else ""))


RULE_TAGS = frozenset({"custom_rule", "custom_jvp"})  # tags that change which checks the oracle runs


def triple_quoted(text: str) -> str:
    assert "'''" not in text and "\\" not in text
    return "'''\\\n" + text + "'''"


def report(kind: str, summary: str, detail: str, case: Case, backend: str) -> str:
    return "\n".join([
        f"adc fuzz failure [{kind}]: {summary} (backend={backend})",
        f"  {detail}",
        "--- program ---",
        case.source.rstrip(),
        "--- reproduce (tests/fuzz_regressions.py format) ---",
        "from fuzz.oracle import Case, check_case",
        "import numpy as np",
        "check_case(Case(",
        case_literal(case, "    "),
        "), strict=True)",
    ])


# -- loading generated programs -----------------------------------------------------------------

_DIR = None
_MODULES: dict = {}


def module_dir() -> str:
    global _DIR
    if _DIR is None:
        _DIR = tempfile.mkdtemp(prefix="adc-fuzz-programs-")
    return _DIR


def load(source: str, prefix: str = "adcfuzz"):
    """Import `source` from a real file (adc reads function source through inspect)."""
    digest = hashlib.sha1(source.encode()).hexdigest()[:16]
    name = f"{prefix}_{digest}"
    if name in _MODULES:
        return _MODULES[name]
    path = os.path.join(module_dir(), f"{name}.py")
    with open(path, "w") as f:
        f.write(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    _MODULES[name] = module
    return module


def forget_modules() -> None:
    """Drop the loaded programs (a long campaign calls this now and then)."""
    for name in list(_MODULES):
        sys.modules.pop(name, None)
    _MODULES.clear()


TRACE_HEADER = '''\
_TRACE = []


def _cmp(left, op, right):
    result = {">": left > right, "<": left < right, ">=": left >= right, "<=": left <= right,
              "==": left == right, "!=": left != right}[op]
    _TRACE.append(tuple(result.ravel().tolist()) if hasattr(result, "ravel") else bool(result))  # arrays: each element
    return result
'''

_OPS = {ast.Gt: ">", ast.Lt: "<", ast.GtE: ">=", ast.LtE: "<=", ast.Eq: "==", ast.NotEq: "!="}


class _Instrument(ast.NodeTransformer):
    def visit_Compare(self, node):
        self.generic_visit(node)
        parts, left = [], node.left
        for op, right in zip(node.ops, node.comparators):
            parts.append(ast.Call(ast.Name("_cmp", ast.Load()), [left, ast.Constant(_OPS[type(op)]), right], []))
            left = right
        return parts[0] if len(parts) == 1 else ast.BoolOp(ast.And(), parts)


def instrument(source: str) -> str:
    """The same program with every comparison recorded in `_TRACE` (the branch decisions)."""
    tree = _Instrument().visit(ast.parse(source))
    return TRACE_HEADER + "\n\n" + ast.unparse(ast.fix_missing_locations(tree)) + "\n"


# -- numbers ------------------------------------------------------------------------------------

def copies(args) -> list:
    return [a.copy() if isinstance(a, np.ndarray) else a for a in args]


def moved(args, wrt_idx, direction, t) -> list:
    out = copies(args)
    for i, d in zip(wrt_idx, direction):
        out[i] = args[i] + t * d
    return out


def random_direction(args, wrt_idx, rng) -> list:
    return [rng.standard_normal(np.shape(args[i])) if isinstance(args[i], np.ndarray) else float(rng.standard_normal())
            for i in wrt_idx]


def inner(a, b) -> float:
    return float(sum(np.sum(np.asarray(x) * np.asarray(y)) for x, y in zip(a, b)))


def abs_inner(a, b) -> float:
    return float(sum(np.sum(np.abs(np.asarray(x) * np.asarray(y))) for x, y in zip(a, b)))


def rel_err(a, b) -> float:
    a, b = np.asarray(a, dtype=complex), np.asarray(b, dtype=complex)
    scale = np.maximum(np.abs(a), np.abs(b))
    err = np.abs(a - b)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(err == 0, 0.0, err / np.where(scale == 0, 1.0, scale))
    return float(np.max(rel)) if rel.size else 0.0


def close(a, b, rtol: float, atol: float = 1e-300) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    return bool(np.all(np.abs(a - b) <= rtol * np.maximum(np.abs(a), np.abs(b)) + atol))


def flat(parts) -> np.ndarray:
    return np.concatenate([np.ravel(np.asarray(p, dtype=float)) for p in parts]) if parts else np.zeros(0)


# -- the check ----------------------------------------------------------------------------------

@dataclass
class Outcome:
    refusals: list = field(default_factory=list)  # (stage, normalized message, full message)
    checks: list = field(default_factory=list)  # the checks that ran to the end
    inconclusive: list = field(default_factory=list)  # checks finite differences could not judge

    @property
    def status(self) -> str:
        return "refused" if self.refusals else "ok"


def normalize(message: str) -> str:
    """A refusal message without the program's own details (names, numbers, file locations)."""
    m = re.sub(r"\S+\.py(:\d+)*", "<file>", message)
    m = re.sub(r"`[^`]*`", "`_`", m)
    m = re.sub(r"'[^']*'", "'_'", m)
    m = re.sub(r"\b\d+\b", "N", m)
    return m


class _Stage:
    """Runs one stage: a CompileError becomes a refusal, any other exception a Crash."""

    def __init__(self, checker: "Checker", name: str):
        self.checker, self.name = checker, name
        self.refused = False

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            return False
        if issubclass(exc_type, (FuzzFailure, Invalid)):
            return False
        if issubclass(exc_type, adc.CompileError):
            self.refused = True
            message = getattr(exc, "message", str(exc))
            self.checker.outcome.refusals.append((self.name, normalize(message), str(exc)))
            if self.checker.pending is None:
                self.checker.pending = (refused(self.name, normalize(message)), f"refused in {self.name}: {exc}")
            return True
        if issubclass(exc_type, KeyboardInterrupt):
            return False
        if issubclass(exc_type, IndexError):  # the plain function ran: adc must not raise
            self.checker.pending_crash = (false_index_error(self.name), f"{self.name} raised {exc_type.__name__}: {exc}")
            return True
        tail = "".join(traceback.format_exception(exc_type, exc, tb)[-6:])
        self.checker.pending_crash = (crash(exc_type, self.name), f"{self.name} raised {exc_type.__name__}: {exc}\n{tail}")
        return True


class Checker:
    def __init__(self, case: Case, backend: str = "python", strict: bool = False):
        self.case, self.backend, self.strict = case, backend, strict
        self.outcome = Outcome()
        self.pending = None  # a refusal, raised at the end when strict
        self.pending_crash = None
        self.failures: list = []
        self.report_shape = True
        self.grads = None
        self.wrt_idx = case.wrt_indices
        self.clean = getattr(load(case.source), case.name)
        self.traced = load(instrument(case.source), "adcfuzz_traced")
        rng = np.random.default_rng(case.seed + 1)
        self.v = random_direction(case.args, self.wrt_idx, rng)
        self.w = float(rng.standard_normal())
        self._points: dict = {}
        self.scale = 0.0  # sum |g_i v_i|, set by check_grad
        self._fd_steps = None

    def fail(self, cls, detail: str, fatal: bool = True):
        """Record a failure; a fatal one ends the current check (the others still run)."""
        self.failures.append(cls(detail, self.case, self.backend))
        if fatal:
            raise _Stop

    def stage(self, name: str) -> _Stage:
        return _Stage(self, name)

    def crashed(self) -> bool:
        if self.pending_crash is not None:
            cls, detail = self.pending_crash
            self.pending_crash = None
            self.fail(cls, detail)  # raised here, outside the except: no exception context
        return False

    # -- the plain function -------------------------------------------------------------------
    def plain(self, args):
        """(value, branch decisions, arguments after the call) of the plain function."""
        fn = getattr(self.traced, self.case.name)
        self.traced._TRACE.clear()
        args = copies(args)
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            try:
                value = fn(*args)
            except (OverflowError, ZeroDivisionError, FloatingPointError, ValueError) as e:
                raise Invalid(f"the plain function raised {type(e).__name__} (overflow)") from None
            except IndexError as e:  # judged by check_index_error at the test point; elsewhere no step
                return e, None, args
        return value, tuple(self.traced._TRACE), args

    def at(self, t: float):
        if t not in self._points:
            self._points[t] = self.plain(moved(self.case.args, self.wrt_idx, self.v, t))
        return self._points[t]

    def steps(self):
        """Step sizes whose finite-difference points take the branches the test point takes.

        Steps shrink with the size of the derivative's terms (`scale`, sum |g_i v_i|), so that a
        step moves the intermediates by little: sin(s) of a large, fast-moving s needs a tiny step.
        None below 1e-12: such a step moves the inputs by less than their rounding (a derivative of
        1e18, as a chaotic `(s + s * s) % c` recurrence has, cannot be checked by differences)."""
        _, trace, _ = self.at(0.0)
        shrink = min(1.0, 10.0 / self.scale) if self.scale > 0 else 1.0
        for h in STEPS:
            h = float(h * shrink)
            if h < 1e-12:
                continue
            points = [self.at(t) for t in (h, -h, 2 * h, -2 * h)]
            if all(p[1] == trace and not isinstance(p[0], IndexError) and np.isfinite(p[0]) for p in points):
                yield h

    def fd(self, h: float) -> float:
        f = {t: float(self.at(t)[0]) for t in (h, -h, 2 * h, -2 * h)}
        return (8 * (f[h] - f[-h]) - (f[2 * h] - f[-2 * h])) / (12 * h)

    # -- the checks ---------------------------------------------------------------------------
    def run(self) -> Outcome:
        case = self.case
        value, _, after = self.at(0.0)
        if isinstance(value, IndexError):
            return self.check_index_error(value)
        if not isinstance(value, (float, np.floating)) or not np.isfinite(value) or abs(value) > MAX_VALUE:
            raise Invalid(f"the plain function returned {value!r}")
        self.value, self.after = float(value), after

        with self.stage("differentiate") as s:
            self.f = adc.differentiate(self.clean, wrt=tuple(case.wrt), backend=self.backend)
        try:
            self.crashed()
        except _Stop:
            s.refused = True
        if not s.refused and "custom_jvp" in case.tags:  # forward mode only: reverse mode refuses the call
            checks = [self.check_primal, self.check_tangent]
        elif not s.refused:
            checks = [self.check_primal, self.check_grad, self.check_dot]
            checks += [self.check_hvp] if case.hvp else []
            checks += [self.check_numba] if case.numba else []
            checks += [self.check_batched] if case.batched else []
        if not s.refused:
            for check in checks:
                if check in (self.check_hvp, self.check_numba, self.check_batched) and self.grads is None:
                    continue  # they compare with grad's result
                try:
                    check()
                except _Stop:
                    pass
                except Invalid as e:  # finite differences could not judge this check
                    self.outcome.inconclusive.append(str(e))
                    if check == self.check_grad:
                        self.grads = None
        if self.strict and self.pending is not None:
            cls, detail = self.pending
            self.failures.append(cls(detail, self.case, self.backend))
        if self.failures:
            first = self.failures[0]
            first.also = self.failures[1:]
            raise first
        if not {"grad", "jvp-fd"} & set(self.outcome.checks) and not self.outcome.refusals:
            raise Invalid(self.outcome.inconclusive[0] if self.outcome.inconclusive else "grad not checked")
        return self.outcome

    # -- out-of-bounds indices ------------------------------------------------------------------
    def check_index_error(self, error: IndexError) -> Outcome:
        """The plain function raised IndexError: every kernel must raise adc's OutOfBounds."""
        case = self.case
        path = self.clean.__code__.co_filename
        lines = open(path).read().splitlines()
        try:  # where the plain function raised (the traced twin's lines are not the program's)
            with np.errstate(all="ignore"):
                self.clean(*copies(case.args))
            python_line = None
        except IndexError as e:
            frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == path]
            python_line = frames[-1].lineno if frames else None
        except Exception:  # noqa: BLE001 (the traced twin raised IndexError; this is only for the report)
            python_line = None
        plain = f"the plain function raises IndexError ({error}) at line {python_line} " \
                f"(`{lines[python_line - 1].strip() if python_line else '?'}`)"

        with self.stage("differentiate") as s:
            self.f = adc.differentiate(self.clean, wrt=tuple(case.wrt), backend=self.backend)
        self.crashed()
        if s.refused:
            return self._index_outcome()
        v = tuple(self.v)
        calls = [("primal", self.backend, lambda f: f(*copies(case.args))),
                 ("grad", self.backend, lambda f: f.value_and_grad(*copies(case.args))),
                 ("jvp", self.backend, lambda f: f.jvp(*copies(case.args), tangents=v)),
                 ("vjp", self.backend, lambda f: f.vjp(*copies(case.args), cotangent=self.w))]
        if "custom_rule" in case.tags:  # no forward mode (refused, as in JAX)
            calls = [c for c in calls if c[0] != "jvp"]
        if "custom_jvp" in case.tags:  # no reverse mode (refused)
            calls = [c for c in calls if c[0] in ("primal", "jvp")]
        if case.hvp and "custom_jvp" not in case.tags:  # hvp runs reverse mode, which a custom_jvp lacks
            calls.append(("hvp", self.backend, lambda f: f.hvp(*copies(case.args), tangents=v)))
        if case.numba and self.backend != "numba":
            calls += [(f"numba-{name}", "numba", call) for name, _, call in calls if name != "hvp"]
        numba_f = None
        for name, backend, call in calls:
            if backend != self.backend and numba_f is None:
                with self.stage("numba") as s:
                    numba_f = adc.differentiate(self.clean, wrt=tuple(case.wrt), backend="numba")
                self.crashed()
                if s.refused:
                    break
            f = self.f if backend == self.backend else numba_f
            raised = None
            with self.stage(name) as s:
                try:
                    result = call(f)
                except IndexError as e:
                    raised = e
            try:
                self.crashed()
                if s.refused:
                    continue
                self.judge_index_error(name, raised, None if raised else result, plain, path, lines, python_line)
            except _Stop:
                pass
        if self.failures:
            first = self.failures[0]
            first.also = self.failures[1:]
            raise first
        return self._index_outcome()

    def dead_statement(self, lines, line, value) -> bool:
        """The program's statement at `line` is dead: with `pass` in its place, the plain function runs
        and returns `value` (unless None) (a simple statement only: not a loop, branch or while header)."""
        if line is None or lines[line - 1].rstrip().endswith(":"):
            return False
        text = lines[line - 1]
        edited = lines[:line - 1] + [text[:len(text) - len(text.lstrip())] + "pass"] + lines[line:]
        try:
            with np.errstate(all="ignore"):
                got = getattr(load("\n".join(edited) + "\n", "adcfuzz_edited"), self.case.name)(*copies(self.case.args))
            return value is None or bool(close(got, value, RTOL_PRIMAL, 1e-14))
        except Exception:  # noqa: BLE001 (any error: not dead)
            return False

    def _index_outcome(self) -> Outcome:
        if self.strict and self.pending is not None:
            cls, detail = self.pending
            raise cls(detail, self.case, self.backend)
        if not self.outcome.refusals:
            self.outcome.checks.append("index-error")
        return self.outcome

    def judge_index_error(self, name, raised, result, plain, path, lines, python_line) -> None:
        if raised is None:
            value = result if name.endswith("primal") else None if name == "hvp" else result[0]  # hvp: no value
            dead = self.dead_statement(lines, python_line, value)
            self.fail(MissedDeadIndexError if dead else MissedIndexError, f"{plain}, but adc's {name} returned {result!r}"
                      + (" (deleting that statement, the plain function returns that value)" if dead else ""))
        if not isinstance(raised, adc.runtime.OutOfBounds):
            self.fail(UncheckedIndex, f"{plain}; adc's {name} raised {type(raised).__name__}: {raised}")
        message = str(raised)
        where = re.match(r"(\S+?):(\d+):(\d+): `(.*)` indexes ", message)
        line = int(where.group(2)) if where else 0
        if where is None or where.group(1) != os.path.basename(path) or not 1 <= line <= len(lines) \
                or lines[line - 1].strip() != where.group(4):
            self.fail(OutOfBoundsWhere, f"{plain}; adc's {name} raised OutOfBounds({message!r}), which does not name "
                                        f"a line of {os.path.basename(path)} with its text")

    def check_primal(self) -> bool:
        args = copies(self.case.args)
        with self.stage("primal") as s:
            value = self.f(*args)
        self.crashed()
        if s.refused:
            return False
        if not close(value, self.value, RTOL_PRIMAL, 1e-14):
            self.fail(PrimalMismatch, f"compiled {value!r}, plain {self.value!r} (rel err {rel_err(value, self.value):.2e})")
        for p, a, b in zip(self.case.params, args, self.after):
            if isinstance(a, np.ndarray) and not close(a, b, RTOL_PRIMAL, 1e-14):
                self.fail(PrimalWrites, f"argument {p} after the compiled primal {a!r}, after the plain function {b!r}",
                          fatal=False)
        self.outcome.checks.append("primal")
        return True

    def check_grad(self) -> bool:
        case = self.case
        args = copies(case.args)
        with self.stage("grad") as s:
            value, grads = self.f.value_and_grad(*args)
        self.crashed()
        if s.refused:
            return False
        self.check_untouched(args, "value_and_grad")
        if not close(value, self.value, RTOL_PRIMAL, 1e-14):
            self.fail(ValueMismatch, f"value_and_grad's value {value!r}, plain {self.value!r}", fatal=False)
        self.grads = self.check_shapes(grads, "value_and_grad")
        if not np.all(np.isfinite(flat(self.grads))):
            self.nonfinite_grad()
        ad = inner(self.grads, self.v)
        self.scale = abs_inner(self.grads, self.v)
        floor = 1e-9 * (1 + abs(self.value)) + 1e-9 * abs_inner(self.grads, self.v)
        self.settle(ad, self.fd, RTOL_FD, floor, GradMismatch,
                    lambda fds: f"<grad, v> = {ad!r} but finite differences give {fds}; grad = {self.grads!r}, "
                                f"v = {self.v!r}")
        self.outcome.checks.append("grad")
        return True

    def jvp_along_v(self):
        """jvp's tangent along v, once its value is the plain function's and the caller's arrays are untouched;
        None when jvp is refused."""
        args = copies(self.case.args)
        with self.stage("jvp") as s:
            value, tangent = self.f.jvp(*args, tangents=tuple(self.v))
        self.crashed()
        if s.refused:
            return None
        self.check_untouched(args, "jvp")
        if not close(value, self.value, RTOL_PRIMAL, 1e-14):
            self.fail(ValueMismatch, f"jvp's value {value!r}, plain {self.value!r}", fatal=False)
        return tangent

    def check_tangent(self) -> bool:
        """A program whose derivative only forward mode has (it calls an adc.custom_jvp function): jvp's value
        is the plain function's and its tangent matches finite differences along v."""
        tangent = self.jvp_along_v()
        if tangent is None:
            return False
        if not np.isfinite(tangent):
            raise Invalid("non-finite tangent (overflow)")
        self.scale = abs(float(tangent))
        floor = 1e-9 * (1 + abs(self.value)) + 1e-9 * abs(float(tangent))
        self.settle(tangent, self.fd, RTOL_FD, floor, JvpMismatch,
                    lambda fds: f"jvp's tangent {tangent!r} but finite differences give {fds}; v = {self.v!r}")
        self.outcome.checks.append("jvp-fd")
        return True

    def nonfinite_grad(self):
        """A NaN or inf in the gradient of a finite value: a bug if forward mode gets a finite
        derivative that finite differences confirm; else an overflow inside the derivative (0 * inf)."""
        with self.stage("jvp") as s:
            _, tangent = self.f.jvp(*copies(self.case.args), tangents=tuple(self.v))
        self.crashed()
        if s.refused or not np.isfinite(tangent):
            raise Invalid("non-finite derivative in both modes (overflow)")
        self.scale = abs(float(tangent))
        for h in self.steps():
            fd = self.fd(h)
            if abs(fd - tangent) <= RTOL_FD * max(abs(fd), abs(tangent)) + 1e-9 * (1 + abs(self.value)):
                self.fail(GradMismatch, f"value_and_grad returned a non-finite gradient {self.grads!r}, but jvp "
                                        f"gives {tangent!r} along v = {self.v!r}, as do finite differences ({fd!r})")
        raise Invalid("non-finite gradient that finite differences do not settle")

    def settle(self, ad, fd_of, rtol, floor, cls, describe):
        """Pass if adc matches the differences at some valid step. Fail if two steps agree with each
        other (within 10 rtol) and adc is off by more than rtol and by more than ten times their
        spread: the differences are then far more certain than adc's error. Else Invalid."""
        fds = {}
        ad = np.asarray(ad)
        for h in self.steps():
            fd = np.asarray(fd_of(h))
            size = max(np.max(np.abs(fd)), np.max(np.abs(ad)))
            if np.all(np.abs(ad - fd) <= rtol * size + floor):
                return
            for other in fds.values():
                spread = np.max(np.abs(other - fd))
                if spread <= 10 * rtol * np.max(np.abs(fd)) + floor and \
                        np.max(np.abs(ad - fd)) > 10 * spread + rtol * size + floor:
                    self.fail(cls, describe({**fds, h: fd}))
            fds[h] = fd
        raise Invalid(f"finite differences inconclusive ({cls.kind}): adc {ad!r}, differences {fds}")

    def check_shapes(self, grads, what: str) -> list:
        """The gradients as a list, each of its argument's shape (a wrong one is a non-fatal failure,
        then broadcast to the right shape so that the other checks still run)."""
        grads = list(grads) if isinstance(grads, tuple) else None
        if grads is None or len(grads) != len(self.wrt_idx):
            self.fail(GradShape, f"{what} returned {grads!r} for wrt={self.case.wrt}")
        out = []
        for g, i in zip(grads, self.wrt_idx):
            arg = self.case.args[i]
            if isinstance(arg, np.ndarray):
                ok = isinstance(g, np.ndarray) and g.shape == arg.shape and g.dtype == np.float64
            else:
                ok = isinstance(g, (float, np.floating))
            if not ok:
                if self.report_shape:
                    self.report_shape = False  # once per case
                    self.fail(GradShape, f"{what}: gradient {g!r} of type {type(g).__name__} for argument "
                                         f"{self.case.params[i]} = {arg!r}", fatal=False)
                try:
                    g = np.broadcast_to(np.asarray(g, dtype=float), np.shape(arg)).copy() if np.ndim(arg) else float(g)
                except (ValueError, TypeError):
                    self.fail(GradShape, f"{what}: gradient {g!r} cannot stand for argument {self.case.params[i]}")
            out.append(g)
        return out

    def coerce(self, grads) -> list:
        """Gradients broadcast to their arguments' shapes (a wrong shape is reported by check_shapes)."""
        return [np.broadcast_to(np.asarray(g, dtype=float), np.shape(self.case.args[i])) if np.ndim(self.case.args[i])
                else g for g, i in zip(grads, self.wrt_idx)]

    def check_untouched(self, args, what: str):
        for p, a, b in zip(self.case.params, args, self.case.args):
            if isinstance(a, np.ndarray) and not np.array_equal(a, b):
                self.fail(ArgumentsTouched, f"{what} changed argument {p}: {b!r} -> {a!r}", fatal=False)

    def check_dot(self) -> bool:
        if "custom_rule" in self.case.tags:
            return False  # a function with an adc.custom_vjp rule has no forward mode (refused, as in JAX)
        tangent = self.jvp_along_v()
        if tangent is None:
            return False
        args = copies(self.case.args)
        with self.stage("vjp") as s:
            value, ct_grads = self.f.vjp(*args, cotangent=self.w)
        self.crashed()
        if s.refused:
            return False
        if not close(value, self.value, RTOL_PRIMAL, 1e-14):
            self.fail(ValueMismatch, f"vjp's value {value!r}, plain {self.value!r}", fatal=False)
        ct_grads = self.check_shapes(ct_grads, "vjp")
        lhs, rhs = float(tangent) * self.w, inner(self.v, ct_grads)
        scale = abs_inner(self.v, ct_grads) + abs(lhs)
        # rounding: a derivative that is exactly zero in one mode may be 1e-17 in the other
        floor = 1e-12 * (1 + abs(self.value)) * abs_inner(self.v, [np.ones_like(np.asarray(v)) for v in self.v]) * abs(self.w)
        if abs(lhs - rhs) > RTOL_DOT * scale + floor:
            self.fail(DotMismatch, f"<jvp(v), w> = {lhs!r} but <v, vjp(w)> = {rhs!r} (w = {self.w!r}); "
                                   f"jvp tangent {tangent!r}, grad {self.grads!r}")
        self.outcome.checks.append("jvp-vjp")
        return True

    def check_hvp(self) -> bool:
        args = copies(self.case.args)
        with self.stage("hvp") as s:
            grads, hv = self.f.hvp(*args, tangents=tuple(self.v))
        self.crashed()
        if s.refused:
            return False
        self.check_untouched(args, "hvp")
        grads = self.check_shapes(grads, "hvp")
        hv = self.check_shapes(hv, "hvp (H v)")
        if not close(flat(grads), flat(self.grads), 1e-10, 1e-12 * (1 + np.max(np.abs(flat(self.grads)), initial=0))):
            self.fail(HvpGradMismatch, f"hvp's gradient {grads!r}, grad's {self.grads!r}")

        def fd_of_grad(h):
            g = {}
            for t in (h, -h, 2 * h, -2 * h):
                with self.stage("grad") as s:
                    g[t] = flat(self.coerce(self.f.grad(*moved(self.case.args, self.wrt_idx, self.v, t))))
                self.crashed()
                if s.refused:
                    raise Invalid("grad refused at a finite-difference point")
            return (8 * (g[h] - g[-h]) - (g[2 * h] - g[-2 * h])) / (12 * h)

        hvf = flat(hv)
        if not np.all(np.isfinite(hvf)):
            raise Invalid("non-finite H v (overflow in the second derivative?)")
        floor = 1e-8 * (1 + np.max(np.abs(flat(self.grads)), initial=0))
        self.settle(hvf, fd_of_grad, RTOL_HVP, floor, HvpMismatch,
                    lambda fds: f"H v = {hv!r} but finite differences of grad give {fds}; v = {self.v!r}")
        self.outcome.checks.append("hvp")
        return True

    def check_numba(self) -> bool:
        case = self.case
        with self.stage("numba") as s:
            g = adc.differentiate(self.clean, wrt=tuple(case.wrt), backend="numba")
            args_n, args_p = copies(case.args), copies(case.args)
            primal_n, primal_p = g(*args_n), self.f(*args_p)
        self.crashed()
        if s.refused:
            return False
        if not close(primal_n, primal_p, RTOL_BACKENDS, 1e-14):
            self.fail(BackendMismatch, f"primal: numba {primal_n!r}, python {primal_p!r}")
        for p, a, b in zip(case.params, args_n, args_p):
            if isinstance(a, np.ndarray) and not close(a, b, RTOL_BACKENDS, 1e-14):
                self.fail(BackendMismatch, f"argument {p} after the primal: numba {a!r}, python {b!r}")
        with self.stage("numba-grad") as s:
            value_n, grads_n = g.value_and_grad(*copies(case.args))
            grads_n = self.coerce(grads_n)
        self.crashed()
        if s.refused:
            return False
        scale = 1e-12 * (1 + np.max(np.abs(flat(self.grads)), initial=0))
        if not close(value_n, self.value, RTOL_BACKENDS, 1e-14) or not close(flat(grads_n), flat(self.grads),
                                                                            RTOL_BACKENDS, scale):
            self.fail(BackendMismatch, f"value_and_grad: numba {(value_n, grads_n)!r}, python {(self.value, self.grads)!r}")
        with self.stage("numba-jvp") as s:
            _, tangent_n = g.jvp(*copies(case.args), tangents=tuple(self.v))
            _, tangent_p = self.f.jvp(*copies(case.args), tangents=tuple(self.v))
        self.crashed()
        if s.refused:
            return False
        if not close(tangent_n, tangent_p, RTOL_BACKENDS, scale * (1 + abs_inner(self.v, self.v))):
            self.fail(BackendMismatch, f"jvp tangent: numba {tangent_n!r}, python {tangent_p!r}")
        self.outcome.checks.append("numba")
        return True


    def check_batched(self) -> bool:
        """f.batched over three elements (the case's arguments, then two perturbed copies of the mapped ones;
        arrays mapped along their first or last axis, some numbers mapped too, the written arrays always):
        each element's value, writes and tangent are the unbatched call's, mapped gradients its own, shared
        ones the sum of the elements'."""
        case, count = self.case, 3
        rng = np.random.default_rng(case.seed + 11)
        written = set(self.f._last.stored_params)
        axes = []
        for i, a in enumerate(case.args):
            if isinstance(a, np.ndarray):
                mapped = i in written or rng.random() < 0.7
                axes.append((0 if rng.random() < 0.7 else -1) if mapped else None)
            else:
                axes.append(0 if type(a) in (float, complex) and rng.random() < 0.5 else None)
        if all(a is None for a in axes):
            return False
        elements = [[self._perturbed(a, k, rng) if axis is not None else a for a, axis in zip(case.args, axes)]
                    for k in range(count)]
        batch = [np.stack([e[i] for e in elements], axis=axis) if axis is not None else a
                 for i, (a, axis) in enumerate(zip(case.args, axes))]
        wrt_axes = [axes[i] for i in self.wrt_idx]
        tangents = [random_direction(case.args, self.wrt_idx, rng) for _ in range(count)]
        for j, axis in enumerate(wrt_axes):
            if axis is None:  # a shared argument's tangent is shared
                for t in tangents[1:]:
                    t[j] = tangents[0][j]
        try:
            refs = [self._unbatched(element, t) for element, t in zip(elements, tangents)]
        except Exception:  # noqa: BLE001  a perturbed element the function cannot run (its domain, an index)
            return False
        fb = self.f.batched(in_axes=tuple(axes))
        t_batch = None
        with self.stage("batched") as s:
            after = copies(batch)
            values = fb(*after)
            b_values, b_grads = fb.value_and_grad(*copies(batch))
            if "custom_rule" not in case.tags:
                t_batch = tuple(np.stack([t[j] for t in tangents], axis=axis) if axis is not None else tangents[0][j]
                                for j, axis in enumerate(wrt_axes))
                given = copies(list(t_batch))
                _, b_tangents = fb.jvp(*copies(batch), tangents=t_batch)
        self.crashed()
        if s.refused:
            return False
        if t_batch is not None and not all(np.array_equal(g, t) for g, t in zip(given, t_batch)):
            self.fail(BatchedMismatch, f"the batched jvp changed the tangents it was given: {given!r} -> {t_batch!r}")
        want = np.array([r[0] for r in refs])
        for name, got in (("values", values), ("value_and_grad's values", b_values)):
            if not close(got, want, 1e-12, 1e-14):
                self.fail(BatchedMismatch, f"{name}: batched {got!r}, unbatched {want!r}; in_axes {axes}")
        for i, (a, axis) in enumerate(zip(after, axes)):
            if axis is not None and isinstance(a, np.ndarray):
                got = np.moveaxis(a, axis, 0)
                if not close(got, np.array([r[1][i] for r in refs]), 1e-12, 1e-14):
                    self.fail(BatchedMismatch, f"argument {case.params[i]} after the batched primal: {got!r}")
        for j, axis in enumerate(wrt_axes):
            column = [r[2][j] for r in refs]
            expect = np.stack(column, axis=axis) if axis is not None else sum(column[1:], column[0])
            scale = 1e-12 * (1 + np.max(np.abs(expect), initial=0))
            if not close(b_grads[j], expect, 1e-12, scale):
                self.fail(BatchedMismatch, f"gradient of {case.params[self.wrt_idx[j]]} (in_axes {axis}): batched "
                                           f"{b_grads[j]!r}, unbatched {expect!r}; in_axes {axes}")
        if "custom_rule" not in case.tags:
            expect = np.array([r[3] for r in refs])
            scale = 1e-12 * (1 + np.max(np.abs(expect), initial=0))
            if not close(b_tangents, expect, 1e-12, scale):
                self.fail(BatchedMismatch, f"jvp: batched {b_tangents!r}, unbatched {expect!r}; in_axes {axes}")
        self.outcome.checks.append("batched")
        if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
            self.check_cuda(axes, batch, (values, after, b_grads, b_tangents if t_batch is not None else None), t_batch)
        return True

    def check_cuda(self, axes, batch, cpu, t_batch) -> None:
        """target='cuda' under numba's simulator (NUMBA_ENABLE_CUDASIM=1 where the fuzzer runs): the CPU target's
        values, writes, gradients and tangents (rtol 1e-12), or a DeviceError naming what the device cannot run."""
        from adc.codegen.device import DeviceError
        values, after, grads, tangents = cpu
        fc = self.f.batched(in_axes=tuple(axes), target="cuda")
        with self.stage("cuda") as s:
            try:
                got_after = copies(batch)
                got = [fc(*got_after), fc.value_and_grad(*copies(batch))[1],
                       fc.jvp(*copies(batch), tangents=t_batch)[1] if t_batch is not None else None]
            except DeviceError as e:
                self.outcome.checks.append(f"cuda refused: {normalize(e.message)}")
                return
        self.crashed()
        if s.refused:
            return
        parts = [("values", got[0], values)] + [(f"argument {self.case.params[i]} after the primal", g, w)
                                                for i, (g, w, axis) in enumerate(zip(got_after, after, axes))
                                                if axis is not None and isinstance(w, np.ndarray)]
        parts += [(f"gradient of {self.case.params[self.wrt_idx[j]]}", g, w) for j, (g, w) in enumerate(zip(got[1], grads))]
        if tangents is not None:
            parts.append(("jvp", got[2], tangents))
        for name, g, w in parts:
            if not close(g, w, 1e-12, 1e-12 * (1 + np.max(np.abs(w), initial=0))):
                self.fail(BatchedMismatch, f"target='cuda' {name}: {g!r}, target='cpu' {w!r}; in_axes {axes}")
        self.outcome.checks.append("cuda")

    @staticmethod
    def _perturbed(a, k: int, rng):
        """Element k of a mapped argument: the argument itself for k = 0, else moved by a little (floats only;
        integers index and size things). A mapped number becomes a numpy scalar, as a batch's element is."""
        if isinstance(a, np.ndarray):
            if a.dtype.kind not in "fc" or k == 0:
                return a.copy()
            noise = rng.standard_normal(a.shape) + (1j * rng.standard_normal(a.shape) if a.dtype.kind == "c" else 0)
            return (a + 1e-2 * noise).astype(a.dtype)
        step = 0 if k == 0 else 1e-2 * rng.standard_normal()
        return np.complex128(a + step) if isinstance(a, complex) else np.float64(a + step)

    def _unbatched(self, element, tangents) -> tuple:
        """(value, the arguments after the primal, gradients, tangent) of one element, unbatched."""
        after = copies(element)
        value = self.f(*after)
        _, grads = self.f.value_and_grad(*copies(element))
        tangent = None if "custom_rule" in self.case.tags else self.f.jvp(*copies(element), tangents=tuple(tangents))[1]
        return value, after, grads, tangent


def check_case(case: Case, backend: str = "python", strict: bool = False) -> Outcome:
    """Run the oracle; raises a FuzzFailure subclass on a bug, Invalid when the case can't be judged."""
    return Checker(case, backend, strict).run()
