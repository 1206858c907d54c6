"""Failure thresholds: a run whose share of failed items is above its threshold ends red.

Each pipeline declares its checks once (:data:`CHECKS`): which counts of its summary are failures
and which make up the total. :func:`breaches` compares them with ``configs/operations.yaml``;
:func:`enforce` raises :class:`ThresholdExceeded` naming every breach with its counts, share and
threshold. Callers record the run's summary first, so a red run still says what it did.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hrbridge.operations.config import DEFAULT_THRESHOLD, OperationsConfig, load_operations_config
from hrbridge.settings import Settings


@dataclass(frozen=True)
class ShareCheck:
    """``sum(failed) / sum(total)`` of a summary's counts, what the failed items are called, the default threshold."""

    name: str
    failed: tuple[str, ...]
    total: tuple[str, ...]
    what: str
    default: float = DEFAULT_THRESHOLD


CHECKS: dict[str, tuple[ShareCheck, ...]] = {
    "candidate_sync": (
        ShareCheck("invitations", ("invite_failed", "refused"), ("invited", "invite_failed", "refused"),
                   "invitations not posted"),
        ShareCheck("write_back", ("write_back_failed",), ("written_back", "write_back_failed"),
                   "write-backs failed"),
        ShareCheck("quarantined", ("applications_quarantined",), ("applications_read",),
                   "applications quarantined"),
    ),
    "interview_results": (
        ShareCheck("quarantined", ("quarantined",), ("stored", "quarantined"), "results quarantined"),
        ShareCheck("write_back", ("write_back_failed",), ("written_back", "write_back_failed"),
                   "score write-backs failed"),
        ShareCheck("status_sync", ("status_failed",), ("status_written", "status_failed"),
                   "status writes failed"),
    ),
    "archive_sync": (
        ShareCheck("skipped", ("skipped",), ("archived", "skipped"), "hires not archived", default=0.0),
    ),
}


@dataclass(frozen=True)
class Breach:
    """One check above its threshold."""

    pipeline: str
    check: str
    what: str
    failed: int
    total: int
    threshold: float

    @property
    def share(self) -> float:
        """The failed share (0-1)."""
        return self.failed / self.total

    def __str__(self) -> str:
        return (f"{self.failed} of {self.total} {self.what} ({self.share:.0%}) is above the failure threshold "
                f"{self.threshold:.0%} (failure_thresholds.{self.pipeline}.{self.check} in configs/operations.yaml)")


class ThresholdExceeded(RuntimeError):
    """A run failed its purpose: too large a share of its items failed. Not retried."""

    def __init__(self, run: str, breaches: list[Breach]) -> None:
        super().__init__(f"{run}: " + "; ".join(str(b) for b in breaches))
        self.breaches = breaches


def breaches(pipeline: str, counts: Mapping[str, int], config: OperationsConfig) -> list[Breach]:
    """Every check of ``pipeline`` whose failed share is above its threshold (none for an empty total)."""
    found = []
    for check in CHECKS[pipeline]:
        limit = config.threshold(pipeline, check.name, check.default)
        failed = sum(int(counts.get(k) or 0) for k in check.failed)
        total = sum(int(counts.get(k) or 0) for k in check.total)
        if limit is not None and total > 0 and failed / total > limit:
            found.append(Breach(pipeline, check.name, check.what, failed, total, limit))
    return found


def enforce(pipeline: str, run: str, counts: Mapping[str, int], config: OperationsConfig | None = None,
            settings: Settings | None = None) -> None:
    """Raise :class:`ThresholdExceeded` when any check of ``pipeline`` is above its threshold."""
    found = breaches(pipeline, counts, config or load_operations_config(settings))
    if found:
        raise ThresholdExceeded(f"{pipeline} run {run}", found)
