"""adc.torch.function ([9/10]): an adc kernel as a torch.autograd.Function, checked by
torch.autograd.gradcheck (against torch's own finite differences) and against adc itself."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
from batch_programs import energy_and_last, filtered, normalise_in_place  # noqa: E402

import adc  # noqa: E402
import adc.torch  # noqa: E402

from dsp_programs import biquad_loss, iir_loss  # noqa: E402

rng = np.random.default_rng(12)
X = torch.from_numpy(rng.standard_normal(40))
TARGET = torch.from_numpy(rng.standard_normal(40))


def leaf(value, dtype=torch.float64):
    return torch.tensor(value, dtype=dtype, requires_grad=True)


def test_gradcheck_through_a_biquad_and_the_same_gradient_as_adc():
    loss = adc.differentiate(biquad_loss, wrt=("b0", "b1", "b2", "a1", "a2"), backend="python")
    f = adc.torch.function(loss)
    coefficients = [leaf(v) for v in (0.2, 0.35, 0.2, -0.5, 0.25)]
    assert torch.autograd.gradcheck(lambda *c: f(*c, X, TARGET), coefficients)
    value = 3.0 * f(*coefficients, X, TARGET)
    value.backward()
    want_value, want = loss.value_and_grad(0.2, 0.35, 0.2, -0.5, 0.25, X.numpy(), TARGET.numpy())
    assert value.item() == pytest.approx(3.0 * want_value, rel=1e-14)
    np.testing.assert_allclose([c.grad.item() for c in coefficients], 3.0 * np.array(want), rtol=1e-13)


def test_gradcheck_of_an_array_result_and_of_a_tuple_result():
    """The filter's output against torch's differences (x in wrt: a gradient per sample), and a tuple result
    whose two parts get their own incoming gradients."""
    f = adc.torch.function(adc.differentiate(filtered, wrt=("b", "a", "x"), backend="python"))
    x = X.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda b, a, x: f(b, a, x), (leaf(0.5), leaf(0.8), x))
    g = adc.torch.function(adc.differentiate(energy_and_last, wrt=("b", "a"), backend="python"))
    assert torch.autograd.gradcheck(lambda b, a: g(b, a, X), (leaf(0.5), leaf(0.8)))


def test_batched_functions_and_float32(backend):
    """f.batched through torch: shared b and a get the batch's summed gradient, mapped x each row its own;
    float32 tensors stay float32 and agree with the float64 run to float32's precision."""
    loss = adc.differentiate(iir_loss, wrt=("b", "a", "x"), backend=backend)
    fb = adc.torch.function(loss.batched(in_axes=(None, None, 0, 0)))
    xs = torch.from_numpy(rng.standard_normal((3, 20))).requires_grad_(True)
    ts = torch.from_numpy(rng.standard_normal((3, 20)))
    assert torch.autograd.gradcheck(lambda b, a, x: fb(b, a, x, ts), (leaf(0.5), leaf(-0.3), xs))
    for dtype, rtol in ((torch.float64, 1e-13), (torch.float32, 1e-5)):
        b, a, x = leaf(0.5, dtype), leaf(-0.3, dtype), xs.detach().to(dtype).requires_grad_(True)
        values = fb(b, a, x, ts.to(dtype))
        assert values.dtype == dtype and values.shape == (3,)
        values.sum().backward()
        assert b.grad.dtype == dtype and x.grad.dtype == dtype
        _, (gb, ga, gx) = loss.batched(in_axes=(None, None, 0, 0)).value_and_grad(0.5, -0.3, xs.detach().numpy(),
                                                                                 ts.numpy())
        np.testing.assert_allclose([b.grad.item(), a.grad.item()], [gb, ga], rtol=rtol)
        np.testing.assert_allclose(x.grad.numpy(), gx, rtol=rtol, atol=rtol)


def test_the_callers_tensors_are_not_written():
    f = adc.torch.function(adc.differentiate(normalise_in_place, wrt=("x", "g"), backend="python"))
    x = X.clone().requires_grad_(True)
    before = x.detach().clone()
    f(x, leaf(1.5)).backward()
    assert torch.equal(x.detach(), before)
    np.testing.assert_allclose(x.grad.numpy(), 2 * 1.5 ** 2 * before.numpy(), rtol=1e-13)


def test_what_is_refused_says_what_to_do():
    f = adc.torch.function(adc.differentiate(iir_loss, wrt=("b", "a"), backend="python"))
    with pytest.raises(ValueError, match=r"argument `x` requires grad, but iir_loss is differentiated with respect to "
                                         r"\('b', 'a'\) only: add it to wrt, or pass it detached"):
        f(leaf(0.5), leaf(0.3), X.clone().requires_grad_(True), TARGET)
    with pytest.raises(ValueError, match=r"argument `x` is on meta: adc's kernels run on the CPU, pass `x.cpu\(\)`"):
        f(leaf(0.5), leaf(0.3), torch.empty(40, device="meta"), TARGET)
