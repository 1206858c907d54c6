"""The retention approval gate without Airflow: what is asked, what an approval carries out, what it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from hrbridge.operations.approval import (
    PlanChangedError,
    approval_plan,
    approval_text,
    outcome,
    run_approved,
)
from hrbridge.operations.config import ApprovalGate
from hrbridge.pipelines.retention import plan_retention
from tests.factories.retention import add_candidate, count, expired_home, t_candidates, t_results

SMALL = ApprovalGate(max_subjects=5, max_records=50)


@pytest.fixture
def three_expired(hrbridge_home: Path, tmp_path: Path, monkeypatch):
    hub, archive = expired_home(tmp_path / "configs", monkeypatch, ["C1", "C2", "C3"])
    return hub, archive


def test_the_plan_shows_counts_per_policy_and_store_and_nobody(three_expired) -> None:
    planned = approval_plan(plan_retention(), SMALL)
    assert (planned["subjects"], planned["records"], planned["needs_approval"]) == (6, 12, True)
    assert planned["records_by_store"] == {"hub.t_applications": 3, "hub.t_candidates": 3, "hub.t_results": 6}
    assert all("sample_subjects" not in item for item in planned["items"])
    text = approval_text(planned)
    assert "**6 people** (counted per policy), **12 records**" in text
    assert "| policy:interview-media-30d:hub.t_results | anonymise | 3 | hub.t_results: 3 |" in text
    assert "above the approval threshold (5 people or 50 records" in text
    raw = plan_retention()
    pseudonyms = {s for item in raw["items"] for s in item["sample_subjects"]}
    assert pseudonyms and not any(p in text or p in str(planned) for p in pseudonyms)
    assert not any(c in text for c in ("C1", "C2", "C3", "Name "))


@pytest.mark.parametrize("gate, asks", [(ApprovalGate(6, 12), False), (ApprovalGate(5, 12), True),
                                        (ApprovalGate(6, 11), True), (ApprovalGate(0, 0), True)])
def test_the_gate_asks_only_above_its_size(three_expired, gate: ApprovalGate, asks: bool) -> None:
    assert approval_plan(plan_retention(), gate)["needs_approval"] is asks


def test_an_approved_plan_is_carried_out_as_of_its_time(three_expired) -> None:
    hub, _ = three_expired
    planned = approval_plan(plan_retention(), SMALL)
    done = run_approved(planned, use_defaults=False)
    assert (done["totals"]["subjects"], done["totals"]["records"]) == (planned["subjects"], planned["records"])
    assert done["as_of"] == planned["as_of"]
    assert count(hub, t_candidates) == 0
    said = outcome(planned, {"chosen_options": ["Approve"], "responded_by_user": {"id": "7", "name": "hr-lead"}},
                   {"run_id": done["run_id"], **done["totals"]})
    assert (said["outcome"], said["approved_by"], said["subjects"]) == ("deleted", "hr-lead", 6)


def test_a_plan_that_grew_past_the_gate_after_approval_deletes_nothing(three_expired) -> None:
    hub, archive = three_expired
    planned = approval_plan(plan_retention(), SMALL)
    for extra in ("C4", "C5", "C6"):  # expired long ago: due at the approved instant too
        add_candidate(hub, archive, extra, decided_days_ago=400, interview_days_ago=400)
    with pytest.raises(PlanChangedError, match=r"hub.t_candidates: 6 records \(approved 3\)"):
        run_approved(planned, use_defaults=False)
    assert count(hub, t_candidates) == 6 and count(hub, t_results) == 6


def test_growth_that_stays_below_the_gate_goes_ahead(three_expired) -> None:
    hub, archive = three_expired
    roomy = ApprovalGate(max_subjects=10, max_records=40)
    planned = approval_plan(plan_retention(), roomy)
    add_candidate(hub, archive, "C4", decided_days_ago=400, interview_days_ago=400)
    done = run_approved(planned, use_defaults=False)
    assert done["totals"]["subjects"] == 8 and count(hub, t_candidates) == 0


def test_a_rejection_or_a_timeout_says_nothing_was_deleted(three_expired) -> None:
    planned = approval_plan(plan_retention(), SMALL)
    rejected = outcome(planned, {"chosen_options": ["Reject"], "responded_by_user": {"id": "7", "name": "dpo"}}, None)
    assert rejected["outcome"] == "rejected" and rejected["subjects"] == 0
    assert rejected["message"] == "nothing deleted: the plan (6 people, 12 records) was rejected by dpo"
    timed_out = outcome(planned, {"chosen_options": ["Reject"], "responded_by_user": None}, None)
    assert timed_out["message"].endswith("was rejected (no answer before the response timeout)")
