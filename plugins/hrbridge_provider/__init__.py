"""hrbridge's Airflow provider: hooks that turn Airflow Connections into hrbridge connectors."""

from __future__ import annotations

from plugins.hrbridge_provider.hooks import (
    InterviewPlatformHook,
    SapHcmHook,
    SuccessFactorsHook,
    hr_source,
    interview_platform,
    successfactors,
)

__all__ = ["InterviewPlatformHook", "SapHcmHook", "SuccessFactorsHook", "hr_source", "interview_platform", "successfactors"]
