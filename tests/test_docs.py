"""The docs show generated code: check it is what adc generates today."""
import re
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs"))
import filters  # noqa: E402


def test_readme_shows_the_generated_iir_adjoint():
    x = np.linspace(0, 1, 8)
    filters.iir_loss.grad(0.5, 0.3, x, x)
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    assert filters.iir_loss.adjoint_source() + "\n" in blocks


def test_readme_quick_start_has_exactly_two_commands():
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("##", 1)[0]
    (commands,) = re.findall(r"```bash\n(.*?)```", quick, re.S)
    assert len(commands.strip().splitlines()) == 2
    assert (ROOT / "examples" / "quickstart.py").exists()


def test_readme_first_example_runs(tmp_path):
    readme = (ROOT / "README.md").read_text()
    first = re.findall(r"```python\n(.*?)```", readme, re.S)[0]
    script = tmp_path / "readme_example.py"
    script.write_text(first.replace("10**6", "10**3"))
    namespace = runpy.run_path(str(script))
    assert np.isfinite(namespace["db"]) and np.isfinite(namespace["da"])


def test_stages_page_shows_the_current_listings():
    import make_stages
    page = (ROOT / "docs" / "stages.md").read_text()
    assert page == make_stages.TEMPLATE.format(**make_stages.listings()), "run python docs/make_stages.py"


def test_complex_page_numbers_are_what_adc_returns():
    import complex_examples as ce

    import adc
    z = 0.3 + 0.4j
    page = (ROOT / "docs" / "complex.md").read_text()
    for convention, expected in (("real-imag", 0.6 + 0.8j), ("wirtinger", 0.3 - 0.4j), ("conj-wirtinger", 0.3 + 0.4j)):
        g = adc.differentiate(ce.squared_magnitude, complex_grad=convention, backend="python").grad(z)
        assert g == pytest.approx(expected, abs=1e-12)
        assert f"{expected.real:.1f}{expected.imag:+.1f}j" in page
    zz = np.array([0.3 + 0.4j, -0.2 + 0.1j, 0.5 - 0.3j, 0.1 + 0.2j])
    m = np.array([1.0, 0.5, 0.2, 0.1])
    g = adc.differentiate(ce.phase_retrieval, backend="python").grad(zz, m)
    row = "| adc (default) | [" + ", ".join(f"{v.real:.4f}{v.imag:+.4f}j" for v in g) + "] |"
    assert row in page


def test_batching_page_shows_the_generated_batched_vjp():
    batch = filters.iir_loss.batched(in_axes=(None, None, 0, 0))
    x = np.linspace(0, 1, 16).reshape(2, 8)
    losses, (db, da) = batch.value_and_grad(0.5, 0.3, x, x)
    assert losses.shape == (2,) and np.isfinite(db) and np.isfinite(da)
    page = (ROOT / "docs" / "batching.md").read_text()
    assert batch.batched_source() in re.findall(r"```python\n(.*?)```", page, re.S)
