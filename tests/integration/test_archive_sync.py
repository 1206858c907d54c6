"""archive_sync: one person across rehires, interview history kept, reruns change nothing (SQLite + Postgres)."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from governance.crypto import Vault
from governance.crypto.envelope import is_token
from hrbridge.archive import archive_engine, employments, open_portraits, persons, portraits
from hrbridge.pipelines.archive_sync import load_archive_config, run_archive_sync
from hrbridge.settings import load_settings
from hrbridge.store import hub_engine
from tests.factories.results import NOW, hub_application, hub_result


def _snapshot(engine) -> dict[str, tuple[int, str]]:
    """Row count and a hash of every row's content per archive table."""
    snap = {}
    with engine.connect() as conn:
        for table in (persons, employments, portraits):
            rows = [dict(r) for r in conn.execute(sa.select(table).order_by(*table.primary_key.columns)).mappings()]
            text = json.dumps(rows, sort_keys=True, default=str)
            snap[table.name] = (len(rows), hashlib.sha256(text.encode()).hexdigest())
    return snap


@pytest.fixture
def stores(hrbridge_home, db_url):
    settings = load_settings()
    hub = hub_engine(settings)
    archive = archive_engine(url=db_url)
    yield settings, hub, archive
    archive.dispose()


def test_hires_archived_idempotently_across_reruns_and_rehires(stores) -> None:
    settings, hub, archive = stores
    config = load_archive_config(settings)
    hub_application(hub, "5001", "C-1", email="Mei.Chen@Example.com")
    hub_application(hub, "5002", "C-2", email="li.lei@example.com", first_name="Lei", last_name="Li")
    hub_application(hub, "5003", "C-3", email="wang@example.com", status="Interview")  # not hired
    hub_result(hub, "R-1", "5001", "C-1", score=81)
    hub_result(hub, "R-2", "5002", "C-2", score=64)
    hub_result(hub, "R-3", "5003", "C-3")

    first = run_archive_sync(hub, archive, config, settings=settings)
    assert (first.hires, first.archived, first.skipped) == (2, 2, {})
    assert (first.persons.inserted, first.employments.inserted, first.portraits.inserted) == (2, 2, 2)
    snap = _snapshot(archive)
    assert {name: count for name, (count, _) in snap.items()} == {
        "archive_persons": 2, "archive_employments": 2, "archive_portraits": 2}

    again = run_archive_sync(hub, archive, config, settings=settings)
    assert again.changed == 0 and again.persons.unchanged == 2
    assert _snapshot(archive) == snap

    # Rehire: the same person comes back under a new candidate profile (same e-mail, other case).
    hub_application(hub, "6001", "C-9", email=" mei.chen@example.com ", hired_on=NOW + timedelta(days=400))
    hub_result(hub, "R-9", "6001", "C-9", score=88)
    rehire = run_archive_sync(hub, archive, config, settings=settings)
    assert rehire.persons.inserted == 0 and rehire.persons.updated == 1  # latest candidate id recorded
    assert (rehire.employments.inserted, rehire.portraits.inserted) == (1, 1)
    with archive.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(persons)).scalar_one() == 2
        history = conn.execute(
            sa.select(portraits.c.result_id, portraits.c.candidate_id, portraits.c.dimension_scores,
                      portraits.c.clip_refs)
            .join(persons, persons.c.person_key == portraits.c.person_key)
            .where(persons.c.candidate_id == "C-9").order_by(portraits.c.completed_at, portraits.c.result_id)
        ).mappings().all()
        hire_dates = conn.execute(
            sa.select(employments.c.hire_date).where(employments.c.application_id.in_(["5001", "6001"]))
            .order_by(employments.c.hire_date)).scalars().all()
    assert [h["result_id"] for h in history] == ["R-1", "R-9"]
    assert history[1]["dimension_scores"] == {"communication": 88.0}
    # Clip references are stored encrypted under the candidate's key, readable with the vault.
    assert is_token(history[0]["clip_refs"]) and "clip-R-1" not in history[0]["clip_refs"]
    vault = Vault.local(hub, settings.home)
    assert open_portraits(vault, history)[0]["clip_refs"][0]["clip_id"] == "clip-R-1"
    assert hire_dates == [NOW.date(), (NOW + timedelta(days=400)).date()]

    snap = _snapshot(archive)
    assert run_archive_sync(hub, archive, config, settings=settings).changed == 0
    assert _snapshot(archive) == snap


def test_hire_without_any_person_key_is_reported_not_dropped(stores) -> None:
    settings, hub, archive = stores
    config = {**load_archive_config(settings), "person_key": ["email"]}
    hub_application(hub, "7001", "C-7", email=None)
    hub_application(hub, "7002", "C-8", email="ok@example.com")
    summary = run_archive_sync(hub, archive, config, settings=settings)
    assert summary.hires == 2 and summary.archived == 1
    assert "7001" in summary.skipped and "person_key" in summary.skipped["7001"]


def _consent_event(hub, event_id: str, kind: str, candidate_id: str, application_id: str | None) -> None:
    from hrbridge.store.consent import consent_events

    with hub.begin() as conn:
        conn.execute(consent_events.insert().values(
            event_id=event_id, kind=kind, candidate_id=candidate_id, application_id=application_id, scopes=[],
            declined=[], given_at=NOW + timedelta(days=1), received_at=NOW + timedelta(days=1)))


def test_no_ai_score_of_an_alternative_process_reaches_the_archive(stores) -> None:
    settings, hub, archive = stores
    config = load_archive_config(settings)
    hub_application(hub, "8001", "C-81", email="alt@example.com")
    hub_application(hub, "8002", "C-82", email="scored@example.com")
    hub_result(hub, "R-81", "8001", "C-81", score=91)  # stored before the candidate asked for another process
    hub_result(hub, "R-82", "8002", "C-82", score=70)
    _consent_event(hub, "E-81", "alternative_process", "C-81", "8001")
    _consent_event(hub, "E-99", "alternative_process", "C-99", None)  # an answer without application: no effect

    summary = run_archive_sync(hub, archive, config, settings=settings)
    assert (summary.hires, summary.archived, summary.skipped) == (2, 2, {})
    with archive.connect() as conn:
        kept = conn.execute(sa.select(portraits.c.result_id).order_by(portraits.c.result_id)).scalars().all()
        hired = conn.execute(sa.select(employments.c.application_id).order_by(employments.c.application_id)).all()
    assert kept == ["R-82"]  # the person is archived, their AI score is not
    assert [a for (a,) in hired] == ["8001", "8002"]
