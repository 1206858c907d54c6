"""Consent configuration, the oversight guard, consent events and states, and explanations (pure parts)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from hrbridge.consent.config import ConsentConfig, load_consent_config
from hrbridge.consent.guard import OversightError, check_results_config
from hrbridge.consent.ledger import ConsentState, parse_event
from hrbridge.settings import load_config
from transforms.explanation import explain

NOW = datetime(2026, 12, 7, tzinfo=UTC)


@pytest.fixture(scope="module")
def config() -> ConsentConfig:
    return load_consent_config()


@pytest.fixture
def results() -> dict:
    return copy.deepcopy(load_config("interview_results"))  # the parsed file is cached: never change it


def test_the_shipped_results_configuration_passes_the_guard(config, results) -> None:
    check_results_config(results, config)


@pytest.mark.parametrize(("target", "message"), [
    ("status", "'status', a status field"),
    ("cust_disposition", "'cust_disposition', a disposition field"),
    ("cust_rejectionReason", "'cust_rejectionReason', a rejection field"),
    ("cust_somethingNew", "'cust_somethingNew', which consent.yaml oversight.fields does not declare"),
])
def test_an_ai_output_mapped_to_a_decision_or_undeclared_field_is_refused_naming_it(config, results, target,
                                                                                      message) -> None:
    results["writeback"] = {**results["writeback"], "fields": {**results["writeback"]["fields"], "match_percent": target}}
    with pytest.raises(OversightError, match=message):
        check_results_config(results, config)


def test_a_declared_recommendation_field_named_like_a_status_is_still_refused(results) -> None:
    doc = load_config("consent")
    doc = {**doc, "oversight": {**doc["oversight"], "fields": {**doc["oversight"]["fields"],
                                                                "cust_ai_stage": "recommendation"}}}
    results["writeback"] = {**results["writeback"], "fields": {"overall_score": "cust_ai_stage"}}
    with pytest.raises(OversightError, match="'cust_ai_stage', whose name is that of a status"):
        check_results_config(results, ConsentConfig.from_document(doc))


def test_the_interview_status_may_only_go_to_a_process_field(config, results) -> None:
    results["status"] = {**results["status"], "field": "status"}
    with pytest.raises(OversightError, match="status.field 'status' is a status field"):
        check_results_config(results, config)


def test_notice_follows_the_candidate_language_with_a_fallback(config) -> None:
    assert config.notice_for("zh-CN") == {"version": config.notice_version, "language": "zh-CN"}
    assert config.notice_for("fr-FR")["language"] == "zh-CN"  # first language of the version


def test_consent_events_are_checked_field_by_field() -> None:
    good = {"event_id": "cns_1", "kind": "consent", "invitation_id": "inv_1", "candidate_id": "C1",
            "application_id": "A1", "scopes": ["video_recording", "ai_scoring"], "declined": [],
            "given_at": "2026-12-07T08:00:00Z"}
    row = parse_event(good, NOW)
    assert row["scopes"] == ["ai_scoring", "video_recording"] and row["given_at"].tzinfo is not None
    for bad, field in (({"kind": "maybe"}, "kind"), ({"scopes": ["face_id"]}, "scopes"),
                       ({"candidate_id": "x" * 200}, "candidate_id"), ({"given_at": "yesterday"}, "given_at")):
        with pytest.raises(ValueError, match=field):
            parse_event({**good, **bad}, NOW)


def test_what_an_answer_allows() -> None:
    legacy = ConsentState(noticed=False, granted=frozenset(), alternative=False)
    assert legacy.clips_allowed and legacy.ai_allowed
    voice_only = ConsentState(True, frozenset({"ai_scoring", "voice_recording"}), False)
    assert not voice_only.clips_allowed and not voice_only.transcript_allowed and voice_only.ai_allowed
    everything = ConsentState(True, frozenset({"ai_scoring", "video_recording", "voice_recording"}), False)
    assert everything.clips_allowed and everything.transcript_allowed
    assert not ConsentState(False, frozenset(), True).ai_allowed  # an alternative process, noticed or not


def test_explanation_lists_factors_dimensions_and_what_was_not_assessed(config) -> None:
    result = {"overall_score": 72.5, "model_version": "m1", "match_percent": 66.0,
              "dimensions": [{"name": "communication", "score": 80}, {"name": "resilience", "score": 65}],
              "match_report": {"factors": [{"factor": "interview", "weight": 0.6, "score": 0.725,
                                            "detail": "interview score 72.5 on a 0-100 scale"}],
                               "left_out": ["skills"]}}
    en = explain(result, "en-US", config.not_assessed["en-US"])
    zh = explain(result, "zh-CN", config.not_assessed["zh-CN"])
    assert "AI interview score: weight 60%, score 72%" in en and "Skills from your résumé" in en
    assert "communication: 80" in en and "resilience: 65" in en and "accent" in en
    assert "AI 面试得分：权重 60%" in zh and "简历中的技能" in zh and "口音" in zh
    assert "another process" in explain(result, "en-US", [], alternative=True)
    assert "72.5" not in explain(result, "en-US", [], alternative=True)
