"""Bounds and origin policy reach every connector from Connection extras or HRBRIDGE_HTTP_* variables."""

from __future__ import annotations

import json

import pytest

from connectors.http import Limits, OriginPolicy
from hrbridge.connections import http_settings, interview_platform_from_env, successfactors_from_env
from hrbridge.settings import ConfigError

SF = {"HRBRIDGE_SF_URL": "http://127.0.0.1:9", "HRBRIDGE_SF_USER": "u", "HRBRIDGE_SF_PASSWORD": "pw-123456"}
INTERVIEW = {"HRBRIDGE_INTERVIEW_URL": "http://127.0.0.1:9", "HRBRIDGE_INTERVIEW_API_KEY": "key-123456"}


def test_environment_bounds_reach_both_connectors() -> None:
    env = {**SF, **INTERVIEW, "HRBRIDGE_HTTP_MAX_PAGES": "9", "HRBRIDGE_HTTP_FOREIGN_LINKS": "anonymous"}
    sf = successfactors_from_env(env)
    platform = interview_platform_from_env(env)
    assert sf.client.limits.max_pages == 9 and sf.client.origin_policy.foreign_links == "anonymous"
    assert platform.http.limits.max_pages == 9 and platform.http.origin_policy == OriginPolicy("anonymous")


def test_defaults_when_nothing_is_configured() -> None:
    assert http_settings(None, {}) == {"limits": Limits(), "origin_policy": OriginPolicy()}


def test_invalid_settings_are_a_config_error_naming_them() -> None:
    with pytest.raises(ConfigError, match="HRBRIDGE_HTTP_REQUEST_BUDGET must be a number"):
        successfactors_from_env({**SF, "HRBRIDGE_HTTP_REQUEST_BUDGET": "soon"})
    with pytest.raises(ConfigError, match="trusted"):
        http_settings({"trusted_origins": ["not a url"]}, {})


def test_connection_extras_override_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from plugins.hrbridge_provider import SuccessFactorsHook

    monkeypatch.setenv("HRBRIDGE_HTTP_MAX_PAGES", "9")
    monkeypatch.setenv("AIRFLOW_CONN_HRBRIDGE_SUCCESSFACTORS", json.dumps({
        "conn_type": "hrbridge_successfactors", "host": "https://api4.example.com", "login": "u",
        "password": "pw-123456", "extra": {"company_id": "C1", "limits": {"max_pages": 3, "max_depth": 16},
                                           "trusted_origins": ["https://login.example.com"]},
    }))
    connector = SuccessFactorsHook().get_conn()
    assert (connector.client.limits.max_pages, connector.client.limits.max_depth) == (3, 16)
    assert connector.client.origin_policy.trusted_origins == ("https://login.example.com:443",)


def test_a_url_without_scheme_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="HRBRIDGE_SF_URL must be an absolute http"):
        successfactors_from_env({**SF, "HRBRIDGE_SF_URL": "api4.successfactors.com"})
