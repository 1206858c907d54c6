"""``run_feedback_analysis``: archive outcomes × interview scores → findings, a proposal, its fairness check.

Callable from the DAG, the CLI and tests. Reads the archive (hires with their scores at hire,
later outcomes), relates them (:mod:`transforms.feedback_stats`), builds a proposal on the active
rules version (:mod:`transforms.feedback_proposal`), runs the four-fifths check of each changed
family on its historical candidates with the protected attributes read under their own role, and
stores the analysis and — when anything would change — the proposal as the next rules version in
state ``proposed``. It never publishes anything: a person decides (:mod:`hrbridge.feedback.rules`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from hrbridge.feedback.config import FeedbackConfig
from hrbridge.feedback.data import load_hires, load_outcomes, load_protected
from hrbridge.feedback.rules import active_version, rules_of, save_proposal
from hrbridge.store.feedback import feedback_analyses
from transforms.feedback_proposal import ProposalDraft, fairness_of_change, propose_rules
from transforms.feedback_stats import Finding, analyse, outcome_flags

log = logging.getLogger(__name__)


@dataclass
class AnalysisResult:
    """What one analysis found and proposed (counts and ids; findings as dicts)."""

    run_id: str
    as_of: str
    hires: int
    outcomes: int
    findings: list[dict[str, Any]]
    base_version: int
    proposal_version: int | None = None
    flagged: bool = False
    changes: list[dict[str, Any]] = field(default_factory=list)
    fairness: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)

    def counts(self) -> dict[str, int]:
        """Findings per status (found / no_effect / declined)."""
        out: dict[str, int] = {}
        for finding in self.findings:
            out[finding["status"]] = out.get(finding["status"], 0) + 1
        return out


def scenario_map(rules: Mapping[str, Any]) -> dict[str, dict[str, list[str]]]:
    """Per job family of the rules: dimension → the ids of the scenarios that ask about it."""
    out: dict[str, dict[str, list[str]]] = {}
    for family, spec in (rules.get("job_families") or {}).items():
        dims: dict[str, list[str]] = {}
        for scenario in (spec or {}).get("scenarios") or ():
            dims.setdefault(str(scenario.get("dimension")), []).append(str(scenario.get("id")))
        out[str(family)] = dims
    return out


def check_fairness(draft: ProposalDraft, rules: Mapping[str, Any], hires: pd.DataFrame, protected: pd.DataFrame | None,
                   config: FeedbackConfig) -> dict[str, Any]:
    """Per changed family: the four-fifths check on its historical candidates (or why it could not run)."""
    fairness = config.fairness
    result: dict[str, Any] = {}
    for family in draft.families:
        old = (rules["job_families"][family] or {}).get("weights") or {}
        new = draft.rules["job_families"][family]["weights"]
        people = hires[hires["job_family"].astype("string").str.lower() == family.lower()]
        if protected is None or protected.empty:
            result[family] = {"checked": False, "flags": [],
                              "reason": "no protected attributes are recorded in the archive, so adverse impact "
                                        "cannot be ruled out"}
            continue
        people = people.merge(protected, on="person_key", how="left")
        check = fairness_of_change(people, old, new, list(fairness.attributes), pass_share=fairness.pass_share,
                                   floor=fairness.floor, min_share=fairness.min_share)
        result[family] = {"checked": True, **check}
    return result


def run_feedback_analysis(
    hub: Engine, archive: Engine, config: FeedbackConfig, file_rules: Mapping[str, Any], *, vault: Any, policy: Any,
    as_of: date | None = None, run_id: str | None = None, now: datetime | None = None,
) -> AnalysisResult:
    """Analyse, propose and check; stores the analysis and any proposal. Never publishes."""
    now = now or datetime.now(UTC)
    as_of = as_of or now.date()
    run_id = run_id or f"feedback-{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    hires, dimensions = load_hires(archive)
    later = load_outcomes(archive)
    flags = outcome_flags(hires, later, as_of, config.analysis)
    frame = hires.set_index("application_id").join(flags)
    findings: list[Finding] = analyse(frame, dimensions, config.analysis) if len(frame) else []
    base = active_version(hub)
    rules = rules_of(hub, base, file_rules)
    draft = propose_rules(rules, findings, step=config.step, max_factor=config.max_factor)
    result = AnalysisResult(run_id, as_of.isoformat(), len(hires), len(later), [f.to_dict() for f in findings], base)
    if draft.changes:
        protected = load_protected(archive, vault, policy, config.fairness.reader_role, list(config.fairness.attributes))
        result.fairness = check_fairness(draft, rules, hires, protected, config)
        result.flagged = any(f["flags"] or not f["checked"] for f in result.fairness.values())
        result.changes = [c.to_dict() for c in draft.changes]
        result.proposal_version = save_proposal(
            hub, base_version=base, rules=draft.rules, changes=result.changes, not_applied=draft.not_applied,
            fairness=result.fairness, flagged=result.flagged, analysis_run_id=run_id, now=now)
    with hub.begin() as conn:
        conn.execute(feedback_analyses.insert().values(
            run_id=run_id, created_at=now, as_of=as_of, settings=asdict(config.analysis),
            findings=result.findings, summary={**result.counts(), "hires": result.hires, "outcomes": result.outcomes,
                                               "flagged": result.flagged, "base_version": base,
                                               "scenarios": scenario_map(rules)},
            proposal_version=result.proposal_version))
    log.info("feedback analysis %s: %d hires, %d outcomes, findings %s, proposal %s%s", run_id, result.hires,
             result.outcomes, result.counts(), result.proposal_version, " (flagged)" if result.flagged else "")
    return result
