"""The feedback loop wired to the configured hub, archive, vault, roles and artefact store.

One entry per use — the DAG's tasks and the CLI call these, tests call them with a test home.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hrbridge.feedback.analysis import AnalysisResult, run_feedback_analysis
from hrbridge.feedback.config import FeedbackConfig, load_feedback_config
from hrbridge.feedback.report import build_report, store_report
from hrbridge.settings import Settings, load_config, load_settings
from hrbridge.store.feedback import feedback_analyses, rules_versions


@dataclass
class FeedbackContext:
    """Engines, keys, policy and configuration of one process (the archive is opened on first use)."""

    settings: Settings
    hub: Engine
    config: FeedbackConfig
    file_rules: dict[str, Any]
    policy: Any
    create: bool = True
    _archive: Engine | None = None

    @property
    def archive(self) -> Engine:
        """The archive engine (read-only when the context is)."""
        if self._archive is None:
            from hrbridge.archive import archive_engine

            self._archive = archive_engine(self.settings, create=self.create)
        return self._archive

    def vault(self) -> Any:
        """The candidates' data keys (local keyring under HRBRIDGE_HOME, keys in the hub)."""
        from hrbridge.pipelines.pii import default_vault

        return default_vault(self.hub, self.settings.home)


def open_context(settings: Settings | None = None, *, create: bool = True) -> FeedbackContext:
    """The context; ``create=False`` opens read-only engines (read-only commands create nothing)."""
    from governance.access import Policy
    from hrbridge.store import hub_engine

    settings = settings or load_settings()
    sync = load_config("candidate_sync", settings)
    rules = load_config(sync.get("question_rules", "question_rules"), settings)
    return FeedbackContext(settings, hub_engine(settings, create=create), load_feedback_config(settings), rules,
                           Policy.from_yaml(settings.configs_dir / "roles.yaml"), create)


def report_data(hub: Engine, run_id: str | None = None) -> dict[str, Any]:
    """The report of an analysis run (default: the latest); LookupError when there is none."""
    with hub.connect() as conn:
        query = sa.select(feedback_analyses)
        query = (query.where(feedback_analyses.c.run_id == run_id) if run_id
                 else query.order_by(feedback_analyses.c.created_at.desc()).limit(1))
        analysis = conn.execute(query).mappings().first()
        if analysis is None:
            raise LookupError(f"no feedback analysis {run_id}" if run_id else "no feedback analysis has run yet")
        proposal = None
        if analysis["proposal_version"] is not None:
            proposal = conn.execute(sa.select(rules_versions).where(
                rules_versions.c.version == analysis["proposal_version"])).mappings().first()
    return build_report(dict(analysis), dict(proposal) if proposal else None)


def analyse_and_report(context: FeedbackContext, *, as_of: date | None = None,
                       run_id: str | None = None) -> tuple[AnalysisResult, str]:
    """Run the analysis, then build and store its bilingual report; returns the result and the report's key."""
    from hrbridge.artefacts import artefact_store

    result = run_feedback_analysis(context.hub, context.archive, context.config, context.file_rules,
                                   vault=context.vault(), policy=context.policy, as_of=as_of, run_id=run_id)
    key = store_report(artefact_store(context.settings, engine=context.hub), report_data(context.hub, result.run_id))
    return result, key
