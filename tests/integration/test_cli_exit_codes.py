"""Every command's known error paths end with the documented exit code and one line, no traceback.

Exit codes (README, docs/security.md): 0 success, 1 failure, 2 bad arguments or unreadable input,
3 a verification gate failed. Each row sets up one failure a user meets and runs the command
in-process through ``hrbridge.cli.main``.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from hrbridge.cli import main

Setup = Callable[[pytest.MonkeyPatch, Path], None]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def nothing(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """No extra set-up."""


def no_credentials(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """No HRBRIDGE_SF_* / HRBRIDGE_INTERVIEW_* variables."""
    for name in [n for n in os.environ if n.startswith(("HRBRIDGE_SF_", "HRBRIDGE_INTERVIEW_"))]:
        monkeypatch.delenv(name)


def unreachable_services(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """Credentials that point at a port nothing listens on."""
    url = f"http://127.0.0.1:{_closed_port()}"
    for name, value in {"HRBRIDGE_SF_URL": url, "HRBRIDGE_SF_USER": "u", "HRBRIDGE_SF_PASSWORD": "p",
                        "HRBRIDGE_INTERVIEW_URL": url, "HRBRIDGE_INTERVIEW_API_KEY": "k"}.items():
        monkeypatch.setenv(name, value)


def open_keyring(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """A keyring that group and other users can read (what `chmod 644` or a careless copy leaves)."""
    from governance.crypto import Vault
    from hrbridge.settings import load_settings
    from hrbridge.store import hub_engine

    unreachable_services(monkeypatch, home)
    Vault.local(hub_engine(load_settings()), home).require_available()
    (home / "keyring.json").chmod(0o644)


def hub_down(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """The hub database configured on a server that does not answer."""
    monkeypatch.setenv("HRBRIDGE_DB_URL", f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/hub")
    unreachable_services(monkeypatch, home)


def hub_down_with_audit_key(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """The hub down, and the auditor's public key given (verify gets as far as the database)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    public = home / "auditor.pub"
    public.write_bytes(Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    monkeypatch.setenv("HRBRIDGE_AUDIT_PUBLIC_KEY", str(public))
    hub_down(monkeypatch, home)


def empty_config_dir(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """HRBRIDGE_CONFIG_DIR pointing at a folder without the YAML files."""
    (home / "configs").mkdir()
    monkeypatch.setenv("HRBRIDGE_CONFIG_DIR", str(home / "configs"))
    unreachable_services(monkeypatch, home)


def broken_roles(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """A copy of the configs whose roles.yaml grants an unknown resource."""
    configs = home / "configs"
    shutil.copytree(Path(__file__).resolve().parents[2] / "configs", configs)
    (configs / "roles.yaml").write_text("roles:\n  hr_specialist:\n    no.such.resource: [read]\n", encoding="utf-8")
    monkeypatch.setenv("HRBRIDGE_CONFIG_DIR", str(configs))


def webhook_secret(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """A secret set, so `webhook serve` gets as far as binding its port."""
    monkeypatch.setenv("HRBRIDGE_WEBHOOK_SECRET", "s")


def no_webhook_secret(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """No HRBRIDGE_WEBHOOK_SECRET."""
    monkeypatch.delenv("HRBRIDGE_WEBHOOK_SECRET", raising=False)


CASES: list[tuple[str, list[str], Setup, int, str]] = [
    # command, argv, set-up, exit code, words the one-line message contains
    ("sync candidates", ["sync", "candidates"], no_credentials, 2, "HRBRIDGE_SF_URL"),
    ("sync candidates", ["sync", "candidates"], unreachable_services, 1, "UnreachableError"),
    ("sync candidates", ["sync", "candidates"], open_keyring, 2, "KeyringPermissionError"),
    ("sync candidates", ["sync", "candidates"], hub_down, 1, "OperationalError"),
    ("sync candidates", ["sync", "candidates"], empty_config_dir, 2, "candidate_sync"),
    ("sync results", ["sync", "results"], no_credentials, 2, "HRBRIDGE_"),
    ("sync results", ["sync", "results"], unreachable_services, 1, "UnreachableError"),
    ("sync results", ["sync", "results"], open_keyring, 2, "KeyringPermissionError"),
    ("sync results", ["sync", "results"], hub_down, 1, "OperationalError"),
    ("sync archive", ["sync", "archive"], empty_config_dir, 2, "archive"),
    ("sync archive", ["sync", "archive"], hub_down, 1, "OperationalError"),
    ("extract", ["extract", "--type", "successfactors", "--stream", "Candidate", "--out", "x.csv",
                 "--since", "yesterday"], unreachable_services, 2, "ISO 8601"),
    ("extract", ["extract", "--type", "successfactors", "--stream", "Candidate", "--out", "x.csv"],
     unreachable_services, 1, "UnreachableError"),
    ("extract", ["extract", "--type", "sap-hcm", "--ashost", "h", "--sysnr", "00", "--client", "100",
                 "--user", "U", "--stream", "personal_data", "--keys", "1", "--out", "p.csv"], nothing, 2,
     "HRBRIDGE_RFC_PASSWORD"),
    ("mapping suggest", ["mapping", "suggest", "no-such-file.csv", "--out", "m.yaml"], nothing, 2, "no-such-file"),
    ("migrate", ["migrate", "--source", "no-such-file.csv", "--mapping", "auto", "--target", "sqlite:///a.db"],
     nothing, 2, "no-such-file"),
    ("verify", ["verify", "--source", "no-such-file.csv", "--mapping", "auto", "--target", "sqlite:///a.db"],
     nothing, 2, "no-such-file"),
    ("access check", ["access", "check", "--role", "hr_specialist", "--resource", "interview.video",
                      "--action", "read"], nothing, 3, "denied"),
    ("access check", ["access", "check", "--role", "intern", "--resource", "interview.video", "--action", "read"],
     nothing, 2, "intern"),
    ("access roles", ["access", "roles"], broken_roles, 2, "roles.yaml"),
    ("access read", ["access", "read", "--role", "hr_specialist", "--data", "media"], nothing, 3, "denied"),
    ("access apply", ["access", "apply"], nothing, 2, "Postgres"),
    ("access sql", ["access", "sql", "--dialect", "postgresql"], broken_roles, 2, "roles.yaml"),
    ("keys status", ["keys", "status"], open_keyring, 2, "chmod 600"),
    ("keys rotate", ["keys", "rotate"], open_keyring, 2, "chmod 600"),
    ("keys rotate", ["keys", "rotate"], hub_down, 1, "OperationalError"),
    ("keys encrypt-existing", ["keys", "encrypt-existing", "--table", "no_such_table", "--column", "c",
                               "--subject-col", "s", "--record-col", "r"], nothing, 2, "no_such_table"),
    ("deletion request", ["deletion", "request", "--candidate", " ", "--by", "dpo"], nothing, 2, "empty"),
    ("deletion request", ["deletion", "request", "--candidate", "C1", "--by", "dpo"], hub_down, 1, "OperationalError"),
    ("hold add", ["hold", "add", "--candidate", "C1", "--reason", "a\x1eb"], nothing, 2, "control characters"),
    ("hold remove", ["hold", "remove", "--candidate", "C1", "--reason", "done"], nothing, 2, "C1"),
    ("hold list", ["hold", "list"], hub_down, 1, "OperationalError"),
    ("retention plan", ["retention", "plan"], empty_config_dir, 2, "retention"),
    ("retention plan", ["retention", "plan"], hub_down, 1, "OperationalError"),
    ("retention run", ["retention", "run"], empty_config_dir, 2, "retention"),
    ("audit verify", ["audit", "verify"], hub_down_with_audit_key, 1, "OperationalError"),
    ("audit verify", ["audit", "verify"], nothing, 2, "no trusted public key"),
    ("audit export", ["audit", "export", "--from", "2026-02-01", "--to", "2026-01-01", "--format", "csv",
                      "--out", "x.csv"], nothing, 2, "before"),
    ("report validation", ["report", "validation"], nothing, 2, "no validation run"),
    ("quarantine list", ["quarantine", "list"], hub_down, 1, "OperationalError"),
    ("quarantine requeue", ["quarantine", "requeue"], hub_down, 1, "OperationalError"),
    ("webhook serve", ["webhook", "serve"], no_webhook_secret, 2, "HRBRIDGE_WEBHOOK_SECRET"),
    ("webhook serve", ["webhook", "serve", "--host", "192.0.2.1", "--port", "9"], webhook_secret, 2, "cannot listen"),
]


@pytest.mark.parametrize(("command", "argv", "setup", "code", "words"), CASES,
                         ids=[f"{c[0]}-{c[2].__name__}" for c in CASES])
def test_known_errors_give_the_documented_exit_code_and_one_line(
    command: str, argv: list[str], setup: Setup, code: int, words: str, hrbridge_home: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)
    setup(monkeypatch, hrbridge_home)
    capsys.readouterr()
    assert main(argv) == code
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    if code == 3:  # a gate's answer is the command's output
        assert words in out + err, out + err
        return
    lines = [line for line in err.splitlines() if line.startswith("hrbridge ")]
    assert lines and lines[-1].startswith(f"hrbridge {command}:"), err
    assert words in lines[-1], err


def test_verbose_adds_the_traceback(hrbridge_home: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    unreachable_services(monkeypatch, hrbridge_home)
    assert main(["-v", "sync", "candidates"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_an_unexpected_error_is_a_failure_with_a_hint(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str], hrbridge_home: Path) -> None:
    import hrbridge.commands.results as results

    def broken(_args: object) -> int:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(results, "run_quarantine_list", broken)
    assert main(["quarantine", "list"]) == 1
    err = capsys.readouterr().err
    assert "ZeroDivisionError" in err and "rerun with -v" in err and "Traceback" not in err
