"""Limits: defaults, validation, and settings from Connection extras over HRBRIDGE_HTTP_* variables."""

from __future__ import annotations

import pytest

from connectors.limits import Limits


def test_defaults_bound_everything_a_server_sends() -> None:
    limits = Limits()
    assert limits.max_body_bytes == 64 * 1024 * 1024 and limits.max_depth == 64
    assert limits.max_pages == 100_000 and limits.max_records == 10_000_000
    assert limits.idle_timeout == 30 and limits.request_budget == 600 and limits.run_budget == 6 * 3600


@pytest.mark.parametrize("value", [0, -1, float("nan"), float("inf"), "10", True])
def test_bounds_must_be_positive_numbers(value: object) -> None:
    with pytest.raises(ValueError, match="Limits.max_pages must be a positive number"):
        Limits(max_pages=value)  # type: ignore[arg-type]


def test_extras_override_environment_which_overrides_defaults() -> None:
    env = {"HRBRIDGE_HTTP_MAX_PAGES": "50", "HRBRIDGE_HTTP_IDLE_TIMEOUT": "2.5", "HRBRIDGE_HTTP_MAX_DEPTH": ""}
    limits = Limits.from_settings({"limits": {"max_pages": 7, "max_body_bytes": "1048576"}}, env)
    assert (limits.max_pages, limits.max_body_bytes, limits.idle_timeout, limits.max_depth) == (7, 1048576, 2.5, 64)


@pytest.mark.parametrize(("extra", "env", "message"), [
    ({"limits": {"max_pagez": 1}}, {}, "unknown field.*max_pagez"),
    ({"limits": {"max_pages": 1.5}}, {}, "max_pages must be a whole number"),
    ({"limits": []}, {}, '"limits" must be an object'),
    ({}, {"HRBRIDGE_HTTP_MAX_RECORDS": "lots"}, "HRBRIDGE_HTTP_MAX_RECORDS must be a number"),
    ({}, {"HRBRIDGE_HTTP_RUN_BUDGET": "-5"}, "run_budget must be a positive number"),
])
def test_bad_settings_name_the_setting(extra: dict, env: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Limits.from_settings(extra, env)


def test_hint_says_how_to_raise_a_bound() -> None:
    hint = Limits(max_pages=3).hint("max_pages")
    assert hint.startswith("max_pages=3;") and "HRBRIDGE_HTTP_MAX_PAGES" in hint and '"limits"' in hint
