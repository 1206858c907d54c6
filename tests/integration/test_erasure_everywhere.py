"""Erasure reaches every copy: a person planted everywhere hrbridge stores people, erased, then searched for.

The hub and archive schemas are the real ones (every revision applied) and the retention
configuration is the shipped ``configs/retention.yaml``. After the person's deletion request and a
retention run, every column of every table is read back (found by introspection, not from a list)
and searched for the person's identifiers in clear; the log lines of the run too, and every file of
the artefact store (the hub's ``artefacts`` table on Postgres, a ``file://`` object store on SQLite:
both backends through the one ``store: artefacts`` entry). The only rows that may still name the
person are those of stores the configuration keeps on request (``on_request: keep``: consent
evidence, the employee archive). The vault's record that the person's key was destroyed names them
only by the deletion log's pseudonym. A signed result that arrives after the erasure keeps nothing
of the person either.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connectors.sql import make_engine
from governance.audit import AuditKeys, DeletionLog, verify_chain
from governance.crypto import Vault
from governance.retention import RetentionExecutor, parse_config, request_deletion
from hrbridge.migrations import ARCHIVE, HUB, upgrade
from hrbridge.pipelines.interview_results.ingest import enqueue_webhook_result, seal_quarantined
from hrbridge.settings import load_config
from tests.factories.results import hub_application, hub_result, ledger, make_result
from tests.factories.retention import RecordingEraser

PERSON, APPLICATION, INVITATION = "cand-erase-7731", "app-erase-7731", "inv-erase-7731"
EMAIL, LAST_NAME = "mei.erase7731@example.com", "Erasewoman7731"
TRACES = (PERSON, APPLICATION, INVITATION, EMAIL, LAST_NAME)
NOW = datetime.now(UTC)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    upgrade(engine, HUB)
    upgrade(engine, ARCHIVE)  # the archive in the hub database: one place to search
    yield engine
    engine.dispose()


def _result(**overrides: Any) -> dict[str, Any]:
    return make_result(7731, candidate_id=PERSON, application_id=APPLICATION, invitation_id=INVITATION,
                       interviewer_comments=f"Spoke with {LAST_NAME}", **overrides)


@pytest.fixture
def artefacts(engine: Engine, tmp_path: Path) -> Any:
    """The artefact store: the hub table on Postgres, a ``file://`` object store on SQLite."""
    from airflow.sdk import ObjectStoragePath

    from hrbridge.artefacts import DatabaseArtefactStore, ObjectArtefactStore

    if engine.dialect.name == "postgresql":
        return DatabaseArtefactStore(engine)
    return ObjectArtefactStore(ObjectStoragePath(f"file://{tmp_path / 'objects'}"))


def _plant(engine: Engine, vault: Vault, store: Any) -> None:
    """The person in every table hrbridge writes people to (through the factories and the pipeline's own writers)."""
    from governance.retention.schema import legal_holds
    from hrbridge.store.consent import consent_events, explanations
    from hrbridge.store.recruiting import resume_signals, sync_quarantine
    from hrbridge.store.results import interview_status_sync, results_quarantine, results_writeback

    for who, app in ((PERSON, APPLICATION), ("cand-bystander", "app-bystander")):
        hub_application(engine, app, who, email=EMAIL if who == PERSON else "b@example.com", status="Interviewing",
                        last_name=LAST_NAME if who == PERSON else "Stays")
        hub_result(engine, f"res-{app}", app, who)
    ledger(engine, [_result()])
    enqueue_webhook_result(engine, _result(result_id="res-inbox-sealed"), vault)   # sealed payload
    enqueue_webhook_result(engine, _result(result_id="res-inbox-plain"))           # media encryption off
    quarantined = [{"run_id": "run-q", "result_id": "res-q", "position": 0, "rules": ["score_in_range"],
                    "expectations": [], "payload": _result(overall_score=999), "source": "webhook",
                    "quarantined_at": NOW}]
    with engine.begin() as conn:
        conn.execute(results_quarantine.insert(), seal_quarantined(vault, [dict(q) for q in quarantined]))
        conn.execute(results_quarantine.insert(), [{**quarantined[0], "result_id": "res-q2", "position": 1}])
        conn.execute(results_writeback.insert().values(
            application_id=APPLICATION, result_id="res-w", state="pending", attempts=0,
            fields={"cust_score": 72, "note": LAST_NAME}, updated_at=NOW))
        conn.execute(interview_status_sync.insert().values(
            invitation_id=INVITATION, application_id=APPLICATION, status="Completed", updated_at=NOW))
        conn.execute(sync_quarantine.insert().values(
            run_id="run-s", stream="candidates", record_key=PERSON, rule="bad_email", field="email",
            message="not an e-mail", subject_id=PERSON, raw={"email": EMAIL, "lastName": LAST_NAME}, created_at=NOW))
        conn.execute(resume_signals.insert().values(
            candidate_id=PERSON, resume_id="r-1", years_experience=4, skills=["crm"], languages=["zh"],
            education="", last_modified=NOW, loaded_at=NOW))
        conn.execute(explanations.insert().values(
            event_id="ev-1", application_id=APPLICATION, candidate_id=PERSON, language="en",
            text=f"Why {LAST_NAME} was scored 72", produced_at=NOW))
        conn.execute(legal_holds.insert(), [  # released holds: the person's and a bystander's
            {"subject_id": who, "reason": f"tribunal claim of {who}", "placed_by": "legal", "placed_at": NOW,
             "released_at": NOW, "released_by": "legal", "release_reason": f"claim of {who} settled"}
            for who in (PERSON, "cand-bystander")])
        conn.execute(consent_events.insert().values(
            event_id="consent-1", kind="consent", invitation_id=INVITATION, candidate_id=PERSON,
            application_id=APPLICATION, notice_version="v1", language="en", scopes=["ai_scoring"], declined=[],
            given_at=NOW, received_at=NOW))
    store.put("validation", "run-q.html", f"<td>{APPLICATION}</td>".encode(), "text/html")
    store.put("migration", "run-m/report.json", f'{{"subject": "{PERSON}"}}'.encode(), "application/json")
    store.put("validation", "run-r.html", b"<td>app-bystander</td>", "text/html")


def _kept_on_request(config: Any) -> set[str]:
    """Tables the configuration keeps on request (evidence, the employee archive): allowed to name the person."""
    return {spec.table for spec in config.stores if spec.on_request == "keep"}


def _traces(engine: Engine, exempt: set[str]) -> list[str]:
    """Every table.column (by introspection) whose stored text still holds one of the person's identifiers."""
    found = []
    inspector = sa.inspect(engine)
    with engine.connect() as conn:
        for table_name in inspector.get_table_names():
            if table_name in exempt:
                continue
            table = sa.Table(table_name, sa.MetaData(), autoload_with=engine)
            for row in conn.execute(sa.select(table)).mappings():
                for column, value in row.items():
                    raw = bytes(value) if isinstance(value, bytes | memoryview) else None
                    text = raw.decode("utf-8", "replace") if raw is not None else str(value)
                    hits = [t for t in TRACES if t in text]
                    if hits:
                        found.append(f"{table_name}.{column}: {hits}")
    return found


def _file_traces(root: Path) -> list[str]:
    """Every file under ``root`` (an object store's folder) whose bytes hold one of the person's identifiers."""
    return [f"{path}: {[t for t in TRACES if t.encode() in path.read_bytes()]}"
            for path in sorted(root.rglob("*")) if path.is_file() and any(t.encode() in path.read_bytes() for t in TRACES)]


def test_erasure_reaches_every_table_column_and_log_line(engine: Engine, artefacts: Any, tmp_path: Path,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    vault = Vault.local(engine, tmp_path / "home")
    _plant(engine, vault, artefacts)
    config = parse_config(load_config("retention"), "configs/retention.yaml")
    keys = AuditKeys.load_or_create(tmp_path / "keys", env={"HRBRIDGE_AUDIT_PEPPER": "erasure-test"})
    log = DeletionLog(engine, keys)
    platform = RecordingEraser()
    executor = RetentionExecutor(engine, engine, config, log, shredder=vault, erasers={"interview_platform": platform},
                                 artefacts=artefacts)
    exempt = _kept_on_request(config)
    objects = tmp_path / "objects"
    assert _traces(engine, exempt) and (engine.dialect.name == "postgresql" or _file_traces(objects)), "planted"
    request_deletion(engine, PERSON, "dpo@example.com", config.requests.legal_basis, keys.pseudonymise(PERSON),
                     config.requests.due_days, now=NOW - timedelta(days=1), seal_key=keys.pepper)
    with caplog.at_level(logging.DEBUG):
        result = executor.run(NOW)
    assert result["requests_refused"] == 0 and vault.is_shredded(PERSON) and platform.calls == [PERSON]

    # A signed result for the person arrives after the erasure: nothing of them is kept.
    enqueue_webhook_result(engine, _result(result_id="res-late"), vault)

    assert _traces(engine, exempt) == []
    if engine.dialect.name != "postgresql":  # the object store's files (data and descriptions)
        assert _file_traces(objects) == []
    assert [r for r in caplog.records if any(t in r.getMessage() for t in TRACES)] == []
    with engine.connect() as conn:  # the bystander is untouched
        assert conn.execute(sa.text("SELECT count(*) FROM candidates WHERE candidate_id = 'cand-bystander'")).scalar() == 1
        holds = conn.execute(sa.text("SELECT subject_id, reason, release_reason FROM legal_holds ORDER BY id")).all()
    marker = f"erased:{keys.pseudonymise(PERSON)}"  # the deletion log's pseudonym: an auditor can still match it
    with engine.connect() as conn:  # the destroyed key's record: pseudonym, version and times, no key
        tombstone = conn.execute(sa.text("SELECT subject_id, key_version, wrapped_key, master_key_id, created_at, "
                                         "destroyed_at FROM data_keys WHERE subject_id LIKE 'erased:%'")).all()
        shred_logged = conn.execute(sa.text("SELECT count(*) FROM deletion_log WHERE method = 'crypto-shred' "
                                            "AND subject_hash = :h"), {"h": keys.pseudonymise(PERSON)}).scalar()
    assert [(t.subject_id, t.key_version, t.wrapped_key, t.master_key_id) for t in tombstone] == [(marker, 1, None, None)]
    assert tombstone[0].created_at is not None and tombstone[0].destroyed_at is not None and shred_logged == 1
    assert [tuple(h) for h in holds] == [(marker, f"tribunal claim of {marker}", f"claim of {marker} settled"),
                                         ("cand-bystander", "tribunal claim of cand-bystander",
                                          "claim of cand-bystander settled")]
    assert [i.key for kind in artefacts.kinds() for i in artefacts.list(kind)] == ["validation/run-r.html"]
    with engine.connect() as conn:
        kept = conn.execute(sa.text("SELECT candidate_id FROM consent_events")).scalars().all()
    assert kept == [PERSON]  # evidence the configuration keeps on request (consent_evidence: keep)
    assert verify_chain(engine, keys.public_key).ok
