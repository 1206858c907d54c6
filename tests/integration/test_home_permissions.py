"""State under HRBRIDGE_HOME is owner-only however it is created, even under a permissive umask."""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from connectors.sql import make_engine
from hrbridge.archive import archive_engine
from hrbridge.settings import load_settings
from hrbridge.store import hub_engine


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """Files and folders created during the test would be world-writable by default."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def _exposed(root: Path) -> list[str]:
    return [f"{stat.filemode(p.stat().st_mode)} {p}" for p in [root, *root.rglob("*")] if p.stat().st_mode & 0o077]


def test_home_folders_and_databases_are_owner_only(tmp_path: Path, permissive_umask: None) -> None:
    home = tmp_path / "new" / "parents" / "home"
    settings = load_settings({"HRBRIDGE_HOME": str(home)}).ensure_dirs()
    hub, archive = hub_engine(settings), archive_engine(settings)
    target = make_engine(f"sqlite:///{home / 'migration-target.db'}")  # e.g. `migrate --target sqlite:///…`
    with hub.begin() as conn, archive.begin() as other, target.begin() as third:
        conn.exec_driver_sql("INSERT INTO sync_cursors (stream, updated_at) VALUES ('s', '2026-01-01')")
        other.exec_driver_sql("SELECT count(*) FROM archive_persons")
        third.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        assert (home / "hub.db-wal").exists()  # checked while SQLite's side files exist
        assert _exposed(tmp_path / "new") == []
    for engine in (hub, archive, target):
        engine.dispose()
    assert _exposed(tmp_path / "new") == []


def test_an_open_home_is_made_owner_only(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)
    load_settings({"HRBRIDGE_HOME": str(home)}).ensure_dirs()
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


def test_demo_state_is_owner_only(hrbridge_home: Path, monkeypatch: pytest.MonkeyPatch,
                                  permissive_umask: None) -> None:
    from hrbridge.demo import DemoStep, run_demo, start_sandboxes
    from tests.integration.test_candidate_sync_demo import _sync_without_airflow

    os.chmod(hrbridge_home, 0o777)
    monkeypatch.setenv("AIRFLOW_HOME", str(hrbridge_home / "airflow"))
    for name in ("HRBRIDGE_SF_URL", "HRBRIDGE_INTERVIEW_URL", "HRBRIDGE_DB_URL", "HRBRIDGE_ARCHIVE_URL"):
        monkeypatch.setenv(name, "placeholder")  # restored after the test
    ctx = run_demo([DemoStep("start sandboxes", start_sandboxes), DemoStep("sync", _sync_without_airflow)],
                   out=io.StringIO())
    archive_engine(ctx.settings).dispose()
    assert ctx.results["sync"]["invited"] > 0
    assert _exposed(hrbridge_home) == []
    with make_engine(ctx.settings.db_url).connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM invitations")).scalar() > 0
