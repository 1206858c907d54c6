"""The enforced reader: a role only ever gets the columns it may see, decrypted; the rest is never read."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import sqlalchemy as sa

from governance.access import AccessDenied, Policy, Principal, SecureReader, UnknownRole
from governance.crypto import SubjectKeyShredded, Vault
from tests.factories.governance import seed_hub

POLICY = Policy.from_yaml(Path(__file__).resolve().parents[2] / "configs" / "roles.yaml")
IDENTITY_CANDIDATES = {"candidate_id"}
IDENTITY_RESULTS = {"result_id", "candidate_id", "application_id"}
NEVER = {"extras", "run_id"}  # present in the tables, mapped by no resource


@pytest.fixture
def hub(tmp_path: Path) -> tuple[sa.Engine, Vault]:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    vault = Vault.local(engine, tmp_path)
    seed_hub(engine, vault, subjects=3)
    return engine, vault


def reader(hub: tuple[sa.Engine, Vault], role: str, subject: str | None = None) -> SecureReader:
    engine, vault = hub
    return SecureReader(engine, POLICY, vault, Principal(role, subject_id=subject))


class RecordingEngine:
    """Captures the SQL the reader sends, to prove forbidden columns are never selected."""

    def __init__(self, engine: sa.Engine) -> None:
        self.statements: list[str] = []
        sa.event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, _conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        self.statements.append(statement)


def test_hr_specialist_gets_basic_contact_decrypted_never_id_numbers(hub) -> None:
    frame = reader(hub, "hr_specialist").read_candidates()
    assert set(frame.columns) == IDENTITY_CANDIDATES | {"first_name", "last_name", "locale", "country", "source",
                                                        "email", "phone"}
    assert frame["email"].tolist() == ["c0@example.com", "c1@example.com", "c2@example.com"]
    assert frame["last_name"].iloc[1] == "李1"


def test_hr_specialist_reads_scores_but_not_media(hub) -> None:
    scores = reader(hub, "hr_specialist").read_scores(["cand-2"])
    assert len(scores) == 1 and scores["overall_score"].iloc[0] == 72.0
    assert "clips" not in scores.columns and "transcript_ref" not in scores.columns
    with pytest.raises(AccessDenied, match=r"role 'hr_specialist' may not read 'interview.video'"):
        reader(hub, "hr_specialist").read_media_refs()


def test_hiring_manager_sees_decrypted_media_refs_only_with_identity(hub) -> None:
    media = reader(hub, "hiring_manager").read_media_refs(["cand-0", "cand-1"])
    assert set(media.columns) == IDENTITY_RESULTS | {"clips", "transcript_ref"}
    assert json.loads(media["clips"].iloc[0]) == ["s3://media/cand-0/clip1.mp4"]
    assert media["transcript_ref"].tolist() == ["s3://media/cand-0/t.txt", "s3://media/cand-1/t.txt"]


def test_hiring_manager_candidates_exclude_contact_and_id(hub) -> None:
    frame = reader(hub, "hiring_manager").read_candidates()
    assert not {"email", "phone", "id_number"} & set(frame.columns)


@pytest.mark.parametrize("role", ["admin", "auditor", "candidate"])
def test_roles_without_candidate_data_are_denied(hub, role: str) -> None:
    with pytest.raises(AccessDenied, match=rf"role '{role}' may not read"):
        reader(hub, role, subject="cand-0").read_candidates()
    with pytest.raises(AccessDenied):
        reader(hub, role, subject="cand-0").read_scores()


def test_auditor_reads_the_deletion_log_others_do_not(hub) -> None:
    log = reader(hub, "auditor").read_deletion_log()
    assert log["method"].tolist() == ["crypto-shred"]
    for role in ("hr_specialist", "hiring_manager", "admin"):
        with pytest.raises(AccessDenied, match="deletion_log"):
            reader(hub, role).read_deletion_log()


def test_candidate_sees_only_own_deletion_requests(hub) -> None:
    own = reader(hub, "candidate", subject="cand-1").read_own_deletion_requests()
    assert own["subject_id"].tolist() == ["cand-1"]
    with pytest.raises(AccessDenied, match="own-subject"):  # a candidate principal without a subject
        reader(hub, "candidate").read_own_deletion_requests()


def test_unknown_role_is_refused_clearly(hub) -> None:
    with pytest.raises(UnknownRole, match="unknown role"):
        reader(hub, "intern").read_candidates()


@pytest.mark.parametrize(
    ("role", "read", "forbidden"),
    [
        ("hr_specialist", "read_candidates", {"id_number"}),
        ("hr_specialist", "read_scores", {"clips", "transcript_ref"}),
        ("hiring_manager", "read_candidates", {"email", "phone", "id_number"}),
        ("hiring_manager", "read_scores", {"clips", "transcript_ref"}),
        ("hiring_manager", "read_media_refs", {"overall_score", "dimensions"}),
    ],
)
def test_forbidden_columns_are_never_selected(hub, role: str, read: str, forbidden: set[str]) -> None:
    recorder = RecordingEngine(hub[0])
    frame = getattr(reader(hub, role), read)()
    assert not (forbidden | NEVER) & set(frame.columns)
    selects = [s for s in recorder.statements if s.lstrip().upper().startswith("SELECT")]
    table_queries = [s for s in selects if "data_keys" not in s]
    assert table_queries, "the reader should have queried the table"
    for column in forbidden | NEVER:
        assert all(f".{column}" not in s and f" {column}," not in s for s in table_queries), column


def test_forbidden_encrypted_columns_are_never_decrypted(hub) -> None:
    engine, vault = hub
    vault.stats.unwraps = 0
    reader(hub, "hiring_manager").read_candidates()  # email/phone/id_number are encrypted, not visible
    assert vault.stats.unwraps == 0


def test_shredded_subject_cannot_be_read_back(hub) -> None:
    engine, vault = hub
    vault.shred("cand-1")
    with pytest.raises(SubjectKeyShredded):
        reader(hub, "hr_specialist").read_candidates(["cand-1"])
    assert reader(hub, "hr_specialist").read_candidates(["cand-0", "cand-2"])["email"].notna().all()


def test_configured_columns_missing_from_the_table_are_reported(hub, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="governance.access.reader"):
        reader(hub, "hr_specialist").read_candidates()
    assert "['city', 'current_title', 'created_at', 'last_modified']" in caplog.text


def test_reader_on_the_real_hub_schema(tmp_path: Path) -> None:
    """Tokens in the hub's own tables (JSON clips included) decrypt through the reader, per role."""
    from datetime import UTC, datetime

    from hrbridge.store import create_schema
    from hrbridge.store.recruiting import candidates
    from hrbridge.store.results import interview_results

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    create_schema(engine)
    vault = Vault.local(engine, tmp_path)
    now = datetime(2026, 3, 1, tzinfo=UTC)
    person = vault.encrypt_rows(
        [{"candidate_id": "C1", "first_name": "梅梅", "last_name": "韩", "email": "hmm@example.com",
          "phone": "13800001111", "last_modified": now, "loaded_at": now, "extras": {"cust_x": "hidden"}}],
        ["email", "phone"], table="candidates", subject_key="candidate_id", record_key="candidate_id")
    result = vault.encrypt_rows(
        [{"result_id": "R1", "invitation_id": "I1", "candidate_id": "C1", "application_id": "A1",
          "completed_at": now, "overall_score": 81.5, "dimensions": {"communication": 4.5}, "keywords": ["B2B"],
          "clips": json.dumps([{"url": "https://media.example.com/R1/1.mp4"}]), "transcript_ref": "t/R1.txt",
          "source": "poll", "run_id": "run-1", "stored_at": now}],
        ["clips", "transcript_ref"], table="interview_results", subject_key="candidate_id", record_key="result_id")
    with engine.begin() as conn:
        conn.execute(sa.insert(candidates), person)
        conn.execute(sa.insert(interview_results), result)
    hr = SecureReader(engine, POLICY, vault, Principal("hr_specialist"))
    people = hr.read_candidates()
    assert people["email"].tolist() == ["hmm@example.com"] and "extras" not in people.columns
    assert hr.read_scores()["dimensions"].tolist() == [{"communication": 4.5}]
    media = SecureReader(engine, POLICY, vault, Principal("hiring_manager")).read_media_refs(["C1"])
    assert json.loads(media["clips"].iloc[0]) == [{"url": "https://media.example.com/R1/1.mp4"}]
    assert media["transcript_ref"].tolist() == ["t/R1.txt"]
