"""The Dockerfile's install steps, run as a script: build hrbridge's wheel from the build context that
.dockerignore lets through, install it with the locked runtime extras into a fresh virtualenv, and use it.

The image's OS steps (installing uv itself, creating the user) are left to docker; every ``RUN uv …``
step runs here as written, with the image's absolute paths moved under a temporary root.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.test_deploy import _docker_ignored

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.slow


def _stages(dockerfile: str) -> list[list[tuple[str, str]]]:
    """Instructions per stage, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", dockerfile)
    stages: list[list[tuple[str, str]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        op, _, arg = line.partition(" ")
        if op == "FROM":
            stages.append([])
        elif stages:
            stages[-1].append((op, arg.strip()))
    return stages


def _context(dest: Path) -> Path:
    patterns = [line.strip() for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith("#")]
    for path in REPO.rglob("*"):
        rel = path.relative_to(REPO).as_posix()
        if path.is_file() and not _docker_ignored(patterns, rel):
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest / rel)
    return dest


def _env_pairs(arg: str) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in arg.split())


def test_dockerfile_uv_steps_build_and_install_the_wheel(tmp_path: Path) -> None:
    root = tmp_path / "root"
    context = _context(tmp_path / "context")
    assert not (context / "deploy" / ".env").exists() and not (context / ".venv").exists()
    moved = {}

    def rebase(value: str) -> str:
        return str(root / value.lstrip("/")) if value.startswith("/") else value

    ran = []
    for stage in _stages((REPO / "deploy" / "Dockerfile").read_text(encoding="utf-8")):
        # the machine's index, proxy and certificate settings stay; hrbridge and Airflow settings do not
        env = {**{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "HRBRIDGE_", "VIRTUAL_ENV"))},
               "PATH": f"{BIN}{os.pathsep}/usr/bin:/bin"}
        workdir = root
        for op, arg in stage:
            if op == "ENV":
                env.update({k: rebase(v) for k, v in _env_pairs(arg).items() if k != "PATH"})
            elif op == "WORKDIR":
                workdir = Path(rebase(arg))
                workdir.mkdir(parents=True, exist_ok=True)
                if arg == "/src":
                    shutil.copytree(context, workdir, dirs_exist_ok=True)
            elif op == "COPY" and not arg.startswith("--from") and " . ." not in f" {arg}":
                *sources, dest = [a for a in arg.split() if not a.startswith("--")]
                target = Path(rebase(dest))
                for source in sources:
                    if (context / source).is_file():
                        target.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(context / source, target)
                moved[dest] = target
            elif op == "RUN" and arg.startswith("uv "):
                env["UV_COMPILE_BYTECODE"] = "0"  # bytecode compilation only costs time here
                done = subprocess.run(["sh", "-ec", arg], cwd=workdir, env=env, capture_output=True,  # noqa: S603,S607
                                      text=True, timeout=900, check=False)
                assert done.returncode == 0, f"RUN {arg[:80]}…\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
                ran.append(arg.split()[1])
    assert ran == ["build", "venv"], f"expected the wheel build and the venv install, ran {ran}"

    venv = root / "opt" / "hrbridge" / "bin"
    installed = subprocess.run([str(venv / "python"), "-m", "pip", "list", "--format=freeze"], capture_output=True,
                               text=True, check=False).stdout.lower()
    if not installed:
        installed = subprocess.run([str(BIN / "uv"), "pip", "list", "--python", str(venv / "python")],
                                   capture_output=True, text=True, check=True).stdout.lower()
    for dev_tool in ("pytest", "ruff"):
        assert not re.search(rf"^{dev_tool}[ =]", installed, re.M), f"{dev_tool} reached the runtime image"
    where = subprocess.run([str(venv / "python"), "-c", "import hrbridge; print(hrbridge.__file__)"],
                           capture_output=True, text=True, check=True, cwd=tmp_path).stdout
    assert "site-packages" in where and str(REPO) not in where, "the wheel, not the source tree, is installed"
    cli = subprocess.run([str(venv / "hrbridge"), "--help"], capture_output=True, text=True, check=False, cwd=tmp_path)
    assert cli.returncode == 0 and "migrate" in cli.stdout
    dags = root / "opt" / "airflow" / "dags"
    assert {"candidate_sync.py", "interview_results.py", "archive_sync.py", "legacy_migration.py",
            "retention_purge.py"} <= {p.name for p in dags.iterdir()}, "the image's DAG folder lacks DAGs"
    assert "site-packages" in str(dags.resolve()) and (root / "opt" / "airflow" / "plugins").resolve().is_dir()
