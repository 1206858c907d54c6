"""configs/operations.yaml: defaults when absent, the shipped file, clear errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from hrbridge.operations.config import DEFAULT_POOLS, OperationsConfig, load_operations_config
from hrbridge.settings import ConfigError, load_settings


def test_the_shipped_file_sets_every_threshold_pool_and_gate() -> None:
    config = load_operations_config(load_settings({"HRBRIDGE_HOME": "/tmp/unused"}))
    assert config.threshold("candidate_sync", "invitations") == 0.5
    assert config.threshold("archive_sync", "skipped") == 0
    assert config.pools == {"hrbridge_successfactors": 2, "hrbridge_interview": 4}
    assert (config.approval.max_subjects, config.approval.max_records) == (5, 50)
    assert config.approval.response_timeout_hours == 72 and config.approval.approvers == ()


def test_without_the_file_the_defaults_apply(tmp_path: Path) -> None:
    config = load_operations_config(load_settings({"HRBRIDGE_HOME": str(tmp_path), "HRBRIDGE_CONFIG_DIR": str(tmp_path)}))
    assert config == OperationsConfig()
    assert config.threshold("interview_results", "quarantined") == 0.5 and config.pools == DEFAULT_POOLS


def test_null_switches_a_check_off() -> None:
    config = OperationsConfig.from_document({"failure_thresholds": {"candidate_sync": {"write_back": None}}})
    assert config.threshold("candidate_sync", "write_back") is None
    assert config.threshold("candidate_sync", "invitations") == 0.5


@pytest.mark.parametrize("doc, message", [
    ({"failure_thresholds": {"candidate_sync": {"invitations": 1.5}}},
     "failure_thresholds.candidate_sync.invitations must be between 0 and 1"),
    ({"failure_thresholds": {"candidate_sync": {"invitations": "half"}}}, "must be a share between 0 and 1"),
    ({"failure_thresholds": {"candidate_sync": 0.5}}, "failure_thresholds.candidate_sync must map checks"),
    ({"pools": {"hrbridge_greenhouse": 2}}, "unknown pool 'hrbridge_greenhouse'"),
    ({"pools": {"hrbridge_interview": 0}}, r"pools.hrbridge_interview must be a whole number ≥ 1"),
    ({"retention_approval": {"max_subjects": -1}}, r"retention_approval.max_subjects must be a whole number ≥ 0"),
    ({"retention_approval": {"response_timeout_hours": 0}}, "response_timeout_hours must be a positive number"),
    ({"retention_approval": {"approvers": "admin"}}, "approvers must be a list"),
    (["not", "a", "mapping"], "expected a mapping"),
])
def test_bad_values_are_config_errors_naming_the_key(doc, message) -> None:
    with pytest.raises(ConfigError, match=message):
        OperationsConfig.from_document(doc)
