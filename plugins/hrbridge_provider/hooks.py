"""Airflow hooks for SuccessFactors, SAP HCM and the interview platform: credentials only from Connections.

Connection ``hrbridge_successfactors``: host = API server URL (``https://api4.successfactors.com``;
``/odata/v2`` is added), extra ``{"company_id": "...", "rate_limit": 10, "auth_scheme": "basic"}``
with login = user and password; or ``auth_scheme: saml_bearer`` with extra ``client_id``,
``token_url`` (optional) and either ``assertion`` (a locally signed, base64 SAML assertion) or
login = the user the token is for and password = the OAuth client's private key (both Connections
also take ``limits``, ``foreign_links`` and ``trusted_origins``: docs/security.md).
Connection ``hrbridge_interview``: host = platform URL, password = API key, extra
``{"kind": "hrbridge", "rate_limit": 50}``. Both can be given as ``AIRFLOW_CONN_<ID>`` JSON; their
form fields are declared in :mod:`plugins.hrbridge_provider.provider_info`, and "Test" makes one
cheap authenticated call (:meth:`test_connection`).
:func:`successfactors` / :func:`interview_platform` fall back to ``HRBRIDGE_*`` environment
variables when the Connection is not defined (local demo and tests).
"""

from __future__ import annotations

from typing import Any

from airflow.sdk.bases.hook import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException

from connectors.errors import ConnectorError
from connectors.interview import InterviewPlatform
from connectors.sap_rfc import RfcParams, SapHcmConnector
from connectors.successfactors import SuccessFactorsConnector
from hrbridge.connections import (
    build_interview_platform,
    build_successfactors,
    check_interview_platform,
    check_successfactors,
    http_settings,
    interview_platform_from_env,
    successfactors_from_env,
)
from hrbridge.settings import ConfigError


def _base_url(conn: Any) -> str:
    host = (conn.host or "").rstrip("/")
    if "://" not in host:
        host = f"{conn.schema or 'https'}://{host}"
        if conn.port:
            host = f"{host}:{conn.port}"
    return host


def _rate(extra: dict[str, Any], override: float | None) -> float | None:
    value = override if override is not None else extra.get("rate_limit")
    return float(value) if value else None


def _tested(check: Any) -> tuple[bool, str]:
    """Run a connection check; (False, the error's own words) when the system or the form says no."""
    try:
        return True, check()
    except (ConnectorError, ConfigError, ValueError) as exc:
        return False, f"{type(exc).__name__}: {exc}"


class SuccessFactorsHook(BaseHook):
    """Builds a :class:`SuccessFactorsConnector` from the ``hrbridge_successfactors`` Connection."""

    conn_name_attr = "sf_conn_id"
    default_conn_name = "hrbridge_successfactors"
    conn_type = "hrbridge_successfactors"
    hook_name = "SAP SuccessFactors (hrbridge)"

    def __init__(self, sf_conn_id: str = default_conn_name, rate_limit: float | None = None,
                 page_size: int = 1000) -> None:
        super().__init__()
        self.sf_conn_id = sf_conn_id
        self.rate_limit = rate_limit
        self.page_size = page_size

    def get_conn(self) -> SuccessFactorsConnector:
        """The connector, authenticated as ``login@company_id`` with the Connection's password."""
        conn = self.get_connection(self.sf_conn_id)
        extra = conn.extra_dejson
        return build_successfactors(
            _base_url(conn), conn.login or "", conn.password or "", extra.get("company_id") or None,
            auth_scheme=extra.get("auth_scheme") or "basic", client_id=extra.get("client_id") or None,
            token_url=extra.get("token_url") or None, assertion=extra.get("assertion") or None,
            rate_limit=_rate(extra, self.rate_limit), page_size=self.page_size, **http_settings(extra),
        )

    def test_connection(self) -> tuple[bool, str]:
        """Read one requisition key with the Connection's credentials: (ok, what was accepted or the error)."""

        def check() -> str:
            with self.get_conn() as sf:
                return check_successfactors(sf)

        return _tested(check)


class InterviewPlatformHook(BaseHook):
    """Builds the interview platform adapter from the ``hrbridge_interview`` Connection."""

    conn_name_attr = "interview_conn_id"
    default_conn_name = "hrbridge_interview"
    conn_type = "hrbridge_interview"
    hook_name = "AI interview platform (hrbridge)"

    def __init__(self, interview_conn_id: str = default_conn_name, rate_limit: float | None = None) -> None:
        super().__init__()
        self.interview_conn_id = interview_conn_id
        self.rate_limit = rate_limit

    def get_conn(self) -> InterviewPlatform:
        """The adapter named by the Connection's ``kind`` extra (default ``hrbridge``), keyed by its password."""
        conn = self.get_connection(self.interview_conn_id)
        extra = conn.extra_dejson
        return build_interview_platform(
            _base_url(conn), conn.password or "", kind=extra.get("kind") or "hrbridge",
            rate_limit=_rate(extra, self.rate_limit), **http_settings(extra),
        )

    def test_connection(self) -> tuple[bool, str]:
        """Read one result page of size 1 with the Connection's API key: (ok, confirmation or the error)."""

        def check() -> str:
            platform = self.get_conn()
            try:
                return check_interview_platform(platform)
            finally:
                close = getattr(platform, "close", None)
                if close:
                    close()

        return _tested(check)


class SapHcmHook(BaseHook):
    """Builds a :class:`SapHcmConnector` (RFC, needs pyrfc + SAP NW RFC SDK) from ``hrbridge_sap_hcm``.

    host = application server, login/password, extra ``{"sysnr": "00", "client": "100", "lang": "EN"}``.
    """

    conn_name_attr = "sap_hcm_conn_id"
    default_conn_name = "hrbridge_sap_hcm"
    conn_type = "hrbridge_sap_hcm"
    hook_name = "SAP HCM over RFC (hrbridge)"

    def __init__(self, sap_hcm_conn_id: str = default_conn_name, page_size: int = 500) -> None:
        super().__init__()
        self.sap_hcm_conn_id = sap_hcm_conn_id
        self.page_size = page_size

    def rfc_params(self) -> RfcParams:
        """Logon parameters from the Connection, or from ``HRBRIDGE_RFC_*`` when it is not defined."""
        try:
            conn = self.get_connection(self.sap_hcm_conn_id)
        except AirflowNotFoundException:
            return RfcParams.from_env()
        return RfcParams.from_connection(conn.host, conn.login, conn.password, conn.extra_dejson)

    def get_conn(self) -> SapHcmConnector:
        """An open connector; raises ``RfcSdkMissingError`` naming the SDK when pyrfc is absent."""
        return SapHcmConnector.connect(self.rfc_params(), page_size=self.page_size)


def successfactors(rate_limit: float | None = None, page_size: int = 1000) -> SuccessFactorsConnector:
    """The connector from the Airflow Connection, or from ``HRBRIDGE_SF_*`` when it is not defined."""
    try:
        return SuccessFactorsHook(rate_limit=rate_limit, page_size=page_size).get_conn()
    except AirflowNotFoundException:
        return successfactors_from_env(rate_limit=rate_limit, page_size=page_size)


def hr_source(name: str, doc: Any, config: Any) -> Any:
    """A candidate_sync source (``hrbridge.sources.Builder``): SuccessFactors from its Connection when
    defined, Greenhouse from the Connection ``hrbridge_<name>`` (host, login = OAuth client id,
    password = client secret, extra ``user_id``, ``token_url``) when defined, every other kind (and
    those without a Connection) from the environment its ``configs/sources/<name>.yaml`` names."""
    import os

    from hrbridge.sources import build_from_env

    if doc.get("kind", name) == "successfactors" and name == "successfactors":
        return successfactors(rate_limit=config.sf_rate_limit, page_size=config.page_size)
    if doc.get("kind", name) == "greenhouse":  # Connection hrbridge_<name>: host, login = client id, password = secret
        try:
            conn = BaseHook.get_connection(f"hrbridge_{name}")
        except AirflowNotFoundException:
            conn = None
        if conn is not None:
            extra = conn.extra_dejson
            env = {**os.environ, "HRBRIDGE_GREENHOUSE_URL": _base_url(conn),
                   "HRBRIDGE_GREENHOUSE_CLIENT_ID": conn.login or "", "HRBRIDGE_GREENHOUSE_CLIENT_SECRET": conn.password or "",
                   "HRBRIDGE_GREENHOUSE_USER_ID": str(extra.get("user_id") or ""),
                   **({"HRBRIDGE_GREENHOUSE_TOKEN_URL": extra["token_url"]} if extra.get("token_url") else {})}
            return build_from_env(name, doc, config, env)
    return build_from_env(name, doc, config)


def interview_platform(rate_limit: float | None = None) -> InterviewPlatform:
    """The platform client from the Airflow Connection, or from ``HRBRIDGE_INTERVIEW_*`` when not defined."""
    try:
        return InterviewPlatformHook(rate_limit=rate_limit).get_conn()
    except AirflowNotFoundException:
        return interview_platform_from_env(rate_limit=rate_limit)
