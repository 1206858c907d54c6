"""Tried as a new user would: the built wheel, installed with the lock into a fresh virtualenv, runs
`hrbridge demo` from a folder with no source tree (configs, DAGs, templates, specs and revisions
all come from the installed package)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _run(args: list[object], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)  # noqa: S603
    assert result.returncode == 0, f"{args[:3]} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def _source_copy(target: Path) -> Path:
    """The project's files (tracked and new, not ignored) without build output, caches or state."""
    listed = _run(["git", "-C", REPO, "ls-files", "-co", "--exclude-standard"]).stdout.splitlines()
    for name in listed:
        if (REPO / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, target / name)
    return target


@pytest.mark.slow
def test_wheel_runs_the_demo_without_a_source_tree(tmp_path: Path) -> None:
    uv = Path(sys.executable).with_name("uv")
    env = {name: value for name, value in os.environ.items()  # the machine's, not the test session's
           if not name.startswith(("HRBRIDGE_", "AIRFLOW", "PYTHON", "VIRTUAL_ENV"))}
    env["UV_COMPILE_BYTECODE"] = "0"  # a throwaway environment: compile on import instead
    source = _source_copy(tmp_path / "source")
    _run([uv, "build", "--wheel", "--quiet", "--out-dir", tmp_path / "dist", source], env=env)
    (wheel,) = (tmp_path / "dist").glob("hrbridge-*.whl")
    shutil.rmtree(source)  # nothing of the source tree is left to fall back on
    venv = tmp_path / "venv"
    _run([uv, "venv", "--quiet", "--python", sys.executable, venv], env=env)
    python = venv / "bin" / "python"
    _run([uv, "pip", "sync", "--quiet", "--python", python, REPO / "requirements.lock"], env=env)
    _run([uv, "pip", "install", "--quiet", "--no-deps", "--python", python, wheel], env=env)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    user = {**env, "HRBRIDGE_HOME": str(tmp_path / "home")}
    where = _run([python, "-c", "from hrbridge.settings import PACKAGE_CONFIGS\n"
                  "from hrbridge.airflow_env import dags_folder\n"
                  "from hrbridge.migrations import environment\n"
                  "print(PACKAGE_CONFIGS, dags_folder(), environment('hub').script_location, sep='\\n')"],
                 cwd=elsewhere, env=user).stdout.split()
    assert len(where) == 3 and all(path.startswith(str(venv)) for path in where)
    pages = Path(_run([python, "-c", "import plugins.hrbridge_pages as p; print(p.__path__[0])"],
                      cwd=elsewhere, env=user).stdout.strip())
    assert pages.is_relative_to(venv)
    for name in ("templates/base.html", "static/hrbridge.css", "static/hrbridge.js", "messages.yaml"):
        assert (pages / name).is_file(), name  # the pages' templates, assets and catalogue ship in the wheel

    demo = _run([venv / "bin" / "hrbridge", "demo", "--no-serve"], cwd=elsewhere, env=user, timeout=900,
                preexec_fn=lambda: os.umask(0))  # a permissive umask: the demo's state is owner-only anyway
    assert "archive_sync DAG ... done" in demo.stdout and "validation report" in demo.stdout
    assert "scores written back" in demo.stdout
    assert not list(elsewhere.iterdir())  # everything went under HRBRIDGE_HOME
    home = tmp_path / "home"
    exposed = [str(p) for p in [home, *home.rglob("*")] if p.stat().st_mode & 0o077 and not p.is_symlink()]
    assert exposed == [] and list(home.rglob("archive.db"))
