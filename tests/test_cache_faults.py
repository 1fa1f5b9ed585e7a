"""adc's disk cache when it is damaged or cannot be written (docs/backends.md, "The cache: damage
and unwritable folders").

numba and sys.modules keep state per process, so each fault runs in a fresh process with its own
cache folder under tmp_path; the program is tests/cache_fault_programs.py.
"""
import ctypes
import hashlib
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cache_fault_programs as programs
import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def run(tmp_path, env, code="p.report()", prelude="", unprivileged=False):
    """Run `code` with cache_fault_programs imported as p, in a fresh process; its stdout is JSON."""
    env = {k: v for k, v in os.environ.items() if k not in ("ADC_CACHE_DIR", "NUMBA_CACHE_DIR")} | env
    env = {k: v for k, v in env.items() if v is not None}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [env.get("PYTHONPATH"), str(TESTS)]))
    script = f"{prelude}\nimport cache_fault_programs as p\n{code}"
    try:
        done = subprocess.run([sys.executable, "-W", "always", "-c", script], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=300,
                              preexec_fn=bound_by_permissions if unprivileged else None)
    except subprocess.SubprocessError as exc:
        if "preexec_fn" in str(exc):
            pytest.skip("cannot drop CAP_DAC_OVERRIDE here")
        raise
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1]), done.stderr


def bound_by_permissions():
    """root writes into read-only folders; without CAP_DAC_OVERRIDE (dropped from the bounding set
    before exec) the child is bound by chmod as any user is."""
    if os.geteuid() == 0:
        PR_CAPBSET_DROP, CAP_DAC_OVERRIDE = 24, 1
        if ctypes.CDLL(None, use_errno=True).prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE) != 0:
            raise OSError(ctypes.get_errno(), "prctl")


def read_only(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o555)
    return path


def cache_warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "CacheWarning:" in line]


def assert_right(out):
    assert out["grad"] == pytest.approx(programs.expected_grad(), rel=1e-12)


@pytest.fixture(scope="module")
def warm_cache(tmp_path_factory):
    """A cache folder filled by one process; each test damages a copy of it."""
    folder = tmp_path_factory.mktemp("warm")
    out, _ = run(folder, {"ADC_CACHE_DIR": str(folder / "cache")})
    assert out["misses"] == 1
    return folder / "cache"


def numba_files(cache: Path, suffix: str) -> list[Path]:
    return sorted((cache / "__pycache__").glob(f"adc_generated_*{suffix}"))


def truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def garble(path):
    path.write_bytes(bytes(b ^ 0x5A for b in path.read_bytes()))


def flip_bytes(path):
    data = bytearray(path.read_bytes())
    for i in range(len(data) // 3, len(data) // 3 + 64):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def invalid_utf8(path):
    path.write_bytes(path.read_bytes().replace(b"import math", b"import \xff\xfe", 1))


def test_a_good_cache_is_loaded_not_compiled(warm_cache, tmp_path):
    cache = shutil.copytree(warm_cache, tmp_path / "cache")
    out, stderr = run(tmp_path, {"ADC_CACHE_DIR": str(cache)})
    assert_right(out)
    assert (out["hits"], out["misses"]) == (1, 0)
    assert cache_warnings(stderr) == []


@pytest.mark.parametrize("damage, suffix", [(invalid_utf8, ".py"), (truncate, ".nbi"), (garble, ".nbi"),
                                            (truncate, ".nbc"), (flip_bytes, ".nbc")])
def test_a_damaged_entry_is_deleted_and_compiled_again(warm_cache, tmp_path, damage, suffix):
    cache = shutil.copytree(warm_cache, tmp_path / "cache")
    (damaged,) = cache.glob(f"adc_generated_*{suffix}") if suffix == ".py" else numba_files(cache, suffix)
    damage(damaged)
    out, stderr = run(tmp_path, {"ADC_CACHE_DIR": str(cache)})
    assert_right(out)
    (warning,) = cache_warnings(stderr)
    assert str(damaged.parent) in warning and "damaged" in warning
    if suffix == ".py":
        assert damaged.read_bytes() == (warm_cache / damaged.name).read_bytes()
        assert out["hits"] == 1, "numba's files were good, and are used"
    else:
        assert out["misses"] == 1
        (manifest,) = (cache / "__pycache__").glob("*.sha256")
        files = numba_files(cache, ".nb?")
        assert damaged in files, "written again"
        assert json.loads(manifest.read_text()) == {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in files}


def unusable_folder(tmp_path, fault):
    if fault == "read-only":
        return read_only(tmp_path / "read-only")
    a_file = tmp_path / "a_file"
    a_file.write_text("not a folder")
    return a_file / "cache" if fault == "under a file" else a_file


@pytest.mark.parametrize("fault", ["read-only", "under a file", "a file"])
def test_an_unusable_cache_folder_gives_way_to_a_temporary_one(tmp_path, fault):
    folder = unusable_folder(tmp_path, fault)
    out, stderr = run(tmp_path, {"ADC_CACHE_DIR": str(folder), "TMPDIR": str(tmp_path)}, unprivileged=True)
    assert_right(out)
    (warning,) = cache_warnings(stderr)
    assert str(folder) in warning and f"in {tmp_path}{os.sep}adc-cache-" in warning
    assert not list(tmp_path.glob("adc-cache-*")), "the temporary folder is removed at exit"


def test_an_unwritable_home_gives_way_to_a_temporary_folder(tmp_path):
    home = read_only(tmp_path / "home")
    out, stderr = run(tmp_path, {"HOME": str(home), "TMPDIR": str(tmp_path)}, unprivileged=True)
    assert_right(out)
    (warning,) = cache_warnings(stderr)
    assert str(home) in warning and f"in {tmp_path}{os.sep}adc-cache-" in warning


def test_no_home_at_all_gives_way_to_a_temporary_folder(tmp_path):
    """No $HOME and no passwd entry (a container run under an arbitrary uid): Path.home() raises."""
    no_passwd_entry = "import pwd\ndef getpwuid(uid):\n    raise KeyError(uid)\npwd.getpwuid = getpwuid"
    out, stderr = run(tmp_path, {"HOME": None, "TMPDIR": str(tmp_path)}, prelude=no_passwd_entry)
    assert_right(out)
    (warning,) = cache_warnings(stderr)
    assert "home directory" in warning and f"in {tmp_path}{os.sep}adc-cache-" in warning


def test_with_nothing_writable_modules_stay_in_memory(tmp_path):
    no_temporary_folder = ("import tempfile\ndef refuse(*args, **kwargs):\n    raise PermissionError('read-only')\n"
                           "tempfile.TemporaryDirectory = refuse")
    folder = unusable_folder(tmp_path, "a file")
    out, stderr = run(tmp_path, {"ADC_CACHE_DIR": str(folder)}, code="p.report(second_order=True)",
                      prelude=no_temporary_folder)
    assert_right(out)
    assert out["hessian"] == pytest.approx(programs.expected_hessian(), rel=1e-12)
    (warning,) = cache_warnings(stderr)
    assert str(folder) in warning and "nowhere" in warning
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file"]


def test_a_read_only_installation_without_a_usable_home_imports(tmp_path):
    """numba's `cache=True` in the runtime raised at `import adc` ("no locator available") when it
    could write neither beside the runtime nor under ~/.cache."""
    site = tmp_path / "site"
    shutil.copytree(ROOT / "adc", site / "adc", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "runtime", site / "adc" / "runtime", ignore=shutil.ignore_patterns("__pycache__"))
    for folder in [site, *(p for p in site.rglob("*") if p.is_dir())]:
        read_only(folder)
    env = {"HOME": str(read_only(tmp_path / "home")), "XDG_CACHE_HOME": None, "TMPDIR": str(tmp_path),
           "PYTHONPATH": str(site)}
    out, stderr = run(tmp_path, env, unprivileged=True)
    assert out["adc"] == str(site / "adc" / "__init__.py")
    assert_right(out)
    assert len(cache_warnings(stderr)) == 1


def test_first_calls_from_eight_threads_in_three_processes_at_once(tmp_path):
    """Each of three processes, started together on one empty cache folder, compiles the function
    while eight of its threads make the first call."""
    env = dict(os.environ, ADC_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=str(TESTS))
    script = "import cache_fault_programs as p; p.first_calls_from_threads()"
    processes = [subprocess.Popen([sys.executable, "-c", script], env=env, cwd=tmp_path, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(3)]
    for process in processes:
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0 and "Traceback" not in stderr, stderr
        assert json.loads(stdout) == pytest.approx([programs.expected_grad()] * 8, rel=1e-12)


def test_a_function_and_its_grad_unpickle_in_spawned_workers(tmp_path, monkeypatch):
    monkeypatch.setenv("ADC_CACHE_DIR", str(tmp_path))
    calls = [(programs.loss, programs.X, programs.A), (programs.loss.grad, programs.X, programs.A)]
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        value, grad = pool.starmap(programs.call, calls)
    assert value == pytest.approx(programs.loss.python(programs.X, programs.A), rel=1e-12)
    assert grad == pytest.approx(programs.expected_grad(), rel=1e-12)
