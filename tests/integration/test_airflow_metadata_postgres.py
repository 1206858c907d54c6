"""Airflow 3's metadata database on Postgres with the locked drivers: ``airflow db migrate`` on a fresh
database and the async engine Airflow derives from the sync URL (postgresql+asyncpg), as every service
of deploy/compose.yaml configures it (only AIRFLOW__DATABASE__SQL_ALCHEMY_CONN is set)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
BIN = Path(sys.executable).parent
ASYNC_PROBE = """
import asyncio
from airflow import settings
async def main():
    async with settings.async_engine.connect() as conn:
        return (await conn.exec_driver_sql("SELECT count(*) FROM dag")).scalar_one()
print("ASYNC", settings.SQL_ALCHEMY_CONN_ASYNC.split("://")[0], asyncio.run(main()))
"""


def test_db_migrate_and_the_derived_async_engine_work_on_a_fresh_database(pg_url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update({"AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": pg_url})
    migrate = subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=env, capture_output=True, text=True,  # noqa: S603
                             timeout=600, check=False)
    assert migrate.returncode == 0, migrate.stdout[-2000:] + migrate.stderr[-3000:]
    check = subprocess.run([str(BIN / "airflow"), "db", "check-migrations", "--migration-wait-timeout", "1"],  # noqa: S603
                           env=env, capture_output=True, text=True, timeout=300, check=False)
    assert check.returncode == 0, check.stderr[-2000:]
    probe = subprocess.run([sys.executable, "-c", ASYNC_PROBE], env=env, capture_output=True, text=True,  # noqa: S603
                           timeout=300, check=False)
    assert probe.returncode == 0, probe.stderr[-3000:]
    result = [line.split()[1:] for line in probe.stdout.splitlines() if line.startswith("ASYNC ")]
    assert result == [["postgresql+asyncpg", "0"]]
