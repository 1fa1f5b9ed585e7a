"""CI-sized fuzzing: a few hundred random programs of the subset through the oracle (tests/fuzz/).

Each test draws programs from one generator profile (so xdist spreads them over workers), runs
the python backend on all of them (primal, grad vs finite differences, the jvp/vjp dot test, hvp
on about half) and the numba backend on a handful. A failure prints the shrunk program and a
`check_case(Case(...))` reproduction in the format of tests/fuzz_regressions.py. Failures of known
open bugs (tests/fuzz/known.py, each pinned by an xfail in fuzz_regressions.py) are tolerated;
refusals (adc.CompileError) are not failures but are reported as FuzzRefusalWarning. Without
hypothesis installed, only the regressions and the oracle's own tests run.

For a long campaign with any budget and seed: python fuzz.py --programs 20000 --seed 1 --jobs 2.
"""
import ast

import numpy as np
import pytest
from fuzz.oracle import (
    Case,
    FuzzFailure,
    GradMismatch,
    Invalid,
    MissedIndexError,
    case_literal,
    check_case,
    instrument,
    load,
)
from fuzz_regressions import test_fuzz_regression  # noqa: F401  (collected here: pytest skips fuzz_*.py)

import adc

try:
    from hypothesis import HealthCheck, given, settings
except ImportError:  # the regressions and the oracle's own tests below still run
    given = None

if given is None:
    def test_fuzz_needs_hypothesis():
        pytest.skip("the generated-program tests need hypothesis: pip install hypothesis")

else:
    from fuzz.gen import programs
    from fuzz.runner import check_program

    CI = dict(deadline=None, derandomize=True, database=None, print_blob=False,
              suppress_health_check=list(HealthCheck))

    @settings(max_examples=100, **CI)
    @given(programs("mixed"))
    def test_fuzz_mixed(program):
        check_program(program)

    @settings(max_examples=100, **CI)
    @given(programs("loops"))
    def test_fuzz_loops(program):
        check_program(program)

    @settings(max_examples=80, **CI)
    @given(programs("arrays"))
    def test_fuzz_arrays(program):
        check_program(program)

    @settings(max_examples=80, **CI)
    @given(programs("complex"))
    def test_fuzz_complex(program):
        check_program(program)

    @settings(max_examples=70, **CI)
    @given(programs("views"))
    def test_fuzz_views(program):
        """Arrays as values: slices and views of arrays written later, arrays carried by loops and
        helpers, writes after whole reads, float % and //, and/or skipping a writing helper."""
        check_program(program)

    @settings(max_examples=70, **CI)
    @given(programs("bounds"))
    def test_fuzz_bounds(program):
        """Indices near and past the bounds: adc raises IndexError exactly where Python does (offsets,
        wrap-around, guarded reads, writes, while scans, loops past the ends, shorter arrays)."""
        check_program(program)

    @settings(max_examples=8, **CI)
    @given(programs("numba"))
    def test_fuzz_numba(program):
        """numba agrees with the python backend (primal, grad, jvp) on a few programs (compiles are slow)."""
        check_program(program)

    @settings(max_examples=60, **CI)
    @given(programs("mixed") | programs("views") | programs("bounds"))
    def test_generated_programs_stay_in_the_subset(program):
        source = program.source()
        tree = ast.parse(source)
        main = tree.body[-1]
        assert isinstance(main, ast.FunctionDef) and main.name == "main"
        assert isinstance(main.body[-1], ast.Return)
        assert sum(isinstance(n, ast.Return) for n in ast.walk(main)) == 1, "one return, at the end"
        forbidden = (ast.Lambda, ast.ListComp, ast.List, ast.Dict, ast.Set, ast.GeneratorExp, ast.Try, ast.With)
        assert not any(isinstance(n, forbidden) for n in ast.walk(tree))
        assert not any("__" in n.id for n in ast.walk(tree) if isinstance(n, ast.Name))
        args = program.args()
        try:
            with np.errstate(all="ignore"):
                value = load(source).main(*[a.copy() if isinstance(a, np.ndarray) else a for a in args])
        except IndexError:  # only where the generator chose an index that may be past the bounds
            assert "may_raise" in program.tags, source
            return
        assert isinstance(value, (float, np.floating)), f"a real scalar result, got {value!r}"


# -- the fuzzer's own checks: programs stay in the subset, the oracle catches what it must -------


SMOOTH = '''\
import numpy as np


def main(x, a):
    s = 0.0
    for i in range(x.shape[0]):
        s = 0.5 * s + np.tanh(a * x[i])
    return s * s
'''


class _Scaled:
    """A Differentiated whose gradients are off by `factor`: what a wrong adjoint looks like."""

    def __init__(self, inner, factor):
        self.inner, self.factor = inner, factor

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def __call__(self, *args):
        return self.inner(*args)

    def value_and_grad(self, *args):
        value, grads = self.inner.value_and_grad(*args)
        return value, tuple(g * self.factor for g in grads)


def test_oracle_passes_a_correct_program():
    case = Case(SMOOTH, (np.array([0.3, -1.2, 0.7]), 0.8), ("x", "a"), hvp=True)
    assert check_case(case).checks == ["primal", "grad", "jvp-vjp", "hvp"]
    case.batched = True  # as the fuzzer's programs are checked: f.batched against the unbatched calls too
    assert check_case(case).checks == ["primal", "grad", "jvp-vjp", "hvp", "batched"]


def test_oracle_catches_a_gradient_off_by_a_millionth_part(monkeypatch):
    real = adc.differentiate
    monkeypatch.setattr(adc, "differentiate", lambda fn, **kw: _Scaled(real(fn, **kw), 1 + 2e-5))
    case = Case(SMOOTH, (np.array([0.3, -1.2, 0.7]), 0.8), ("x", "a"))
    with pytest.raises(GradMismatch, match="def main"):
        check_case(case)


def test_oracle_drops_a_point_on_a_branch_boundary():
    source = SMOOTH.replace("    return s * s", "    if s > 0.25:\n        s = 2.0 * s\n    return s * s")
    x = np.array([0.3, -1.2, 0.7])
    lo, hi = 0.0, 2.0  # bisect for the `a` where s crosses 0.25
    for _ in range(200):
        mid = (lo + hi) / 2
        t = 0.0
        for v in x:
            t = 0.5 * t + np.tanh(mid * v)
        lo, hi = (lo, mid) if t > 0.25 else (mid, hi)
    with pytest.raises(Invalid, match="finite differences inconclusive"):
        check_case(Case(source, (x, hi), ("x", "a")))


PAST_THE_END = SMOOTH.replace("np.tanh(a * x[i])", "np.tanh(a * x[i + 1])")


def test_oracle_accepts_an_index_error_adc_raises_too():
    case = Case(PAST_THE_END, (np.array([0.3, -1.2, 0.7]), 0.8), ("x", "a"), hvp=True)
    assert check_case(case).checks == ["index-error"]


class _Returns:
    """A Differentiated whose primal returns `value` (a check it lost) or raises IndexError (a false positive)."""

    def __init__(self, inner, error=None, value=7.0):
        self.inner, self.error, self.value = inner, error, value

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def __call__(self, *args):
        if self.error is not None:
            raise self.error
        return self.value


def test_oracle_catches_a_missed_index_error(monkeypatch):
    real = adc.differentiate
    monkeypatch.setattr(adc, "differentiate", lambda fn, **kw: _Returns(real(fn, **kw)))
    with pytest.raises(MissedIndexError, match="adc's primal returned 7.0") as info:
        check_case(Case(PAST_THE_END, (np.array([0.3, -1.2, 0.7]), 0.8), ("x", "a")))
    assert info.value.kind == "bounds-missed"


def test_oracle_tells_a_missed_dead_read(monkeypatch):
    """A read past the end whose value nothing uses: deleting it, the plain function returns adc's value."""
    source = SMOOTH.replace("    return s * s", "    t = x[x.shape[0]]\n    return s * s")
    x, a = np.array([0.3, -1.2, 0.7]), 0.8
    s = 0.0
    for v in x:
        s = 0.5 * s + np.tanh(a * v)
    real = adc.differentiate
    monkeypatch.setattr(adc, "differentiate", lambda fn, **kw: _Returns(real(fn, **kw), value=s * s))
    with pytest.raises(MissedIndexError) as info:
        check_case(Case(source, (x, a), ("x", "a")))
    assert info.value.kind == "bounds-missed-dead"


def test_oracle_catches_a_false_index_error(monkeypatch):
    real = adc.differentiate
    monkeypatch.setattr(adc, "differentiate", lambda fn, **kw: _Returns(real(fn, **kw), IndexError("index 3")))
    with pytest.raises(FuzzFailure, match=r"bounds-false:primal"):
        check_case(Case(SMOOTH, (np.array([0.3, -1.2, 0.7]), 0.8), ("x", "a")))


def test_oracle_catches_an_unchecked_index(monkeypatch):
    """numpy's own IndexError (the python backend's) is not adc's check: numba would read past the end."""
    real = adc.differentiate
    monkeypatch.setattr(adc, "differentiate", lambda fn, **kw: _Returns(real(fn, **kw), IndexError("index 3")))
    with pytest.raises(FuzzFailure, match=r"bounds-unchecked"):
        check_case(Case(PAST_THE_END, (np.array([0.3, -1.2, 0.7]), 0.8), ("x", "a")))


def test_instrumented_twin_records_branch_decisions():
    twin = load(instrument("def f(x):\n    return 1.0 if x > 0.5 or x < -0.5 else 0.0\n"), "adcfuzz_test")
    twin._TRACE.clear()
    twin.f(0.1)
    assert twin._TRACE == [False, False]


def test_case_literal_rebuilds_the_case():
    case = Case(SMOOTH, (np.array([0.1, -2.5]), 0.3), ("a",), hvp=True, seed=7)
    rebuilt = eval(f"Case(\n{case_literal(case)}\n)", {"Case": Case, "np": np})
    assert rebuilt.source == case.source and rebuilt.wrt == case.wrt and rebuilt.seed == 7 and rebuilt.hvp
    np.testing.assert_array_equal(rebuilt.args[0], case.args[0])
    assert rebuilt.args[1] == case.args[1]
