"""Batched kernels ([8/10]): `f.batched(in_axes=...)` over a numba.prange loop and over Dask chunks, each
element equal to the unbatched call (rtol 1e-12), shared-argument gradients equal to the sum over the batch."""
import numpy as np
import pytest
from batch_programs import (
    beam_power,
    checkpointed_iir,
    energy_and_last,
    filtered,
    normalise_in_place,
    overruns,
    windowed_energy,
)

import adc

from checks import assert_grad_matches_fd
from dsp_programs import biquad_loss, iir_loss, kalman_nll, lms_loss

B, N = 6, 40


def _iir(rng):
    return (0.5, 0.8, rng.standard_normal((B, N)), rng.standard_normal((B, N)))


def _biquad(rng):
    return (0.2, 0.35, 0.2, -0.5, 0.25, rng.standard_normal((B, N)), rng.standard_normal((B, N)))


def _kalman(rng):
    return (rng.uniform(0.5, 0.95, B), 0.1, 0.5, np.cumsum(rng.standard_normal((B, N)), axis=1))


def _lms(rng):
    return (0.05, rng.standard_normal((B, N)), rng.standard_normal((B, N)), 4)


def _beam(rng):
    M, T = 5, 12
    w = rng.standard_normal(M) + 1j * rng.standard_normal(M)
    X = rng.standard_normal((M, T)) + 1j * rng.standard_normal((M, T))
    return (w, rng.uniform(-1.2, 1.2, B), X, 0.5)


# name: (function, wrt, in_axes, arguments)
CASES = {
    "iir": (iir_loss, ("b", "a", "x"), (None, None, 0, 0), _iir),
    "biquad": (biquad_loss, ("b0", "b1", "b2", "a1", "a2"), (None,) * 5 + (0, 0), _biquad),
    "scalar kalman": (kalman_nll, ("phi", "q", "r"), (0, None, None, 0), _kalman),
    "lms": (lms_loss, "mu", (None, 0, 0, None), _lms),
    "beamformer per direction": (beam_power, ("w", "theta"), (None, 0, None, None), _beam),
}


def element(args, in_axes, i):
    return [np.take(a, i, axis=axis) if axis is not None else a for a, axis in zip(args, in_axes)]


def elementwise_vjp(f, args, in_axes, cotangents):
    """The batched vjp from unbatched calls: values stacked, mapped gradients stacked, shared ones summed."""
    values, grads = [], []
    for i, ct in enumerate(cotangents):
        v, g = f.vjp(*element(args, in_axes, i), cotangent=ct)
        values.append(v)
        grads.append(g if f.wrt_is_tuple else (g,))
    out = []
    for k, i in enumerate(f.wrt):
        column = [g[k] for g in grads]
        out.append(np.stack(column, axis=in_axes[i]) if in_axes[i] is not None else sum(column))
    return np.array(values), out


def assert_same_gradients(got, want, wrt_is_tuple):
    got = got if wrt_is_tuple else (got,)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert np.shape(g) == np.shape(w) and np.result_type(g) == np.result_type(w)
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=0)


@pytest.mark.parametrize("case", CASES)
def test_batched_calls_equal_the_unbatched_ones_element_by_element(case, backend):
    fn, wrt, in_axes, make = CASES[case]
    rng = np.random.default_rng(len(case))
    args = make(rng)
    f = adc.differentiate(fn, wrt=wrt, backend=backend)
    fb = f.batched(in_axes=in_axes)
    # numba compiles each batched kind as a parallel kernel (seconds each): the batched primal and jvp on
    # numba for two programs (one complex), their gradients for all five; the python backend runs everything
    every_kind = backend == "python" or case in ("iir", "beamformer per direction")
    if every_kind:
        np.testing.assert_allclose(fb(*args), [f(*element(args, in_axes, i)) for i in range(B)], rtol=1e-12, atol=0)

    values, grads = fb.value_and_grad(*args)
    want_values, want_grads = elementwise_vjp(f, args, in_axes, [1.0] * B)
    np.testing.assert_allclose(values, want_values, rtol=1e-12, atol=0)
    assert_same_gradients(grads, want_grads, f.wrt_is_tuple)
    assert_same_gradients(fb.grad(*args), want_grads, f.wrt_is_tuple)

    cotangents = rng.standard_normal(B)
    _, grads = fb.vjp(*args, cotangent=cotangents)
    assert_same_gradients(grads, elementwise_vjp(f, args, in_axes, cotangents)[1], f.wrt_is_tuple)

    if not every_kind:
        return
    # jvp: a mapped argument's tangent is mapped, a shared one's shared; each element's own jvp
    tangents = [np.asarray(rng.standard_normal(np.shape(args[i])), dtype=np.result_type(args[i])) for i in f.wrt]
    tangents = [t if np.ndim(t) else float(t) for t in tangents]
    _, jv = fb.jvp(*args, tangents=tuple(tangents) if f.wrt_is_tuple else tangents[0])
    want = [f.jvp(*element(args, in_axes, i), tangents=_per_wrt(f, element(tangents, [in_axes[j] for j in f.wrt], i)))[1]
            for i in range(B)]
    np.testing.assert_allclose(jv, want, rtol=1e-12, atol=1e-14)


def _per_wrt(f, values):
    return tuple(values) if f.wrt_is_tuple else values[0]


def test_the_gradient_is_that_of_the_sum_of_the_elements():
    """Against central differences of the undecorated function summed over the batch: shared b and a, mapped x."""
    args = _iir(np.random.default_rng(1))
    fb = adc.differentiate(iir_loss, wrt=("b", "a", "x"), backend="python").batched(in_axes=(None, None, 0, 0))

    def total(b, a, x, target):
        return sum(iir_loss(b, a, x[i], target[i]) for i in range(B))
    assert_grad_matches_fd(total, args, [0, 1, 2], list(fb.grad(*args)), rtol=1e-8)


def test_a_batch_axis_other_than_the_first():
    """in_axes as in jax.vmap: x batched along its last axis, target along axis 1; x's gradient keeps x's layout."""
    b, a, x, t = _iir(np.random.default_rng(2))
    f = adc.differentiate(iir_loss, wrt=("b", "a", "x"), backend="python")  # the wrapper moves the axes
    values, (gb, ga, gx) = f.batched(in_axes=(None, None, -1, 1)).value_and_grad(b, a, x.T.copy(), t.T.copy())
    want_values, (wb, wa, wx) = f.batched(in_axes=(None, None, 0, 0)).value_and_grad(b, a, x, t)
    np.testing.assert_array_equal(values, want_values)
    assert (gb, ga) == (wb, wa) and gx.shape == (N, B)
    np.testing.assert_array_equal(gx, wx.T)


def test_array_and_tuple_results(backend):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((B, N))
    f = adc.differentiate(filtered, wrt=("b", "a"), backend=backend)
    fb = f.batched(in_axes=(None, None, 0))
    ys = fb(0.5, 0.8, x)
    assert ys.shape == (B, N)
    np.testing.assert_allclose(ys, [f(0.5, 0.8, x[i]) for i in range(B)], rtol=1e-12)
    w = rng.standard_normal((B, N))
    _, grads = fb.vjp(0.5, 0.8, x, cotangent=w)
    assert_same_gradients(grads, elementwise_vjp(f, (0.5, 0.8, x), (None, None, 0), w)[1], True)
    _, jv = fb.jvp(0.5, 0.8, x, tangents=(1.0, -0.5))
    np.testing.assert_allclose(jv, [f.jvp(0.5, 0.8, x[i], tangents=(1.0, -0.5))[1] for i in range(B)], rtol=1e-12)
    assert np.sum(jv * w) == pytest.approx(grads[0] - 0.5 * grads[1], rel=1e-12)  # <Jv, w> = <v, J^T w>

    g = adc.differentiate(energy_and_last, wrt=("b", "a"), backend=backend)
    (energies, lasts), grads = g.batched(in_axes=(None, None, 0)).vjp(0.5, 0.8, x, cotangent=(np.ones(B), w[:, 0]))
    np.testing.assert_allclose(energies, [g(0.5, 0.8, x[i])[0] for i in range(B)], rtol=1e-12)
    np.testing.assert_allclose(lasts, [g(0.5, 0.8, x[i])[1] for i in range(B)], rtol=1e-12)
    want = [g.vjp(0.5, 0.8, x[i], cotangent=(1.0, w[i, 0]))[1] for i in range(B)]
    np.testing.assert_allclose(grads, np.sum(want, axis=0), rtol=1e-12)


def test_written_arguments(backend):
    """The batched primal writes into a mapped argument as the function does; derivatives leave it alone; a
    shared argument that the function writes is refused (every element would write it at once)."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((B, N))
    f = adc.differentiate(normalise_in_place, wrt=("x", "g"), backend=backend)
    before = x.copy()
    gx, gg = f.batched(in_axes=(0, None)).grad(x, 1.5)
    np.testing.assert_array_equal(x, before)
    want = elementwise_vjp(f, (x, 1.5), (0, None), [1.0] * B)[1]
    assert_same_gradients((gx, gg), want, True)
    energies = f.batched(in_axes=(0, None))(x, 1.5)
    np.testing.assert_allclose(x, 1.5 * before, rtol=1e-15)
    np.testing.assert_allclose(energies, np.sum(x * x, axis=1), rtol=1e-12)
    with pytest.raises(ValueError, match=r"writes into `x`, which in_axes shares across the batch"):
        f.batched(in_axes=(None, 0))(x[0], np.ones(B))


def test_checkpointed_loops_and_module_arrays(backend):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((B, N))
    for fn, args, in_axes in ((checkpointed_iir, (0.5, 0.8, x), (None, None, 0)),
                              (windowed_energy, (rng.uniform(1, 2, B), x), (0, 0))):
        f = adc.differentiate(fn, wrt=(0, 1), backend=backend)
        values, grads = f.batched(in_axes=in_axes).value_and_grad(*args)
        want_values, want_grads = elementwise_vjp(f, args, in_axes, [1.0] * B)
        np.testing.assert_allclose(values, want_values, rtol=1e-12)
        assert_same_gradients(grads, want_grads, True)


def test_an_element_that_raises_names_the_users_line(backend):
    x = np.ones((B, 10))
    fb = adc.differentiate(overruns, backend=backend).batched(in_axes=0)
    for call in (fb, fb.grad):
        with pytest.raises(IndexError, match=r"batch_programs.py:\d+:\d+: `s \+= \(x\[n\] - t\[n \+ 1\]\) \*\* 2` indexes t"):
            call(x, np.ones((B, 10)))


def test_bad_batches_are_refused_with_what_to_write():
    f = adc.differentiate(iir_loss, wrt=("b", "a"), backend="python")
    x = np.ones((B, N))
    cases = [
        (dict(in_axes=(None, 0)), ValueError, r"in_axes has 2 entries for 4 parameters"),
        (dict(in_axes=None), ValueError, r"in_axes maps no argument"),
        (dict(in_axes=(None, None, "0", 0)), TypeError, r"in_axes entries are an axis \(an int\) or None"),
        (dict(in_axes=0, target="tpu"), ValueError, r"unknown target 'tpu'"),
    ]
    for kwargs, error, message in cases:
        with pytest.raises(error, match=message):
            f.batched(**kwargs)
    fb = f.batched(in_axes=(0, None, 0, 0))
    with pytest.raises(TypeError, match=r"in_axes maps `b` along axis 0, but it is a float"):
        fb(0.5, 0.8, x, x)
    fb = f.batched(in_axes=(None, None, 0, 2))
    with pytest.raises(ValueError, match=r"in_axes maps `target` along axis 2, but it has 2 dimensions"):
        fb(0.5, 0.8, x, x)
    fb = f.batched(in_axes=(None, None, 0, 0))
    with pytest.raises(ValueError, match=r"disagree on the batch size: `target` has 5 elements along axis 0"):
        fb(0.5, 0.8, x, x[:5])
    with pytest.raises(ValueError, match=r"the batch is empty"):
        fb(0.5, 0.8, x[:0], x[:0])
    with pytest.raises(ValueError, match=r"each cotangent needs a first axis of the batch's 6 elements"):
        fb.vjp(0.5, 0.8, x, x, cotangent=np.ones(3))
    with pytest.raises(ValueError, match=r"the result is real \(float64\), so its cotangent is real too, not complex"):
        fb.vjp(0.5, 0.8, x, x, cotangent=np.ones(B) * 1j)
    with pytest.raises(ValueError, match=r"the tangent of `b` has shape \(2,\), the argument \(\)"):
        fb.jvp(0.5, 0.8, x, x, tangents=(np.ones(2), 0.0))


def _dask_inputs(args, in_axes, da):
    """Mapped arrays as dask arrays in chunks of 2 elements along the batch axis (and split along another axis,
    which the batched call undoes)."""
    out = []
    for a, axis in zip(args, in_axes):
        if axis is None:
            out.append(a)
        else:
            chunks = [2 if k == axis else max(1, s // 2) for k, s in enumerate(np.shape(a))]
            out.append(da.from_array(a, chunks=tuple(chunks)))
    return out


def _dask_results(fb, args, in_axes, da, cotangents, tangents):
    """Lazy results of every batched call on dask inputs, and the same calls on the numpy arrays."""
    lazy = _dask_inputs(args, in_axes, da)
    wrt_axes = [in_axes[i] for i in fb.f.wrt]
    lazy_tangents = _dask_inputs(tangents, wrt_axes, da)
    pack = (lambda t: tuple(t)) if fb.f.wrt_is_tuple else (lambda t: t[0])
    got = (fb(*lazy), fb.value_and_grad(*lazy), fb.vjp(*lazy, cotangent=da.from_array(cotangents, chunks=3)),
           fb.jvp(*lazy, tangents=pack(lazy_tangents)))
    want = (fb(*args), fb.value_and_grad(*args), fb.vjp(*args, cotangent=cotangents), fb.jvp(*args, tangents=pack(tangents)))
    return got, want


def _assert_nested_close(got, want):
    if isinstance(want, tuple):
        assert isinstance(got, (tuple, list)) and len(got) == len(want)  # dask.compute gives lists
        for g, w in zip(got, want):
            _assert_nested_close(g, w)
    else:
        assert np.shape(got) == np.shape(want)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)


def _all_cases(backend, da):
    lazy, eager = [], []
    for case, (fn, wrt, in_axes, make) in CASES.items():
        rng = np.random.default_rng(len(case))
        args = make(rng)
        f = adc.differentiate(fn, wrt=wrt, backend=backend)
        tangents = [np.asarray(rng.standard_normal(np.shape(args[i])), dtype=np.result_type(args[i])) for i in f.wrt]
        got, want = _dask_results(f.batched(in_axes=in_axes), args, in_axes, da, rng.standard_normal(B),
                                  [t if np.ndim(t) else float(t) for t in tangents])
        lazy.append(got)
        eager.append(want)
    return lazy, eager


def test_dask_arrays_chunked_along_the_batch_axis():
    dask = pytest.importorskip("dask")
    da = pytest.importorskip("dask.array")
    lazy, eager = _all_cases("python", da)
    assert type(lazy[0][1][1][0]).__module__.startswith("dask")  # lazy until computed
    with dask.config.set(scheduler="synchronous"):
        _assert_nested_close(dask.compute(lazy)[0], tuple(eager))
    # numpy arguments with dask cotangents: chunked like the cotangents
    b, a, x, t = _iir(np.random.default_rng(9))
    fb = adc.differentiate(iir_loss, wrt=("b", "a", "x"), backend="python").batched(in_axes=(None, None, 0, 0))
    weights = np.linspace(0.5, 1.5, B)
    got = fb.vjp(b, a, x, t, cotangent=da.from_array(weights, chunks=4))
    assert type(got[1][2]).__module__.startswith("dask")
    _assert_nested_close(dask.compute(got, scheduler="synchronous")[0], fb.vjp(b, a, x, t, cotangent=weights))


def test_on_a_dask_distributed_cluster_of_two_processes():
    """Workers import the programs by name and compile (or load from the disk cache) the numba kernels."""
    da = pytest.importorskip("dask.array")
    distributed = pytest.importorskip("distributed")
    lazy, eager = _all_cases("numba", da)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        computed = client.compute(lazy, sync=True)
        assert len(client.scheduler_info()["workers"]) == 2
    _assert_nested_close(tuple(computed), tuple(eager))


def test_jvp_leaves_the_tangent_of_a_written_argument_as_given(backend):
    """Regression (found by the fuzzer's cuda check): the jvp kernel updates a written argument's tangent in
    place, and the batched jvp handed it the caller's array, so a second call with the same tangents
    computed with changed ones."""
    def scale_first(x):
        x[0] = 0.5 * x[0] + 0.5
        return np.sum(x * x)
    f = adc.differentiate(scale_first, wrt="x", backend=backend)
    fb = f.batched(in_axes=0)
    x = np.random.default_rng(12).standard_normal((3, 4))
    tangents = np.ones((3, 4))
    first = fb.jvp(x.copy(), tangents=tangents)[1]
    np.testing.assert_array_equal(tangents, np.ones((3, 4)))
    np.testing.assert_array_equal(fb.jvp(x.copy(), tangents=tangents)[1], first)
    for i in range(3):
        np.testing.assert_allclose(first[i], f.jvp(x[i].copy(), tangents=np.ones(4))[1], rtol=1e-12)
