"""An existing hub created before the newer columns is upgraded in place (SQLite and Postgres)."""

from __future__ import annotations

import sqlalchemy as sa

from connectors.sql import make_engine
from hrbridge.store import create_schema
from hrbridge.store import recruiting as store


def _old_hub(url: str) -> sa.Engine:
    engine = make_engine(url)
    create_schema(engine)
    with engine.begin() as conn:
        for table, column in (("candidates", "deleted_at"), ("applications", "deleted_at"),
                              ("invitations", "refusals"), ("sync_quarantine", "subject_id")):
            conn.exec_driver_sql(f"ALTER TABLE {table} DROP COLUMN {column}")
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE candidates ALTER COLUMN email TYPE VARCHAR(320)")
            conn.exec_driver_sql("ALTER TABLE invitations DROP CONSTRAINT ck_invitations_state")
            conn.exec_driver_sql("ALTER TABLE invitations ADD CONSTRAINT ck_invitations_state "
                                 "CHECK (state IN ('planned', 'posted', 'written_back'))")
    return engine


def test_upgrade_adds_columns_widens_and_is_idempotent(db_url: str) -> None:
    engine = _old_hub(db_url)
    changed = store.upgrade_schema(engine)
    assert {"candidates.deleted_at", "applications.deleted_at", "invitations.refusals",
            "sync_quarantine.subject_id"} <= set(changed)
    columns = {c["name"]: c for c in sa.inspect(engine).get_columns("invitations")}
    assert "refusals" in columns
    if engine.dialect.name == "postgresql":
        assert "candidates.email TEXT" in changed and "invitations.ck_invitations_state" in changed
        email = {c["name"]: c["type"] for c in sa.inspect(engine).get_columns("candidates")}["email"]
        assert isinstance(email, sa.Text)
    store._upgraded.clear()
    assert store.upgrade_schema(engine) == []  # nothing left to do
    with engine.begin() as conn:  # the upgraded ledger accepts the new state and counts refusals
        conn.execute(sa.insert(store.invitations).values(
            application_id="1", candidate_id="2", idempotency_key="k", state=store.PLANNED, plan_id="p",
            plan_version="v", plan={}, request={}, planned_at=store.utcnow()))
        assert conn.execute(sa.select(store.invitations.c.refusals)).scalar() == 0
        if engine.dialect.name == "postgresql":
            conn.execute(sa.update(store.invitations).values(state=store.REFUSED))
    engine.dispose()
