"""hrbridge's Airflow provider: hooks that turn Airflow Connections into hrbridge connectors."""

from __future__ import annotations

from plugins.hrbridge_provider.hooks import (
    InterviewPlatformHook,
    SapHcmHook,
    SuccessFactorsHook,
    interview_platform,
    successfactors,
)

__all__ = ["InterviewPlatformHook", "SapHcmHook", "SuccessFactorsHook", "interview_platform", "successfactors"]
