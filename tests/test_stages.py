"""Per-stage facts: what activity and recording decide for real programs, by the user's variable names.

End-to-end tests show a gradient is right; these show it is right for the intended reason: the
reverse sweep of an IIR filter reads one taped float per step, a delay line is read back from the
input instead of a tape, an input array never gets an adjoint. A change that keeps the gradients
right but tapes more (or marks more values active) fails here, not only in the benchmark timings.

The IR is built with the same stages, in the same order, as `adc.pipeline.specialize`.
"""
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import adc
from adc.ad import rules
from adc.analysis.activity import Activity, analyse_activity
from adc.analysis.recording import Recording, analyse_recording
from adc.frontend.lower import lower_function
from adc.ir.bounds import insert_bounds_checks
from adc.ir.core import F64, I64, Array, Function, Value, walk
from adc.ir.dce import eliminate_dead_code
from adc.ir.shapes import insert_shape_checks
from adc.ir.verify import verify

import dsp_programs as progs

A1 = Array("float64", 1)

_spec = importlib.util.spec_from_file_location(
    "benchmark_kernels", Path(__file__).resolve().parents[1] / "benchmarks" / "kernels.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)
BENCH = {k.name: k for k in bench.KERNELS}  # with the data each benchmark makes


# -- the stages ------------------------------------------------------------------------------------

@dataclass
class Staged:
    ir: Function
    act: Activity
    rec: Recording

    def all_values(self) -> list[Value]:
        out = list(self.ir.params)
        for op in walk(self.ir.body):
            out.extend(op.results)
            for region in op.regions:
                out.extend(region.args)
        return out

    def named(self, hint: str) -> list[Value]:
        found = [v for v in self.all_values() if v.hint == hint]
        assert found, f"no value named {hint!r} in the IR"
        return found

    def taped(self) -> list[str]:
        """Hints of the taped values, one entry per value (a repeated name is two tapes)."""
        return sorted(str(v.hint) for v in self.all_values() if v.id in self.rec.taped)

    def shifted(self) -> set[str]:
        return {str(v.hint) for v in self.all_values() if v.id in self.rec.shifted}

    def active(self, hint: str) -> bool:
        """Some value the user named `hint` carries a derivative."""
        return any(self.act.active(v) for v in self.named(hint))

    def varied(self, hint: str) -> bool:
        return any(v.id in self.act.varied for v in self.named(hint))

    def useful(self, hint: str) -> bool:
        return any(v.id in self.act.useful for v in self.named(hint))

    def loads_of(self, array_hint: str) -> list[Value]:
        """The element reads `array_hint[...]`."""
        return [op.result for op in walk(self.ir.body) if op.opcode == "load" and op.operands[0].hint == array_hint]

    def top_loop(self):
        (loop,) = [op for op in self.ir.body.ops if op.opcode == "for"]
        return loop


def stages(fn, arg_types: list, wrt: list[int]) -> Staged:
    """lower -> shape checks -> bounds checks -> dead code -> verify -> activity -> recording,
    as `specialize` and `reverse_function` chain them."""
    ir = lower_function(fn, arg_types)
    ir = insert_shape_checks(ir)
    ir = insert_bounds_checks(ir)
    ir = eliminate_dead_code(ir)
    verify(ir)
    act = analyse_activity(ir, wrt)
    return Staged(ir, act, analyse_recording(ir, act, rules.needs))


# -- programs not in dsp_programs ------------------------------------------------------------------

def delay_loss(c, x, target):
    """A two-sample delay line of an active signal: x2 is c * x[n - 2]."""
    x0 = 0.0
    x1 = 0.0
    x2 = 0.0
    loss = 0.0
    for n in range(len(x)):
        x2 = x1
        x1 = x0
        x0 = c * x[n]
        loss += (x2 * x0 - target[n]) ** 2
    return loss


def mixed(a, b, k, x):
    scale = k * 2.0    # from the int argument only
    u = x[0] * b       # from arguments that may or may not be in wrt
    t = a * a          # decides the branch, reaches the result through no arithmetic
    if t > 1.0:
        y = a * scale
    else:
        y = a * u
    return y + u


def fill(a, n):
    buf = np.zeros(n)
    idx = np.zeros(n)
    for i in range(n):
        buf[i] = a * i
        idx[i] = 2.0 * i
    s = 0.0
    for i in range(n):
        s += buf[i] * idx[i]
    return s


def two_gains(p, q, x):
    s = 0.0
    for n in range(len(x)):
        u = p * x[n]
        v = q * x[n]
        s += u * v
    return s


# -- recording: what the reverse sweep gets back, and how --------------------------------------------

IIR = [pytest.param(progs.iir_loss, id="tests"), pytest.param(bench.iir1, id="benchmarks")]
BIQUAD = [pytest.param(progs.biquad_loss, id="tests"), pytest.param(bench.biquad, id="benchmarks")]
LMS = [pytest.param(progs.lms_loss, [F64, A1, A1, I64], "yhat", id="tests"),
       pytest.param(bench.lms, [F64, A1, A1], "y", id="benchmarks")]


@pytest.mark.parametrize("fn", IIR)
def test_iir_tapes_the_carried_output_only(fn):
    """`y = b * x[n] - a * y_prev` (wrt b, a): the tape is the carried output, one float per step,
    and nothing else; a tape of one float per step is what keeps the IIR gradient near 2.4x its
    primal (benchmarks/README.md). The loads x[n] and target[n] are read again from the inputs,
    which nothing writes: taping them would double the tape for no information."""
    s = stages(fn, [F64, F64, A1, A1], [0, 1])
    assert s.taped() == ["y_prev"]
    loop = s.top_loop()
    body = loop.regions[0]
    (taped,) = [v for v in body.args if v.id in s.rec.taped]
    slot = body.args.index(taped) - 1
    assert body.yielded[slot].hint == "y", "the tape holds the previous step's y, carried as y_prev"
    assert s.rec.region_of[taped.id] is body and loop in s.ir.body.ops, "one entry per step of the outer loop"
    x_loads = s.loads_of("x")
    assert x_loads and all(v.id in s.rec.needed for v in x_loads), "b's adjoint reads x[n]"
    assert not any(v.id in s.rec.taped for v in x_loads + s.loads_of("target"))
    assert not s.rec.shifted and not any(s.rec.snapshots.values())


@pytest.mark.parametrize("fn", BIQUAD)
def test_biquad_tapes_one_output_state_and_shifts_the_other_states(fn):
    """Direct form I (wrt b0, b1, b2, a1, a2): the hand adjoint keeps one float per step (y); so
    does adc: y1 (last step's y) is taped, y2 is y1's tape one entry back, and the input delays x1,
    x2 are x[n - 1], x[n - 2] read from the input. Four tapes here would make the biquad gradient
    miss its grad/primal target."""
    s = stages(fn, [F64] * 5 + [A1, A1], [0, 1, 2, 3, 4])
    assert s.taped() == ["y1"]
    assert s.shifted() == {"x1", "x2", "y2"}
    assert not any(s.rec.snapshots.values())


@pytest.mark.parametrize("fn", BIQUAD)
def test_biquad_input_delays_are_never_active(fn):
    """x1 and x2 are loads of the input: no adjoint is kept for them, while the output delays
    y1, y2 carry the recurrence and must have one."""
    s = stages(fn, [F64] * 5 + [A1, A1], [0, 1, 2, 3, 4])
    assert s.active("y1") and s.active("y2") and s.active("y")
    assert not s.active("x1") and not s.active("x2") and not s.active("x")


@pytest.mark.parametrize("fn, types, estimate", LMS)
def test_lms_tapes_the_a_priori_error_and_never_reads_the_weights(fn, types, estimate):
    """LMS (wrt mu): the hand adjoint tapes the a-priori errors e, one float per step, and never
    rebuilds the weights, since they reach every partial multiplied by the inactive input. adc tapes
    the inner loop's estimate instead (e = d[n] - estimate is recomputed from it, same size), keeps
    no copy of w, and reads w only for the shape of its adjoint (np.zeros_like(w)): no load of w
    is needed backwards, so w's K values per step are neither taped nor recomputed."""
    s = stages(fn, types, [0])
    assert s.taped() == [estimate]
    (taped,) = [v for v in s.all_values() if v.id in s.rec.taped]
    outer = s.top_loop()
    assert taped.owner.opcode == "for" and taped.owner in outer.regions[0].ops, \
        "the inner loop's result, one per outer step"
    (e,) = s.named("e")
    assert e.id in s.rec.needed and e.id not in s.rec.taped
    (w,) = [v for v in s.named("w") if v.owner.opcode == "alloc"]
    assert s.act.active(w), "the weights are written from mu * e: active"
    assert w.id in s.rec.shaped and w.id not in s.rec.taped
    assert not any(s.rec.snapshots.values())
    w_loads = s.loads_of("w")
    assert w_loads and not any(v.id in s.rec.needed for v in w_loads)


def test_delay_line_is_shifted_not_taped():
    """x2 = x1, x1 = x0, x0 = c * x[n]: the delayed values are last steps' c * x[n - 1] and
    c * x[n - 2], recomputed from the input; they need no tape even though they are active."""
    s = stages(delay_loss, [F64, A1, A1], [0])
    assert s.taped() == []
    assert s.shifted() == {"x0", "x1"}
    assert s.active("x0") and s.active("x1")


def test_kalman_tapes_the_filtered_state():
    """Scalar Kalman NLL (wrt phi, q, r): the hand adjoint tapes the filtered (m, P) entering each
    step and recomputes the step's intermediates; adc tapes exactly those two carried values (the
    prediction, innovation, S and gain are recomputed from them)."""
    s = stages(progs.kalman_nll, [F64, F64, F64, A1], [0, 1, 2])
    assert s.taped() == ["P", "m"]
    body = s.top_loop().regions[0]
    assert all(v in body.args for v in s.all_values() if v.id in s.rec.taped)
    for hint in ("S", "K", "v"):
        assert s.active(hint) and not any(v.id in s.rec.taped for v in s.named(hint))


# -- the same programs end to end --------------------------------------------------------------------

def central_differences(fn, args, wrt, rel_step=1e-5):
    out = []
    for i in wrt:
        h = rel_step * max(1.0, abs(args[i]))
        up, down = list(args), list(args)
        up[i] += h
        down[i] -= h
        out.append((fn(*up) - fn(*down)) / (2 * h))
    return out


_rng = np.random.default_rng(7)
_X, _T = _rng.standard_normal(48), _rng.standard_normal(48)


@pytest.mark.parametrize("fn, args, wrt", [
    pytest.param(progs.iir_loss, (0.5, -0.8, _X, _T), (0, 1), id="iir"),
    pytest.param(bench.iir1, BENCH["iir1"].args(48), (0, 1), id="iir1"),
    pytest.param(progs.biquad_loss, (0.2, 0.3, 0.1, -0.5, 0.2, _X, _T), (0, 1, 2, 3, 4), id="biquad"),
    pytest.param(bench.biquad, BENCH["biquad"].args(48), (0, 1, 2, 3, 4), id="biquad-bench"),
    pytest.param(progs.lms_loss, (0.05, _X, _T, 4), (0,), id="lms"),
    pytest.param(bench.lms, BENCH["lms16"].args(64), (0,), id="lms16"),
    pytest.param(delay_loss, (0.7, _X, _T), (0,), id="delay"),
    pytest.param(progs.kalman_nll, (0.9, 0.2, 0.4, _X), (0, 1, 2), id="kalman"),
])
def test_recorded_programs_match_central_differences(fn, args, wrt):
    """The tapes above are only worth pinning if the reverse sweep built on them is right: the
    gradient matches central differences of the plain Python function to a relative 1e-6."""
    grads = adc.differentiate(fn, wrt=wrt, backend="python").grad(*args)
    fd = central_differences(fn, list(args), wrt)
    for g, d in zip(grads, fd):
        assert abs(d) > 1e-3, "a vanishing partial would make the relative check empty"
        assert g == pytest.approx(d, rel=1e-6)


# -- activity ----------------------------------------------------------------------------------------

def test_values_from_ints_and_non_wrt_arguments_are_inactive():
    """`scale` comes from the int k only and `u` from x and b, neither in wrt: no adjoint is kept
    for them, although both are floats multiplied into the active branch results."""
    s = stages(mixed, [F64, F64, I64, A1], [0])
    assert not s.varied("scale") and not s.active("scale")
    assert not s.varied("u") and not s.active("u")
    assert s.active("a") and s.active("y")


def test_value_that_only_decides_a_branch_is_varied_but_not_useful():
    """t = a * a depends on a but reaches the result only through the comparison `t > 1.0`, whose
    derivative is zero: it is varied, not useful, so not active (an adjoint for it is dead work)."""
    s = stages(mixed, [F64, F64, I64, A1], [0])
    assert s.varied("t") and not s.useful("t") and not s.active("t")


def test_array_written_from_an_active_scalar_becomes_active():
    """buf[i] = a * i makes buf active (its adjoint carries a's derivative through the stores);
    idx[i] = 2.0 * i, written from the loop index only, stays inactive although it is read
    alongside buf."""
    s = stages(fill, [F64, I64], [0])
    assert s.active("buf")
    assert not s.varied("idx") and not s.active("idx")
    assert s.taped() == [], "both arrays are filled before they are read: read back from memory"


def test_wrt_chooses_what_is_varied():
    """The same program, two wrt choices: u = p * x[n] is active for wrt p only, v = q * x[n]
    for wrt q only; and for `mixed`, adding b to wrt makes u active."""
    by_p = stages(two_gains, [F64, F64, A1], [0])
    by_q = stages(two_gains, [F64, F64, A1], [1])
    assert by_p.active("u") and not by_p.varied("v")
    assert by_q.active("v") and not by_q.varied("u")
    both = stages(mixed, [F64, F64, I64, A1], [0, 1])
    assert both.active("u") and not both.active("scale")


# -- accumulation is a fact lowering records -------------------------------------------------------
def _accumulating(p, x):
    s = 0.0
    u = 0.0
    w = 0.0
    for n in range(x.shape[0]):
        s = x[n] * p + s      # the old value second
        u -= p * x[n]
        w = p * x[n] - w      # not an accumulation: w changes sign each step
    return s + u * u + w


def _updating(p, x):
    y = np.zeros(x.shape[0])
    for n in range(x.shape[0]):
        y[n] += p * x[n]
        y[n] -= 0.5 * p
        y[n] *= p
        y[n] /= 1.0 + p * p
    return np.sum(y * y)


def _writer(v):
    v[0] = 2.0 * v[0]
    return v[0]


def _self_writing(p, x):
    y = x * p
    y[0] += _writer(y)   # the delta's evaluation writes y[0]: not an update of the old element
    return np.sum(y * y)


def _ops(fn, types, opcode):
    return [op for op in walk(lower_function(fn, types).body) if op.opcode == opcode]


def test_lowering_marks_accumulations_and_element_updates():
    """`s = t + s`, `u -= t` carry s's adjoint through unchanged (attrs accumulates names s's operand);
    `w = t - w` does not; `y[n] op= d` is an augmented store, unless d's evaluation writes the array."""
    marks = [(op.opcode, op.attrs.get("accumulates")) for op in _ops(_accumulating, [F64, A1], "add")
             + _ops(_accumulating, [F64, A1], "sub") if op.loc.text.strip().startswith(("s =", "u -=", "w ="))]
    assert sorted(marks, key=str) == sorted([("add", 1), ("sub", 0), ("sub", None)], key=str)
    assert [op.attrs.get("augmented") for op in _ops(_updating, [F64, A1], "store")] == ["add", "sub", "mul", "div"]
    assert [op.attrs.get("augmented") for op in _ops(_self_writing, [F64, A1], "store")] == [None, None]


@pytest.mark.parametrize("fn", [_accumulating, _updating, _self_writing])
def test_marked_accumulations_and_updates_differentiate_right(fn):
    """Reverse mode against central differences, and forward mode against reverse (the other path)."""
    x = np.linspace(-0.5, 1.3, 7)
    f = adc.differentiate(fn, wrt="p", backend="python")
    g = f.grad(0.7, x)
    h = 1e-5
    fd = (fn(0.7 + h, x.copy()) - fn(0.7 - h, x.copy())) / (2 * h)
    assert abs(g) > 0.1 and g == pytest.approx(fd, rel=1e-7)
    assert f.jvp(0.7, x, tangents=1.0)[1] == pytest.approx(g, rel=1e-12)


# -- loop order in the reverse sweep --------------------------------------------------------------
def iir_with_a_tap_loop(h, x, a):
    y = 0.0
    loss = 0.0
    for n in range(h.shape[0], x.shape[0]):
        acc = 0.0
        for k in range(h.shape[0]):
            acc += h[k] * x[n - k]
        y = a * y + acc
        loss += y * y
    return loss


def test_a_tap_loops_adjoint_runs_forwards_and_the_recurrence_backwards():
    """The tap loop's adjoint adds into h__bar[k] and x__bar[n - k], which nothing in it reads: its
    iterations commute, so it runs forwards. The recurrence carries y's adjoint and pops a tape: reversed."""
    from checks import assert_grad_matches_fd
    rng = np.random.default_rng(3)
    args = (rng.standard_normal(4), rng.standard_normal(12), 0.6)
    for backend in ("python", "numba"):
        f = adc.differentiate(iir_with_a_tap_loop, wrt=("h", "x", "a"), backend=backend)
        grads = f.grad(*args)
        assert_grad_matches_fd(iir_with_a_tap_loop, args, [0, 1, 2], list(grads), rtol=1e-8)
    source = f.adjoint_source()
    assert "for k in range(h.shape[0]):" in source
    assert "(adjoint, iterations in any order)" in source
    assert "for n in range(x_len - 1, h_len - 1, -1):" in source
