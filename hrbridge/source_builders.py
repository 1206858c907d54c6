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


def greenhouse_from_env(doc: Mapping[str, Any], env: Mapping[str, str]) -> SourceSystem:
    """Greenhouse Harvest v3: OAuth client from ``HRBRIDGE_GREENHOUSE_*``."""
    from connectors.greenhouse import greenhouse_from_settings

    return greenhouse_from_settings(doc, env)


def rest_from_env(name: str, doc: Mapping[str, Any], env: Mapping[str, str]) -> SourceSystem:
    """A declarative REST source (``kind: rest``) with the credentials its file names."""
    from connectors.rest_source import RestSource

    try:
        return RestSource.from_document(name, doc, env)
    except ValueError as exc:
        raise ConfigError(f"configs/sources/{name}.yaml: {exc}") from exc
