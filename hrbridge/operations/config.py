"""``configs/operations.yaml`` resolved: failure thresholds, pool sizes, the retention approval gate.

Read once per task (and by ``hrbridge airflow pools``); every value has a default, so a missing
section keeps the shipped behaviour. A malformed value is a :class:`ConfigError` naming its key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hrbridge.settings import ConfigError, Settings, load_config, load_settings

WHERE = "operations.yaml"
DEFAULT_THRESHOLD = 0.5
# The pools every DAG refers to, one per rate-limited system, named like the system's Connection.
SUCCESSFACTORS_POOL = "hrbridge_successfactors"
INTERVIEW_POOL = "hrbridge_interview"
DEFAULT_POOLS = {SUCCESSFACTORS_POOL: 2, INTERVIEW_POOL: 4}
POOL_DESCRIPTIONS = {
    SUCCESSFACTORS_POOL: "hrbridge tasks calling SAP SuccessFactors (shared rate limit, every DAG)",
    INTERVIEW_POOL: "hrbridge tasks calling the AI-interview platform (shared rate limit, every DAG)",
}


@dataclass(frozen=True)
class ApprovalGate:
    """Deletions larger than this wait for a person: more than ``max_subjects`` people or ``max_records`` records.

    ``approvers`` (Airflow user ids) may answer; empty: anyone allowed to act on the DAG.
    """

    max_subjects: int = 5
    max_records: int = 50
    response_timeout_hours: float = 72.0
    approvers: tuple[str, ...] = ()


@dataclass(frozen=True)
class OperationsConfig:
    """Thresholds per pipeline and check (``None`` = no check), pool slots, the approval gate."""

    thresholds: Mapping[str, Mapping[str, float | None]] = field(default_factory=dict)
    pools: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_POOLS))
    approval: ApprovalGate = field(default_factory=ApprovalGate)

    def threshold(self, pipeline: str, check: str, default: float | None = DEFAULT_THRESHOLD) -> float | None:
        """The largest failed share allowed for ``check`` of ``pipeline`` (``default`` when not configured)."""
        configured = self.thresholds.get(pipeline, {})
        return configured[check] if check in configured else default

    @classmethod
    def from_document(cls, doc: Any) -> OperationsConfig:
        """Validate the parsed YAML; an empty document gives the defaults."""
        doc = doc or {}
        if not isinstance(doc, Mapping):
            raise ConfigError(f"{WHERE}: expected a mapping")
        return cls(thresholds=_thresholds(doc.get("failure_thresholds") or {}),
                   pools=_pools(doc.get("pools")), approval=_approval(doc.get("retention_approval") or {}))


def _share(value: Any, key: str) -> float | None:
    if value is None:
        return None
    try:
        share = float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{WHERE}: {key} must be a share between 0 and 1 or null, got {value!r}") from exc
    if not 0 <= share <= 1:
        raise ConfigError(f"{WHERE}: {key} must be between 0 and 1, got {value!r}")
    return share


def _thresholds(section: Any) -> dict[str, dict[str, float | None]]:
    if not isinstance(section, Mapping):
        raise ConfigError(f"{WHERE}: failure_thresholds must map pipelines to {{check: share}}")
    result: dict[str, dict[str, float | None]] = {}
    for pipeline, checks in section.items():
        if not isinstance(checks, Mapping):
            raise ConfigError(f"{WHERE}: failure_thresholds.{pipeline} must map checks to shares")
        result[str(pipeline)] = {str(name): _share(value, f"failure_thresholds.{pipeline}.{name}")
                                 for name, value in checks.items()}
    return result


def _positive_int(value: Any, key: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{WHERE}: {key} must be a whole number ≥ {minimum}, got {value!r}")
    return value


def _pools(section: Any) -> dict[str, int]:
    if section is None:
        return dict(DEFAULT_POOLS)
    if not isinstance(section, Mapping):
        raise ConfigError(f"{WHERE}: pools must map pool names to slots")
    unknown = sorted(set(section) - set(DEFAULT_POOLS))
    if unknown:
        raise ConfigError(f"{WHERE}: pools: unknown pool {unknown[0]!r}; the DAGs use {sorted(DEFAULT_POOLS)}")
    return {**DEFAULT_POOLS, **{str(name): _positive_int(slots, f"pools.{name}", 1) for name, slots in section.items()}}


def _approval(section: Any) -> ApprovalGate:
    if not isinstance(section, Mapping):
        raise ConfigError(f"{WHERE}: retention_approval must be a mapping")
    default = ApprovalGate()
    timeout = section.get("response_timeout_hours", default.response_timeout_hours)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ConfigError(f"{WHERE}: retention_approval.response_timeout_hours must be a positive number")
    return ApprovalGate(
        max_subjects=_positive_int(section.get("max_subjects", default.max_subjects), "retention_approval.max_subjects"),
        max_records=_positive_int(section.get("max_records", default.max_records), "retention_approval.max_records"),
        response_timeout_hours=float(timeout),
        approvers=_approvers(section.get("approvers")),
    )


def _approvers(value: Any) -> tuple[str, ...]:
    if value in (None, []):
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str | int) and str(v).strip() for v in value):
        raise ConfigError(f"{WHERE}: retention_approval.approvers must be a list of Airflow user ids")
    return tuple(str(v).strip() for v in value)


def load_operations_config(settings: Settings | None = None) -> OperationsConfig:
    """Read ``configs/operations.yaml``; without the file, every default applies."""
    settings = settings or load_settings()
    if not (settings.configs_dir / "operations.yaml").exists():
        return OperationsConfig()
    return OperationsConfig.from_document(load_config("operations", settings))
