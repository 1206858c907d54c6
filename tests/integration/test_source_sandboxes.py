"""``hrbridge sandbox --also greenhouse,personio``: the further source sandboxes start and print their exports."""

from __future__ import annotations

import argparse

import pytest
import requests

from sandbox.__main__ import add_arguments, describe, start_sandboxes


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(["--sf-port", "0", "--interview-port", "0", *argv])


def test_also_starts_greenhouse_and_personio() -> None:
    servers = start_sandboxes(_args("--also", "greenhouse,personio"))
    try:
        names = [name for name, _ in servers]
        assert {"successfactors", "greenhouse", "personio"} <= set(names)
        text = describe(servers)
        assert "HRBRIDGE_GREENHOUSE_CLIENT_SECRET=gh-sandbox-secret" in text
        assert "HRBRIDGE_PERSONIO_URL=http://127.0.0.1:" in text
        gh = dict(servers)["greenhouse"]
        assert requests.get(f"{gh.url}/v3/candidates", timeout=5).status_code == 401  # a token is required
    finally:
        for _, server in servers:
            server.stop()


def test_an_unknown_extra_sandbox_is_refused() -> None:
    with pytest.raises(ValueError, match="use greenhouse, personio"):
        start_sandboxes(_args("--also", "workday"))
