"""Loop buffers (adc/codegen/scratch.py): the numba backend writes an array a loop makes afresh on every step into
one buffer, only where no later read can see the step before, and its values and gradients are the python
backend's."""
import re

import numpy as np
import pytest

import adc
from adc import runtime as rt
from tests.checks import assert_grad_matches_fd


def kalman_two_state(q, r, F, H, z):
    x = np.zeros(2)
    P = np.eye(2)
    Q = q * np.array([[1.0 / 3.0, 0.5], [0.5, 1.0]])
    nll = 0.0
    for k in range(z.shape[0]):
        x = F @ x
        P = F @ P @ F.T + Q
        S = H @ P @ H.T + r
        s = S[0, 0]
        K = P @ H.T / s
        innov = z[k] - np.sum(H @ x)
        x = x + K[:, 0] * innov
        P = P - K @ H @ P
        nll += 0.5 * (np.log(2 * np.pi * s) + innov ** 2 / s)
    return nll


# each keeps a product where a later step, or the code after the loop, reads it: it must keep its allocation
def carried_view(F, x):
    v = np.zeros(2)
    out = 0.0
    for k in range(x.shape[0]):
        M = F @ (F * x[k])
        out += np.sum(v * M[:, 0])  # v is the last step's column of M
        v = M[:, 0]
    return out


def product_in_a_branch(F, P, x):
    M = F @ P
    total = 0.0
    for k in range(x.shape[0]):
        if x[k] > 0.0:
            M = F @ (P * x[k])
        total += np.sum(M * M)  # on the other steps, an earlier step's M
    return total


def kept_after_the_loop(F, P, x):
    M = F @ P
    for k in range(x.shape[0]):
        M = F @ (P * x[k])
    return np.sum(M * M)


def last_and_current(F, x):
    last = F @ F
    total = 0.0
    for k in range(x.shape[0]):
        M = F @ (F * x[k])
        total += np.sum(last * M)
        last = M
    return total


def _passthrough(M):
    return M


def carried_through_a_helper(F, x):
    keep = np.zeros((2, 2))
    total = 0.0
    for k in range(x.shape[0]):
        total += np.sum(keep * F)  # the last step's product, returned by the helper
        keep = _passthrough(F @ (F * x[k]))
    return total


def carried_transpose(F, x):
    keep = np.zeros((2, 2))
    total = 0.0
    for k in range(x.shape[0]):
        total += np.sum(keep * F)
        M = F @ (F * x[k])
        keep = M.T  # a view of this step's product, read by the next
    return total


# and where it may be written over
def history(F, x):
    h = np.zeros((x.shape[0], 2))
    for k in range(x.shape[0]):
        M = F @ (F * x[k])
        h[k, :] = M[0, :]  # copied out
    return np.sum(h * h)


def halving(x):
    """A buffer whose shape changes from step to step: rt.outer_into allocates again."""
    total = 0.0
    for level in range(3):
        n = int(x.shape[0] // 2 ** level)
        D = np.outer(x[:n], x[1:n + 1])
        total += np.sum(D * D) * (level + 1.0)
    return total


RNG = np.random.default_rng(31)
F, P = RNG.standard_normal((2, 2)) * 0.5, RNG.standard_normal((2, 2))
STEPS = RNG.standard_normal(7)
CASES = {
    "kalman": (kalman_two_state, (0.01, 0.25, np.array([[1.0, 1.0], [0.0, 1.0]]), np.array([[1.0, 0.0]]),
                                  np.cumsum(RNG.standard_normal(9))), ("q", "r", "F", "H"), True),
    "carried_view": (carried_view, (F, STEPS), ("F", "x"), False),
    "product_in_a_branch": (product_in_a_branch, (F, P, STEPS), ("F", "P", "x"), False),
    "kept_after_the_loop": (kept_after_the_loop, (F, P, STEPS), ("F", "P", "x"), False),
    "last_and_current": (last_and_current, (F, STEPS), ("F", "x"), False),
    "carried_through_a_helper": (carried_through_a_helper, (F, STEPS), ("F", "x"), False),
    "carried_transpose": (carried_transpose, (F, STEPS), ("F", "x"), False),
    "history": (history, (F, STEPS), ("F", "x"), True),
    "halving": (halving, (RNG.standard_normal(17),), ("x",), True),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_buffered_loops_give_the_python_backends_gradient(name):
    fn, args, wrt, buffered = CASES[name]
    fast = adc.differentiate(fn, wrt=wrt)
    plain = adc.differentiate(fn, wrt=wrt, backend="python")
    value, grads = fast.value_and_grad(*args)
    expected_value, expected = plain.value_and_grad(*args)
    assert np.isclose(value, expected_value, rtol=1e-13)
    for g, e in zip(grads, expected):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-13)
    assert_grad_matches_fd(fn, args, tuple(range(len(wrt))), grads)
    assert ("_into(" in fast.primal_source()) == buffered  # the product the loop keeps is made afresh each step
    assert "_into(" in fast.adjoint_source()  # the reverse sweep recomputes it, for one step's use: buffered


def test_every_kalman_product_is_buffered_and_the_state_is_not():
    fast = adc.differentiate(kalman_two_state, wrt=("q", "r", "F", "H"))
    fast.grad(*CASES["kalman"][1])
    primal = fast.primal_source()
    start = primal.index("    for k in range(")
    loop, before = primal[start:], primal[:start]
    writes = re.findall(r"if not rt\.(mat\w+)_into\((.*), (\w+)\):\n +(\w+) = rt\.(\w+)\((.*)\)\n", loop)
    assert len(writes) == 9  # every product, each made afresh only where its buffer has not its shape
    assert all(kind == made and args == again and buffer == target for kind, args, buffer, target, made, again in writes)
    assert loop.count("rt.matmat(") + loop.count("rt.matvec(") == 9  # no product outside those fallbacks
    assert before.count("np.empty((0, 0), np.float64)") == 7  # the buffers, made once
    assert "if not rt.matvec_into(F, x, " in loop  # F @ x has a buffer; x, the state the next step reads, has none
    adjoint = fast.adjoint_source()
    reverse = adjoint[adjoint.index("(reversed)"):]
    assert "if not rt.zeroed(K__bar, " in reverse  # the reverse step's np.zeros_like(K), written over
    assert reverse.count("rt.matmat(") - reverse.count("rt.matmat_into(") == 1  # P's adjoint, carried to the step before


def test_a_buffer_of_another_shape_is_left_alone():
    a, b = np.arange(6.0).reshape(2, 3), np.arange(12.0).reshape(3, 4)
    wrong = np.full((2, 5), 7.0)
    assert not rt.matmat_into(a, b, wrong) and (wrong == 7.0).all()
    assert not rt.matmat_into(a, b[:2], np.empty((2, 4)))  # the inner dimensions differ: rt.matmat raises
    out = np.empty((2, 4))
    assert rt.matmat_into(a, b, out) and np.array_equal(out, a @ b)
    vec = np.empty(2)
    assert rt.matvec_into(a, np.ones(3), vec) and np.array_equal(vec, a @ np.ones(3))
    assert not rt.matvec_into(a, np.ones(3), np.empty(3)) and not rt.vecmat_into(np.ones(2), a, np.empty(2))
    row = np.full(3, 7.0)
    assert rt.vecmat_into(np.ones(2), a, row) and np.array_equal(row, np.ones(2) @ a)
    table = np.empty((2, 3))
    assert rt.outer_into(np.ones(2), np.arange(3.0), table) and np.array_equal(table, np.outer(np.ones(2), np.arange(3.0)))
    assert not rt.outer_into(np.ones(2), np.arange(3.0), np.empty((3, 2)))
    empty_sum = np.full((2, 3), 5.0)
    assert rt.matmat_into(np.ones((2, 0)), np.ones((0, 3)), empty_sum) and not empty_sum.any()
    np.testing.assert_array_equal(rt.matmat(np.ones((2, 0)), np.ones((0, 3))), np.zeros((2, 3)))
    full = np.ones((2, 2))
    assert rt.zeroed(full, (2, 2)) and not full.any()
    assert not rt.zeroed(np.ones((2, 2)), (3, 2))
    with pytest.raises(ValueError, match="mismatch in its core dimension"):
        rt.matmat(a, b[:2])
