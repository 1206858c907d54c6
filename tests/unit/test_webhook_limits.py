"""Webhook bounds from the environment: defaults, overrides, and clear errors for bad values."""

from __future__ import annotations

import pytest

from hrbridge.settings import ConfigError
from hrbridge.webhook.limits import WebhookLimits


def test_defaults_and_the_replay_window() -> None:
    limits = WebhookLimits.from_env({})
    assert limits == WebhookLimits()
    assert (limits.max_body, limits.tolerance, limits.replay_window) == (5 * 1024 * 1024, 300, 600)


def test_variables_override_fields() -> None:
    limits = WebhookLimits.from_env({"HRBRIDGE_WEBHOOK_MAX_BODY": "1024", "HRBRIDGE_WEBHOOK_BODY_TIMEOUT": "2.5",
                                     "HRBRIDGE_WEBHOOK_MAX_INFLIGHT": " "})
    assert (limits.max_body, limits.body_timeout, limits.max_inflight) == (1024, 2.5, 32)


@pytest.mark.parametrize(("name", "value", "words"), [
    ("HRBRIDGE_WEBHOOK_MAX_BODY", "5MB", "not an integer"),
    ("HRBRIDGE_WEBHOOK_MAX_BODY", "-1", "greater than 0"),
    ("HRBRIDGE_WEBHOOK_BODY_TIMEOUT", "soon", "not a number"),
    ("HRBRIDGE_WEBHOOK_TOLERANCE", "0", "greater than 0"),
])
def test_bad_values_name_the_variable(name: str, value: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words) as caught:
        WebhookLimits.from_env({name: value})
    assert name in str(caught.value)
