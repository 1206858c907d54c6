"""Errors a retry cannot fix become AirflowFailException (never retried); everything else is raised as it is."""

from __future__ import annotations

import importlib

import pytest
from airflow.sdk.exceptions import AirflowFailException

from connectors.errors import AuthenticationError, RetryBudgetExceeded, UnreachableError
from hrbridge.connections import MissingCredentialsError
from hrbridge.operations.errors import NON_RETRYABLE, fail_fast, non_retryable_reason
from hrbridge.operations.params import ParamError
from hrbridge.pipelines.migration import MigrationInputError


def test_every_listed_error_type_exists() -> None:
    for path in NON_RETRYABLE:
        module, name = path.rsplit(".", 1)
        assert isinstance(getattr(importlib.import_module(module), name), type), path


@pytest.mark.parametrize("error", [
    AuthenticationError("rejected the credentials (HTTP 401)"),
    MissingCredentialsError("set HRBRIDGE_SF_URL"),  # a ConfigError subclass
    MigrationInputError("/data/gone.csv: file not found"),
    ParamError("param 'source' is required"),
])
def test_errors_a_retry_cannot_fix_fail_the_task_at_once(error: Exception) -> None:
    @fail_fast
    def task() -> None:
        raise error

    with pytest.raises(AirflowFailException, match="not retried") as info:
        task()
    assert info.value.__cause__ is error and type(error).__name__ in str(info.value)


@pytest.mark.parametrize("error", [UnreachableError("cannot reach host"), RetryBudgetExceeded("503 x 6"),
                                   RuntimeError("deadlock detected")])
def test_errors_a_retry_may_fix_are_raised_unchanged(error: Exception) -> None:
    @fail_fast
    def task() -> None:
        raise error

    with pytest.raises(type(error)) as info:
        task()
    assert info.value is error


def test_a_cause_raised_from_counts_and_personal_data_is_masked() -> None:
    try:
        try:
            raise AuthenticationError("401 for li.lei@example.com")
        except AuthenticationError as inner:
            raise RuntimeError("sync of li.lei@example.com stopped") from inner
    except RuntimeError as outer:
        assert non_retryable_reason(outer) == "the credentials were rejected (HTTP 401/403)"

    @fail_fast
    def task() -> None:
        raise AuthenticationError("401 for li.lei@example.com")

    with pytest.raises(AirflowFailException) as info:
        task()
    assert "li.lei@example.com" not in str(info.value) and "l***@example.com" in str(info.value)


def test_the_wrapper_keeps_the_signature_taskflow_reads() -> None:
    import inspect

    @fail_fast
    def task(loaded: dict, invited: dict) -> dict:
        """Doc."""
        return {**loaded, **invited}

    assert list(inspect.signature(task).parameters) == ["loaded", "invited"] and task.__doc__ == "Doc."
    assert task({"a": 1}, {"b": 2}) == {"a": 1, "b": 2}
