"""Elementwise fusion (adc/codegen/fusion.py): the numba backend's loops give the unfused gradient, and fall
back to the statements as written where shapes differ or an in-place update overlaps what the loop reads."""
import numpy as np

import adc
from tests.checks import assert_grad_matches_fd


def leaky(a, x, target):
    y = np.zeros(x.shape[1])
    loss = 0.0
    for n in range(x.shape[0]):
        y = a * y + x[n, :]
        loss += np.sum((y - target[n, :]) ** 2)
    return loss


def test_leaky_recurrence_is_fused_and_exact():
    rng = np.random.default_rng(0)
    args = (0.8, rng.standard_normal((12, 5)), rng.standard_normal((12, 5)))
    fused = adc.differentiate(leaky, wrt=("a", "x"))
    plain = adc.differentiate(leaky, wrt=("a", "x"), backend="python")
    value, grads = fused.value_and_grad(*args)
    expected_value, expected = plain.value_and_grad(*args)
    assert "for i in range(" in fused.adjoint_source() and "for i in range(" not in plain.adjoint_source()
    assert np.isclose(value, expected_value, rtol=1e-13)
    for g, e in zip(grads, expected):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-13)
    assert_grad_matches_fd(leaky, args, (0, 1), grads)


def broadcast_state(a, x):
    y = np.zeros(1)  # broadcasts against each row: the shapes differ, so the statements run as written
    total = 0.0
    for n in range(x.shape[0]):
        y = a * y + x[n, :]
        total += np.sum(np.sin(y) * y)
    return total


def test_unequal_shapes_take_the_statements_as_written():
    rng = np.random.default_rng(1)
    args = (0.7, rng.standard_normal((6, 4)))
    fused = adc.differentiate(broadcast_state, wrt=("a", "x"))
    plain = adc.differentiate(broadcast_state, wrt=("a", "x"), backend="python")
    for g, e in zip(fused.grad(*args), plain.grad(*args)):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-13)


def shifted_accumulation(x):
    s = x * 1.0
    for _ in range(3):
        s[1:] += 0.5 * s[:-1] * x[:-1]  # the update overlaps what it reads, one element apart
    return np.sum(s * s)


def test_overlapping_update_matches_the_unfused_gradient():
    rng = np.random.default_rng(2)
    x = rng.standard_normal(7)
    fused = adc.differentiate(shifted_accumulation)
    plain = adc.differentiate(shifted_accumulation, backend="python")
    np.testing.assert_allclose(fused(x), plain(x), rtol=1e-13)
    np.testing.assert_allclose(fused.grad(x), plain.grad(x), rtol=1e-12, atol=1e-13)
    assert_grad_matches_fd(shifted_accumulation, (x,), (0,), (fused.grad(x),))


def filter_energy(x, h):
    y = np.convolve(x, h)
    return np.dot(y, y)


def test_adjoints_made_for_arrays_of_other_lengths_stay_out_of_a_run():
    """`x__bar = np.zeros_like(x)` and `h__bar = np.zeros_like(h)` share no array with the cotangent of y,
    which is longer than both: fused together, the loop's shape guard failed on every call."""
    rng = np.random.default_rng(3)
    x, h = rng.standard_normal(40), rng.standard_normal(5)
    fused = adc.differentiate(filter_energy, wrt=("x", "h"))
    plain = adc.differentiate(filter_energy, wrt=("x", "h"), backend="python")
    grads = fused.grad(x, h)
    source = fused.adjoint_source()
    assert "for i in range(y.shape[0]):" in source and "h.shape == x.shape" not in source
    for g, e in zip(grads, plain.grad(x, h)):
        np.testing.assert_allclose(g, e, rtol=1e-13, atol=1e-14)
    assert_grad_matches_fd(filter_energy, (x, h), (0, 1), grads)


def test_a_reverse_sweep_visits_the_elements_from_the_last():
    """Its rows come from the last, so each row is read backwards too (the hardware prefetches descending
    addresses): the primal's loop counts up, the reverse sweep's down, and the gradient is the unfused one."""
    rng = np.random.default_rng(6)
    args = (0.8, rng.standard_normal((10, 6)), rng.standard_normal((10, 6)))
    fused = adc.differentiate(leaky, wrt=("a", "x"))
    plain = adc.differentiate(leaky, wrt=("a", "x"), backend="python")
    grads = fused.grad(*args)
    fused(*args)
    reverse = fused.adjoint_source().split("# reverse sweep")[1]
    assert "for i in range(t__bar.shape[0] - 1, -1, -1):" in reverse
    assert "for i in range(t.shape[0]):" in fused.primal_source()
    for g, e in zip(grads, plain.grad(*args)):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-13)


def energy_squared(a, x):
    y = np.zeros(x.shape[1])
    total = 0.0
    for n in range(x.shape[0]):
        y = a * y + x[n, :]
        s = np.sum(y * y)
        total += s * s
    return total


def test_a_primal_sum_the_reverse_sweep_makes_again_keeps_its_order():
    """The reverse sweep computes s = np.sum(y * y) again: counted from the first element, as the forward sweep
    did, so it is the same number to the bit; the adjoints' loop beside it counts down."""
    rng = np.random.default_rng(7)
    args = (0.8, rng.standard_normal((7, 5)))
    fused = adc.differentiate(energy_squared, wrt=("a", "x"))
    plain = adc.differentiate(energy_squared, wrt=("a", "x"), backend="python")
    grads = fused.grad(*args)
    reverse = fused.adjoint_source().split("# reverse sweep")[1]
    again = reverse[reverse.index("s__sum = 0.0"):reverse.index("s__sum += y3 * y3")]
    assert "for i in range(t__bar.shape[0]):" in again
    assert "- 1, -1, -1):" in reverse[reverse.index("a__bar__sum = 0.0"):]
    for g, e in zip(grads, plain.grad(*args)):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-13)
    assert_grad_matches_fd(energy_squared, args, (0, 1), grads)
