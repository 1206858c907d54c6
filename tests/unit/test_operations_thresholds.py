"""Failure thresholds: a share above the threshold is a breach naming counts, share and threshold."""

from __future__ import annotations

import pytest

from hrbridge.operations.config import OperationsConfig
from hrbridge.operations.thresholds import CHECKS, ThresholdExceeded, breaches, enforce

CONFIG = OperationsConfig.from_document({"failure_thresholds": {"candidate_sync": {"invitations": 0.25}}})


def sync_counts(**overrides: int) -> dict[str, int]:
    """A candidate_sync summary where everything worked, with ``overrides``."""
    return {"invited": 12, "invite_failed": 0, "refused": 0, "written_back": 12, "write_back_failed": 0,
            "applications_read": 40, "applications_quarantined": 0, **overrides}


def test_all_invitations_failed_is_a_breach_with_counts_and_threshold() -> None:
    with pytest.raises(ThresholdExceeded) as info:
        enforce("candidate_sync", "cs-1", sync_counts(invited=0, invite_failed=11, refused=1), CONFIG)
    assert str(info.value) == ("candidate_sync run cs-1: 12 of 12 invitations not posted (100%) is above the "
                               "failure threshold 25% (failure_thresholds.candidate_sync.invitations in "
                               "configs/operations.yaml)")
    assert [b.check for b in info.value.breaches] == ["invitations"]


def test_at_the_threshold_is_no_breach_and_above_is() -> None:
    assert breaches("candidate_sync", sync_counts(invited=3, invite_failed=1), CONFIG) == []  # 25 %
    [breach] = breaches("candidate_sync", sync_counts(invited=2, invite_failed=1), CONFIG)  # 33 %
    assert (breach.failed, breach.total, round(breach.share, 2)) == (1, 3, 0.33)


def test_nothing_attempted_is_never_a_breach_and_null_disables_a_check() -> None:
    assert breaches("interview_results", {}, OperationsConfig()) == []
    off = OperationsConfig.from_document({"failure_thresholds": {"interview_results": {"quarantined": None}}})
    assert breaches("interview_results", {"stored": 0, "quarantined": 12}, off) == []


def test_several_breaches_are_all_named() -> None:
    counts = {"stored": 1, "quarantined": 9, "written_back": 0, "write_back_failed": 1}
    found = breaches("interview_results", counts, OperationsConfig())
    assert [b.check for b in found] == ["quarantined", "write_back"]


def test_zero_threshold_fails_on_the_first_failure() -> None:
    with pytest.raises(ThresholdExceeded, match="1 of 4 hires not archived"):
        enforce("archive_sync", "r", {"archived": 3, "skipped": 1}, OperationsConfig())


def test_every_check_is_configured_in_the_shipped_file() -> None:
    from hrbridge.operations.config import load_operations_config

    shipped = load_operations_config().thresholds
    assert {p: sorted(c.name for c in checks) for p, checks in CHECKS.items()} == {
        p: sorted(checks) for p, checks in shipped.items()}
