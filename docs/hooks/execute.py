"""mkdocs hook: run the docs' code at build time, and make a page per example.

Referenced by ``hooks:`` in mkdocs.yml; ``mkdocs build --strict`` builds the site into site/.

Code blocks
-----------
Every fenced block whose info string is ``python`` (or ``py``) on a page is executed when the page is
built, in order, in one namespace per page: a later block sees what earlier blocks defined. Each block
is written to a file of its own (``<page>_<n>.py`` in a temporary folder, ``n`` counting the page's
Python blocks from 1) and run from there, since adc reads a function's source from its file. The
folder is the working directory while blocks run; ``docs/`` and ``examples/`` are on ``sys.path``
(``from filters import iir_loss`` reads docs/filters.py). A block that raises stops the build with
``PluginError`` naming the page, the block's number, its first line, and the traceback.

What a block prints (stdout and stderr, warnings included) is shown under it, in an "Output" box,
with this folder's path and the repository's taken out of file names. Blocks written as a doctest
(first line ``>>>``) are run by ``doctest`` instead: the output they show is compared with what they
print, and a difference fails the build.

A block is marked by an HTML comment on the line right before its fence (blank lines between are
not allowed); the comment is left in the page, where it renders as nothing:

``<!-- listing -->``
    not run: generated code shown as adc prints it, a fragment of a larger function, a module's
    declaration. Every Python block that is not runnable as it stands must carry this mark.
``<!-- requires: jax, dask -->``
    run only when these modules import; otherwise skipped, with a line in the build's log (the
    ``docs`` extra does not install JAX, Dask or PyTorch; CI's environment has them).
``<!-- raises: CompileError -->``
    must raise an exception of that class (or a subclass of it; several names separated by commas
    allow any of them). The traceback is shown as Python prints it, below what the block printed,
    and the build fails if the block does not raise.

Marks combine in one comment, separated by ``;``: ``<!-- requires: torch; raises: TypeError -->``.

Examples
--------
Every ``examples/NAME.py`` with a module-level ``def main(small=..., out_dir=...)`` gets the page
``examples/NAME.md``: the script's docstring, the figures ``main(small=True, out_dir=...)`` saved
there (PNG, copied into the site as ``examples/NAME/*.png``), what it printed, and its source. The
examples run in subprocesses (matplotlib's Agg backend), started before the pages are read and
running beside them, as many at once as there are CPUs. An example that raises fails the build, except
one that needs an optional package that is not installed (torch, jax, dask, scipy): its page says so.
A script with ``def main()`` that takes neither argument is an error (the contract above); scripts
without ``main`` (helper modules such as examples/biquad_frames.py) get no page. ``examples/index.md``
is examples/README.md, and ``benchmarks.md`` is benchmarks/README.md.

Environment
-----------
``ADC_DOCS_SKIP=examples`` (or ``blocks``, or ``examples,blocks``) skips running the examples or the
pages' blocks, for quick local iteration; the default build runs both, and so does CI.
``ADC_DOCS_EXAMPLE_TIMEOUT`` is each example's limit in seconds (default 600).
"""
from __future__ import annotations

import ast
import contextlib
import doctest
import importlib.util
import io
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import traceback
import warnings
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, InclusionLevel

log = logging.getLogger("mkdocs.hooks.execute")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
OPTIONAL = ("torch", "jax", "jaxlib", "dask", "distributed", "scipy")
SKIPPED_EXIT = 75  # the example driver's exit status when an optional package is missing

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n]*)$")
MARK = re.compile(r"^[ \t]*<!--(?P<body>.*?)-->[ \t]*$")


def _skip(what: str) -> bool:
    return what in {s.strip() for s in os.environ.get("ADC_DOCS_SKIP", "").split(",")}


# -- finding blocks ----------------------------------------------------------------------------------

class Block:
    def __init__(self, number: int, start: int, end: int, indent: str, lang: str, source: str, marks: dict):
        self.number, self.start, self.end, self.indent = number, start, end, indent
        self.lang, self.source, self.marks = lang, source, marks

    def first_line(self) -> str:
        return next((line.strip() for line in self.source.splitlines() if line.strip()), "")


def parse_marks(comment: str) -> dict[str, list[str]]:
    """`listing; requires: jax, dask` -> {"listing": [], "requires": ["jax", "dask"]}."""
    marks = {}
    for part in comment.split(";"):
        key, _, value = part.partition(":")
        key = key.strip()
        if key:
            marks[key] = [v.strip() for v in value.split(",") if v.strip()]
    return marks


KNOWN_MARKS = {"listing", "requires", "raises"}


def find_blocks(markdown: str) -> list[Block]:
    """The fenced blocks of a page (any language), with the marks in the comment right before each."""
    lines = markdown.split("\n")
    blocks, i, python = [], 0, 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, indent = m["fence"], m["indent"]
        lang = (m["info"].split() or [""])[0].strip("{}.").lower()
        j = i + 1
        while j < len(lines):
            close = FENCE.match(lines[j])
            if close and close["fence"][0] == fence[0] and len(close["fence"]) >= len(fence) and not close["info"].strip():
                break
            j += 1
        body = [line[len(indent):] if line.startswith(indent) else line.lstrip() for line in lines[i + 1:j]]
        marks = {}
        if i > 0 and (mark := MARK.match(lines[i - 1])):
            marks = parse_marks(mark["body"])
        if lang in ("python", "py"):
            python += 1
        blocks.append(Block(python if lang in ("python", "py") else 0, i, j, indent, lang,
                            "\n".join(body) + "\n", marks))
        i = j + 1
    return blocks


# -- running a page's blocks ----------------------------------------------------------------------------

class PageRunner:
    """One namespace per page; each block runs from a file of its own in `workdir`."""

    def __init__(self, page: str, workdir: Path):
        self.page, self.workdir = page, workdir
        self.stem = re.sub(r"\W", "_", Path(page).with_suffix("").as_posix())
        self.namespace = {"__name__": f"docs_{self.stem}", "__builtins__": __builtins__}

    def tidy(self, text: str) -> str:
        for folder in (str(self.workdir), str(ROOT)):
            text = text.replace(folder + os.sep, "")
        return text

    def fail(self, block: Block, why: str):
        raise PluginError(f"docs/{self.page}, Python block {block.number} (line {block.start + 1}: "
                          f"{block.first_line()!r}) {why}")

    def run(self, block: Block) -> str | None:
        """Run one block; returns what to show under it (None: nothing)."""
        path = self.workdir / f"{self.stem}_{block.number}.py"
        path.write_text(block.source)
        self.namespace["__file__"] = str(path)
        if block.first_line().startswith(">>>"):
            self.run_doctest(block, path)
            return None
        expected = tuple(block.marks.get("raises", ()))
        out = io.StringIO()
        try:
            code = compile(block.source, str(path), "exec")
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out), warnings.catch_warnings():
                warnings.simplefilter("default")
                warnings.showwarning = lambda msg, cat, filename, lineno, file=None, line=None: out.write(
                    warnings.formatwarning(msg, cat, filename, lineno, line))
                exec(code, self.namespace)
        except Exception as exc:  # noqa: BLE001 - any exception of a block is reported
            names = {cls.__name__ for cls in type(exc).__mro__} | {f"{cls.__module__}.{cls.__name__}" for cls in type(exc).__mro__}
            shown = self.traceback(exc, path)
            if expected and names & set(expected):
                return self.tidy(out.getvalue() + shown)
            self.fail(block, f"raised:\n{out.getvalue()}{shown}" if not expected else
                      f"raised {type(exc).__name__}, not {' or '.join(expected)}:\n{out.getvalue()}{shown}")
        if expected:
            self.fail(block, f"did not raise {' or '.join(expected)}; it printed:\n{out.getvalue()}")
        return self.tidy(out.getvalue()) or None

    def traceback(self, exc: BaseException, path: Path) -> str:
        """The traceback as Python prints it, without this hook's own frame (the `exec`)."""
        tb = exc.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
            tb = tb.tb_next
        return "".join(traceback.format_exception(type(exc), exc, tb))

    def run_doctest(self, block: Block, path: Path):
        test = doctest.DocTestParser().get_doctest(block.source, self.namespace, path.name, str(path), 0)
        report = io.StringIO()
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        runner.run(test, out=report.write, clear_globs=False)
        if runner.failures:
            self.fail(block, f"(a doctest) printed something else:\n{self.tidy(report.getvalue())}")


def output_box(text: str, indent: str) -> list[str]:
    text = text.rstrip("\n")
    fence = "```"
    while fence in text:
        fence += "`"
    box = ['!!! output "Output"', "", f"    {fence}text"] + [f"    {line}" if line else "" for line in text.split("\n")]
    return [""] + [indent + line if line else "" for line in box + [f"    {fence}", ""]]


def missing(modules: list[str]) -> list[str]:
    return [m for m in modules if importlib.util.find_spec(m) is None]


def execute_page(markdown: str, page: str, workdir: Path) -> str:
    blocks = [b for b in find_blocks(markdown) if b.number]
    if not blocks:
        return markdown
    runner = PageRunner(page, workdir)
    lines = markdown.split("\n")
    inserted = []  # (line after the closing fence, lines to insert)
    sys_path, cwd = list(sys.path), os.getcwd()
    sys.path[:0] = [str(ROOT / "docs"), str(EXAMPLES)]
    os.chdir(workdir)
    try:
        for block in blocks:
            unknown = set(block.marks) - KNOWN_MARKS
            if unknown:
                runner.fail(block, f"has an unknown mark {sorted(unknown)} (marks: {sorted(KNOWN_MARKS)})")
            if "listing" in block.marks:
                continue
            if absent := missing(block.marks.get("requires", [])):
                log.info(f"docs/{page}: Python block {block.number} skipped: {', '.join(absent)} not installed")
                continue
            shown = runner.run(block)
            if shown:
                inserted.append((block.end + 1, output_box(shown, block.indent)))
    finally:
        sys.path[:] = sys_path
        os.chdir(cwd)
    for at, box in reversed(inserted):
        lines[at:at] = box
    return "\n".join(lines)


# -- examples -------------------------------------------------------------------------------------------

DRIVER = textwrap.dedent("""\
    import importlib.util, os, sys
    import matplotlib
    matplotlib.use("Agg")
    name, path, out = sys.argv[1:4]
    sys.path.insert(0, os.path.dirname(path))
    optional = set(sys.argv[4].split(","))
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        module.main(small=True, out_dir=out)
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] in optional:
            print(f"needs {exc.name.split('.')[0]}, which is not installed")
            sys.exit(%d)
        raise
    """ % SKIPPED_EXIT)


def example_scripts() -> dict[str, tuple[str, bool]]:
    """{name: (docstring, takes_contract)} for each examples/NAME.py with a module-level main."""
    found = {}
    for path in sorted(EXAMPLES.glob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        main = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main"), None)
        if main is None:
            continue
        params = {a.arg for a in main.args.args + main.args.kwonlyargs}
        found[path.stem] = (ast.get_docstring(tree) or "", {"small", "out_dir"} <= params)
    return found


class Example:
    def __init__(self, name: str, doc: str, out_dir: Path):
        self.name, self.doc, self.out_dir = name, doc, out_dir
        self.future: Future | None = None

    def run(self) -> tuple[int, str]:
        start = time.monotonic()
        try:
            return self._run()
        finally:
            log.info(f"examples/{self.name}.py: main(small=True) took {time.monotonic() - start:.1f} s")

    def _run(self) -> tuple[int, str]:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        timeout = float(os.environ.get("ADC_DOCS_EXAMPLE_TIMEOUT", "600"))
        env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"}
        with subprocess.Popen([sys.executable, "-c", DRIVER, self.name, str(EXAMPLES / f"{self.name}.py"),
                               str(self.out_dir), ",".join(OPTIONAL)], cwd=ROOT, env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as self.process:
            try:
                output, _ = self.process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                output, _ = self.process.communicate()
                return -1, f"{output}\n(stopped after {timeout:.0f} s: ADC_DOCS_EXAMPLE_TIMEOUT)"
        return self.process.returncode, output

    def stop(self):
        if self.future is not None and self.future.cancel():
            return
        process = getattr(self, "process", None)
        if process is not None and process.poll() is None:
            process.kill()


def example_page(ex: Example, figures: list[str], status: str, output: str) -> str:
    title, _, body = ex.doc.strip().partition("\n")
    source = (EXAMPLES / f"{ex.name}.py").read_text()
    fence = "```"
    while fence in source:
        fence += "`"
    parts = [f"# {ex.name}", "", f"**{title.strip()}**", "", body.strip(), "",
             f"Run it from the repository root: `python examples/{ex.name}.py`. The figures and the output "
             f"below are from `main(small=True)`, run when this site was built.", ""]
    if status:
        parts += ["!!! warning \"Not run in this build\"", "", f"    {status}", ""]
    if figures:
        parts += ["## Figures", ""]
        parts += [f"![{ex.name}: {Path(f).stem}]({ex.name}/{f})" + "{ loading=lazy }" + "\n" for f in figures]
    if output.strip():
        parts += ["## What it printed", "", '??? output "Output of main(small=True)"', "",
                  "    " + fence + "text"] + [f"    {line}" if line else "" for line in output.rstrip().split("\n")]
        parts += ["    " + fence, ""]
    parts += ["## Source", "", f"`examples/{ex.name}.py`:", "", "<!-- listing -->", fence + "python",
              source.rstrip("\n"), fence, ""]
    return "\n".join(parts)


def index_of_examples(examples: dict[str, Example]) -> str:
    text = (EXAMPLES / "README.md").read_text()
    pages = "\n".join(f"- [{name}]({name}.md): {ex.doc.strip().splitlines()[0] if ex.doc.strip() else ''}"
                      for name, ex in examples.items())
    return text.rstrip() + "\n\n## The examples' pages\n\nEach page shows the script's figures at small size, " \
        "made when this site was built, what it printed and its source:\n\n" + pages + "\n"


# -- the hook's events ------------------------------------------------------------------------------------

class State:
    workdir: Path | None = None
    pool: ThreadPoolExecutor | None = None
    examples: dict[str, Example] = {}
    repository_site = False  # building docs/ itself: the examples' and benchmarks' pages too


STATE = State()


def on_config(config):
    """The nav's "Examples" entry becomes a section: the index, then one page per example."""
    STATE.repository_site = Path(config.docs_dir).resolve() == ROOT / "docs"
    if not STATE.repository_site:  # another project using this hook (tests/test_docs_site.py): its blocks only
        return config
    names = list(example_scripts())
    nav = config.nav or []
    for i, entry in enumerate(nav):
        if isinstance(entry, dict) and "Examples" in entry and isinstance(entry["Examples"], str):
            nav[i] = {"Examples": [{"Overview": "examples/index.md"}] + [{n: f"examples/{n}.md"} for n in names]}
    return config


def on_pre_build(config):
    """Start the examples (they run while the pages are read)."""
    if STATE.workdir is not None:
        shutil.rmtree(STATE.workdir, ignore_errors=True)
    STATE.workdir = Path(tempfile.mkdtemp(prefix="adc-docs-"))
    (STATE.workdir / "blocks").mkdir()
    STATE.examples = {}
    if not STATE.repository_site:
        return
    STATE.pool = ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1))
    for name, (doc, contract) in example_scripts().items():
        if not contract and not _skip("examples"):
            raise PluginError(f"examples/{name}.py: main() must take (small=True, out_dir=None), which the docs "
                              "build calls as main(small=True, out_dir=...) to save the example's figures")
        ex = STATE.examples[name] = Example(name, doc, STATE.workdir / "figures" / "examples" / name)
        if not _skip("examples"):
            ex.future = STATE.pool.submit(ex.run)


def on_files(files, config):
    if not STATE.repository_site:
        return files
    for name in STATE.examples:
        files.append(File.generated(config, f"examples/{name}.md", content=f"# {name}\n",
                                    inclusion=InclusionLevel.INCLUDED))
    files.append(File.generated(config, "examples/index.md", content=index_of_examples(STATE.examples),
                                inclusion=InclusionLevel.INCLUDED))
    files.append(File.generated(config, "benchmarks.md", content=(ROOT / "benchmarks" / "README.md").read_text(),
                                inclusion=InclusionLevel.INCLUDED))
    return files


def on_page_markdown(markdown, page, config, files):
    src = page.file.src_uri
    name = src[len("examples/"):-len(".md")] if src.startswith("examples/") else None
    if name in STATE.examples:
        ex = STATE.examples[name]
        status, output, figures = "", "", []
        if ex.future is None:
            status = "ADC_DOCS_SKIP=examples: the example was not run, so the page has no figures."
        else:
            code, output = ex.future.result()
            if code == SKIPPED_EXIT:
                status, output = output.strip().splitlines()[-1] + ": its figures are missing from this build.", ""
                log.info(f"examples/{name}.py not run: {status}")
            elif code != 0:
                raise PluginError(f"examples/{name}.py: main(small=True, out_dir=...) failed (exit status {code}):\n"
                                  f"{output}")
            figures = sorted(p.name for p in ex.out_dir.glob("*.png"))
            if code == 0 and not figures:
                raise PluginError(f"examples/{name}.py: main(small=True, out_dir=...) saved no PNG into out_dir")
            for fig in figures:
                files.append(File(f"examples/{name}/{fig}", str(STATE.workdir / "figures"), config.site_dir,
                                  config.use_directory_urls))
        markdown = example_page(ex, figures, status, output)
    if _skip("blocks"):
        return markdown
    start = time.monotonic()
    markdown = execute_page(markdown, src, STATE.workdir / "blocks")
    if time.monotonic() - start > 1.0:
        log.info(f"docs/{src}: its Python blocks took {time.monotonic() - start:.1f} s")
    return markdown


def on_post_build(config):
    if STATE.pool is not None:
        STATE.pool.shutdown(wait=True)
    if STATE.workdir is not None:
        shutil.rmtree(STATE.workdir, ignore_errors=True)
        STATE.workdir = None


def on_build_error(error):
    """Stop the examples still running, so that a failed build ends at once."""
    for ex in STATE.examples.values():
        ex.stop()
    on_post_build(None)
