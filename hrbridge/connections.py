"""Build the SuccessFactors connector and the interview platform client from credentials.

Two sources of credentials, never YAML in the repo: environment variables (CLI, demo, tests) —
``HRBRIDGE_SF_URL``, ``HRBRIDGE_SF_USER``, ``HRBRIDGE_SF_PASSWORD``, ``HRBRIDGE_SF_COMPANY_ID``,
``HRBRIDGE_INTERVIEW_URL``, ``HRBRIDGE_INTERVIEW_API_KEY`` (optionally ``HRBRIDGE_INTERVIEW_KIND``) —
or Airflow Connections ``hrbridge_successfactors`` / ``hrbridge_interview``, read by the hooks in
``plugins/hrbridge_provider`` which call the ``build_*`` functions here. The bounds on what a server
may send and the origin policy come from the same place (:func:`http_settings`): the Connection
extras ``limits``, ``foreign_links``, ``trusted_origins``, or ``HRBRIDGE_HTTP_*`` variables.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from connectors.http import Limits, OriginPolicy, RetryPolicy
from connectors.interview import InterviewPlatform, build_platform
from connectors.origin import origin_of
from connectors.successfactors import SuccessFactorsConnector
from hrbridge.settings import ConfigError

SF_ENV = ("HRBRIDGE_SF_URL", "HRBRIDGE_SF_USER", "HRBRIDGE_SF_PASSWORD")
INTERVIEW_ENV = ("HRBRIDGE_INTERVIEW_URL", "HRBRIDGE_INTERVIEW_API_KEY")


class MissingCredentialsError(ConfigError):
    """A connection cannot be built: the message names the variables or Connection to set."""


def http_settings(extra: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``limits`` and ``origin_policy`` from Connection extras over ``HRBRIDGE_HTTP_*`` variables.

    Raises ConfigError naming the setting when a value is invalid.
    """
    env = os.environ if env is None else env
    try:
        return {"limits": Limits.from_settings(extra, env), "origin_policy": OriginPolicy.from_settings(extra, env)}
    except ValueError as exc:
        raise ConfigError(f"invalid HTTP bounds or origin policy: {exc}") from exc


def build_successfactors(
    url: str, user: str, password: str, company_id: str | None = None, *,
    rate_limit: float | None = None, page_size: int = 1000, retry: RetryPolicy | None = None,
    timeout: float | None = None, limits: Limits | None = None, origin_policy: OriginPolicy | None = None,
) -> SuccessFactorsConnector:
    """A SuccessFactors connector with Basic auth ``user@company_id`` (the OData root is added to ``url``)."""
    return SuccessFactorsConnector.basic(
        url, user, password, company_id, rate_limit=rate_limit, page_size=page_size, retry=retry, timeout=timeout,
        limits=limits, origin_policy=origin_policy,
    )


def build_interview_platform(
    url: str, api_key: str, *, kind: str = "hrbridge", rate_limit: float | None = None,
    retry: RetryPolicy | None = None, pool_size: int = 32, timeout: float | None = None,
    limits: Limits | None = None, origin_policy: OriginPolicy | None = None,
) -> InterviewPlatform:
    """The adapter registered for ``kind`` pointed at ``url`` with ``api_key``."""
    return build_platform(kind, base_url=url, api_key=api_key, rate_limit=rate_limit, retry=retry,
                          pool_size=pool_size, timeout=timeout, limits=limits, origin_policy=origin_policy)


def _require(env: Mapping[str, str], names: tuple[str, ...], what: str) -> list[str]:
    missing = [name for name in names if not env.get(name)]
    if missing:
        raise MissingCredentialsError(
            f"cannot connect to {what}: set {', '.join(missing)} (or the Airflow Connection when running in Airflow)"
        )
    url_name = names[0]
    try:
        origin_of(env[url_name])
    except ValueError:
        raise MissingCredentialsError(f"{url_name} must be an absolute http(s) URL, e.g. https://host") from None
    return [env[name] for name in names]


def successfactors_from_env(env: Mapping[str, str] | None = None, **options: Any) -> SuccessFactorsConnector:
    """The SuccessFactors connector from ``HRBRIDGE_SF_*`` variables; ``options`` go to the builder."""
    env = os.environ if env is None else env
    url, user, password = _require(env, SF_ENV, "SuccessFactors")
    options = {**http_settings(None, env), **options}
    return build_successfactors(url, user, password, env.get("HRBRIDGE_SF_COMPANY_ID") or None, **options)


def interview_platform_from_env(env: Mapping[str, str] | None = None, **options: Any) -> InterviewPlatform:
    """The interview platform client from ``HRBRIDGE_INTERVIEW_*`` variables."""
    env = os.environ if env is None else env
    url, api_key = _require(env, INTERVIEW_ENV, "the interview platform")
    options = {**http_settings(None, env), **options}
    return build_interview_platform(url, api_key, kind=env.get("HRBRIDGE_INTERVIEW_KIND") or "hrbridge", **options)
