"""target='cuda' against target='cpu', element by element (rtol 1e-12). tests/test_cuda.py runs this file
under numba's simulator (NUMBA_ENABLE_CUDASIM=1, in a process of its own: numba reads it at import), and
on a real GPU where one is present."""
import numpy as np
import pytest
from batch_programs import (
    checkpointed_iir,
    energy_and_last,
    filtered,
    normalise_in_place,
    overruns,
    windowed_energy,
)
from numba import cuda  # a module global: the simulator replaces it inside kernels
from test_batched import CASES

import adc
from adc.codegen.device import DeviceError


def _tangents(f, args, in_axes):
    rng = np.random.default_rng(7)
    out = []
    for i in f.wrt:
        t = rng.standard_normal(np.shape(args[i]))
        out.append(t + 1j * rng.standard_normal(t.shape) if np.iscomplexobj(args[i]) else t)
    return tuple(out) if f.wrt_is_tuple else out[0]


def _close(got, want):
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want):
            _close(g, w)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("backend", ["python", "numba"])
@pytest.mark.parametrize("case", list(CASES))
def test_the_five_programs_equal_the_cpu_target(case, backend):
    if backend == "numba" and case not in ("iir", "beamformer per direction"):
        pytest.skip("numba's element kernels for two programs (one complex); the python backend runs all five")
    fn, wrt, in_axes, make = CASES[case]
    f = adc.differentiate(fn, wrt=wrt, backend=backend)
    args = make(np.random.default_rng(3))
    cpu, gpu = f.batched(in_axes=in_axes), f.batched(in_axes=in_axes, target="cuda")
    _close(gpu(*args), cpu(*args))
    _close(gpu.value_and_grad(*args), cpu.value_and_grad(*args))  # shared gradients: the sum over the batch
    tangents = _tangents(f, args, in_axes)
    _close(gpu.jvp(*args, tangents=tangents), cpu.jvp(*args, tangents=tangents))


def test_array_and_tuple_results_and_module_arrays():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 30))
    for fn, cotangent in ((filtered, rng.standard_normal((5, 30))), (energy_and_last, (np.ones(5), rng.standard_normal(5)))):
        f = adc.differentiate(fn, wrt=("b", "a"), backend="python")
        cpu, gpu = f.batched(in_axes=(None, None, 0)), f.batched(in_axes=(None, None, 0), target="cuda")
        _close(gpu(0.5, 0.8, x), cpu(0.5, 0.8, x))
        _close(gpu.vjp(0.5, 0.8, x, cotangent=cotangent), cpu.vjp(0.5, 0.8, x, cotangent=cotangent))
    f = adc.differentiate(windowed_energy, wrt="g", backend="python")
    x = rng.standard_normal((5, 40))
    _close(f.batched(in_axes=(None, 0), target="cuda").value_and_grad(1.3, x),
           f.batched(in_axes=(None, 0)).value_and_grad(1.3, x))


def test_the_primal_writes_mapped_arguments_as_on_the_cpu():
    f = adc.differentiate(normalise_in_place, wrt="g", backend="python")
    x = np.random.default_rng(5).standard_normal((4, 20))
    on_cpu, on_gpu = x.copy(), x.copy()
    _close(f.batched(in_axes=(0, None), target="cuda")(on_gpu, 0.7), f.batched(in_axes=(0, None))(on_cpu, 0.7))
    np.testing.assert_array_equal(on_gpu, on_cpu)
    grads = f.batched(in_axes=(0, None), target="cuda").grad(on_gpu.copy(), 0.7)
    np.testing.assert_allclose(grads, f.batched(in_axes=(0, None)).grad(on_cpu.copy(), 0.7), rtol=1e-12)


def test_a_failing_check_on_the_device_raises_the_users_located_error():
    f = adc.differentiate(overruns, wrt="x", backend="python")
    x = np.random.default_rng(6).standard_normal((3, 8))
    with pytest.raises(IndexError, match=r"batch_programs.py:\d+:\d+: `s \+= \(x\[n\] - t\[n \+ 1\]\) \*\* 2` indexes t"):
        f.batched(in_axes=0, target="cuda").grad(x, x)


def whole_array(a, x):
    y = np.cumsum(a * x)
    return np.sum(y * y)


def matrix_product(a, x):
    m = np.ones((2, x.shape[0]))
    return np.sum((m @ x) * a)


def allocates_in_a_loop(a, x):
    s = 0.0
    for n in range(x.shape[0]):
        w = np.zeros(3)
        w[0] = a * x[n]
        s += w[0] ** 2
    return s


def sized_by_a_loop(a, x):
    n = 0
    for i in range(x.shape[0]):
        if x[i] > 0.0:
            n += 1
    w = np.zeros(n + 1)
    for i in range(n + 1):
        w[i] = a * i
    return np.sum(w * w)


def test_what_the_device_cannot_run_is_refused_at_the_users_line():
    x = np.ones((3, 5))
    with pytest.raises(DeviceError, match=r"cuda_cases.py:\d+:\d+: target='cuda' sizes every array before the "
                                          r"kernel runs: an array's size here depends on a value computed in a loop"):
        adc.differentiate(sized_by_a_loop, wrt="a", backend="python").batched(in_axes=(None, 0), target="cuda")(0.5, x)
    with pytest.raises(DeviceError, match=r"cuda_cases.py:\d+:\d+: target='cuda' runs element loops, not "
                                          r"whole-array calls: np.cumsum of a whole array.*`y = np.cumsum\(a \* x\)`"):
        adc.differentiate(whole_array, wrt="a", backend="python").batched(in_axes=(None, 0), target="cuda").grad(0.5, x)
    with pytest.raises(DeviceError, match=r"cuda_cases.py:\d+:\d+: target='cuda' cannot call adc's runtime helper "
                                          r"rt.matvec"):
        adc.differentiate(matrix_product, wrt="a", backend="python").batched(
            in_axes=(None, 0), target="cuda").grad(0.5, x)
    with pytest.raises(DeviceError, match=r"cuda_cases.py:\d+:\d+: target='cuda' needs every array allocated once, "
                                          r"before the loops.*\(the generated `w = np.zeros\(3, np.float64\)`\)"):
        adc.differentiate(allocates_in_a_loop, wrt="a", backend="python").batched(
            in_axes=(None, 0), target="cuda").grad(0.5, x)
    with pytest.raises(DeviceError, match="does not run checkpointed loops"):
        adc.differentiate(checkpointed_iir, wrt="b", backend="python").batched(
            in_axes=(None, None, 0), target="cuda").grad(0.5, 0.5, x)


def test_the_kernel_is_shown():
    fn, wrt, in_axes, make = CASES["iir"]
    f = adc.differentiate(fn, wrt=wrt, backend="python")
    fb = f.batched(in_axes=in_axes, target="cuda")
    fb.grad(*make(np.random.default_rng(8)))
    text = fb.cuda_source("vjp")
    assert "def iir_loss__vjp__cuda(b, a, x__batch, target__batch, loss__bar__batch, arena__float64," in text
    assert "batch__i = cuda.grid(1)" in text and "x = x__batch[:, batch__i]" in text  # batch axis last
    assert "y_prev__tape = arena__float64[arena__float64__top:arena__float64__top + x_len, batch__i]" in text
    assert "def iir_loss__vjp__sizes(b, a, x, target, loss__bar):" in text


def test_dask_chunks_of_the_batch_run_on_the_device():
    da = pytest.importorskip("dask.array")
    import dask
    fn, wrt, in_axes, make = CASES["iir"]
    f = adc.differentiate(fn, wrt=wrt, backend="python")
    args = make(np.random.default_rng(9))
    chunked = [da.from_array(a, chunks=(2, -1)) if axis is not None else a for a, axis in zip(args, in_axes)]
    with dask.config.set(scheduler="synchronous"):
        got = dask.compute(f.batched(in_axes=in_axes, target="cuda").value_and_grad(*chunked))[0]
    _close(tuple(got[1]), f.batched(in_axes=in_axes).value_and_grad(*args)[1])
    np.testing.assert_allclose(got[0], f.batched(in_axes=in_axes)(*args), rtol=1e-12)


def test_random_loop_programs_agree_with_the_cpu_target():
    """The fuzzer's loop profile through the oracle, which under the simulator also runs target='cuda'
    (tests/fuzz/oracle.py check_cuda) and fails on any disagreement with the CPU target."""
    hypothesis = pytest.importorskip("hypothesis")
    from fuzz.gen import programs
    from fuzz.runner import check_program

    @hypothesis.settings(max_examples=60, deadline=None, derandomize=True, database=None, print_blob=False,
                         suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.given(programs("loops"))
    def judged(program):
        check_program(program)
    judged()


def slice_arithmetic(x):
    return np.mean(np.sin(0.5 * x[::2]))


def test_arithmetic_on_a_slice_is_refused_not_crashed():
    """Found by the fuzzer: `u * v[::2]` got past the device check (a slice, not a name, is the array) and
    failed inside the simulator."""
    f = adc.differentiate(slice_arithmetic, wrt="x", backend="python")
    with pytest.raises(DeviceError, match="not whole-array"):
        f.batched(in_axes=0, target="cuda")(np.ones((3, 4)))


def broadcast_sum(x, y):
    return np.sum(x * y)


def test_arrays_of_different_shapes_in_one_element_loop_are_refused_on_the_device():
    f = adc.differentiate(broadcast_sum, wrt="x", backend="python")
    fb = f.batched(in_axes=(0, None), target="cuda")
    x = np.ones((3, 4))
    _close(fb.grad(x, np.ones(4)), f.batched(in_axes=(0, None)).grad(x, np.ones(4)))
    with pytest.raises(DeviceError, match="arrays of different shapes \\(numpy broadcasting, or arrays of different "
                                          "lengths in neighbouring statements\\), which target='cuda' cannot run yet"):
        fb.grad(x, np.ones(1))


def test_the_element_as_a_device_function_in_your_own_kernel():
    fn, wrt, in_axes, make = CASES["scalar kalman"]
    f = adc.differentiate(fn, wrt=wrt, backend="python")
    args = make(np.random.default_rng(11))
    fb = f.batched(in_axes=in_axes, target="cuda")
    size = args[-1].shape[0]
    element, arguments, collect = fb.cuda_device(*args, kind="vjp", seeds=(np.ones(size),))

    @cuda.jit
    def mine(phi, q, r, z, seed, arena, r0, r1, r2, r3, status):
        i = cuda.grid(1)
        if i < status.shape[0]:
            element(phi, q, r, z, seed, arena, r0, r1, r2, r3, status, i)
    mine[1, 32](*arguments)
    _close(collect(), f.batched(in_axes=in_axes).value_and_grad(*args))


def rebinds_whole_arrays(x, a):
    s = 0.0
    x = np.sin(x) * a
    for i in range(x.shape[0]):
        s += x[i] ** 2
    return s


def recursion_on_a_whole_array_result(x, a):
    y = a * x
    for i in range(1, x.shape[0]):
        y[i] = y[i] + 0.5 * y[i - 1]
    return np.sum(y * y)


@pytest.mark.parametrize("fn", [rebinds_whole_arrays, recursion_on_a_whole_array_result])
def test_whole_array_statements_outside_loops_run_as_element_loops(fn):
    f = adc.differentiate(fn, wrt=("x", "a"), backend="python")
    x = np.random.default_rng(13).standard_normal((4, 7))
    cpu, gpu = f.batched(in_axes=(0, None)), f.batched(in_axes=(0, None), target="cuda")
    _close(gpu.value_and_grad(x, 0.7), cpu.value_and_grad(x, 0.7))
    _close(gpu.jvp(x, 0.7, tangents=(np.ones((4, 7)), 0.5)), cpu.jvp(x, 0.7, tangents=(np.ones((4, 7)), 0.5)))
    _close(gpu(x, 0.7), cpu(x, 0.7))


def test_work_memory_the_host_did_not_size_stops_the_kernel(monkeypatch):
    """The safety net behind __sizes: an allocation past its arena stops the thread (status -2) instead of
    writing beyond it."""
    from adc.backend import cuda as target
    fn, wrt, in_axes, make = CASES["iir"]
    f = adc.differentiate(fn, wrt=wrt, backend="python")
    real = target._shapes
    monkeypatch.setattr(target, "_shapes", lambda *a: [tuple(max(0, n - 1) for n in s) for s in real(*a)])
    with pytest.raises(RuntimeError, match="needed more work memory than adc sized for it"):
        f.batched(in_axes=in_axes, target="cuda").grad(*make(np.random.default_rng(14)))


def sized_by_a_value(a, x):
    w = np.zeros(int(x[0]) + 1)
    for i in range(w.shape[0]):
        w[i] = a * i
    return np.sum(w * w)


def test_sizes_read_from_values_are_sized_for_every_element():
    f = adc.differentiate(sized_by_a_value, wrt="a", backend="python")
    x = np.array([[1.0, 0.0], [5.0, 0.0], [2.0, 0.0]])
    _close(f.batched(in_axes=(None, 0), target="cuda").value_and_grad(0.5, x),
           f.batched(in_axes=(None, 0)).value_and_grad(0.5, x))
