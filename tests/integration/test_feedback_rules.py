"""Question-rule versions: a stale proposal cannot be approved, rollback walks back one publish at a time."""

from __future__ import annotations

import pytest

from governance.access import Policy
from hrbridge.feedback import rules as versions
from hrbridge.settings import load_settings
from hrbridge.store import hub_engine

FILE_RULES = {"job_families": {"default": {"weights": {"communication": 1.0}, "scenarios": []}}}


def _propose(engine, base: int, weight: float) -> int:
    rules = {"job_families": {"default": {"weights": {"communication": weight}, "scenarios": []}}}
    return versions.save_proposal(engine, base_version=base, rules=rules, changes=[], not_applied=[], fairness={},
                                  flagged=False, analysis_run_id="run")


def test_stale_proposals_and_rollback_order(hrbridge_home) -> None:
    engine = hub_engine()
    policy = Policy.from_yaml(load_settings().configs_dir / "roles.yaml")
    lead = versions.Decider("lead", "hr_lead")
    first, second = _propose(engine, 0, 0.9), _propose(engine, 0, 0.8)
    versions.decide(engine, first, approve=True, decider=lead, policy=policy)
    with pytest.raises(versions.ProposalStateError, match="built on version 0, but version 1 is active"):
        versions.decide(engine, second, approve=True, decider=lead, policy=policy)
    versions.decide(engine, second, approve=False, decider=lead, policy=policy, note="superseded")
    third = _propose(engine, first, 0.7)
    versions.decide(engine, third, approve=True, decider=lead, policy=policy)
    planner = versions.active_planner(engine, FILE_RULES)
    assert planner.rules_version == third and planner.rules["job_families"]["default"]["weights"]["communication"] == 0.7
    assert versions.rollback(engine, decider=lead, policy=policy) == {"from": third, "to": first}
    assert versions.rollback(engine, decider=lead, policy=policy) == {"from": first, "to": 0}
    restored = versions.active_planner(engine, FILE_RULES)
    assert restored.rules_version == 0 and restored.rules == FILE_RULES
    statuses = {v["version"]: v["status"] for v in versions.list_versions(engine)}
    assert statuses == {first: "approved", second: "rejected", third: "approved"}
