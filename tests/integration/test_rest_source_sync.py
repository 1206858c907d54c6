"""candidate_sync fed by the YAML-declared REST source (configs/sources/personio.yaml) against its sandbox."""

from __future__ import annotations

import json

import pytest

from hrbridge.cli import main
from hrbridge.settings import ConfigError
from hrbridge.sources import sync_sources
from sandbox.personio import DEFAULT_CLIENTS, PersonioSandbox


def personio_env(monkeypatch: pytest.MonkeyPatch, box: PersonioSandbox) -> None:
    client, secret = next(iter(DEFAULT_CLIENTS.items()))
    monkeypatch.setenv("HRBRIDGE_PERSONIO_URL", box.url)
    monkeypatch.setenv("HRBRIDGE_PERSONIO_CLIENT_ID", client)
    monkeypatch.setenv("HRBRIDGE_PERSONIO_CLIENT_SECRET", secret)


def test_sync_from_the_yaml_source_invites_and_writes_back(sandbox_env, monkeypatch, capsys) -> None:
    _, platform = sandbox_env
    with PersonioSandbox(seed=5, candidates=20, applications=30) as box:
        personio_env(monkeypatch, box)
        triggered = {r["id"] for r in box.records("applications") if r["stage"]["name"] == "AI Interview"}
        assert main(["sync", "candidates", "--source", "personio", "--json"]) == 0, capsys.readouterr().err
        counts = json.loads(capsys.readouterr().out)
        assert counts["applications_read"] == 30 and counts["invited"] == counts["written_back"] == len(triggered) > 0
        assert {e["id"] for e in box.patch_log} == triggered and platform.creations == len(triggered)
        assert all(e["ai_interview_link"].startswith("http") for e in box.patch_log)


def test_a_yaml_source_with_a_missing_secret_names_the_variable(sandbox_env, monkeypatch) -> None:
    from hrbridge.pipelines.candidate_sync import load_sync_config

    monkeypatch.setenv("HRBRIDGE_PERSONIO_URL", "http://127.0.0.1:9")
    monkeypatch.delenv("HRBRIDGE_PERSONIO_CLIENT_SECRET", raising=False)
    monkeypatch.setenv("HRBRIDGE_PERSONIO_CLIENT_ID", "x")
    with pytest.raises(ConfigError, match="set HRBRIDGE_PERSONIO_CLIENT_SECRET"):
        sync_sources(load_sync_config(), ["personio"])
