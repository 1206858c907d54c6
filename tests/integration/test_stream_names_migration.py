"""hub_0006: stream positions keyed by SuccessFactors entity names move to ``successfactors:<stream>``."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from connectors.sql import make_engine
from hrbridge.migrations import upgrade


def test_upgrade_renames_cursors_and_key_checks(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'hub.sqlite'}")
    upgrade(engine, "hub", target="hub_0005")
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO sync_cursors (stream, cursor, updated_at) VALUES "
                             "('JobApplication', '2026-03-01 08:00:00', '2026-03-01'), ('other', NULL, '2026-03-01')")
        conn.exec_driver_sql("INSERT INTO sync_key_checks (stream, runs_since_check) VALUES ('Candidate', 3)")
    upgrade(engine, "hub")
    with engine.connect() as conn:
        cursors = dict(conn.execute(sa.text("SELECT stream, cursor FROM sync_cursors")).all())
        checks = dict(conn.execute(sa.text("SELECT stream, runs_since_check FROM sync_key_checks")).all())
    assert set(cursors) == {"successfactors:applications", "other"}
    assert str(cursors["successfactors:applications"]).startswith("2026-03-01 08:00")
    assert checks == {"successfactors:candidates": 3}
