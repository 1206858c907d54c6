"""A small, complete hrbridge state for the browser pages: hub, archive, deletion log, migration.

:func:`seed_pages` fills the databases of the current ``HRBRIDGE_HOME`` through the real stores
(vault-sealed contacts and clips, a real legacy migration, a signed deletion log) and returns the
facts the tests assert against.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

NOW = datetime(2026, 3, 2, 6, 30, tzinfo=UTC)
MANAGER_REQS = ("301", "302")


@dataclass
class PageFacts:
    """What the seeded state holds, for assertions."""

    own_candidate: str = "C-100"      # applied to a manager's requisition, has a result and clips
    other_candidate: str = "C-200"    # applied to a requisition no manager in the tests owns
    waiting_candidate: str = "C-300"  # invited, no result yet
    own_result: str = "R-100"
    clip_id: str = "clip-R-100-1"
    own_person: str = ""
    other_person: str = ""
    validation_runs: list[str] = field(default_factory=list)
    held_run: str = ""
    migration_run: str = ""
    log_entries: int = 0
    request_id: int = 0
    secret_email: str = "mei.chen@example.cn"


def _requisitions() -> list[dict[str, Any]]:
    return [{"requisition_id": rid, "title": title, "job_family": family, "job_code": f"JC-{rid}",
             "department": family, "country": "CN", "locale": "zh_CN", "last_modified": NOW, "extras": {},
             "loaded_at": NOW}
            for rid, title, family in (("301", "Key Account Manager", "Sales"), ("302", "Backend Engineer", "Engineering"),
                                       ("399", "Financial Analyst", "Finance"))]


def _result(result_id: str, candidate_id: str, application_id: str, family: str, score: float,
            clip_url: str) -> dict[str, Any]:
    return {
        "result_id": result_id, "invitation_id": f"inv-{application_id}", "candidate_id": candidate_id,
        "application_id": application_id, "job_id": "REQ", "job_family": family,
        "completed_at": NOW - timedelta(days=3), "invited_at": NOW - timedelta(days=5), "overall_score": score,
        "dimensions": [{"name": "communication", "score": 72.0, "weight": 0.5, "comment": "clear and structured"},
                       {"name": "customer_negotiation", "score": 85.0, "weight": 0.5, "comment": "strong"}],
        "keywords": ["客户关系", "pipeline"],
        "clips": [{"clip_id": f"clip-{result_id}-1", "dimension": "communication", "url": clip_url,
                   "expires_at": (NOW + timedelta(days=30)).isoformat()}],
        "report_url": f"https://interview.example.test/reports/{result_id}", "model_version": "scorer-1",
        "interviewer_comments": "Good structure.", "transcript_ref": f"tr-{result_id}", "match_percent": 78.5,
        "match_report": {"match_percent": 78.5, "left_out": ["experience"], "factors": [
            {"factor": "skills", "weight": 0.4667, "score": 0.5, "contribution": 23.3, "detail": "1 of 2 required skills found"},
            {"factor": "interview", "weight": 0.5333, "score": 0.785, "contribution": 41.9, "detail": "interview score 78.5"}]},
        "source": "poll", "run_id": "vr-3", "stored_at": NOW - timedelta(days=3),
    }


def seed_recruiting(hub: sa.Engine, vault: Any, clip_url: str, facts: PageFacts) -> None:
    """Requisitions, candidates (contacts sealed), applications, invitations, results (clips sealed)."""
    from hrbridge.pipelines.interview_results.ingest import seal_media
    from hrbridge.store.recruiting import applications, candidates, invitations, requisitions
    from hrbridge.store.results import interview_results, results_writeback

    people = [(facts.own_candidate, "Mei", "Chen", "301", "A-100", facts.secret_email),
              (facts.other_candidate, "Lei", "Wang", "399", "A-200", "lei.wang@example.cn"),
              (facts.waiting_candidate, "Anna", "Meyer", "302", "A-300", "anna.meyer@example.com")]
    sealed = {cid: (vault.encrypt(cid, email, table="candidates", column="email", record_id=cid),
                    vault.encrypt(cid, "+86 13800001111", table="candidates", column="phone", record_id=cid))
              for cid, _, _, _, _, email in people}
    rows = seal_media(vault, [_result(facts.own_result, facts.own_candidate, "A-100", "Sales", 78.5, clip_url),
                              _result("R-200", facts.other_candidate, "A-200", "Finance", 64.0, clip_url)])
    with hub.begin() as conn:
        conn.execute(requisitions.insert(), _requisitions())
        for cid, first, last, req, app, _ in people:
            conn.execute(candidates.insert().values(
                candidate_id=cid, first_name=first, last_name=last, city="Shanghai", country="CN", locale="zh_CN",
                email=sealed[cid][0], phone=sealed[cid][1], last_modified=NOW, loaded_at=NOW, source="successfactors"))
            conn.execute(applications.insert().values(
                application_id=app, candidate_id=cid, requisition_id=req, status="Interview", first_name=first,
                last_name=last, applied_at=NOW - timedelta(days=9), last_modified=NOW, loaded_at=NOW))
            conn.execute(invitations.insert().values(
                application_id=app, candidate_id=cid, requisition_id=req, job_family="Sales",
                idempotency_key=f"idem-{app}", state="written_back", plan_id="plan", plan_version="1", plan={},
                request={}, platform_status="completed" if cid != facts.waiting_candidate else "not_started",
                planned_at=NOW - timedelta(days=8), posted_at=NOW - timedelta(days=8)))
        conn.execute(interview_results.insert(), rows)
        conn.execute(results_writeback.insert(), [{"application_id": r["application_id"], "result_id": r["result_id"],
                                                   "state": "written", "attempts": 1, "fields": {}, "updated_at": NOW}
                                                  for r in rows])


def seed_validation(hub: sa.Engine, facts: PageFacts) -> None:
    """Three validation runs; the latest held back two results (one with an e-mail in its payload)."""
    from hrbridge.store.results import results_quarantine, validation_runs

    runs = [("vr-1", 40, 0, {}), ("vr-2", 25, 1, {"clips_valid": 1}),
            ("vr-3", 30, 2, {"known_invitation": 2, "dimensions_known": 1})]
    with hub.begin() as conn:
        for number, (run_id, checked, held, failures) in enumerate(runs):
            conn.execute(validation_runs.insert().values(
                run_id=run_id, source="poll", started_at=NOW - timedelta(days=3 - number), rows_checked=checked,
                stored=checked - held, quarantined=held, duplicates=0, failures=failures, rule_titles={}))
        payload = {"result_id": "R-900", "invitation_id": "inv-unknown", "candidate_id": "C-900",
                   "application_id": "A-900", "job_family": "Sales", "overall_score": 70,
                   "dimensions": [{"name": "charisma", "score": 50}], "email": "leak.me@example.com"}
        conn.execute(results_quarantine.insert(), [
            {"run_id": "vr-3", "result_id": "R-900", "position": 1, "rules": ["known_invitation", "dimensions_known"],
             "payload": payload, "source": "poll", "quarantined_at": NOW},
            {"run_id": "vr-3", "result_id": "R-901", "position": 2, "rules": ["known_invitation"],
             "payload": {**payload, "result_id": "R-901", "job_family": "Finance", "application_id": "A-901"},
             "source": "poll", "quarantined_at": NOW},
            {"run_id": "vr-2", "result_id": "R-800", "position": 1, "rules": ["clips_valid"],
             "payload": {**payload, "result_id": "R-800"}, "source": "poll", "quarantined_at": NOW},
        ])
    facts.validation_runs = [r[0] for r in runs]
    facts.held_run = "vr-3"
    seed_data_docs("vr-3")


def seed_data_docs(run_id: str) -> None:
    """The run's GX Data Docs, built by the suite's real Checkpoint on three results (one out of scale)."""
    from hrbridge.artefacts import artefact_store
    from hrbridge.data_docs import site_config
    from hrbridge.pipelines.interview_results.config import file_safe, load_results_config, suite_runner
    from hrbridge.settings import load_settings
    from tests.factories.results import make_result
    from transforms.results import derive_check_columns, flatten_results

    config = load_results_config(load_settings())
    raw = [make_result(1), make_result(2), make_result(3, overall_score=250)]
    checked = derive_check_columns(flatten_results(raw), config.params, {r["invitation_id"] for r in raw}, NOW)
    suite_runner(config).validate(checked, run_name=file_safe(run_id),
                                  docs_site=site_config(artefact_store(), file_safe(run_id)))


def seed_archive(archive: sa.Engine, facts: PageFacts) -> None:
    """Two hires with their interview portraits (one in a manager's requisition, one not)."""
    from hrbridge.archive import employments, persons, portraits

    with archive.begin() as conn:
        for key, cid, first, last, req, app in (("p-own", facts.own_candidate, "Mei", "Chen", "301", "A-100"),
                                                ("p-other", facts.other_candidate, "Lei", "Wang", "399", "A-200")):
            conn.execute(persons.insert().values(person_key=key, candidate_id=cid, first_name=first, last_name=last,
                                                 city="Shanghai", country="CN", content_hash="h", archived_at=NOW,
                                                 updated_at=NOW))
            conn.execute(employments.insert().values(application_id=app, person_key=key, candidate_id=cid,
                                                     requisition_id=req, position_title="Key Account Manager",
                                                     job_family="Sales", department="Sales", hire_date=date(2025, 6, 1),
                                                     content_hash="h", archived_at=NOW, updated_at=NOW))
            conn.execute(portraits.insert().values(
                result_id=f"R-{cid}", person_key=key, application_id=app, candidate_id=cid,
                completed_at="2025-05-20T08:00:00+00:00", job_family="Sales", overall_score=72.0,
                dimension_scores={"communication": 72.0, "customer_negotiation": 85.0},
                dimension_comments={"communication": "clear"}, keywords=["客户关系"], interviewer_comments="hire",
                clip_refs=[], content_hash="h", archived_at=NOW, updated_at=NOW))
    facts.own_person, facts.other_person = "p-own", "p-other"


def seed_migration(tmp: Path, archive_url: str, facts: PageFacts) -> None:
    """A real legacy migration of six rows (one with a broken id number) into the archive."""
    from hrbridge.pipelines.migration import MigrationOptions, migrate
    from tests.factories.legacy import legacy_rows, write_csv

    frame = legacy_rows(6)
    frame.iloc[2, 2] = "12345"  # not an id number (a personal column: its value is sealed in the log)
    frame.iloc[4, 7] = "not a date"  # hire date: held back, value readable by HR
    source = tmp / "legacy.csv"
    write_csv(frame, str(source))
    outcome = migrate(MigrationOptions(source=str(source), target=archive_url, run_id="mig-demo",
                                       report_dir=str(tmp / "mig-report")))
    facts.migration_run = "mig-demo"
    assert outcome.json_key == "migration/mig-demo/report.json"  # the pages read the report from the store


def seed_deletion_log(hub: sa.Engine, key_dir: Path, facts: PageFacts) -> None:
    """Two signed purge runs, a legal hold and a pending deletion request."""
    from governance.audit import AuditKeys, DeletionLog, LogEntry
    from governance.retention.schema import create_retention_tables, deletion_requests, legal_holds

    keys = AuditKeys.load_or_create(key_dir)
    log = DeletionLog(hub, keys)
    create_retention_tables(hub)
    policy = "retention policy not-hired-180d"
    with hub.begin() as conn:
        log.append(conn, "purge-2026-01", [
            LogEntry(requested_by=policy, subject_hash=log.pseudonymise(f"C-{n}"), categories=["interview", "contact"],
                     stores=["hub.interview_results", "hub.candidates"], legal_basis="PIPL Art. 47(1)(2) retention ended",
                     method="delete", counts_before={"hub.interview_results": 1, "hub.candidates": 1},
                     counts_after={"hub.interview_results": 0, "hub.candidates": 0},
                     done_at=datetime(2026, 1, 15, 2, 0, tzinfo=UTC)) for n in range(5)])
    with hub.begin() as conn:
        log.append(conn, "purge-2026-02", [
            LogEntry(requested_by="candidate self-service", subject_hash=log.pseudonymise("C-77"),
                     categories=["video"], stores=["platform.media"], legal_basis="GDPR Art. 17(1)(b) consent withdrawn",
                     method="external request", counts_before={"platform.media": 3}, counts_after={"platform.media": 0},
                     requested_at=datetime(2026, 2, 1, tzinfo=UTC), due_at=datetime(2026, 2, 16, tzinfo=UTC),
                     done_at=datetime(2026, 2, 3, 9, 0, tzinfo=UTC)),
            LogEntry(requested_by=policy, subject_hash=log.pseudonymise("C-88"), categories=["interview"],
                     stores=["hub.interview_results"], legal_basis="PIPL Art. 47(1)(2) retention ended", method="hold",
                     counts_before={"hub.interview_results": 1}, counts_after={"hub.interview_results": 1},
                     hold="legal hold #1", done_at=datetime(2026, 2, 3, 9, 0, tzinfo=UTC))])
        conn.execute(legal_holds.insert().values(subject_id="C-88", reason="litigation 2026-014", placed_by="legal",
                                                 placed_at=datetime(2026, 1, 20, tzinfo=UTC)))
        inserted = conn.execute(deletion_requests.insert().values(
            subject_id="C-99", subject_hash=log.pseudonymise("C-99"), requested_by="candidate self-service",
            legal_basis="PIPL Art. 47", requested_at=datetime(2026, 2, 20, tzinfo=UTC),
            due_at=datetime(2026, 3, 7, tzinfo=UTC), status="pending"))
    facts.log_entries = 7
    facts.request_id = int(inserted.inserted_primary_key[0])


def seed_pages(tmp: Path, clip_url: str) -> PageFacts:
    """Fill the hub and archive of the current HRBRIDGE_HOME; returns the facts."""
    from hrbridge.archive import archive_engine
    from hrbridge.pipelines.pii import default_vault
    from hrbridge.settings import load_settings
    from hrbridge.store import hub_engine

    settings = load_settings().ensure_dirs()
    hub, archive = hub_engine(settings), archive_engine(settings)
    facts = PageFacts()
    seed_recruiting(hub, default_vault(hub, settings.home), clip_url, facts)
    seed_validation(hub, facts)
    seed_archive(archive, facts)
    seed_migration(tmp, settings.archive_url, facts)
    seed_deletion_log(hub, settings.home / "keys", facts)
    from hrbridge.artefacts import artefact_store  # an export `hrbridge audit export` kept in the store

    artefact_store().put("audit-export", "deletion-log_seed.csv", "序号,执行时间\n".encode(), "text/csv; charset=utf-8")
    return facts
