"""adc.jax.function ([9/10]): an adc kernel inside a JAX program, under jit and grad, checked by
jax.test_util.check_grads (reverse mode, against JAX's own finite differences) and against adc."""
import numpy as np
import pytest

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
from jax.test_util import check_grads  # noqa: E402

import adc  # noqa: E402
import adc.jax  # noqa: E402

rng = np.random.default_rng(8)
X = rng.standard_normal(24)


def leaky_energy(a, b, x):
    y = 0.0
    s = 0.0
    for n in range(x.shape[0]):
        y = a * y + b * x[n]
        s += y * y
    return s


def fir(h, x):
    return np.convolve(x, h, mode="valid")


def test_a_scalar_loss_under_jit_and_grad():
    loss = adc.differentiate(leaky_energy, wrt=("a", "b"), backend="python")
    f = adc.jax.function(loss)
    x = jnp.asarray(X)
    assert float(jax.jit(f)(0.6, 0.3, x)) == pytest.approx(leaky_energy(0.6, 0.3, X), rel=1e-13)
    ga, gb = jax.jit(jax.grad(lambda a, b: 2.0 * f(a, b, x), argnums=(0, 1)))(0.6, 0.3)
    ea, eb = loss.grad(0.6, 0.3, X)
    assert (float(ga), float(gb)) == (pytest.approx(2 * ea, rel=1e-13), pytest.approx(2 * eb, rel=1e-13))
    check_grads(lambda a, b: f(a, b, x), (0.6, 0.3), order=1, modes=("rev",))
    assert float(jax.grad(lambda x: f(0.6, 0.3, x))(x).sum()) == 0.0  # x is not in wrt: no cotangent


def test_an_array_result_inside_a_jax_loss():
    """A filter (array in, array out) between JAX operations: its vjp carries the cotangent through."""
    f = adc.jax.function(adc.differentiate(fir, wrt="h", backend="python"),
                         out_shape=jax.ShapeDtypeStruct((X.shape[0] - 4,), jnp.float64))
    x = jnp.asarray(X)

    def loss(h):
        return jnp.sum(jnp.tanh(f(jnp.exp(h), x)) ** 2)
    h = jnp.asarray(rng.standard_normal(5) * 0.3)
    check_grads(loss, (h,), order=1, modes=("rev",))
    reference = jax.grad(lambda h: jnp.sum(jnp.tanh(jnp.convolve(x, jnp.exp(h), mode="valid")) ** 2))(h)
    np.testing.assert_allclose(jax.jit(jax.grad(loss))(h), reference, rtol=1e-12)


def test_a_batched_function_inside_a_jax_loss():
    """f.batched through adc.jax: one value per element, the shared a and b get the summed gradient."""
    loss = adc.differentiate(leaky_energy, wrt=("a", "b", "x"), backend="python")
    batch = loss.batched(in_axes=(None, None, 0))
    f = adc.jax.function(batch)
    xs = jnp.asarray(rng.standard_normal((3, 12)))
    weights = jnp.asarray([1.0, -2.0, 0.5])
    values = jax.jit(f)(0.6, 0.3, xs)
    np.testing.assert_allclose(values, batch(0.6, 0.3, np.asarray(xs)), rtol=1e-13)
    ga, gb, gx = jax.jit(jax.grad(lambda a, b, x: jnp.dot(weights, f(a, b, x)), argnums=(0, 1, 2)))(0.6, 0.3, xs)
    _, (wa, wb, wx) = batch.vjp(0.6, 0.3, np.asarray(xs), cotangent=np.asarray(weights))
    np.testing.assert_allclose([ga, gb], [wa, wb], rtol=1e-13)
    np.testing.assert_allclose(gx, wx, rtol=1e-13)
    check_grads(lambda a, b, x: f(a, b, x), (0.6, 0.3, xs), order=1, modes=("rev",))


def test_jax_vmap_runs_one_batched_callback():
    """jax.vmap of an adc function (in jit, of its value and of its gradient): each element equals the
    unbatched adc call; a shared argument's gradient is per element, as jax.vmap(jax.grad(...)) gives."""
    loss = adc.differentiate(leaky_energy, wrt=("a", "b"), backend="python")
    f = adc.jax.function(loss)
    xs = rng.standard_normal((4, 12))
    a_s = np.array([0.2, 0.4, 0.6, 0.8])
    values = jax.jit(jax.vmap(f, in_axes=(0, None, 0)))(a_s, 0.3, jnp.asarray(xs))
    np.testing.assert_allclose(values, [leaky_energy(a_s[i], 0.3, xs[i]) for i in range(4)], rtol=1e-13)
    ga, gb = jax.jit(jax.vmap(jax.grad(f, argnums=(0, 1)), in_axes=(0, None, 0)))(a_s, 0.3, jnp.asarray(xs))
    want = np.array([loss.grad(a_s[i], 0.3, xs[i]) for i in range(4)])
    np.testing.assert_allclose(ga, want[:, 0], rtol=1e-13)
    np.testing.assert_allclose(gb, want[:, 1], rtol=1e-13)
    nested = jax.vmap(jax.vmap(f, in_axes=(None, None, 0)), in_axes=(0, None, None))(jnp.asarray(a_s[:2]), 0.3,
                                                                                   jnp.asarray(xs))
    assert nested.shape == (2, 4)
    np.testing.assert_allclose(nested[1, 2], leaky_energy(a_s[1], 0.3, xs[2]), rtol=1e-13)
