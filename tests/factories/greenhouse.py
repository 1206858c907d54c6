"""Greenhouse Harvest v3 test helpers: the sandbox's credentials and a connector / environment for it."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.greenhouse import GreenhouseConnector
from sandbox.greenhouse import DEFAULT_CLIENTS, DEFAULT_USER_ID, GreenhouseSandbox
from tests.factories.successfactors import FAST_RETRY

CLIENT_ID, CLIENT_SECRET = next(iter(DEFAULT_CLIENTS.items()))


def gh_connector(box: GreenhouseSandbox, **kwargs: Any) -> GreenhouseConnector:
    """A connector for ``box`` with fast retries unless overridden."""
    kwargs.setdefault("retry", FAST_RETRY)
    return GreenhouseConnector(CLIENT_ID, CLIENT_SECRET, DEFAULT_USER_ID, base_url=box.url,
                               token_url=f"{box.url}/token", **kwargs)


def gh_env(monkeypatch: pytest.MonkeyPatch, box: GreenhouseSandbox) -> None:
    """Point the HRBRIDGE_GREENHOUSE_* variables at ``box``."""
    monkeypatch.setenv("HRBRIDGE_GREENHOUSE_URL", box.url)
    monkeypatch.setenv("HRBRIDGE_GREENHOUSE_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("HRBRIDGE_GREENHOUSE_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("HRBRIDGE_GREENHOUSE_USER_ID", DEFAULT_USER_ID)
