"""The access policy enforced inside a real Postgres: roles, column views, grants and row-level security."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from connectors.sql import make_engine
from governance.access import Policy, Principal, SecureReader, apply_postgres_policy, generate_postgres_sql
from governance.crypto import Vault
from tests.factories.governance import seed_hub

POLICY = Policy.from_yaml(Path(__file__).resolve().parents[2] / "configs" / "roles.yaml")
DENIED = "permission denied"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[sa.Engine, Vault]]:
    """One seeded Postgres database for the module; every statement run as a role is rolled back."""
    from tests.conftest import PG_URL, _fresh_database

    databases = _fresh_database(PG_URL, "PostgreSQL", 'CREATE DATABASE "{name}"',
                                'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine = make_engine(next(databases))
    vault = Vault.local(engine, tmp_path_factory.mktemp("keys"))
    seed_hub(engine, vault, subjects=3)
    apply_postgres_policy(engine, POLICY)
    yield engine, vault
    engine.dispose()
    databases.close()


def run_as(engine: sa.Engine, role: str, sql: str, subject: str | None = None) -> list[sa.Row] | int:
    """Run one statement as a database role (rolled back); rows for SELECT, rowcount otherwise."""
    with engine.connect() as conn, conn.begin() as tx:
        conn.exec_driver_sql(f'SET LOCAL ROLE "hrb_{role}"')
        if subject is not None:
            conn.execute(sa.text("SELECT set_config('hrbridge.subject_id', :s, true)"), {"s": subject})
        result = conn.execute(sa.text(sql))
        out = result.all() if result.returns_rows else result.rowcount
        tx.rollback()
        return out


def denied(engine: sa.Engine, role: str, sql: str, match: str = DENIED, subject: str | None = None) -> None:
    with pytest.raises(sa.exc.ProgrammingError, match=match):
        run_as(engine, role, sql, subject)


def test_hr_specialist_reads_scores_and_contact_but_never_video(hub) -> None:
    engine, _ = hub
    assert len(run_as(engine, "hr_specialist", "SELECT overall_score FROM hrb_access.interview_scores")) == 3
    emails = run_as(engine, "hr_specialist", "SELECT email FROM hrb_access.candidate_contact")
    assert all(row.email.startswith("hrb1:") for row in emails)  # ciphertext: the key is not in the database
    denied(engine, "hr_specialist", "SELECT clips FROM hrb_access.interview_video")
    denied(engine, "hr_specialist", "SELECT clips FROM public.interview_results")
    denied(engine, "hr_specialist", "SELECT id_number FROM hrb_access.candidate_id_number")
    denied(engine, "hr_specialist", "SELECT extras FROM public.candidates")
    updated = run_as(engine, "hr_specialist",
                     "UPDATE hrb_access.interview_scores SET overall_score = 99 WHERE result_id = 'res-1'")
    assert updated == 1


def test_views_expose_only_the_resource_columns(hub) -> None:
    engine, _ = hub
    denied(engine, "hr_specialist", "SELECT clips FROM hrb_access.interview_scores", match="does not exist")
    denied(engine, "hiring_manager", "SELECT email FROM hrb_access.candidate_basic", match="does not exist")


def test_hiring_manager_sees_video_but_cannot_change_scores(hub) -> None:
    engine, _ = hub
    clips = run_as(engine, "hiring_manager", "SELECT result_id, clips FROM hrb_access.interview_video")
    assert len(clips) == 3
    assert len(run_as(engine, "hiring_manager", "SELECT overall_score FROM hrb_access.interview_scores")) == 3
    denied(engine, "hiring_manager",
           "UPDATE hrb_access.interview_scores SET overall_score = 100 WHERE result_id = 'res-0'")
    denied(engine, "hiring_manager", "UPDATE public.interview_results SET overall_score = 100")
    denied(engine, "hiring_manager", "DELETE FROM hrb_access.interview_video")
    denied(engine, "hiring_manager", "SELECT email FROM hrb_access.candidate_contact")


@pytest.mark.parametrize(
    "relation",
    ["hrb_access.candidate_basic", "hrb_access.candidate_contact", "hrb_access.candidate_id_number",
     "hrb_access.interview_scores", "hrb_access.interview_video", "hrb_access.interview_transcript",
     "public.candidates", "public.interview_results", "public.deletion_requests"],
)
def test_admin_and_auditor_read_no_candidate_data(hub, relation: str) -> None:
    engine, _ = hub
    for role in ("admin", "auditor"):
        denied(engine, role, f"SELECT * FROM {relation}")  # noqa: S608 - fixed test identifiers


def test_auditor_reads_only_the_deletion_log(hub) -> None:
    engine, _ = hub
    rows = run_as(engine, "auditor", "SELECT seq, method FROM hrb_access.deletion_log")
    assert [(r.seq, r.method) for r in rows] == [(1, "crypto-shred")]
    denied(engine, "auditor", "SELECT * FROM public.deletion_log")
    denied(engine, "auditor", "DELETE FROM hrb_access.deletion_log")
    for role in ("hr_specialist", "hiring_manager", "admin"):
        denied(engine, role, "SELECT * FROM hrb_access.deletion_log")


def test_candidate_role_without_a_mapped_login_sees_and_files_nothing(hub) -> None:
    """A session that only switched to the candidate role is no person, whatever it sets."""
    engine, _ = hub
    assert run_as(engine, "candidate", "SELECT * FROM public.deletion_requests", subject="cand-1") == []
    denied(engine, "candidate",
           "INSERT INTO public.deletion_requests (subject_id, requested_by) VALUES ('cand-1', 'cand-1')",
           match="row-level security", subject="cand-1")
    denied(engine, "candidate", "DELETE FROM public.deletion_requests", subject="cand-1")
    denied(engine, "candidate", "SELECT * FROM hrb_access.candidate_basic", subject="cand-1")
    denied(engine, "candidate", "SELECT * FROM public.subject_logins")


def test_apply_is_idempotent_and_follows_the_live_schema(hub) -> None:
    engine, _ = hub
    plan = apply_postgres_policy(engine, POLICY)
    assert any("city" in note for note in plan.skipped)  # configured, not in this table
    assert not any('"city"' in s for s in plan.statements)
    assert len(run_as(engine, "hiring_manager", "SELECT * FROM hrb_access.interview_video")) == 3
    with engine.connect() as conn:
        login = conn.execute(sa.text(
            "SELECT bool_or(rolcanlogin) FROM pg_roles WHERE rolname LIKE 'hrb\\_%' "
            "AND rolname = ANY(:names)"), {"names": [f"hrb_{r}" for r in POLICY.roles]}).scalar_one()
    assert login is False  # NOLOGIN roles: grant them to real logins


def test_generated_sql_names_every_role_and_resource_view() -> None:
    sql = generate_postgres_sql(POLICY).sql()
    for role in POLICY.roles:
        assert f'CREATE ROLE "hrb_{role}" NOLOGIN' in sql
    for view in ("candidate_basic", "candidate_contact", "interview_scores", "interview_video", "deletion_log"):
        assert f'CREATE VIEW "hrb_access"."{view}"' in sql
    assert "current_setting" not in sql and '"hrb_access"."current_subject"()' in sql
    assert "WHERE login = session_user::text" in sql


def test_secure_reader_on_postgres_decrypts_allowed_columns(hub) -> None:
    engine, vault = hub
    media = SecureReader(engine, POLICY, vault, Principal("hiring_manager")).read_media_refs(["cand-2"])
    assert media["transcript_ref"].tolist() == ["s3://media/cand-2/t.txt"]
    contact = SecureReader(engine, POLICY, vault, Principal("hr_specialist")).read_candidates()
    assert contact["email"].tolist() == ["c0@example.com", "c1@example.com", "c2@example.com"]
    assert "id_number" not in contact.columns and "extras" not in contact.columns


def test_policy_fits_the_real_hub_schema(pg_url: str) -> None:
    """roles.yaml against the hub tables the pipelines create: only known gaps are skipped."""
    from governance.audit.schema import create_audit_tables
    from governance.retention.schema import create_retention_tables
    from hrbridge.store import create_schema

    engine = make_engine(pg_url)
    try:
        create_schema(engine)
        create_retention_tables(engine)
        create_audit_tables(engine)
        plan = apply_postgres_policy(engine, POLICY)
        assert plan.skipped == ["resource candidate.id_number: columns ['id_number'] not in candidates"]
        assert run_as(engine, "auditor", "SELECT count(*) AS n FROM hrb_access.deletion_log")[0].n == 0
        denied(engine, "hr_specialist", "SELECT clips FROM hrb_access.interview_video")
        denied(engine, "hr_specialist", "SELECT extras FROM public.candidates")
    finally:
        engine.dispose()
