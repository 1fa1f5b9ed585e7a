"""Every script in examples/ runs in its small mode, checks its own gradient and convergence, and saves its plots.

Each example's main(small=True, out_dir=...) raises if its gradient check against central differences fails or
its loss does not fall by the factor it states; here we also check that it wrote non-empty PNG files.
"""
import importlib.util
import os
import sys
from pathlib import Path

import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

# script name -> the optional libraries it needs (skipped when missing)
SCRIPTS = {
    "quickstart": (),
    "lms_step_size": (),
    "kalman_fit": (),
    "deblur": (),
    "biquad_gauss_newton": (),
    "phase_retrieval": (),
    "spectral_matching": (),
    "tracker_fit": (),
    "direction_finding": (),
    "torch_biquad_mlp": ("torch",),
    "jax_biquad_mlp": ("jax",),
    "compressed_sensing": (),
    "mri_reconstruction": (),
    "codec_quantiser": (),
    "learned_equaliser": (),
    "dereverberation": (),
    "super_resolution": (),
    "tomography": (),
    "image_registration": (),
    "array_calibration": (),
}


def load(name):
    """Import examples/NAME.py by path, as module example_NAME (the examples import their siblings)."""
    if str(EXAMPLES) not in sys.path:
        sys.path.insert(0, str(EXAMPLES))
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_example_is_listed():
    helpers = {"biquad_frames"}
    assert {p.stem for p in EXAMPLES.glob("*.py")} - helpers == set(SCRIPTS)


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_example_runs_small(name, tmp_path, monkeypatch):
    for library in SCRIPTS[name]:
        pytest.importorskip(library)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    module = load(name)
    module.main(small=True, out_dir=str(tmp_path))
    pngs = sorted(tmp_path.glob("*.png"))
    assert pngs, f"{name} saved no plot"
    assert all(os.path.getsize(p) > 0 for p in pngs)
    assert (tmp_path / f"{name}.png") in pngs
