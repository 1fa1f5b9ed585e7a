"""The printable stages and the public API contract of API.md."""
import inspect
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import adc
from adc.frontend.lower import lower_function
from adc.ir.core import F64, Array, Op, Region, Value
from adc.ir.verify import IRError, verify

import dsp_programs as progs

X = np.linspace(-1, 1, 16)
T = np.cos(X)


def test_ssa_ir_shows_loop_carried_state_and_locations():
    f = adc.differentiate(progs.iir_loss, wrt=("b", "a"), backend="python")
    f(0.5, 0.2, X, T)
    ir = f.ir()
    assert "func @iir_loss(%b" in ir and "array<f64, 1>" in ir
    assert "carry (%loss" in ir and "%y_prev" in ir
    assert "dsp_programs.py:" in ir
    assert "yield" in ir and "return" in ir


def test_reverse_stage_is_the_adjoint_source():
    f = adc.differentiate(progs.iir_loss, wrt=("b", "a"), backend="python")
    f.grad(0.5, 0.2, X, T)
    assert f.ir("reverse") == f.adjoint_source()
    with pytest.raises(ValueError, match="unknown IR stage"):
        f.ir("nonsense")


def test_adjoint_source_reads_like_a_hand_written_adjoint():
    f = adc.differentiate(progs.iir_loss, wrt=("b", "a"), backend="python")
    f.grad(0.5, 0.2, X, T)
    src = f.adjoint_source()
    assert src.startswith("def iir_loss__vjp(b, a, x, target, loss__bar):")
    assert "y_prev__tape = rt.tape(" in src, "one tape, preallocated from the trip count"
    assert src.count("__tape = rt.tape") == 1
    lines, start = inspect.getsourcelines(progs.iir_loss)
    line = start + next(i for i, text in enumerate(lines) if "loss +=" in text)
    assert f"# dsp_programs.py:{line}  loss += (y - target[n]) ** 2" in src
    assert "x__bar" not in src and "target__bar" not in src, "no adjoints of inactive values"
    assert "y = b * x[n] - a * y_prev" in src
    assert "a__bar -= y__bar * y_prev" in src


def test_verifier_rejects_use_before_definition():
    fn = lower_function(progs.iir_loss, [F64, F64, Array("float64", 1), Array("float64", 1)])
    verify(fn)
    stray = Value(F64, "stray")
    fn.body.ops.insert(0, Op("neg", [stray], [Value(F64)], loc=None))
    fn.body.ops[0].results[0].owner = fn.body.ops[0]
    with pytest.raises(IRError, match="before its definition"):
        verify(fn)


def test_verifier_requires_terminators():
    fn = lower_function(progs.newton_sqrt, [F64])
    fn.body.ops.pop()
    with pytest.raises(IRError, match="expected return"):
        verify(fn)
    assert isinstance(fn.body, Region)


def test_decorator_forms_are_the_same_object_kind():
    bare = adc.differentiate(progs.newton_sqrt)
    called = adc.differentiate(wrt=0)(progs.newton_sqrt)
    plain = adc.differentiate(progs.newton_sqrt, wrt=(0,))
    assert isinstance(bare, adc.Differentiated) and isinstance(called, adc.Differentiated)
    assert bare.python is progs.newton_sqrt
    assert bare.grad(4.0) == pytest.approx(0.25) and called.grad(4.0) == pytest.approx(0.25)
    assert plain.grad(4.0) == (pytest.approx(0.25),), "a tuple wrt gives a tuple of gradients"


def test_wrt_by_index_and_by_name_agree():
    by_name = adc.differentiate(progs.iir_loss, wrt=("a", "b"), backend="python")
    by_index = adc.differentiate(progs.iir_loss, wrt=(1, 0), backend="python")
    assert by_name.grad(0.5, 0.2, X, T) == by_index.grad(0.5, 0.2, X, T)


def test_vjp_of_an_array_result_is_the_cotangent_weighted_gradient():
    f = adc.differentiate(progs.fir_loss, wrt=(0, 1), backend="python")
    value, grads = f.vjp(np.ones(3), X, T, cotangent=2.0)
    assert value == pytest.approx(progs.fir_loss(np.ones(3), X, T))
    g = f.grad(np.ones(3), X, T)
    np.testing.assert_allclose(grads[0], 2.0 * g[0])


def test_call_keeps_in_place_writes_and_grad_leaves_arguments_untouched():
    import construct_programs as cp
    f = adc.differentiate(cp.overwrite_argument, wrt=(0, 1), backend="numba")
    w1, w2 = np.ones(3), np.ones(3)
    assert f(X, w1) == pytest.approx(cp.overwrite_argument(X, w2))
    np.testing.assert_array_equal(w1, w2)
    w3 = np.ones(3)
    f.grad(X, w3)
    np.testing.assert_array_equal(w3, np.ones(3))


def test_one_kernel_per_signature():
    f = adc.differentiate(progs.iir_loss, wrt=("b", "a"))
    f(0.5, 0.2, X, T)
    f(0.5, 0.2, X + 1, T)
    assert len(f._specs) == 1
    f(0.5, 0.2, X.astype(np.float32), T)
    assert len(f._specs) == 2


def test_numba_and_python_backends_run_the_same_source():
    fast = adc.differentiate(progs.kalman_nll, wrt=(0, 1, 2))
    slow = adc.differentiate(progs.kalman_nll, wrt=(0, 1, 2), backend="python")
    z = np.sin(X)
    np.testing.assert_allclose(fast.grad(0.9, 0.1, 0.2, z), slow.grad(0.9, 0.1, 0.2, z), rtol=1e-12)
    assert fast.adjoint_source() == slow.adjoint_source()


def test_disk_cache_is_reused_by_a_second_process(tmp_path):
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        import numpy as np, adc, dsp_programs as p
        f = adc.differentiate(p.iir_loss, wrt=("b", "a"))
        x = np.ones(8)
        t0 = time.perf_counter()
        g = f.grad(0.5, 0.2, x, x)
        print(time.perf_counter() - t0, g[0])
    """)
    env = dict(os.environ, ADC_CACHE_DIR=str(tmp_path))
    cold = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    warm = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert cold.stdout.split()[1] == warm.stdout.split()[1]
    assert any(p.suffix == ".nbi" for p in tmp_path.rglob("*")), "numba wrote its cache beside the generated file"
    assert float(warm.stdout.split()[0]) < float(cold.stdout.split()[0])


def test_inspection_before_any_call_explains_itself():
    f = adc.differentiate(progs.newton_sqrt)
    with pytest.raises(RuntimeError, match="call it .* once first"):
        f.adjoint_source()


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_module_level_numbers_are_read_at_each_call(backend):
    """A global number is folded into the compiled code; when it changes, adc compiles again."""
    from fuzz.oracle import load
    module = load("import numpy as np\n\nGAIN = 1.5\n\n\ndef helper(x):\n    return GAIN * x\n\n\n"
                  "def main(x):\n    return np.sum(helper(x) ** 2)\n", prefix="adcglobals")
    f = adc.differentiate(module.main, backend=backend)
    x = np.array([1.0, -2.0, 0.5])
    for gain in (1.5, 3.0, 1.5):
        module.GAIN = gain
        assert f(x) == pytest.approx(np.sum((gain * x) ** 2), rel=1e-14)
        np.testing.assert_allclose(f.grad(x), 2 * gain ** 2 * x, rtol=1e-14)


def test_first_calls_from_many_threads_compile_once():
    import threading

    from fuzz.oracle import load
    module = load("import numpy as np\n\n\ndef main(x, a):\n    return np.sum(np.tanh(a * x))\n", prefix="adcthreads")
    f = adc.differentiate(module.main, wrt="a", backend="python")
    x, results, errors = np.linspace(-1.0, 1.0, 5), [], []

    def call():
        try:
            results.append(f.grad(x, 0.7))
        except Exception as exc:  # noqa: BLE001  collected and asserted below
            errors.append(exc)
    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    expected = np.sum(x * (1 - np.tanh(0.7 * x) ** 2))
    assert len(results) == 8 and all(r == pytest.approx(expected, rel=1e-14) for r in results)
    assert len(f._specs) == 1


def test_differentiated_functions_pickle_by_reference():
    import pickle
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs"))
    import filters  # docs/filters.py: iir_loss is decorated at module level
    x = np.linspace(0.0, 1.0, 16)
    for f in (filters.iir_loss, adc.differentiate(filters.iir_loss.python, wrt="b", backend="python")):
        g = pickle.loads(pickle.dumps(f))
        assert g(0.5, 0.3, x, x) == f(0.5, 0.3, x, x)
        assert np.allclose(pickle.loads(pickle.dumps(f.grad))(0.5, 0.3, x, x), f.grad(0.5, 0.3, x, x), rtol=1e-14)


def _squared_error(b, x, target):
    loss = 0.0
    for n in range(x.shape[0]):
        loss += (b * x[n] - target[n]) ** 2
    return loss


def test_boundscheck_false_leaves_the_checks_out():
    import pickle
    x = np.linspace(0.0, 1.0, 6)
    checked = adc.differentiate(_squared_error, backend="python")
    bare = adc.differentiate(_squared_error, backend="python", boundscheck=False)
    assert checked.value_and_grad(0.5, x, x) == bare.value_and_grad(0.5, x, x)
    assert "OutOfBounds" in checked.primal_source() and "OutOfBounds" in checked.adjoint_source()
    assert "OutOfBounds" not in bare.primal_source() and "OutOfBounds" not in bare.adjoint_source()
    with pytest.raises(IndexError, match="target"):
        checked(0.5, x, x[:3])
    assert not pickle.loads(pickle.dumps(bare)).boundscheck


def _scaled_energy(x, c):
    return np.sum((c * x) ** 2)


def test_compile_stats_name_each_stage_and_only_the_kernels_called(capfd, monkeypatch):
    """grad compiles the reverse-mode kernel only; ADC_TIMING=1 prints each stage as it finishes."""
    monkeypatch.setenv("ADC_TIMING", "1")
    f = adc.differentiate(_scaled_energy, wrt="c")
    x = np.linspace(0.0, 1.0, 7)
    assert f.grad(x, 2.0) == pytest.approx(2 * 2.0 * np.sum(x ** 2), rel=1e-12)
    stats = f.compile_stats()
    assert list(stats)[:3] == ["lower", "checks", "primal"] and {"vjp", "jvp", "print", "load"} <= set(stats)
    assert stats["numba vjp"] > 0 and 0 <= stats["llvm vjp"] <= stats["numba vjp"]
    assert "numba jvp" not in stats and "numba primal" not in stats
    printed = capfd.readouterr().err
    assert "adc timing: _scaled_energy(array<f64, 1>, f64): lower" in printed and "numba vjp" in printed
    f.jvp(x, 2.0, tangents=1.0)
    assert "numba jvp" in f.compile_stats()


def test_kernels_compile_at_o2_and_numba_opt_wins(monkeypatch):
    """numba's -O3 unswitches broadcasting loops (docs/backends.md, "Compile time"); the kernel
    restores numba's own level after compiling, and a user's NUMBA_OPT is left alone."""
    import numba

    from adc.backend import compile as backend
    seen = []
    monkeypatch.setattr(backend.CPUDispatcher, "compile", lambda self, sig: seen.append(int(numba.config.OPT)))
    before = int(numba.config.OPT)
    backend.jit(_scaled_energy, "numba").compile("(float64[:], float64)")
    monkeypatch.setenv("NUMBA_OPT", "3")
    backend.jit(_scaled_energy, "numba").compile("(float64[:], float64)")
    assert seen == [2, before] and int(numba.config.OPT) == before


def test_verifier_counts_the_parts_of_a_loop():
    """A for with two carried values but one result: a broken lowering, named, not a wrong adjoint later."""
    ir = lower_function(progs.iir_loss, [F64, F64, Array("float64", 1), Array("float64", 1)])
    loop = next(op for op in ir.body.ops if op.opcode == "for")
    verify(ir)
    loop.results.append(Value(F64, "extra", owner=loop))
    with pytest.raises(IRError, match="for at .* with 3 results has .*expected"):
        verify(ir)


def _energy(x, t):
    d = x - t
    return np.sum(d * d)


def test_a_square_written_as_a_product_has_one_adjoint_term():
    """d * d: one contribution 2 * d, not two equal ones, and no summing down (d has the result's shape)."""
    f = adc.differentiate(_energy, backend="python")
    x, t = np.linspace(-1.0, 1.0, 5), np.linspace(0.0, 0.5, 5)
    assert f.grad(x, t) == pytest.approx(2 * (x - t), rel=1e-14)
    source = f.adjoint_source()
    assert source.count("* 2 * d") == 1 and "d__bar = t__bar * 2 * d\n" in source


def _power(x):
    S = np.fft.rfft(x)
    return np.sum(S.real * S.real + S.imag * S.imag)


def test_a_view_read_twice_is_one_op():
    """S.real * S.real: one view of S, squared (one adjoint term); the gradient is Parseval's."""
    f = adc.differentiate(_power, backend="python")
    x = np.linspace(-1.0, 1.0, 8) ** 3
    f.grad(x)
    assert f.ir().count(" = real ") == 1 and f.ir().count(" = imag ") == 1
    h = 1e-6
    fd = np.array([(_power(x + h * e) - _power(x - h * e)) / (2 * h) for e in np.eye(8)])
    assert f.grad(x) == pytest.approx(fd, rel=1e-7, abs=1e-7)
    v = np.cos(np.arange(8.0))
    assert f.jvp(x, tangents=v)[1] == pytest.approx(f.grad(x) @ v, rel=1e-12)  # forward mode, the other path
