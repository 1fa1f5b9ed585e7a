"""What `pip install .` (not -e) ships: every package of adc, so an installed copy imports what the tree does."""
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent


def test_every_subpackage_is_listed_in_pyproject():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {"adc." + ".".join(p.parent.relative_to(ROOT / "adc").parts) if p.parent != ROOT / "adc" else "adc"
             for p in (ROOT / "adc").rglob("__init__.py")} | {"adc.runtime"}
    assert found == listed
