"""`hrbridge db upgrade|check`: check only reads (no file, table or row appears) and says what differs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from connectors.sql import make_engine
from hrbridge.cli import main
from hrbridge.migrations import head_revision, upgrade
from hrbridge.store import hub_engine


def _files(home: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_mtime_ns, p.stat().st_size) for p in home.rglob("*")}


def _check(capsys, *extra: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(["db", "check", "--json", *extra])
    return code, json.loads(capsys.readouterr().out)


def test_check_on_sqlite_writes_nothing(hrbridge_home: Path, capsys) -> None:
    hrbridge_home.rmdir()
    code, report = _check(capsys)
    assert code == 3 and "does not exist" in report["differences"][0] and not hrbridge_home.exists()

    hrbridge_home.mkdir()
    (hrbridge_home / "hub.db").touch(mode=0o600)
    before = _files(hrbridge_home)
    code, report = _check(capsys)
    assert code == 3 and report["current"] is None and "hrbridge db upgrade" in report["differences"][0]
    assert _files(hrbridge_home) == before  # still an empty file: no table, no journal

    assert main(["db", "upgrade"]) == 0
    with hub_engine().begin() as conn:  # used by a pipeline once: WAL mode, a row in it
        conn.exec_driver_sql("INSERT INTO sync_cursors (stream, updated_at) VALUES ('s', '2026-01-01')")
    hub_engine().dispose()
    before = _files(hrbridge_home)
    code, report = _check(capsys)
    assert code == 0 and report == {"database": "hub", "url": f"sqlite:///{hrbridge_home / 'hub.db'}",
                                     "current": head_revision("hub"), "head": head_revision("hub"), "ok": True,
                                     "differences": []}
    after = _files(hrbridge_home)
    assert after["hub.db"] == before["hub.db"]  # not a byte written
    # Reading a WAL database leaves SQLite's shared-memory index beside it, empty of changes and owner-only.
    assert all((hrbridge_home / name).stat().st_mode & 0o077 == 0 for name in set(after) - set(before))
    assert after.get("hub.db-wal", (0, 0))[1] == 0


@pytest.mark.postgres
def test_check_on_postgres_creates_no_table_and_names_the_revision(hrbridge_home: Path, pg_url: str,
                                                                   monkeypatch, capsys) -> None:
    monkeypatch.setenv("HRBRIDGE_ARCHIVE_URL", pg_url)
    code, report = _check(capsys, "--archive")
    assert code == 3 and "no version table" in report["differences"][0]
    engine = make_engine(pg_url)
    with engine.connect() as conn:
        assert sa.inspect(conn).get_table_names() == []

    monkeypatch.setenv("HRBRIDGE_DB_URL", pg_url)
    upgrade(engine, "hub", target="hub_0001")
    code, report = _check(capsys)
    assert code == 3 and report["current"] == "hub_0001"
    assert f"at revision hub_0001, head is {head_revision('hub')}" in report["differences"][0]
    assert "table artefacts is declared but missing" in report["differences"]

    capsys.readouterr()
    assert main(["db", "upgrade", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["before"] == "hub_0001"
    assert _check(capsys)[0] == 0
    with engine.begin() as conn:  # a column changed behind the declarations' back
        conn.exec_driver_sql("ALTER TABLE candidates DROP COLUMN deleted_at")
    code, report = _check(capsys)
    assert code == 3 and report["differences"] == ["column candidates.deleted_at is declared but missing"]
    capsys.readouterr()
    assert main(["db", "check"]) == 3
    assert "- column candidates.deleted_at is declared but missing" in capsys.readouterr().out
    engine.dispose()


def test_unreachable_database_exits_2(hrbridge_home: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("HRBRIDGE_DB_URL", "postgresql://hrbridge:secret@127.0.0.1:1/hub")
    for action in ("check", "upgrade"):
        capsys.readouterr()
        assert main(["db", action]) == 2
        err = capsys.readouterr().err
        assert "cannot be reached" in err and "secret" not in err


@pytest.fixture
def scratch_chain(tmp_path: Path, monkeypatch):
    """The hub's revisions copied to a scratch folder that `db revision` may write into."""
    import shutil

    import hrbridge.migrations.databases as databases
    from hrbridge.migrations import runner

    shutil.copytree(databases.HERE / "hub", tmp_path / "chain" / "hub",
                    ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(databases, "HERE", tmp_path / "chain")
    for cached in (runner.alembic_config, runner.script_directory):
        cached.cache_clear()
    yield tmp_path / "chain" / "hub" / "versions"
    for cached in (runner.alembic_config, runner.script_directory):
        cached.cache_clear()


def test_revision_writes_the_next_revision_from_the_declarations(scratch_chain: Path, tmp_path: Path,
                                                                  monkeypatch, capsys) -> None:
    import hrbridge.migrations.databases as databases
    from hrbridge.migrations import schema_status

    declared = sa.MetaData()
    for meta in databases._metadata("hub"):  # noqa: SLF001 - the declarations, with one column more
        for table in meta.tables.values():
            table.to_metadata(declared)
    declared.tables["candidates"].append_column(sa.Column("nickname", sa.String(50)))
    monkeypatch.setattr(databases, "_metadata", lambda name: [declared])
    head = head_revision("hub")

    assert main(["db", "revision", "-m", "Candidates get a nickname"]) == 0
    written = scratch_chain / f"{int(head.split('_')[1]) + 1:04d}_candidates_get_a_nickname.py"
    assert str(written) in capsys.readouterr().out
    text = written.read_text(encoding="utf-8")
    assert f"down_revision = {head!r}" in text and "add_column(sa.Column('nickname'" in text

    engine = make_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    upgrade(engine, "hub")
    with engine.connect() as conn:
        assert schema_status(conn, "hub", "test").ok  # the new chain builds the changed declarations
