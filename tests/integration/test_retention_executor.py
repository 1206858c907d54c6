"""Retention runs on real databases: holds, requests, plan = run, external retries, resume after a crash."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connectors.sql import make_engine
from governance.audit import deletion_log, verify_chain
from governance.retention import add_hold, list_requests, remove_holds, request_deletion
from governance.retention.schema import pending_actions
from tests.factories.retention import (
    CONFIG,
    NOW,
    RecordingEraser,
    add_candidate,
    count,
    create_tables,
    make_executor,
    t_applications,
    t_candidates,
    t_portraits,
    t_results,
)


@pytest.fixture
def dbs(db_url: str, tmp_path: Path) -> Iterator[tuple[Engine, Engine]]:
    """The hub on SQLite or Postgres; the archive in a separate SQLite database."""
    hub = make_engine(db_url)
    archive = make_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    create_tables(hub, archive)
    yield hub, archive
    hub.dispose()
    archive.dispose()


def _log(hub: Engine) -> list[dict[str, Any]]:
    with hub.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(deletion_log).order_by(deletion_log.c.seq))]


def test_hold_blocks_deletion_and_the_skip_is_logged(dbs: tuple[Engine, Engine], tmp_path: Path) -> None:
    hub, archive = dbs
    for cid in ("C1", "C2"):
        add_candidate(hub, archive, cid)
    executor = make_executor(hub, archive, tmp_path / "keys", erasers={"interview_platform": RecordingEraser()})
    hold_id = add_hold(hub, "C1", "litigation case 42", "legal@example.com")
    result = executor.run(NOW)
    assert count(hub, t_candidates, candidate_id="C1") == 1 and count(hub, t_results, candidate_id="C1") == 1
    assert count(hub, t_candidates, candidate_id="C2") == 0
    held_hash = executor.log.pseudonymise("C1")
    held_entries = [e for e in _log(hub) if e["subject_hash"] == held_hash]
    assert held_entries and all(e["method"] == "hold" and e["hold"] == f"legal hold #{hold_id}" for e in held_entries)
    assert all(e["counts_before"] == e["counts_after"] for e in held_entries)
    assert result["totals"]["held"] == 2  # the media policy and the not-hired policy
    request_deletion(hub, "C1", "dpo", "GDPR Art. 17(1)(b) consent withdrawn", held_hash, 15,
                     now=NOW - timedelta(days=30), seal_key=executor.log.keys.pepper)
    held_request = executor.run(NOW)
    assert held_request["requests_pending"] == {"total": 1, "overdue": 1}, "a held request waits, and shows as overdue"
    assert held_request["items"][-1]["held"] == 1
    remove_holds(hub, "C1", "case closed", "legal@example.com")
    released = executor.run(NOW)
    assert count(hub, t_candidates, candidate_id="C1") == 0
    assert released["requests_pending"] == {"total": 0, "overdue": 0}
    assert verify_chain(hub, executor.log.keys.public_key).ok


def test_deletion_request_is_executed_before_its_due_date(dbs: tuple[Engine, Engine], tmp_path: Path) -> None:
    hub, archive = dbs
    add_candidate(hub, archive, "C7", status="hired", decided_days_ago=5, interview_days_ago=5, portrait=True)
    platform = RecordingEraser()
    executor = make_executor(hub, archive, tmp_path / "keys", erasers={"interview_platform": platform})
    basis = "GDPR Art. 17(1)(b) consent withdrawn"
    request = request_deletion(hub, "C7", "dpo@example.com", basis, executor.log.pseudonymise("C7"), 15,
                               now=NOW - timedelta(days=2), seal_key=executor.log.keys.pepper)
    executor.run(NOW)
    assert count(hub, t_candidates, candidate_id="C7") == 0
    assert count(hub, t_applications, candidate_id="C7") == 0 and count(hub, t_results, candidate_id="C7") == 0
    assert count(archive, t_portraits, candidate_id="C7") == 1, "the archive store is configured on_request: keep"
    assert platform.calls == ["C7"]
    done = list_requests(hub)[0]
    assert done["status"] == "done" and done["subject_id"] is None
    assert done["done_at"].replace(tzinfo=None) < request["due_at"].replace(tzinfo=None)
    entries = [e for e in _log(hub) if e["subject_hash"] == executor.log.pseudonymise("C7")]
    local = next(e for e in entries if e["method"] == "delete")
    assert local["legal_basis"] == basis and local["requested_by"] == "dpo@example.com"
    assert local["due_at"] > local["requested_at"] and local["done_at"] < local["due_at"]
    assert local["counts_after"] == '{"hub.t_applications":0,"hub.t_candidates":0,"hub.t_results":0}'
    assert any(e["method"] == "external request" and e["stores"] == "interview_platform" for e in entries)
    assert "C7" not in str(entries)


@pytest.mark.parametrize("after_check", [True, False])
def test_plan_equals_what_run_deletes(dbs: tuple[Engine, Engine], tmp_path: Path, after_check: bool) -> None:
    hub, archive = dbs
    for i in range(8):
        add_candidate(hub, archive, f"C{i}", status="hired" if i % 4 == 0 else "rejected",
                      decided_days_ago=200 if i < 6 else 20, interview_days_ago=45, results=1 + i % 2)
    add_hold(hub, "C1", "audit", "legal")
    config = copy.deepcopy(CONFIG) | {"after_check": after_check}
    executor = make_executor(hub, archive, tmp_path / "keys", config,
                             erasers={"interview_platform": RecordingEraser()})
    plan = executor.plan(NOW)
    before = count(hub, t_candidates)
    run = executor.run(NOW)
    assert plan["items"] == run["items"]
    assert plan["totals"] == run["totals"]
    deleted = before - count(hub, t_candidates)
    planned = next(i for i in plan["items"] if i["item"] == "policy:not-hired-180d")
    assert planned["records"]["hub.t_candidates"] == deleted == 3  # C2, C3, C5 (C1 held, C0/C4 hired)
    assert executor.plan(NOW)["totals"]["subjects"] == 0, "a second plan finds nothing left to do"


def test_media_is_anonymised_and_scores_kept(dbs: tuple[Engine, Engine], tmp_path: Path) -> None:
    hub, archive = dbs
    add_candidate(hub, archive, "C1", status="hired", decided_days_ago=40, interview_days_ago=40)
    add_candidate(hub, archive, "C2", status="hired", decided_days_ago=10, interview_days_ago=10)
    make_executor(hub, archive, tmp_path / "keys", erasers={"interview_platform": RecordingEraser()}).run(NOW)
    with hub.connect() as conn:
        rows = {r.candidate_id: r for r in conn.execute(sa.select(t_results))}
    assert rows["C1"].video_ref is None and rows["C1"].clips == [] and rows["C1"].score == 3.5
    assert rows["C2"].video_ref is not None and rows["C2"].clips == ["clip-0"]


def test_killed_purge_resumes_without_logging_anyone_twice(dbs: tuple[Engine, Engine], tmp_path: Path) -> None:
    hub, archive = dbs
    for i in range(10):
        add_candidate(hub, archive, f"C{i:02d}", interview_days_ago=10)
    executor = make_executor(hub, archive, tmp_path / "keys", erasers={"interview_platform": RecordingEraser()})
    planned = executor.plan(NOW)

    class Killed(RuntimeError):
        pass

    def kill_after_two(item: str, batch: int) -> None:
        if item == "policy:not-hired-180d" and batch == 2:
            raise Killed("worker killed")

    with pytest.raises(Killed):
        executor.run(NOW, on_batch=kill_after_two)
    assert count(hub, t_candidates) == 4  # two batches of three committed
    first_run = _log(hub)
    assert len(first_run) == 6
    resumed = executor.run(NOW + timedelta(hours=1))
    assert resumed["resumed"] is True and resumed["as_of"] == planned["as_of"]
    assert count(hub, t_candidates) == 0
    entries = [e for e in _log(hub) if e["method"] == "delete"]
    subjects = [e["subject_hash"] for e in entries]
    assert len(subjects) == len(set(subjects)) == 10
    assert {e["run_id"] for e in entries} == {resumed["run_id"]}
    without_samples = [{k: v for k, v in i.items() if k != "sample_subjects"} for i in planned["items"]]
    assert [{k: v for k, v in i.items() if k != "sample_subjects"} for i in resumed["items"]] == without_samples
    assert verify_chain(hub, executor.log.keys.public_key).ok


def test_request_crypto_shreds_with_the_vault(dbs: tuple[Engine, Engine], tmp_path: Path) -> None:
    from governance.crypto import Vault

    hub, archive = dbs
    add_candidate(hub, archive, "C9", status="hired", decided_days_ago=1, interview_days_ago=1)
    vault = Vault.local(hub, tmp_path / "vault")
    token = vault.encrypt("C9", "video/C9/0.mp4", table="t_results", column="video_ref", record_id="R-C9-0")
    config = copy.deepcopy(CONFIG)
    config["requests"]["crypto_shred"] = True
    executor = make_executor(hub, archive, tmp_path / "keys", config, shredder=vault,
                             erasers={"interview_platform": RecordingEraser()})
    request_deletion(hub, "C9", "dpo", "GDPR Art. 17(1)(b) consent withdrawn", executor.log.pseudonymise("C9"), 15,
                     seal_key=executor.log.keys.pepper)
    executor.run(NOW)
    assert vault.is_shredded("C9")
    with pytest.raises(Exception, match="(?i)shred"):
        vault.decrypt("C9", token, table="t_results", column="video_ref", record_id="R-C9-0")
    shred = [e for e in _log(hub) if e["method"] == "crypto-shred"]
    assert len(shred) == 1 and shred[0]["counts_before"] == '{"crypto-shred":1}'


def test_failed_media_deletion_stays_pending_and_is_retried(interview_sandbox: Any, tmp_path: Path) -> None:
    from connectors.http import RetryPolicy
    from connectors.interview_rest import HrbridgeInterviewClient
    from governance.retention import platform_eraser

    hub = make_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    archive = make_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    create_tables(hub, archive)
    add_candidate(hub, archive, "C5", status="hired", decided_days_ago=40, interview_days_ago=40)
    client = HrbridgeInterviewClient(interview_sandbox.url, interview_sandbox.api_key,
                                     retry=RetryPolicy(max_attempts=1))
    executor = make_executor(hub, archive, tmp_path / "keys", erasers={"interview_platform": platform_eraser(client)})
    interview_sandbox.faults.add("503", path_regex=r"/v1/candidates/C5/media", count=1)
    first = executor.run(NOW)
    assert first["external"]["this_run"] == {"done": 0, "failed": 1, "held": 0, "deferred": 0}
    with hub.connect() as conn:
        pending = conn.execute(sa.select(pending_actions)).one()
    assert pending.status == "pending" and pending.attempts == 1 and "503" in pending.last_error
    assert not [e for e in _log(hub) if e["method"] == "external request"]
    second = executor.run(NOW + timedelta(days=1))
    assert second["external"]["retried"] == {"done": 1, "failed": 0, "held": 0, "deferred": 0}
    with hub.connect() as conn:
        done = conn.execute(sa.select(pending_actions)).one()
    assert done.status == "done" and done.subject_id is None
    external = [e for e in _log(hub) if e["method"] == "external request"]
    assert len(external) == 1 and external[0]["run_id"] == second["run_id"]
    assert verify_chain(hub, executor.log.keys.public_key).ok


def test_a_second_run_waits_for_the_first_on_postgres(pg_url: str, tmp_path: Path) -> None:
    from governance.retention import RetentionBusyError
    from governance.retention.executor import RUN_LOCK

    hub = make_engine(pg_url)
    archive = make_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    create_tables(hub, archive)
    add_candidate(hub, archive, "C1")
    executor = make_executor(hub, archive, tmp_path / "keys", erasers={"interview_platform": RecordingEraser()})
    with hub.connect() as other:
        other.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": RUN_LOCK})
        with pytest.raises(RetentionBusyError, match="in progress"):
            executor.run(NOW)
        other.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": RUN_LOCK})
    assert executor.run(NOW)["totals"]["subjects"] == 2
    assert count(hub, t_candidates) == 0
    hub.dispose()


def test_a_failing_system_is_not_called_for_every_person(tmp_path: Path) -> None:
    from governance.retention.executor import BREAKER

    hub = make_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    archive = make_engine(f"sqlite:///{tmp_path / 'archive.db'}")
    create_tables(hub, archive)
    for i in range(BREAKER + 5):
        add_candidate(hub, archive, f"C{i:02d}", status="hired", decided_days_ago=40, interview_days_ago=40)
    platform = RecordingEraser()
    platform.failing = True
    executor = make_executor(hub, archive, tmp_path / "keys", erasers={"interview_platform": platform})
    first = executor.run(NOW)
    assert first["external"]["this_run"] == {"done": 0, "failed": BREAKER, "held": 0, "deferred": 5}
    assert len(platform.calls) == BREAKER
    with hub.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(pending_actions)
                            .where(pending_actions.c.status == "pending")).scalar_one() == BREAKER + 5
    platform.failing = False
    second = executor.run(NOW + timedelta(days=1))
    assert second["external"]["retried"]["done"] == BREAKER + 5


def test_a_policy_spanning_hub_and_archive_deletes_in_both(dbs: tuple[Engine, Engine], tmp_path: Path) -> None:
    hub, archive = dbs
    config = copy.deepcopy(CONFIG)
    config["policies"][1]["categories"].append("interview_portrait")
    for cid in ("C1", "C2"):
        add_candidate(hub, archive, cid, portrait=True)
    add_candidate(hub, archive, "C3", status="hired", portrait=True)
    executor = make_executor(hub, archive, tmp_path / "keys", config, erasers={"interview_platform": RecordingEraser()})
    executor.run(NOW)
    assert count(archive, t_portraits) == 1 and count(archive, t_portraits, candidate_id="C3") == 1
    entry = next(e for e in _log(hub) if e["subject_hash"] == executor.log.pseudonymise("C1") and e["method"] == "delete")
    assert entry["stores"] == "archive.t_portraits,hub.t_applications,hub.t_candidates,hub.t_results"
    assert entry["counts_before"] == ('{"archive.t_portraits":1,"hub.t_applications":1,"hub.t_candidates":1,'
                                      '"hub.t_results":1}')
