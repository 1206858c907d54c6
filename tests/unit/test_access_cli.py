"""``hrbridge access check|roles|sql``: answers, exit codes and the printed enforcement SQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hrbridge.cli import main


@pytest.mark.parametrize(
    ("argv", "code", "text"),
    [
        (["--role", "hiring_manager", "--resource", "interview.video", "--action", "read"], 0, "allowed"),
        (["--role", "hr_specialist", "--resource", "interview.video", "--action", "read"], 3, "not granted"),
        (["--role", "hiring_manager", "--resource", "interview.scores", "--action", "write"], 3, "denied"),
        (["--role", "candidate", "--resource", "deletion_request.own", "--action", "request",
          "--subject", "c1", "--principal-subject", "c1"], 0, "allowed"),
        (["--role", "candidate", "--resource", "deletion_request.own", "--action", "request",
          "--subject", "c2", "--principal-subject", "c1"], 3, "own subject"),
    ],
)
def test_check(argv: list[str], code: int, text: str, capsys) -> None:
    assert main(["access", "check", *argv]) == code
    assert text in capsys.readouterr().out


def test_check_unknown_role_is_denied_with_usage_error(capsys) -> None:
    assert main(["access", "check", "--role", "root", "--resource", "interview.video", "--action", "read"]) == 2
    captured = capsys.readouterr()
    assert "denied" in captured.out and "unknown role 'root'; known roles: admin" in captured.err


def test_check_json(capsys) -> None:
    assert main(["access", "check", "--json", "--role", "auditor", "--resource", "deletion_log",
                 "--action", "read"]) == 0
    assert json.loads(capsys.readouterr().out)["allowed"] is True


def test_roles_json_lists_grants(capsys) -> None:
    assert main(["access", "roles", "--json"]) == 0
    matrix = json.loads(capsys.readouterr().out)
    assert matrix["auditor"]["grants"] == {
        "audit.bias": ["read", "run"], "audit.categories": ["read", "write"],
        "audit.export": ["read"], "audit.verify": ["run"], "deletion_log": ["read"], "retention.holds": ["read"],
        "retention.requests": ["read"],
    }


def test_sql_prints_roles_views_and_rls(capsys) -> None:
    assert main(["access", "sql", "--dialect", "postgresql"]) == 0
    sql = capsys.readouterr().out
    assert 'CREATE ROLE "hrb_hr_specialist" NOLOGIN' in sql and "ENABLE ROW LEVEL SECURITY" in sql
    assert 'GRANT SELECT ON "hrb_access"."interview_video" TO "hrb_hiring_manager"' in sql


def test_bad_roles_file_and_dialect_are_usage_errors(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "roles.yaml"
    bad.write_text("actions: [read]\nresources: {}\nroles: {x: {grants: {nope: [read]}}}\n")
    assert main(["access", "--roles", str(bad), "roles"]) == 2
    assert "roles.x.grants: unknown resource 'nope'" in capsys.readouterr().err
    assert main(["access", "sql", "--dialect", "mysql"]) == 2


def test_apply_on_sqlite_is_refused(hrbridge_home: Path, capsys) -> None:
    assert main(["access", "apply"]) == 2
    assert "needs Postgres" in capsys.readouterr().err


def _seeded_hub(home: Path) -> None:
    from connectors.sql import make_engine
    from governance.crypto import Vault
    from hrbridge.settings import load_settings
    from tests.factories.governance import seed_hub

    settings = load_settings().ensure_dirs()
    engine = make_engine(settings.db_url)
    seed_hub(engine, Vault.local(engine, settings.home), subjects=2)
    engine.dispose()


def test_read_as_hiring_manager_shows_decrypted_media(hrbridge_home: Path, capsys) -> None:
    _seeded_hub(hrbridge_home)
    assert main(["access", "read", "--role", "hiring_manager", "--data", "media", "--candidate", "cand-1",
                 "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == [{"result_id": "res-1", "candidate_id": "cand-1", "application_id": "app-1",
                     "clips": '["s3://media/cand-1/clip1.mp4"]', "transcript_ref": "s3://media/cand-1/t.txt"}]


def test_read_denied_and_unknown_role(hrbridge_home: Path, capsys) -> None:
    _seeded_hub(hrbridge_home)
    assert main(["access", "read", "--role", "hr_specialist", "--data", "media"]) == 3
    assert "may not read 'interview.video'" in capsys.readouterr().err
    assert main(["access", "read", "--role", "nobody", "--data", "candidates"]) == 2
    assert main(["access", "read", "--role", "hr_specialist", "--data", "candidates", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("candidate_id,") and "c0@example.com" in out and "extras" not in out
