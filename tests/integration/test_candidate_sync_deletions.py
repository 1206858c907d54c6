"""candidate_sync notices records deleted in SuccessFactors (key reconciliation over real HTTP)."""

from __future__ import annotations

import dataclasses

import pytest
import sqlalchemy as sa

from hrbridge.pipelines.candidate_sync import SyncConfig
from hrbridge.settings import ConfigError
from hrbridge.store import recruiting as store
from tests.integration import test_candidate_sync as base
from tests.integration.test_candidate_sync import Loop

loop = base.loop  # the shared fixture: both sandboxes over HTTP, a fresh hub (SQLite and Postgres)



@pytest.fixture(autouse=True)
def _check_every_run(loop: Loop) -> None:
    loop.config = dataclasses.replace(loop.config, deletion_every_runs=1)


def _deleted(loop: Loop, table: sa.Table, key: str) -> dict[str, object]:
    with loop.engine.connect() as conn:
        return {row[0]: row[1] for row in conn.execute(sa.select(table.c[key], table.c.deleted_at))
                if row[1] is not None}


def _applied(loop: Loop) -> list[dict]:
    return [r for r in loop.sf_sandbox.records("JobApplication") if r["status"] == "Applied"]


def test_deleted_application_is_soft_deleted_counted_and_never_invited(loop: Loop) -> None:
    first = loop.run()
    assert first.deleted_detected == 0
    assert first.streams["applications"].key_check == "checked"
    victim = _applied(loop)[0]["applicationId"]
    loop.sf_sandbox.set_application_status(victim, "AI Interview")  # would be invited next run...
    loop.sf_sandbox.delete("JobApplication", victim)  # ...but it is purged in SuccessFactors first
    second = loop.run()
    assert second.deleted_detected == 1 and second.streams["applications"].deleted == 1
    assert second.to_dict()["deleted_detected"] == 1
    assert set(_deleted(loop, store.applications, "application_id")) == {str(victim)}
    with loop.engine.connect() as conn:  # soft delete: the row stays for retention to remove
        assert conn.execute(sa.select(sa.func.count()).select_from(store.applications)
                            .where(store.applications.c.application_id == str(victim))).scalar() == 1
    assert str(victim) not in loop.invitations()
    third = loop.run()
    assert third.deleted_detected == 0  # counted once, not every run


def test_reappearing_record_is_restored(loop: Loop) -> None:
    loop.run()
    record = loop.sf_sandbox.get("Candidate", next(iter(
        r["candidateId"] for r in loop.sf_sandbox.records("Candidate"))))
    loop.sf_sandbox.delete("Candidate", record["candidateId"])
    gone = loop.run()
    assert gone.streams["candidates"].deleted == 1
    with loop.sf_sandbox._lock:  # restored unchanged (same lastModifiedDateTime): only the key pass sees it
        loop.sf_sandbox._data["Candidate"][record["candidateId"]] = record
    back = loop.run()
    assert back.streams["candidates"].restored == 1 and back.restored == 1
    assert _deleted(loop, store.candidates, "candidate_id") == {}


def test_deleted_candidate_is_not_invited(loop: Loop) -> None:
    loop.run()
    app = _applied(loop)[0]
    loop.sf_sandbox.delete("Candidate", app["candidateId"])
    loop.sf_sandbox.set_application_status(app["applicationId"], "AI Interview")
    summary = loop.run()
    assert summary.streams["candidates"].deleted == 1
    assert str(app["applicationId"]) not in loop.invitations()


def test_check_runs_every_nth_run_only(loop: Loop) -> None:
    loop.config = dataclasses.replace(loop.config, deletion_every_runs=3)
    first = loop.run()
    assert first.streams["applications"].key_check == "checked"
    loop.sf_sandbox.delete("JobApplication", _applied(loop)[0]["applicationId"])
    second, third = loop.run(), loop.run()
    assert second.streams["applications"].key_check is None and second.deleted_detected == 0
    assert third.streams["applications"].key_check is None
    fourth = loop.run()
    assert fourth.streams["applications"].key_check == "checked" and fourth.deleted_detected == 1


def test_implausible_mass_deletion_marks_nothing(loop: Loop) -> None:
    loop.run()
    for record in loop.sf_sandbox.records("JobApplication")[:60]:
        loop.sf_sandbox.delete("JobApplication", record["applicationId"])
    summary = loop.run()
    apps = summary.streams["applications"]
    assert apps.deleted == 0 and apps.key_check.startswith("skipped: the source lacks 60 of 80")
    assert _deleted(loop, store.applications, "application_id") == {}


def test_deletion_check_config_names_the_bad_stream(loop: Loop) -> None:
    doc = {"trigger_status": "AI Interview", "write_back": {"fields": {"cust_x": "status"}},
           "deletion_check": {"every_runs": 2, "streams": ["applications", "Nonsense"]}}
    with pytest.raises(ConfigError, match="deletion_check.streams: 'Nonsense'"):
        SyncConfig.from_document(doc)
    doc["deletion_check"]["streams"] = ["JobApplication"]  # an entity set is not a stream's name
    with pytest.raises(ConfigError, match="'JobApplication' is not a checkable stream"):
        SyncConfig.from_document(doc)
    doc["deletion_check"]["streams"] = ["applications", "candidates"]
    config = SyncConfig.from_document(doc)
    assert config.deletion_streams == ("applications", "candidates") and config.deletion_every_runs == 2
