"""Build the SuccessFactors connector and the interview platform client from credentials.

Two sources of credentials, never YAML in the repo: environment variables (CLI, demo, tests) —
``HRBRIDGE_SF_URL``, ``HRBRIDGE_SF_USER``, ``HRBRIDGE_SF_PASSWORD``, ``HRBRIDGE_SF_COMPANY_ID``,
``HRBRIDGE_INTERVIEW_URL``, ``HRBRIDGE_INTERVIEW_API_KEY`` (optionally ``HRBRIDGE_INTERVIEW_KIND``) —
or Airflow Connections ``hrbridge_successfactors`` / ``hrbridge_interview``, read by the hooks in
``plugins/hrbridge_provider`` which call the ``build_*`` functions here. The bounds on what a server
may send and the origin policy come from the same place (:func:`http_settings`): the Connection
extras ``limits``, ``foreign_links``, ``trusted_origins``, or ``HRBRIDGE_HTTP_*`` variables.
SuccessFactors takes Basic auth or the OAuth 2.0 SAML-bearer grant (:data:`SF_AUTH_SCHEMES`);
:func:`check_successfactors` and :func:`check_interview_platform` make one cheap authenticated
call (a Connection's "Test").
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
SF_AUTH_SCHEMES = ("basic", "saml_bearer")
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
    auth_scheme: str = "basic", client_id: str | None = None, token_url: str | None = None,
    assertion: str | None = None, rate_limit: float | None = None, page_size: int = 1000,
    retry: RetryPolicy | None = None, timeout: float | None = None, limits: Limits | None = None,
    origin_policy: OriginPolicy | None = None,
) -> SuccessFactorsConnector:
    """A SuccessFactors connector (the OData root is added to ``url``).

    ``basic``: Basic auth as ``user@company_id`` with ``password``. ``saml_bearer``: the OAuth 2.0
    SAML-bearer grant for OAuth client ``client_id`` of ``company_id`` at ``token_url`` (default
    ``<host>/oauth/token``), with a locally signed base64 ``assertion``, or else ``password`` as
    the client's private key and ``user`` as the user the token is for (SAP's ``/oauth/idp``).
    """
    options: dict[str, Any] = {"rate_limit": rate_limit, "page_size": page_size, "retry": retry, "timeout": timeout,
                               "limits": limits, "origin_policy": origin_policy}
    scheme = (auth_scheme or "basic").strip().lower().replace("-", "_")
    if scheme == "basic":
        return SuccessFactorsConnector.basic(url, user, password, company_id, **options)
    if scheme != "saml_bearer":
        raise ConfigError(f"SuccessFactors auth_scheme {auth_scheme!r} is not supported; use one of {SF_AUTH_SCHEMES}")
    missing = [name for name, value in (("company_id", company_id), ("client_id", client_id)) if not value]
    if not assertion and not (password and user):
        missing.append("assertion, or login + private key (password)")
    if missing:
        raise MissingCredentialsError(f"SuccessFactors SAML-bearer auth needs {', '.join(missing)}")
    return SuccessFactorsConnector.saml_bearer(
        url, token_url or None, str(company_id), str(client_id), assertion or None,
        private_key=None if assertion else password, user_id=None if assertion else user, **options)


def build_interview_platform(
    url: str, api_key: str, *, kind: str = "hrbridge", rate_limit: float | None = None,
    retry: RetryPolicy | None = None, pool_size: int = 32, timeout: float | None = None,
    limits: Limits | None = None, origin_policy: OriginPolicy | None = None,
) -> InterviewPlatform:
    """The adapter registered for ``kind`` pointed at ``url`` with ``api_key``."""
    return build_platform(kind, base_url=url, api_key=api_key, rate_limit=rate_limit, retry=retry,
                          pool_size=pool_size, timeout=timeout, limits=limits, origin_policy=origin_policy)


def check_successfactors(sf: SuccessFactorsConnector) -> str:
    """One cheap authenticated read (a single requisition key); returns who was accepted where.

    Raises the connector's error (``AuthenticationError`` naming the principal, never the secret).
    """
    sf.client.get_json("JobRequisition", params={"$top": "1", "$select": "jobReqId", "$format": "json"})
    return f"SuccessFactors at {sf.host} accepted {sf.client.principal}"


def check_interview_platform(platform: InterviewPlatform) -> str:
    """One cheap authenticated read (the first page of one result, discarded); returns a short confirmation."""
    pages = platform.iter_results(after=None, limit=1)
    try:
        next(iter(pages), None)
    finally:
        close = getattr(pages, "close", None)
        if close:
            close()
    return f"the interview platform accepted the API key ({type(platform).__name__})"


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
    """The SuccessFactors connector from ``HRBRIDGE_SF_*`` variables; ``options`` go to the builder.

    ``HRBRIDGE_SF_AUTH_SCHEME=saml_bearer`` selects the OAuth 2.0 SAML-bearer grant with
    ``HRBRIDGE_SF_CLIENT_ID``, ``HRBRIDGE_SF_COMPANY_ID``, optional ``HRBRIDGE_SF_TOKEN_URL`` and
    either ``HRBRIDGE_SF_ASSERTION`` (a locally signed, base64 assertion; no user or password then)
    or ``HRBRIDGE_SF_USER`` + ``HRBRIDGE_SF_PASSWORD`` as the user and the client's private key.
    """
    env = os.environ if env is None else env
    scheme = (env.get("HRBRIDGE_SF_AUTH_SCHEME") or "basic").strip().lower().replace("-", "_")
    if scheme == "saml_bearer" and env.get("HRBRIDGE_SF_ASSERTION"):
        (url,) = _require(env, SF_ENV[:1], "SuccessFactors")
        user = password = ""
    else:
        url, user, password = _require(env, SF_ENV, "SuccessFactors")
    options = {**http_settings(None, env), **options}
    return build_successfactors(
        url, user, password, env.get("HRBRIDGE_SF_COMPANY_ID") or None, auth_scheme=scheme,
        client_id=env.get("HRBRIDGE_SF_CLIENT_ID") or None, token_url=env.get("HRBRIDGE_SF_TOKEN_URL") or None,
        assertion=env.get("HRBRIDGE_SF_ASSERTION") or None, **options)


def interview_platform_from_env(env: Mapping[str, str] | None = None, **options: Any) -> InterviewPlatform:
    """The interview platform client from ``HRBRIDGE_INTERVIEW_*`` variables."""
    env = os.environ if env is None else env
    url, api_key = _require(env, INTERVIEW_ENV, "the interview platform")
    options = {**http_settings(None, env), **options}
    return build_interview_platform(url, api_key, kind=env.get("HRBRIDGE_INTERVIEW_KIND") or "hrbridge", **options)
