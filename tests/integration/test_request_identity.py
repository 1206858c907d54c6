"""A candidate cannot forge deletions for others: identity from the login, requests bound to their person.

On a real Postgres hub (every revision applied, roles.yaml enforced): a login granted the candidate
role and mapped to cand-1 sets ``hrbridge.subject_id`` to someone else, and still reads nothing of
theirs and cannot file for them. A request for another person that reached the table anyway (not
sealed by an operator, not filed by that person's login) is refused by the run and logged; only
bound requests are executed.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connectors.sql import make_engine
from governance.access import Policy, apply_postgres_policy
from governance.audit import verify_chain
from governance.retention import list_requests, request_deletion
from governance.retention.binding import map_login
from hrbridge.migrations import HUB, upgrade
from tests.factories.retention import (
    NOW,
    RecordingEraser,
    add_candidate,
    count,
    create_tables,
    make_executor,
    t_candidates,
)

POLICY = Policy.from_yaml(Path(__file__).resolve().parents[2] / "configs" / "roles.yaml")
RLS = "row-level security"


@pytest.fixture
def hub(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url)
    upgrade(engine, HUB)
    create_tables(engine, engine)
    for candidate in ("cand-1", "cand-2", "cand-3"):
        add_candidate(engine, None, candidate, status="interviewing", decided_days_ago=1, interview_days_ago=1)
    apply_postgres_policy(engine, POLICY)
    yield engine
    engine.dispose()


@pytest.fixture
def login(hub: Engine) -> Iterator[tuple[str, Engine]]:
    """A real database login, member of hrb_candidate, mapped by the operator to cand-1."""
    name = f"hrbt_{secrets.token_hex(4)}"
    with hub.connect() as conn:
        conn.exec_driver_sql(f'CREATE ROLE "{name}" LOGIN')
        conn.exec_driver_sql(f'GRANT "hrb_candidate" TO "{name}"')
        conn.commit()
    map_login(hub, name, "cand-1", "dpo@example.com")
    own = make_engine(hub.url.set(username=name).render_as_string(hide_password=False))
    yield name, own
    own.dispose()
    with hub.connect() as conn:
        conn.exec_driver_sql(f'DROP OWNED BY "{name}"')
        conn.exec_driver_sql(f'DROP ROLE "{name}"')
        conn.commit()


def _as_login(engine: Engine, sql: str, claimed: str, params: dict[str, object] | None = None) -> list[sa.Row] | int:
    """Run one statement on the login's own connection after it claims to be ``claimed``."""
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT set_config('hrbridge.subject_id', :s, false)"), {"s": claimed})
        result = conn.execute(sa.text(sql), params or {})
        return result.all() if result.returns_rows else result.rowcount


INSERT = ("INSERT INTO public.deletion_requests (subject_id, subject_hash, requested_by, legal_basis, requested_at, "
          "due_at, status, filed_by, seal) VALUES (:s, 'x', :by, 'GDPR Art. 17', now(), now(), 'pending', "
          "'postgres', :seal)")


def test_a_candidate_login_cannot_read_or_file_for_someone_else(hub: Engine, login: tuple[str, Engine],
                                                                tmp_path: Path) -> None:
    name, own = login
    executor = make_executor(hub, hub, tmp_path / "keys", erasers={"interview_platform": RecordingEraser()})
    pepper = executor.log.keys.pepper
    legit = request_deletion(hub, "cand-3", "dpo@example.com", "GDPR Art. 17(1)(b) consent withdrawn",
                             executor.log.pseudonymise("cand-3"), 15, now=NOW, seal_key=pepper)

    # The attack: the session claims to be cand-3 / cand-2. It reads nothing of theirs ...
    assert _as_login(own, "SELECT id, subject_id FROM public.deletion_requests", "cand-3") == []
    # ... and cannot file for them, not even with a seal copied from a real request.
    for claimed in ("cand-2", "cand-1"):
        with pytest.raises(sa.exc.ProgrammingError, match=RLS):
            _as_login(own, INSERT, claimed, {"s": "cand-2", "by": "cand-2", "seal": legit["seal"]})
    # Its own request is accepted, and the database records who filed it, whatever the INSERT said.
    assert _as_login(own, INSERT, "cand-3", {"s": "cand-1", "by": "cand-1 self-service", "seal": None}) == 1
    mine = _as_login(own, "SELECT subject_id, filed_by FROM public.deletion_requests", "cand-2")
    assert [tuple(r) for r in mine] == [("cand-1", name)]

    # Requests for cand-2 that reached the table around row-level security: unsealed, and with a
    # seal copied from another person's request. The run refuses both and touches nothing of cand-2.
    with hub.begin() as conn:
        conn.execute(sa.text(INSERT), {"s": "cand-2", "by": "cand-2", "seal": None})
        conn.execute(sa.text(INSERT), {"s": "cand-2", "by": "dpo@example.com", "seal": legit["seal"]})
    result = executor.run(NOW)
    assert result["requests_refused"] == 2
    assert count(hub, t_candidates, candidate_id="cand-2") == 1
    assert count(hub, t_candidates, candidate_id="cand-1") == 0  # self-filed by the mapped login
    assert count(hub, t_candidates, candidate_id="cand-3") == 0  # sealed by the operator
    states = sorted((r["status"], (r["refusal"] or "").split(",")[0]) for r in list_requests(hub))
    assert states == [("done", ""), ("done", ""), ("refused", "filed by database login postgres"),
                      ("refused", "its operator seal does not match the request (altered")]
    assert all(r["subject_id"] is None for r in list_requests(hub))
    with hub.connect() as conn:
        refused = conn.execute(sa.text("SELECT subject_hash FROM deletion_log WHERE method = 'refused'")).scalars().all()
        mapped = conn.execute(sa.text("SELECT count(*) FROM subject_logins")).scalar()
    assert refused == [executor.log.pseudonymise("cand-2")] * 2
    assert mapped == 0  # cand-1 erased: its login mapping is gone too
    assert verify_chain(hub, executor.log.keys.public_key).ok


def test_the_filer_is_set_by_the_database_not_by_the_insert(hub: Engine) -> None:
    with hub.begin() as conn:
        conn.execute(sa.text(INSERT), {"s": "cand-2", "by": "x", "seal": None})
        filed_by = conn.execute(sa.text("SELECT filed_by FROM deletion_requests")).scalar()
        session = conn.execute(sa.text("SELECT session_user")).scalar()
    assert filed_by == session


def test_map_login_command(hrbridge_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hrbridge.cli import main
    from hrbridge.settings import load_settings

    assert main(["access", "map-login", "cand_login_7", "--subject", "C7", "--by", "dpo"]) == 0
    engine = make_engine(load_settings().db_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT login, subject_id, mapped_by FROM subject_logins")).all()
    assert [tuple(r) for r in rows] == [("cand_login_7", "C7", "dpo")]
    assert main(["access", "map-login", "cand_login_7"]) == 2
    assert main(["access", "map-login", "cand_login_7", "--remove"]) == 0
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM subject_logins")).scalar() == 0
    engine.dispose()


def test_a_request_written_around_hrbridge_is_refused_by_the_cli_run(hrbridge_home: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from hrbridge.cli import main
    from hrbridge.store import hub_engine
    from tests.factories.retention import expired_home

    hub, _ = expired_home(tmp_path / "configs", monkeypatch, [])
    hub_engine()  # the hub schema, as any command creates it
    add_candidate(hub, None, "C5", status="interviewing", decided_days_ago=1, interview_days_ago=1)
    with hub.begin() as conn:  # straight into the table: no seal, no filing login (SQLite has none)
        conn.execute(sa.text("INSERT INTO deletion_requests (subject_id, subject_hash, requested_by, legal_basis, "
                             "requested_at, due_at, status) VALUES ('C5', 'x', 'C5', 'GDPR Art. 17', "
                             "'2026-01-01 00:00:00', '2026-01-02 00:00:00', 'pending')"))
    capsys.readouterr()
    assert main(["retention", "run"]) == 0
    assert "deletion requests refused: 1" in capsys.readouterr().out
    assert count(hub, t_candidates, candidate_id="C5") == 1
    assert [r["status"] for r in list_requests(hub)] == ["refused"]
