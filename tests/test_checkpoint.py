"""Binomial checkpointing (adc.checkpoint, docs/checkpointing.md): the schedule is the binomial optimum,
and checkpointed gradients are the taped ones, on the recurrences of tests/checkpoint_programs.py."""
import math
from functools import lru_cache

import numpy as np
import pytest
from checkpoint_programs import IIR, LMS, MATRIX_KALMAN, PROGRAMS, source
from fuzz.oracle import load

import adc
from adc import runtime as rt

from checks import assert_grad_matches_fd


@lru_cache(None)
def fewest_steps(steps: int, states: int) -> int:
    """Primal steps to reverse `steps` steps from a stored first state with `states` states in all, found by
    trying every split (Griewank's recursion), independent of the closed form the runtime uses."""
    if steps <= 1:
        return 0
    if states == 1:
        return steps * (steps - 1) // 2
    return min(m + fewest_steps(steps - m, states - 1) + fewest_steps(m, states) for m in range(1, steps))


def griewank_walther(steps: int, states: int) -> int:
    """t * l - beta(s + 1, t - 1), t the least with beta(s, t) = C(s + t, s) >= l (Griewank and Walther 2000)."""
    t = 0
    while math.comb(states + t, states) < steps:
        t += 1
    return t * steps - (math.comb(states + t, states + 1) if t >= 1 else 0)


def run_schedule(steps: int, states: int):
    """Drive the schedule as a generated kernel does, with the state standing for the step it is at;
    returns (the primal sweep's share, recomputed steps, order of the reversed steps, states used)."""
    ck = rt.schedule(steps, states)
    slots = [None] * states
    for j in range(steps):
        if rt.snapshot_due(ck, j):
            slots[ck[rt.DEPTH]] = j
    primal_share = ck[rt.FIELDS + ck[rt.DEPTH]] if steps else 0
    state, order = None, []
    while (action := rt.action(ck)) != rt.DONE:
        if action & rt.RESTORE:
            state = slots[ck[rt.DEPTH]]
        if action & rt.ADVANCE:
            assert state == ck[rt.FROM]
            for step in range(ck[rt.FROM], ck[rt.CUR]):
                state = step + 1
                if step < ck[rt.STORED]:
                    slots[ck[rt.DEPTH] + 1 + step - ck[rt.FROM]] = state  # (an IndexError past the slots there are)
        if action & rt.SNAPSHOT:
            slots[ck[rt.DEPTH]] = state
        if action & rt.LEAF:
            for step in range(ck[rt.END] - 1, ck[rt.FIRST] - 1, -1):
                if step < ck[rt.END] - 1:
                    state = slots[ck[rt.DEPTH] + step - ck[rt.FROM]]
                assert state == step, "a step recorded from another step's state"
                order.append(step)
    return primal_share, ck[rt.RECOMPUTED], order, ck[rt.USED]


def test_the_closed_form_is_the_recursion():
    for states in range(1, 8):
        for steps in range(1, 120):
            assert griewank_walther(steps, states) == fewest_steps(steps, states), (steps, states)


@pytest.mark.parametrize("states", [1, 2, 3, 5, 8, 13])
def test_the_schedule_reverses_every_step_at_the_binomial_optimum(states):
    for steps in list(range(0, 70)) + [97, 101, 257, 1009]:
        share, recomputed, order, used = run_schedule(steps, states)
        assert order == list(range(steps - 1, -1, -1))
        assert share + recomputed == griewank_walther(steps, states), (steps, states)
        assert used <= states


def test_the_schedule_on_long_loops():
    for steps, states in [(10 ** 5, 64), (12345, 7), (999983, 32)]:
        share, recomputed, order, used = run_schedule(steps, states)
        assert share + recomputed == griewank_walther(steps, states)
        assert len(order) == steps and used == min(states, steps)


def test_a_schedule_needs_a_stored_state():
    with pytest.raises(ValueError, match="snapshots >= 1"):
        rt.schedule(10, 0)


# -- gradients: checkpointed equals taped ------------------------------------------------------------------
SIZES = [(1, 3), (2, 1), (3, 4), (5, 4), (5, 2), (13, 3), (37, 5), (37, 1)]  # N < s, N = s + 1, primes


def _pair(body, wrt, snapshots, backend):
    taped = adc.differentiate(load(source(body, None), "adcckpt").main, wrt=wrt, backend=backend)
    checkpointed = adc.differentiate(load(source(body, snapshots), "adcckpt").main, wrt=wrt, backend=backend)
    return taped, checkpointed


def _assert_same(a, b):
    value_a, grads_a = a
    value_b, grads_b = b
    np.testing.assert_allclose(value_b, value_a, rtol=1e-12, atol=0)
    for ga, gb in zip(grads_a, grads_b):
        np.testing.assert_allclose(gb, ga, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("name,body,wrt,make", PROGRAMS, ids=[p[0] for p in PROGRAMS])
def test_checkpointed_gradients_are_the_taped_ones(name, body, wrt, make):
    for steps, snapshots in SIZES:
        args = make(np.random.default_rng(steps), steps)
        taped, checkpointed = _pair(body, wrt, snapshots, "python")
        _assert_same(taped.value_and_grad(*args), checkpointed.value_and_grad(*args))


@pytest.mark.parametrize("name", ["iir", "lms", "all_pole", "strided"])  # (the Kalman: benchmarks/checkpointing.py)
def test_checkpointed_gradients_compiled(name):
    _, body, wrt, make = next(p for p in PROGRAMS if p[0] == name)
    taped, checkpointed = _pair(body, wrt, 3, "numba")
    for steps in (1, 4, 29):
        args = make(np.random.default_rng(steps), steps)
        _assert_same(taped.value_and_grad(*args), checkpointed.value_and_grad(*args))


def test_a_checkpointed_gradient_against_finite_differences_and_forward_mode():
    _, body, wrt, make = next(p for p in PROGRAMS if p[0] == "matrix_kalman")
    f = adc.differentiate(load(source(body, 4), "adcckpt").main, wrt=wrt, backend="python")
    args = list(make(np.random.default_rng(3), 23))
    grads = f.grad(*args)
    assert_grad_matches_fd(f.python, args, [0, 1, 2, 3], grads, rtol=1e-7)
    direction = [0.7, -0.3] + [np.random.default_rng(k).standard_normal(np.shape(args[k])) for k in (2, 3)]
    _, jv = f.jvp(*args, tangents=tuple(direction))
    assert sum(np.sum(g * v) for g, v in zip(grads, direction)) == pytest.approx(jv, rel=1e-12)


def test_stats_count_the_schedule():
    f = adc.differentiate(load(source(IIR, 8), "adcckpt").main, wrt=("b", "a"), backend="python")
    f.grad(0.5, 0.9, np.random.default_rng(0).standard_normal(1000))
    stats = f.last_stats()
    share, recomputed, _, used = run_schedule(1000, 8)
    assert stats["recomputed_steps"] == recomputed and stats["snapshots"] == used == 8
    assert stats["peak_tape_bytes"] == 8  # one step's y
    assert stats["snapshot_bytes"] == 8 * 8  # 8 stored states of y (the sum is not state: nothing reads it again)


def test_stats_of_an_uncheckpointed_function_are_refused():
    f = adc.differentiate(load(source(IIR, None), "adcckpt").main, wrt=("b", "a"), backend="python")
    f.grad(0.5, 0.9, np.ones(4))
    with pytest.raises(RuntimeError, match="checkpointed loops"):
        f.last_stats()


def test_auto_checkpoints_taped_loops_only():
    taped = adc.differentiate(load(source(LMS, None), "adcckpt").main, wrt=("w0", "mu"), backend="python")
    auto = adc.differentiate(load(source(LMS, None), "adcckpt").main, wrt=("w0", "mu"), backend="python",
                             checkpoint="auto")
    args = (np.array([0.1, -0.2, 0.05]), 0.05, np.random.default_rng(0).standard_normal(200),
            np.random.default_rng(1).standard_normal(200))
    _assert_same(taped.value_and_grad(*args), auto.value_and_grad(*args))
    assert "rt.schedule" in auto.adjoint_source() and "rt.schedule" not in taped.adjoint_source()
    assert auto.last_stats()["snapshots"] == 64


def test_second_order_runs_over_the_taped_sweep():
    taped, checkpointed = _pair(MATRIX_KALMAN, ("q", "r"), 3, "python")
    args = (0.05, 0.3, np.eye(4) * 0.9, np.array([[1.0, 0.0, 0.5, 0.0]]), np.random.default_rng(0).standard_normal(9))
    a, b = taped.hvp(*args, tangents=(1.0, -0.5)), checkpointed.hvp(*args, tangents=(1.0, -0.5))
    np.testing.assert_allclose(b[1], a[1], rtol=1e-12)


def test_the_adjoint_source_shows_the_schedule():
    f = adc.differentiate(load(source(IIR, 4), "adcckpt").main, wrt=("b", "a"), backend="python")
    f.grad(0.5, 0.9, np.ones(5))
    text = f.adjoint_source()
    for line in ("ck = rt.schedule(x_len, 4)", "if n == ck[rt.NEXT] and rt.snapshot_due(ck, n):",
                 "while action != rt.DONE:", "(reversed from 4 stored states)", "if action & rt.ADVANCE:",
                 "if action & rt.LEAF:"):
        assert line in text, line
    assert "rt.tape(1, np.float64)" in text  # one step's tape


def test_a_loop_that_carries_nothing_recomputes_each_step_alone():
    _, body, wrt, make = next(p for p in PROGRAMS if p[0] == "write_once")
    f = adc.differentiate(load(source(body, 4), "adcckpt").main, wrt=wrt, backend="python")
    f.grad(*make(np.random.default_rng(0), 6))
    assert "each step recomputed alone" in f.adjoint_source() and "rt.schedule" not in f.adjoint_source()


CHECKPOINT_ERRORS = [
    ("""
def main(x):
    s = 0.0
    for i in range(3):
        for n in adc.checkpoint(range(x.shape[0]), snapshots=4):  # <- error
            s += x[n] * i
    return s
""", "marks a loop of the function's own body"),
    ("""
def main(x, k):
    s = 0.0
    for n in adc.checkpoint(range(x.shape[0]), snapshots=k):  # <- error
        s = s * 0.5 + x[n]
    return s
""", "snapshots must be a constant"),
    ("""
def main(x):
    s = 0.0
    for n in adc.checkpoint(range(x.shape[0]), snapshots=4):  # <- error
        if s > 3.0:
            break
        s = s * 0.5 + x[n]
    return s
""", "`break` would end it early"),
]


@pytest.mark.parametrize("text,message", CHECKPOINT_ERRORS)
def test_refusals_name_the_line(text, message):
    src = "import math\nimport numpy as np\nimport adc\n\n\n" + text
    module = load(src, "adcckpt")
    line = next(i for i, t in enumerate(src.splitlines(), 1) if "# <- error" in t)
    with pytest.raises(adc.CompileError, match=message) as info:  # (a break is refused when decorated)
        f = adc.differentiate(module.main, wrt="x", backend="python")
        f.grad(np.ones(4), 4) if "k)" in text else f.grad(np.ones(4))
    assert info.value.lineno == line


def test_checkpoint_is_range_in_plain_python():
    assert adc.checkpoint(range(2, 9, 3), snapshots=2) == range(2, 9, 3)
    with pytest.raises(ValueError):
        adc.checkpoint(range(3), snapshots=0)
