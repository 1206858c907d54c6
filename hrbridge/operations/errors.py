"""Which failures a task retries, declared once: errors that cannot succeed on retry fail at once.

A wrong password, a missing source file, a bad parameter or a broken configuration fails the
same way on every attempt; retrying only delays the alert. :data:`NON_RETRYABLE` lists those
error types by dotted path (matched against the exception's class hierarchy and its explicit
``raise … from`` causes, so nothing is imported until a task fails). :func:`fail_fast` wraps a
task callable and turns them into ``AirflowFailException``, which Airflow never retries; every
other error keeps the task's retries with exponential back-off (:mod:`hrbridge.operations.defaults`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from transforms.masking import mask_pii

# dotted path → why a retry cannot help (shown in the failure message)
NON_RETRYABLE: dict[str, str] = {
    "connectors.errors.AuthenticationError": "the credentials were rejected (HTTP 401/403)",
    "hrbridge.settings.ConfigError": "the configuration is invalid or credentials are missing",
    "hrbridge.pipelines.migration.MigrationInputError": "the migration input (source, mapping or params) is wrong",
    "hrbridge.operations.params.ParamError": "the run's params are invalid",
    "hrbridge.operations.thresholds.ThresholdExceeded": "too many items failed; the next run retries them",
    "hrbridge.operations.approval.PlanChangedError": "the deletion plan changed after it was approved",
    "airflow.sdk.exceptions.ParamValidationError": "the run's params are invalid",
    "transforms.field_mapping.MappingError": "the field mapping is invalid",
    "transforms.question_plan.QuestionRulesError": "the question rules are invalid",
    "validation.results_suite.SuiteConfigError": "the expectation suite is invalid",
    "governance.retention.config.RetentionConfigError": "the retention configuration is invalid",
    "governance.access.policy.PolicyConfigError": "the access policy is invalid",
    "connectors.interview.UnknownPlatformError": "the interview platform kind is unknown",
    "connectors.sap_rfc.RfcSdkMissingError": "the SAP NW RFC SDK is not installed",
    "governance.crypto.errors.MasterKeyMissing": "the master key of the stored data keys is gone; restore it",
    "governance.crypto.kek.KekError": "HRBRIDGE_KEK is missing or not the hub's key-encryption key",
    "hrbridge.pipelines.bias_audit.BiasBelowFloor": "impact ratios are below the floor: a person must review the audit",
}

F = TypeVar("F", bound=Callable[..., Any])


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__


def non_retryable_reason(exc: BaseException) -> str | None:
    """Why ``exc`` (or an error it was raised from) cannot succeed on retry; None when a retry may help."""
    for error in _causes(exc):
        for cls in type(error).__mro__:
            reason = NON_RETRYABLE.get(f"{cls.__module__}.{cls.__qualname__}")
            if reason:
                return reason
    return None


def fail_fast(func: F) -> F:
    """Run ``func``; re-raise a non-retryable error as ``AirflowFailException`` (PII masked), others as they are."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            reason = non_retryable_reason(exc)
            if reason is None:
                raise
            from airflow.sdk.exceptions import AirflowFailException

            raise AirflowFailException(mask_pii(f"{type(exc).__name__}: {exc} (not retried: {reason})")) from exc

    return wrapper  # type: ignore[return-value]
