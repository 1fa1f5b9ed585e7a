"""The CUDA target ([8/10]): values under numba's simulator (tests/cuda_cases.py, in a process of its own),
every kernel compiled to PTX by the real numba.cuda (needs the CUDA toolkit's NVVM, not a GPU), and the
same cases on a GPU where one is present."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_batched import CASES

import adc

HERE = Path(__file__).resolve().parent
numba_cuda = pytest.importorskip("numba_cuda", reason="numba-cuda is not installed: pip install -e '.[cuda]'")


def _pytest_on(cases: str, env: dict) -> None:
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(HERE / cases)],
                         cwd=HERE, env={**os.environ, **env}, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]


def test_under_the_simulator():
    _pytest_on("cuda_cases.py", {"NUMBA_ENABLE_CUDASIM": "1"})


def _toolkit() -> bool:
    from numba import cuda

    def probe(x):
        x[0] = 1.0
    try:
        cuda.compile_ptx(probe, "void(float64[::1])", cc=(8, 0))
        return True
    except Exception:  # noqa: BLE001  no NVVM here
        return False


@pytest.mark.parametrize("kind", ["primal", "vjp", "jvp"])
@pytest.mark.parametrize("case", list(CASES))
def test_every_kernel_compiles_with_the_real_numba_cuda(case, kind):
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1" or not _toolkit():
        pytest.skip("no CUDA toolkit (NVVM) to compile with")
    from adc.backend import cuda as target
    fn, wrt, in_axes, make = CASES[case]
    f = adc.differentiate(fn, wrt=wrt, backend="python")
    fb = f.batched(in_axes=in_axes, target="cuda")
    batch = fb._batch(make(np.random.default_rng(0)), {})
    spec = f._differentiable_specialization(batch.element)
    seeds = []
    if kind == "vjp":
        seeds = [np.ones(batch.size)]
    elif kind == "jvp":
        seeds = [np.ones_like(batch.moved[i], dtype=np.result_type(batch.moved[i], np.float64)) for i in f.wrt]
        seeds = [s if s.ndim else s.item() for s in seeds]  # a shared number's tangent is a number
    mapped = tuple(fb._mapped(spec)) + fb._seeds_mapped(kind, seeds)
    ptx = target.ptx(spec, kind, list(batch.kernel_args(spec)) + seeds, mapped)
    assert ".visible .entry" in ptx and "__cuda" in ptx and ".visible .func" in ptx and "__device" in ptx


@pytest.mark.gpu
def test_on_a_gpu():
    from numba import cuda
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1" or not cuda.is_available():
        pytest.skip("no GPU here: the simulator test checks the values")
    _pytest_on("cuda_cases.py", {})
