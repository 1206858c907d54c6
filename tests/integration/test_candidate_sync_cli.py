"""``hrbridge sync candidates`` against both sandboxes, with connectors built from the environment."""

from __future__ import annotations

import json

from hrbridge.cli import main


def test_sync_candidates_json(sandbox_env, capsys) -> None:
    sf_box, ip_box = sandbox_env
    assert main(["sync", "candidates", "--json"]) == 0
    counts = json.loads(capsys.readouterr().out)
    assert counts["applications_read"] == sf_box.count("JobApplication")
    assert counts["invited"] == counts["written_back"] == ip_box.creations > 0
    assert main(["sync", "candidates", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["invited"] == 0 and ip_box.creations == counts["invited"]


def test_sync_candidates_human_summary(sandbox_env, capsys) -> None:
    assert main(["sync", "candidates"]) == 0
    out = capsys.readouterr().out
    assert "applications read" in out and "written back" in out
    assert "@" not in out  # no e-mail addresses in the summary


def test_missing_credentials_exit_2_naming_the_variables(hrbridge_home, monkeypatch, capsys) -> None:
    for name in ("HRBRIDGE_SF_URL", "HRBRIDGE_SF_USER", "HRBRIDGE_SF_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    assert main(["sync", "candidates"]) == 2
    assert "HRBRIDGE_SF_URL" in capsys.readouterr().err


def test_wrong_password_exit_1_without_leaking_it(sandbox_env, monkeypatch, capsys) -> None:
    monkeypatch.setenv("HRBRIDGE_SF_PASSWORD", "not-the-secret")
    assert main(["sync", "candidates"]) == 1
    err = capsys.readouterr().err
    assert "rejected the credentials" in err and "not-the-secret" not in err
