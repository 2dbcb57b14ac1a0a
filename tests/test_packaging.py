"""Packaging: installing lr_lessons keeps the user's TensorFlow; the wheel is the library only.

TensorFlow is no dependency of the package (pyproject.toml says why): the `cpu` and `gpu`
extras install one on a fresh machine, and `import lr_lessons` without any TensorFlow stops
with a one-line message. The quick tests here check that message and the declaration.

The tests marked `packaging` (deselected by default; `.ci/run` runs
`pytest -m packaging tests/test_packaging.py`) build the sdist and the wheel once, run
`twine check`, and install into fresh virtual environments (`python -m venv`, real installs
with their dependencies, pip's cache reused):

- one holding `tensorflow` (on Linux x86-64 the CUDA build) and one holding
  `tensorflow-cpu`: after `pip install <wheel>` (and the extra that suits each) the same
  distribution, version, build and files are imported, and no second distribution provides
  the `tensorflow` package;
- one with the wheel alone: no TensorFlow arrives, and both `import lr_lessons` and
  `lr-lessons` give the one-line message;
- one where the README's Quickstart install line is run as written, in a copy of the
  checkout: a working TensorFlow (the CPU build), `lr-lessons --help` and a quick chapter.

Each step prints its wall time (`pytest -s` shows them).
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import zipfile
from email.parser import HeaderParser
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
VERSION = PYPROJECT["project"]["version"]
LINUX_X86_64 = sys.platform == "linux" and platform.machine() == "x86_64"
# What the `cpu` extra installs here (the `tensorflow` wheel elsewhere).
CPU_DIST = "tensorflow-cpu" if LINUX_X86_64 else "tensorflow"

# Run inside a test environment: which distributions provide the `tensorflow` package, and
# what importing it gives (version, whether it is a CUDA build, the file and its mtime, which
# change if pip reinstalls it).
PROBE = r"""
import importlib.metadata as md, json, os, re
from pathlib import Path
def norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()
providers = sorted({norm(d) for d in md.packages_distributions().get("tensorflow", [])})
out = {"providers": {p: md.version(p) for p in providers}}
if providers:
    import tensorflow as tf
    init = Path(tf.__file__)
    out.update(
        version=tf.__version__,
        cuda=bool(tf.sysconfig.get_build_info().get("is_cuda_build", False)),
        file=str(init),
        mtime_ns=init.stat().st_mtime_ns,
    )
print(json.dumps(out))
"""


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _tf_requirements(requirements: list[str]) -> list[str]:
    return [r for r in requirements if re.match(r"\s*tensorflow([-_]cpu)?\b", r, re.I)]


# ---------------------------------------------------------------- quick tests (default run)


def test_tensorflow_is_no_dependency_and_the_extras_name_one_build():
    project = PYPROJECT["project"]
    assert _tf_requirements(project["dependencies"]) == [], "TensorFlow must stay an extra"
    extras = project["optional-dependencies"]
    for name in ("cpu", "gpu"):
        # Every platform gets exactly one TensorFlow distribution from each extra.
        reqs = _tf_requirements(extras[name])
        assert len(reqs) == 2 and all(";" in r for r in reqs), (name, reqs)
    assert any(r.startswith("tensorflow-cpu") for r in extras["cpu"])
    assert any(r.startswith("tensorflow[and-cuda]") for r in extras["gpu"])
    # No other extra brings TensorFlow in behind the user's back.
    for name, reqs in extras.items():
        if name not in ("cpu", "gpu"):
            assert _tf_requirements(reqs) == [], name
            assert not any(r.startswith("lr-lessons[") for r in reqs), name


def test_metadata_a_published_package_carries():
    project = PYPROJECT["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    assert not any(c.startswith("License ::") for c in project["classifiers"])  # PEP 639
    assert {"Homepage", "Documentation", "Source", "Issues"} <= set(project["urls"])
    assert project["authors"]


def _quickstart_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section)


def test_readme_quickstart_installs_tensorflow_and_ci_runs_its_test_command():
    install, test = _quickstart_commands()[:2]
    assert re.fullmatch(r'pip install "\.\[cpu\]" && lr-lessons figures', install), install
    assert "cpu" in test and test.endswith("&& pytest"), test
    ci = (ROOT / ".ci" / "run").read_text()
    assert test in ci, ".ci/run must run the README's tests"
    assert re.search(r"^pytest -m packaging .*tests/test_packaging\.py$", ci, re.M)


def _import_without_tensorflow(argv0: str) -> subprocess.CompletedProcess:
    code = (
        "import sys\n"
        "sys.modules['tensorflow'] = None  # find_spec now finds no TensorFlow\n"
        f"sys.argv[0] = {argv0!r}\n"
        "import lr_lessons\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_import_without_tensorflow_names_the_install_line():
    proc = _import_without_tensorflow("-c")
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: lr_lessons needs TensorFlow 2.16 or newer"), last
    assert 'pip install ".[cpu]"' in last and 'pip install ".[gpu]"' in last


def test_the_command_without_tensorflow_gives_one_line():
    proc = _import_without_tensorflow("/somewhere/bin/lr-lessons")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lr-lessons: error: lr_lessons needs"), lines


# ------------------------------------------------------ fresh environments (-m packaging)


def _clean_env(extra_path: Path | None = None) -> dict[str, str]:
    """The environment a user's shell would have: none of the test run's own settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LR_LESSONS_", "KERAS_", "PYTEST_"))
        and k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")
    }
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_COMPILE"] = "1"  # no .pyc at install time: saves CPU, installs the same files
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    if extra_path is not None:
        env["PATH"] = f"{extra_path}{os.pathsep}{env.get('PATH', '')}"
    return env


def _run(cmd, *, what: str, cwd: Path | None = None, env=None, check=True, shell=False):
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, shell=shell)
    print(f"\npackaging: {what}: {time.perf_counter() - start:.0f} s", flush=True)
    if check and proc.returncode != 0:
        pytest.fail(
            f"{what} failed ({proc.returncode}):\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
        )
    return proc


class Venv:
    """A fresh virtual environment with an up-to-date pip."""

    def __init__(self, path: Path):
        self.path = path
        self.bin = path / ("Scripts" if os.name == "nt" else "bin")
        self.python = self.bin / "python"
        self.env = _clean_env(self.bin)
        self.env["VIRTUAL_ENV"] = str(path)
        _run([sys.executable, "-m", "venv", str(path)], what=f"venv {path.name}")
        self.pip("install", "--upgrade", "pip", what=f"{path.name}: upgrade pip")

    def pip(self, *args: str, what: str, cwd: Path | None = None):
        return _run(
            [str(self.python), "-m", "pip", "--quiet", *args], what=what, env=self.env, cwd=cwd
        )

    def probe(self) -> dict:
        proc = _run([str(self.python), "-c", PROBE], what=f"{self.path.name}: probe", env=self.env)
        found = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"packaging: {self.path.name}: {found}", flush=True)
        return found

    def would_install(self, requirement: str) -> dict[str, str]:
        """What `pip install requirement` would install (name -> version), installing nothing."""
        report = self.path / "report.json"
        self.pip(
            "install", "--dry-run", "--report", str(report), requirement,
            what=f"{self.path.name}: dry run {Path(requirement).name}",
        )  # fmt: skip
        items = json.loads(report.read_text())["install"]
        return {_norm(i["metadata"]["name"]): i["metadata"]["version"] for i in items}


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> dict[str, Path]:
    """The sdist and the wheel, built once from this checkout (`python -m build`)."""
    if shutil.which("git") is None:
        pytest.fail("git is needed to build from the checkout")
    for module in ("build", "twine"):
        if subprocess.run([sys.executable, "-c", f"import {module}"]).returncode:
            pytest.fail(f'{module} is not installed: pip install -e ".[cpu,test]"')
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], what="python -m build")
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}


@pytest.mark.packaging
def test_sdist_and_wheel_pass_twine_check(dist):
    proc = _run(
        [
            sys.executable,
            "-m",
            "twine",
            "check",
            "--strict",
            str(dist["sdist"]),
            str(dist["wheel"]),
        ],
        what="twine check",
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("PASSED") == 2, proc.stdout


@pytest.mark.packaging
def test_the_wheel_holds_the_library_only(dist):
    names = zipfile.ZipFile(dist["wheel"]).namelist()
    info = f"lr_lessons-{VERSION}.dist-info/"
    assert [n for n in names if not n.startswith(("lr_lessons/", info))] == []
    library = {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "lr_lessons").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert {n for n in names if n.startswith("lr_lessons/")} == library
    wheel = zipfile.ZipFile(dist["wheel"])
    assert wheel.read(info + "licenses/LICENSE").decode() == (ROOT / "LICENSE").read_text()
    meta = HeaderParser().parsestr(wheel.read(info + "METADATA").decode())
    assert meta["License-Expression"] == "MIT" and meta["License-File"] == "LICENSE"
    assert {"cpu", "gpu", "test"} <= set(meta.get_all("Provides-Extra"))
    assert len(meta.get_all("Project-URL")) >= 4
    tf_reqs = _tf_requirements(meta.get_all("Requires-Dist"))
    assert tf_reqs and all("extra ==" in r for r in tf_reqs), tf_reqs
    # The sdist: the library, its metadata, README and licence; no tests, chapters or results.
    import tarfile

    top = f"lr_lessons-{VERSION}/"
    with tarfile.open(dist["sdist"]) as sdist:
        members = [m.name[len(top) :] for m in sdist.getmembers() if m.isfile()]
    others = {m for m in members if not m.startswith(("lr_lessons/", "lr_lessons.egg-info/"))}
    assert others <= {
        "LICENSE",
        "README.md",
        "pyproject.toml",
        "PKG-INFO",
        "setup.cfg",
        "MANIFEST.in",
    }
    assert {"LICENSE", "README.md", "pyproject.toml"} <= others


@pytest.mark.packaging
@pytest.mark.parametrize("installed", ["tensorflow", "tensorflow-cpu"])
def test_installing_keeps_the_tensorflow_already_there(installed, dist, tmp_path):
    if installed == "tensorflow-cpu" and not LINUX_X86_64:
        pytest.skip("this test installs tensorflow-cpu, a Linux x86-64 wheel")
    venv = Venv(tmp_path / installed)
    venv.pip("install", f"{installed}>=2.16,<3", what=f"install {installed}")
    before = venv.probe()
    assert list(before["providers"]) == [installed], before
    if installed == "tensorflow" and LINUX_X86_64:
        assert before["cuda"] is True, "PyPI's tensorflow on Linux x86-64 is the CUDA build"
    if installed == "tensorflow-cpu":
        assert before["cuda"] is False

    # The extra that suits the build already there adds no TensorFlow distribution either;
    # the other one would (the README says to leave the extra out when TensorFlow is there).
    wheel = str(dist["wheel"])
    suited = "cpu" if installed == CPU_DIST else "gpu"
    plan = venv.would_install(f"{wheel}[{suited}]")
    assert not {"tensorflow", "tensorflow-cpu"} & set(plan), plan
    if LINUX_X86_64:
        other, brings = ("cpu", "tensorflow-cpu") if suited == "gpu" else ("gpu", "tensorflow")
        assert brings in venv.would_install(f"{wheel}[{other}]")

    venv.pip("install", wheel, what=f"{installed}: pip install <wheel>")
    if suited == "cpu":  # [gpu] would download the CUDA libraries (GB): dry run above only
        venv.pip("install", f"{wheel}[cpu]", what=f"{installed}: pip install <wheel>[cpu]")
    after = venv.probe()
    assert after == before, (before, after)
    _run([str(venv.python), "-m", "pip", "check"], what=f"{installed}: pip check", env=venv.env)

    # The installed command outside any checkout: its one-line error, no traceback.
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    proc = _run(
        [str(venv.bin / "lr-lessons"), "figures"], what="lr-lessons figures outside a checkout",
        cwd=empty, env=venv.env, check=False,
    )  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("lr-lessons: error:")]
    assert errors == [
        f"lr-lessons: error: no chapters/ folder in {empty.resolve()}: run `lr-lessons figures` "
        "from the lr_lessons checkout (the folder holding chapters/ and pyproject.toml)"
    ], proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == errors[0]


@pytest.mark.packaging
def test_the_wheel_alone_brings_no_tensorflow_and_says_what_to_install(dist, tmp_path):
    venv = Venv(tmp_path / "no-tf")
    venv.pip("install", str(dist["wheel"]), what="no-tf: pip install <wheel>")
    assert venv.probe() == {"providers": {}}
    proc = _run(
        [str(venv.python), "-c", "import lr_lessons"], what="import", env=venv.env, check=False
    )
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    expected = "ImportError: lr_lessons needs TensorFlow 2.16 or newer and none is installed in "
    assert last.startswith(expected + str(venv.path)), proc.stderr
    proc = _run([str(venv.bin / "lr-lessons"), "--help"], what="--help", env=venv.env, check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and 'pip install ".[cpu]"' in lines[0], proc.stderr


@pytest.mark.packaging
def test_readme_quickstart_gives_a_working_install(tmp_path):
    # A copy of the checkout (the files git knows of, committed or not): the install builds in
    # the source folder, and the chapter run writes under it.
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split("\0")  # fmt: skip
    checkout = tmp_path / "lr_lessons"
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            (checkout / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, checkout / name)
    venv = Venv(tmp_path / "fresh")
    install = _quickstart_commands()[0].split(" && ")[0]
    _run(install, what=f"fresh: {install}", cwd=checkout, env=venv.env, shell=True)
    got = venv.probe()
    assert list(got["providers"]) == [CPU_DIST], got
    if LINUX_X86_64:
        assert got["cuda"] is False
    code = "import lr_lessons\nfrom lr_lessons import LRFinder, run_study\n"
    code += "print(lr_lessons.__version__)"
    proc = _run([str(venv.python), "-c", code], what="fresh: import", env=venv.env)
    assert proc.stdout.strip() == VERSION
    proc = _run(["lr-lessons", "--help"], what="fresh: lr-lessons --help", env=venv.env)
    assert "figures" in proc.stdout
    # The second half of the README's line, on one chapter in quick mode (the full re-plot
    # would also train anything whose saved results other package versions made stale).
    proc = _run(
        ["lr-lessons", "figures", "--quick", "--chapters", "1"],
        what="fresh: lr-lessons figures --quick --chapters 1", cwd=checkout, env=venv.env,
    )  # fmt: skip
    figures = list((checkout / "build" / "quick" / "figures" / "01_learning_rate").glob("*.png"))
    assert figures, proc.stdout[-2000:] + proc.stderr[-2000:]
