"""Versioned schemas: the revisions build exactly the declarations, and earlier releases upgrade with their rows.

On SQLite and Postgres: (a) an empty database upgraded to head has no difference from the
declarations by Alembic's autogenerate comparison — a declaration changed without a revision
fails here; (b) a database created by an earlier release's DDL, with rows in every table, upgrades
with every row intact and then checks clean.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from connectors.sql import make_engine
from hrbridge.migrations import (
    ARCHIVE,
    DATABASES,
    HUB,
    SchemaMissing,
    SchemaOutdated,
    current_revision,
    environment,
    head_revision,
    schema_status,
    script_directory,
    upgrade,
)
from hrbridge.migrations.engines import open_engine
from tests.factories.schema import RELEASES, fill, load_release, snapshot


@pytest.fixture
def engine(db_url: str):
    """An empty database (SQLite file or fresh Postgres), disposed after the test."""
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("name", DATABASES)
def test_chain_is_linear_with_one_head(name: str) -> None:
    revisions = list(script_directory(name).walk_revisions())
    assert [r.revision for r in revisions][-1] == f"{name}_0001"
    assert all(len(r._all_down_revisions) <= 1 for r in revisions)  # noqa: SLF001 - no merge points
    assert head_revision(name) == revisions[0].revision


@pytest.mark.parametrize("name", DATABASES)
def test_head_builds_exactly_the_declarations(engine: sa.Engine, name: str) -> None:
    result = upgrade(engine, name)
    assert (result.before, result.after) == (None, head_revision(name))
    with engine.connect() as conn:
        status = schema_status(conn, name, "test")
        tables = set(sa.inspect(conn).get_table_names()) - {environment(name).version_table}
    assert status.differences == [] and status.ok
    assert tables == environment(name).declared_tables()  # nothing created that is not declared
    assert not upgrade(engine, name).changed  # idempotent


def test_guard_is_installed_by_the_hub_baseline(engine: sa.Engine) -> None:
    upgrade(engine, HUB)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO deletion_log (seq, run_id, requested_by, subject_hash, categories, stores, "
                             "counts_before, counts_after, legal_basis, method, done_at, prev_hash, hash) VALUES "
                             "(1, 'r', 'dpo', 'h', '[]', '[]', '{}', '{}', 'basis', 'purge', 'now', 'p', 'x')")
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:
        conn.exec_driver_sql("UPDATE deletion_log SET hash = 'y'")


def test_a_declaration_without_a_revision_is_a_difference(engine: sa.Engine, monkeypatch) -> None:
    import hrbridge.migrations.databases as module

    upgrade(engine, HUB)
    changed = sa.MetaData()
    for meta in module._metadata(HUB):  # noqa: SLF001 - the declarations the comparison reads
        for table in meta.tables.values():
            table.to_metadata(changed)
    changed.tables["candidates"].append_column(sa.Column("nickname", sa.String(50)))
    sa.Table("feedback_proposals", changed, sa.Column("id", sa.Integer, primary_key=True))
    monkeypatch.setattr(module, "_metadata", lambda name: [changed])
    with engine.connect() as conn:
        found = schema_status(conn, HUB, "test").differences
    assert "column candidates.nickname is declared but missing" in found
    assert "table feedback_proposals is declared but missing" in found


RENAMED = {("validation_runs", "report_path"): "report_key",  # by hub_0002
           ("validation_runs", "gx_result_path"): "gx_results_key"}


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("name", DATABASES)
def test_earlier_release_with_rows_upgrades_intact(engine: sa.Engine, name: str, release: str) -> None:
    created = load_release(engine, release, name)
    inserted = fill(engine)
    assert set(inserted) == set(created) and all(inserted.values())
    columns = {table: [c["name"] for c in sa.inspect(engine).get_columns(table)] for table in created}
    before = snapshot(engine)

    result = upgrade(engine, name)

    assert result.before is None and result.after == head_revision(name)
    after = snapshot(engine, {table: [RENAMED.get((table, c), c) for c in names] for table, names in columns.items()})
    assert after == before  # every row of every table, every value of every column it had
    with engine.connect() as conn:
        assert schema_status(conn, name, "test").differences == []
    if name == HUB:  # the upgraded ledger takes the state added after the first release
        with engine.begin() as conn:
            changed = conn.exec_driver_sql("UPDATE invitations SET state = 'refused', refusals = 1 "
                                           "WHERE application_id = 'application_id-1'").rowcount
        assert changed == 1


def test_concurrent_first_use_upgrades_once(db_url: str) -> None:
    engines = [make_engine(db_url) for _ in range(3)]
    errors: list[BaseException] = []

    def run(engine: sa.Engine) -> None:
        try:
            upgrade(engine, HUB)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with engines[0].connect() as conn:
        assert current_revision(conn, HUB) == head_revision(HUB)
    for engine in engines:
        engine.dispose()


def test_read_only_open_never_creates(tmp_path: Path, pg_url: str) -> None:
    missing = tmp_path / "hub.db"
    with pytest.raises(SchemaMissing, match=rf"{missing}.*hrbridge db upgrade"):
        open_engine(f"sqlite:///{missing}", HUB, create=False)
    assert not missing.exists()
    with pytest.raises(SchemaMissing, match="hrbridge db upgrade --archive"):
        open_engine(pg_url, ARCHIVE, create=False)
    with make_engine(pg_url).connect() as conn:
        assert sa.inspect(conn).get_table_names() == []

    writable = make_engine(f"sqlite:///{missing}")
    upgrade(writable, HUB, target="hub_0001")
    with pytest.raises(SchemaOutdated, match=f"at revision hub_0001, this hrbridge needs {head_revision(HUB)}"):
        open_engine(f"sqlite:///{missing}", HUB, create=False)
    upgrade(writable, HUB)
    reader = open_engine(f"sqlite:///{missing}", HUB, create=False)
    with reader.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM candidates").scalar() == 0
        with pytest.raises(sa.exc.OperationalError, match="readonly"):
            conn.exec_driver_sql("DELETE FROM candidates")


def test_auto_upgrade_off_requires_head(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    with pytest.raises(SchemaMissing, match="hrbridge db upgrade"):
        open_engine(url, HUB, auto_upgrade=False)
    upgrade(make_engine(url), HUB)
    engine = open_engine(url, HUB, auto_upgrade=False)
    with engine.connect() as conn:
        assert current_revision(conn, HUB) == head_revision(HUB)
