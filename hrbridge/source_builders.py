"""Build the non-default HR sources from ``configs/sources/<name>.yaml`` and credentials in the environment.

Each builder takes the source's document and the environment; credentials are read from
variables only (never the YAML): SAP HCM from ``HRBRIDGE_RFC_*`` (docs/sap-hcm.md), Greenhouse from
``HRBRIDGE_GREENHOUSE_*`` (docs/greenhouse.md), a YAML REST source from the variables its file
names (docs/sources.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from connectors.source import SourceSystem
from hrbridge.settings import ConfigError


def applicant_numbers(text: str | None, where: str) -> list[str]:
    """Applicant numbers from ``1234,1235`` or ``@file`` (one per line); ConfigError when unreadable."""
    if not text:
        raise ConfigError(f"SAP HCM needs applicant numbers: set {where} (comma-separated or @file)")
    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text(encoding="utf-8").replace("\n", ",")
        except OSError as exc:
            raise ConfigError(f"cannot read {where} file {text[1:]!r}: {exc.strerror}") from exc
    return [k.strip() for k in text.split(",") if k.strip()]


def sap_hcm_from_env(doc: Mapping[str, Any], env: Mapping[str, str]) -> SourceSystem:
    """SAP HCM over RFC: logon from ``HRBRIDGE_RFC_*``, applicants from ``HRBRIDGE_RFC_APPLICANTS``."""
    from connectors.sap_hcm_source import SapHcmSource
    from connectors.sap_rfc import RfcParams, SapHcmConnector

    try:
        params = RfcParams.from_env(env)
    except ValueError as exc:
        raise ConfigError(f"SAP HCM: {exc} (HRBRIDGE_RFC_ASHOST, _SYSNR, _CLIENT, _USER, _PASSWORD)") from exc
    numbers = applicant_numbers(env.get("HRBRIDGE_RFC_APPLICANTS") or doc.get("applicants"), "HRBRIDGE_RFC_APPLICANTS")
    connector = SapHcmConnector.connect(params, page_size=int(doc.get("page_size", 500)))
    return SapHcmSource(connector, lambda: numbers, write_back_function=doc.get("write_back_function"))


GREENHOUSE_ENV = ("HRBRIDGE_GREENHOUSE_CLIENT_ID", "HRBRIDGE_GREENHOUSE_CLIENT_SECRET", "HRBRIDGE_GREENHOUSE_USER_ID")


def greenhouse_from_env(doc: Mapping[str, Any], env: Mapping[str, str]) -> SourceSystem:
    """Greenhouse Harvest v3 from ``HRBRIDGE_GREENHOUSE_CLIENT_ID`` / ``_CLIENT_SECRET`` / ``_USER_ID`` (optional
    ``_URL``, ``_TOKEN_URL``); ``doc`` may set ``per_page`` and ``rate_limit``."""
    from connectors.greenhouse import DEFAULT_BASE_URL, DEFAULT_TOKEN_URL, GreenhouseConnector
    from connectors.origin import origin_of
    from hrbridge.connections import MissingCredentialsError, http_settings

    missing = [n for n in GREENHOUSE_ENV if not env.get(n)]
    if missing:
        raise MissingCredentialsError(f"cannot connect to Greenhouse: set {', '.join(missing)}")
    base = env.get("HRBRIDGE_GREENHOUSE_URL") or DEFAULT_BASE_URL
    token_url = env.get("HRBRIDGE_GREENHOUSE_TOKEN_URL") or (
        DEFAULT_TOKEN_URL if base == DEFAULT_BASE_URL else origin_of(base) + "/token")
    try:
        return GreenhouseConnector(
            env[GREENHOUSE_ENV[0]], env[GREENHOUSE_ENV[1]], env[GREENHOUSE_ENV[2]], base_url=base,
            token_url=token_url, per_page=int(doc.get("per_page", 500)), rate_limit=doc.get("rate_limit"),
            **http_settings(None, env))
    except ValueError as exc:
        raise ConfigError(f"Greenhouse: {exc}") from exc


def rest_from_env(name: str, doc: Mapping[str, Any], env: Mapping[str, str]) -> SourceSystem:
    """A declarative REST source (``kind: rest``) with the credentials its file names."""
    from connectors.rest_source import RestSource
    from hrbridge.connections import http_settings

    try:
        return RestSource.from_document(name, doc, env, **http_settings(None, env))
    except ValueError as exc:
        raise ConfigError(f"configs/sources/{name}.yaml: {exc}") from exc
