"""The pools the DAGs share are created idempotently by `hrbridge airflow pools`; --check only reads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def hrbridge(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the hrbridge command in a subprocess (its own Airflow import, the given environment)."""
    return subprocess.run([sys.executable, "-m", "hrbridge.cli", *args], capture_output=True, text=True,
                          env=env, timeout=300, check=False)


@pytest.fixture
def fresh_airflow(tmp_path: Path) -> dict[str, str]:
    """An environment pointing at a newly migrated, empty Airflow metadata database."""
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "airflow"), "HRBRIDGE_HOME": str(tmp_path / "home")}
    env.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)
    subprocess.run([str(Path(sys.executable).with_name("airflow")), "db", "migrate"], env=env, check=True,
                   capture_output=True, timeout=300)
    return env


@pytest.mark.slow
def test_pools_are_created_once_and_checked_without_writing(fresh_airflow, tmp_path: Path) -> None:
    check = hrbridge("airflow", "pools", "--check", env=fresh_airflow)
    assert check.returncode == 3
    assert "hrbridge_interview: missing (wants 4 slots)" in check.stdout

    created = hrbridge("airflow", "pools", env=fresh_airflow)
    assert created.returncode == 0, created.stderr
    assert created.stdout.splitlines() == ["hrbridge_interview: 4 slots (created)",
                                           "hrbridge_successfactors: 2 slots (created)"]
    again = hrbridge("airflow", "pools", env=fresh_airflow)
    assert again.stdout.splitlines() == ["hrbridge_interview: 4 slots (as configured)",
                                         "hrbridge_successfactors: 2 slots (as configured)"]

    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "operations.yaml").write_text("pools: {hrbridge_successfactors: 1}\n", encoding="utf-8")
    tuned = {**fresh_airflow, "HRBRIDGE_CONFIG_DIR": str(configs)}
    assert hrbridge("airflow", "pools", "--check", env=tuned).stdout.splitlines()[1] == (
        "hrbridge_successfactors: 2 slots, configured 1")
    assert "hrbridge_successfactors: 1 slots (updated)" in hrbridge("airflow", "pools", env=tuned).stdout
    assert hrbridge("airflow", "pools", "--check", env=tuned).returncode == 0


def test_an_unmigrated_database_is_a_clear_error_and_nothing_is_created(tmp_path: Path) -> None:
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "airflow"), "HRBRIDGE_HOME": str(tmp_path / "home")}
    env.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)
    done = hrbridge("airflow", "pools", "--check", env=env)
    assert done.returncode == 1 and "run `airflow db migrate` first" in done.stderr
    assert not (tmp_path / "airflow").exists()  # a read-only command wrote nothing
