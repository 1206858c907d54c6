"""The Airflow provider's SAP HCM hook: logon from a Connection, a clear error without the RFC SDK."""

from __future__ import annotations

import json

import pytest


def test_sap_hcm_hook_reads_the_connection_and_names_the_missing_sdk(monkeypatch) -> None:
    from connectors.sap_rfc import RfcSdkMissingError
    from plugins.hrbridge_provider import SapHcmHook

    monkeypatch.setenv("AIRFLOW_CONN_HRBRIDGE_SAP_HCM", json.dumps({
        "conn_type": "generic", "host": "hcm.example.com", "login": "RFC_HR", "password": "rfc-secret-1",
        "extra": {"sysnr": "00", "client": "100"},
    }))
    params = SapHcmHook().rfc_params()
    assert (params.ashost, params.sysnr, params.client, params.user) == ("hcm.example.com", "00", "100", "RFC_HR")
    assert "rfc-secret-1" not in repr(params)
    with pytest.raises(RfcSdkMissingError, match="NW RFC SDK"):
        SapHcmHook().get_conn()
