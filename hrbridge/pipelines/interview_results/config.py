"""Configuration, run ids and the per-run counts of the interview_results loop."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from hrbridge.consent.config import load_consent_config
from hrbridge.consent.guard import check_results_config
from hrbridge.settings import Settings, load_config, load_settings
from transforms.results import CheckParameters
from validation.results_suite import Rule, SuiteRunner, load_rules

CURSOR_NAME = "interview_results"
PENDING, WRITTEN = "pending", "written"
FINAL_STATUSES = frozenset({"completed", "expired"})

# Checked by the pipeline against the hub (not by the GX suite, which sees one batch at a time).
CONFLICT_RULE = Rule(
    name="conflicting_result",
    title="One result per invitation",
    description="An invitation already has a stored result; a later, different result for it is held back "
                "for a person to decide which is right.",
    expectation="hrbridge_one_result_per_invitation",
    columns=("invitation_id", "result_id"),
    example_fields=("invitation_id", "result_id"),
)


@dataclass(frozen=True)
class ResultsConfig:
    """``configs/interview_results.yaml`` plus the suite file, resolved once per run."""

    raw: Mapping[str, Any]
    suite_path: Path

    @property
    def params(self) -> CheckParameters:
        """Parameters of the row-level checks (scale, dimensions, keyword and clip limits)."""
        return CheckParameters.from_config(self.raw)

    @property
    def page_size(self) -> int:
        """Results pulled per page."""
        return int(self.raw.get("page_size", 500))

    @property
    def writeback(self) -> Mapping[str, Any]:
        """Write-back target: entity, key field, field names, chosen dimensions, batch size."""
        return self.raw.get("writeback") or {}

    @property
    def status(self) -> Mapping[str, Any]:
        """Interview status field and value mapping."""
        return self.raw.get("status") or {}

    @property
    def match_report(self) -> Mapping[str, Any]:
        """Match-report weights and where requisition requirements live."""
        return self.raw.get("match_report") or {}


def load_results_config(settings: Settings | None = None) -> ResultsConfig:
    """Read the results config and locate the expectation suite under the configs folder."""
    settings = settings or load_settings()
    raw = load_config("interview_results", settings)
    check_results_config(raw, load_consent_config(settings))  # AI outputs never reach a decision field
    return ResultsConfig(raw=raw, suite_path=settings.configs_dir / "expectations" / "interview_results.yaml")


def suite_placeholders(config: ResultsConfig) -> dict[str, dict[str, Any]]:
    """Values for the suite YAML's ``{section.key}`` placeholders (scale and keyword limits)."""
    params = config.params
    return {
        "scale": {"min": params.scale_min, "max": params.scale_max},
        "keywords": {"max_items": params.max_keywords, "max_chars": params.max_keyword_chars},
    }


@cache
def _runner(suite_path: str, placeholders: str, mtime: float) -> SuiteRunner:
    name, rules = load_rules(Path(suite_path), json.loads(placeholders))
    return SuiteRunner(name, rules)


def suite_runner(config: ResultsConfig) -> SuiteRunner:
    """The GX suite runner for ``config`` (built once per suite file and parameters, then reused)."""
    path = config.suite_path.resolve()
    placeholders = json.dumps(suite_placeholders(config), sort_keys=True)
    return _runner(str(path), placeholders, path.stat().st_mtime)


@dataclass
class RunCounts:
    """Counts of one validation run; ``read == stored + quarantined + duplicates`` always."""

    run_id: str
    source: str
    read: int = 0
    stored: int = 0
    quarantined: int = 0
    duplicates: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    rule_titles: dict[str, str] = field(default_factory=dict)

    def add(self, other: RunCounts) -> None:
        """Fold another batch's counts into this run."""
        self.read += other.read
        self.stored += other.stored
        self.quarantined += other.quarantined
        self.duplicates += other.duplicates
        for name, count in other.failures.items():
            self.failures[name] = self.failures.get(name, 0) + count
        self.rule_titles.update(other.rule_titles)

    def reconciles(self) -> bool:
        """True when every result read is stored, quarantined or a counted duplicate."""
        return self.read == self.stored + self.quarantined + self.duplicates


def new_run_id(prefix: str = "results") -> str:
    """A sortable, unique run id: ``results-20261127T120000-1a2b3c``."""
    return f"{prefix}-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def file_safe(name: str) -> str:
    """A run id usable as a file name everywhere (Airflow run ids contain ':' and '+')."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")


def key_value(app_id: str) -> Any:
    """The HR system key for an application id: numeric ids as int (SuccessFactors Int64), else text."""
    return int(app_id) if app_id.isdigit() else app_id
