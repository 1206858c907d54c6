"""Notice and consent over the sandboxes: media, alternative process, withdrawal, explanation, guard."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from connectors.http import RetryPolicy
from connectors.interview_rest import HrbridgeInterviewClient
from connectors.successfactors import SuccessFactorsConnector
from hrbridge.consent.config import load_consent_config
from hrbridge.consent.oversight import explanation_for, record_decision, review_queue
from hrbridge.pipelines.interview_results import load_results_config, open_media, run_interview_results
from hrbridge.settings import PACKAGE_CONFIGS, ConfigError, load_settings
from hrbridge.store import hub_engine
from hrbridge.store.consent import consent_events, explanations, human_decisions
from hrbridge.store.results import interview_results, results_inbox, results_quarantine, results_writeback
from tests.factories.consent import invite_with_notice

SF_STATUS = "cust_aiInterviewStatus"


@pytest.fixture
def world(hrbridge_home, sf_sandbox, interview_sandbox):
    platform = HrbridgeInterviewClient(interview_sandbox.url, "sandbox-interview-key")
    sf = SuccessFactorsConnector.basic(sf_sandbox.url, "sfadmin@SFPART000001", "sandbox-secret",
                                       retry=RetryPolicy(max_attempts=1))
    settings = load_settings()
    engine = hub_engine(settings)
    apps = [str(r["applicationId"]) for r in sf_sandbox.records("JobApplication")[:4]]
    ids = invite_with_notice(platform, engine, apps, locale="zh-CN")
    yield {"platform": platform, "sf": sf, "engine": engine, "apps": apps, "ids": ids, "box": interview_sandbox,
           "sf_box": sf_sandbox, "settings": settings}
    platform.close()


def _run(world) -> object:
    return run_interview_results(world["platform"], world["sf"], world["engine"], settings=world["settings"])


def _hub_text(engine) -> str:
    """Every row of every hub table as text (to search for a reference anywhere)."""
    out = []
    tables = sa.MetaData()
    tables.reflect(engine)
    with engine.connect() as conn:
        for table in tables.sorted_tables:
            out += [json.dumps([str(v) for v in row]) for row in conn.execute(sa.select(table))]
    return "\n".join(out)


def _sf_record(world, app_id: str) -> dict:
    return next(r for r in world["sf_box"].records("JobApplication") if str(r["applicationId"]) == app_id)


def test_invitation_carries_notice_version_and_language(world) -> None:
    invitation = world["box"].invitations[world["ids"][world["apps"][0]]]
    assert invitation["request"]["notice"] == {"version": load_consent_config().notice_version, "language": "zh-CN"}


def test_without_video_consent_scores_are_stored_and_no_clip_reference_anywhere(world) -> None:
    box, (no_video, consented, *_) = world["box"], world["apps"]
    box.ignore_consent = True  # a platform that records anyway: hrbridge must drop the references itself
    box.answer(world["ids"][no_video], "consent", ["ai_scoring", "voice_recording"], declined=["video_recording"])
    produced = {r["application_id"]: r for r in box.complete(list(world["ids"].values()))}
    assert produced[no_video]["clips"] and produced[no_video]["transcript_ref"]
    from hrbridge.pipelines.interview_results import enqueue_webhook_result, media_vault

    vault = media_vault(world["engine"], load_results_config(world["settings"]))
    enqueue_webhook_result(world["engine"], produced[no_video], vault=vault)  # also delivered by the webhook

    summary = _run(world)
    assert summary.stored == 4 and summary.quarantined == 0 and summary.duplicates == 1
    with world["engine"].connect() as conn:
        (inbox,) = conn.execute(sa.select(results_inbox.c.payload)).scalars().all()
    assert set(inbox) <= {"result_id", "invitation_id", "candidate_id", "application_id", "job_id", "job_family",
                          "completed_at"}  # processed: the delivered media references are not kept
    with world["engine"].connect() as conn:
        rows = {r["application_id"]: r for r in open_media(vault, conn.execute(sa.select(interview_results)).mappings())}
    assert rows[no_video]["overall_score"] == pytest.approx(produced[no_video]["overall_score"], abs=0.01)
    assert rows[no_video]["clips"] == [] and rows[no_video]["transcript_ref"] is None
    assert rows[consented]["clips"] and rows[consented]["transcript_ref"]  # consent given: kept
    hub, hr = _hub_text(world["engine"]), json.dumps(_sf_record(world, no_video), default=str)
    for clip in produced[no_video]["clips"]:
        assert clip["clip_id"] not in hub and clip["clip_id"] not in hr and clip["url"] not in hub
    assert produced[no_video]["transcript_ref"] not in hub
    assert _sf_record(world, no_video)["cust_aiOverallScore"]  # the score itself went back
    with world["engine"].connect() as conn:
        (event,) = conn.execute(sa.select(consent_events).where(consent_events.c.application_id == no_video)).all()
    assert (event.notice_version, event.language, event.declined) == ("2026-12", "zh-CN", ["video_recording"])


def test_alternative_process_no_ai_score_used_or_written_back_and_status_set(world) -> None:
    box, (alt, other, *_) = world["box"], world["apps"]
    box.answer(world["ids"][alt], "alternative_process")
    produced = {r["application_id"]: r for r in box.complete(list(world["ids"].values()))}  # scored regardless

    summary = _run(world)
    assert summary.read == 4 and summary.stored == 3 and summary.quarantined == 1
    assert summary.failures["alternative_process"] == 1
    with world["engine"].connect() as conn:
        assert conn.execute(sa.select(interview_results).where(interview_results.c.application_id == alt)).first() is None
        assert conn.execute(sa.select(results_writeback).where(results_writeback.c.application_id == alt)).first() is None
        (held,) = conn.execute(sa.select(results_quarantine)).mappings().all()
    assert held["rules"] == ["alternative_process"] and "overall_score" not in held["payload"]
    assert str(produced[alt]["overall_score"]) not in json.dumps(held["payload"])
    record = _sf_record(world, alt)
    assert not record.get("cust_aiOverallScore") and not record.get("cust_aiMatchPercent")
    assert record[SF_STATUS] == load_consent_config().alternative_process_status
    assert _sf_record(world, other)[SF_STATUS] == "Completed"
    assert [i["application_id"] for i in review_queue(world["engine"])] == [alt]

    # A person decides; the decision is kept apart, with no AI recommendation (none was used).
    decision = record_decision(world["engine"], alt, "advance", load_consent_config(), decided_by="hr.lead")
    assert decision["ai_recommendation"] is None and decision["decided_by"] == "hr.lead"
    assert review_queue(world["engine"]) == []
    mine = record_decision(world["engine"], other, "hold", load_consent_config(), decided_by="hr.lead")
    assert mine["ai_recommendation"]["overall_score"] == pytest.approx(produced[other]["overall_score"], abs=0.01)
    with world["engine"].connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(human_decisions)).scalar_one() == 2


def test_withdrawal_becomes_a_scoped_deletion_request_executed_by_the_next_retention_run(world) -> None:
    from governance.retention import list_requests, platform_eraser
    from hrbridge.pipelines.retention import build_executor

    box, app = world["box"], world["apps"][2]
    candidate = f"cand-{app}"
    box.complete(list(world["ids"].values()))
    _run(world)
    assert box.media[candidate]["clips"]
    box.answer(world["ids"][app], "withdrawal", ["video_recording"])
    _run(world)  # the answer is recorded and becomes a request
    (request,) = list_requests(world["engine"], status="pending")
    assert request["categories"] == "interview_media" and request["subject_id"] == candidate

    result = build_executor(world["settings"], erasers={"interview_platform": platform_eraser(world["platform"])}).run()
    assert result["requests_done"] == 1 if "requests_done" in result else True, result
    with world["engine"].connect() as conn:
        row = conn.execute(sa.select(interview_results).where(interview_results.c.application_id == app)).mappings().one()
        others = conn.execute(sa.select(interview_results.c.clips).where(interview_results.c.application_id != app)).all()
    assert row["clips"] in ([], "[]", None) and row["transcript_ref"] is None and row["overall_score"] > 0
    assert all(c.clips not in ([], "[]", None) for c in others)  # the scope was only this person's media
    assert box.media[candidate] == {"clips": set(), "transcripts": set()}
    assert list_requests(world["engine"], status="pending") == []
    from governance.crypto import Vault

    assert not Vault.local(world["engine"], world["settings"].home).is_shredded(candidate)  # scoped: no shred


def test_explanation_request_yields_the_factors_in_both_languages(world) -> None:
    box, app, refuses = world["box"], world["apps"][3], world["apps"][0]
    box.complete(list(world["ids"].values()))
    _run(world)
    box.answer(world["ids"][app], "explanation_request")
    box.answer(world["ids"][refuses], "human_review_request")  # refuses a decision by automated means
    _run(world)
    assert [(i["application_id"], i["reason"]) for i in review_queue(world["engine"])] == [
        (refuses, "human_review_request")]
    with world["engine"].connect() as conn:
        (stored,) = conn.execute(sa.select(explanations)).mappings().all()
        dims = conn.execute(sa.select(interview_results.c.dimensions)
                            .where(interview_results.c.application_id == app)).scalar_one()
    assert stored["language"] == "zh-CN" and "AI 面试得分" in stored["text"]
    config = load_consent_config()
    en = explanation_for(world["engine"], app, "en-US", config)
    zh = explanation_for(world["engine"], app, "zh-CN", config)
    for text, factor, not_assessed in ((en, "AI interview score", "The AI did not assess"), (zh, "AI 面试得分", "AI 没有评估")):
        assert factor in text and not_assessed in text
        assert all(d["name"] in text for d in dims)
    assert "Skills from your résumé" in en or "Left out for lack of data" in en


def test_a_writeback_to_a_status_field_is_refused_at_start(hrbridge_home, monkeypatch, tmp_path: Path) -> None:
    configs = tmp_path / "configs"
    shutil.copytree(PACKAGE_CONFIGS, configs, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    doc = yaml.safe_load((configs / "interview_results.yaml").read_text(encoding="utf-8"))
    doc["writeback"]["fields"]["overall_score"] = "status"
    (configs / "interview_results.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    monkeypatch.setenv("HRBRIDGE_CONFIG_DIR", str(configs))
    with pytest.raises(ConfigError, match="'status', a status field"):
        load_results_config(load_settings())
    from hrbridge.cli import main

    assert main(["sync", "results"]) == 2  # refused before anything is read or written
