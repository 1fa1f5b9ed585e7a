"""The docs site's hook (docs/hooks/execute.py) runs every Python block and fails the build on one that raises.

Each test builds a tiny mkdocs project that uses the hook (its blocks only: the repository's examples and
benchmarks pages belong to docs/ itself), with mkdocs' own theme, so it takes about a second.
"""
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("mkdocs")

ROOT = Path(__file__).resolve().parents[1]
HOOK = ROOT / "docs" / "hooks" / "execute.py"


def project(tmp_path, pages: dict[str, str]) -> Path:
    (tmp_path / "docs").mkdir()
    for name, text in pages.items():
        (tmp_path / "docs" / name).write_text(textwrap.dedent(text))
    nav = "".join(f"  - {name}\n" for name in pages)
    (tmp_path / "mkdocs.yml").write_text(f"site_name: t\ntheme: mkdocs\nhooks:\n  - {HOOK}\nnav:\n{nav}")
    return tmp_path


def build(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=root, capture_output=True,
                          text=True, timeout=120)


def html(root: Path, page: str) -> str:
    return (root / "site" / page / "index.html").read_text()


def test_a_failing_block_fails_the_build_naming_the_page_and_the_block(tmp_path):
    root = project(tmp_path, {"index.md": "# Home\n", "broken.md": """\
        # Broken

        ```python
        x = 1
        ```

        ```python
        y = x + 1
        raise RuntimeError(f"block two fails with y = {y}")
        ```
        """})
    done = build(root)
    assert done.returncode != 0
    assert "docs/broken.md, Python block 2 (line 7: 'y = x + 1')" in done.stderr
    assert "RuntimeError: block two fails with y = 2" in done.stderr


def test_blocks_share_a_namespace_show_their_output_and_listings_are_skipped(tmp_path):
    root = project(tmp_path, {"index.md": """\
        # Home

        ```python
        def gain(x):
            return 2.0 * x
        ```

        <!-- listing -->
        ```python
        this is generated code, not runnable
        ```

        ```python
        import inspect
        print("gain(3) =", gain(3.0))
        print(inspect.getsource(gain).splitlines()[0])  # the block's own file, as adc reads functions
        ```

        ```python
        >>> gain(0.25)
        0.5
        ```

        <!-- requires: a_module_nobody_has -->
        ```python
        import a_module_nobody_has
        ```

        <!-- raises: ZeroDivisionError -->
        ```python
        gain(1.0) / 0.0
        ```
        """})
    done = build(root)
    assert done.returncode == 0, done.stderr
    page = html(root, "")
    assert "gain(3) = 6.0" in page and "def gain(x):" in page
    assert "this is generated code, not runnable" in page
    assert "ZeroDivisionError: float division by zero" in page
    assert "a_module_nobody_has not installed" in done.stderr


@pytest.mark.parametrize("block, words", [
    ("<!-- raises: ValueError -->\n```python\nx = 1\n```\n", "did not raise ValueError"),
    ("<!-- raises: ValueError -->\n```python\n1 / 0\n```\n", "raised ZeroDivisionError, not ValueError"),
    ("```python\n>>> 1 + 1\n3\n```\n", "(a doctest) printed something else"),
    ("<!-- listng -->\n```python\nx = 1\n```\n", "has an unknown mark ['listng']"),
])
def test_marks_are_checked(tmp_path, block, words):
    root = project(tmp_path, {"index.md": "# Home\n\n" + block})
    done = build(root)
    assert done.returncode != 0
    assert "docs/index.md, Python block 1" in done.stderr and words in done.stderr
