"""Who may file a deletion request for whom, and the check a run makes before executing one.

A request is executed only when it is bound to the person it deletes, either

* by the operator: ``seal`` is an HMAC-SHA256, under the operator's key (the deletion log's
  pepper, which database logins never see), of the subject, requester, legal basis, time and
  categories; :func:`request_deletion` writes it when given the key; or
* by the person: on Postgres the database records the session's login in ``filed_by`` (a trigger
  overrides whatever the INSERT said), and ``subject_logins`` maps that login to this very subject.

Anything else (a row a candidate's login forged for someone else, a row written around hrbridge)
is refused by the run: its status becomes ``refused`` with the reason, and the deletion log gets a
``refused`` entry. Nothing of the named person is touched.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from hashlib import sha256
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from governance.retention.schema import create_retention_tables, subject_logins


def _utc(moment: Any) -> str:
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return str(moment)


def request_seal(key: bytes, subject_id: str, requested_by: str, legal_basis: str, requested_at: Any,
                 categories: str | None) -> str:
    """The operator's seal of a request: HMAC-SHA256 (hex) over its identifying fields."""
    text = "\x1f".join([str(subject_id), str(requested_by), str(legal_basis), _utc(requested_at),
                        categories or "\x1e"])
    return hmac.new(key, ("deletion-request\x1f" + text).encode("utf-8"), sha256).hexdigest()


def refusal(row: Mapping[str, Any], key: bytes, logins: Mapping[str, str]) -> str | None:
    """Why ``row`` (a deletion request) must not be executed, or None when it is bound to its person."""
    subject = str(row.get("subject_id") or "")
    login = row.get("filed_by")
    if login and logins.get(str(login)) == subject:
        return None  # the person's own login filed it
    seal = row.get("seal")
    if seal:
        expected = request_seal(key, subject, row["requested_by"], row["legal_basis"], row["requested_at"],
                                row.get("categories"))
        if hmac.compare_digest(str(seal), expected):
            return None
        return "its operator seal does not match the request (altered, or sealed with another key)"
    if login and str(login) in logins:
        return f"filed by database login {login}, which is mapped to another person"
    if login:
        return f"filed by database login {login}, which is neither mapped to this person nor an operator's sealed request"
    return "no operator seal and no filing login: not filed through hrbridge or by the person"


def login_map(conn: Connection) -> dict[str, str]:
    """Every mapped login → subject."""
    return dict(conn.execute(sa.select(subject_logins.c.login, subject_logins.c.subject_id)).all())


def map_login(engine: Engine, login: str, subject_id: str, mapped_by: str) -> None:
    """Map a database login to the person it is (replacing an earlier mapping of that login)."""
    if not login.strip() or not str(subject_id).strip():
        raise ValueError("a login mapping needs a login and a subject")
    create_retention_tables(engine)
    with engine.begin() as conn:
        conn.execute(subject_logins.delete().where(subject_logins.c.login == login))
        conn.execute(subject_logins.insert().values(login=login, subject_id=str(subject_id), mapped_by=mapped_by,
                                                    mapped_at=datetime.now(UTC)))


def unmap_login(engine: Engine, login: str) -> int:
    """Remove a login's mapping; returns how many were removed (0 or 1)."""
    create_retention_tables(engine)
    with engine.begin() as conn:
        return conn.execute(subject_logins.delete().where(subject_logins.c.login == login)).rowcount


def _clean(text: Any, limit: int) -> str:
    """A value from a request row made safe for a log entry (no separators, bounded)."""
    return str(text or "").replace("\x1f", " ").replace("\x1e", " ")[:limit]


def refuse_unbound(hub: Engine, deletion_log: Any, run_id: str) -> int:
    """Mark every pending request that is not bound to its person ``refused`` and log each one.

    One transaction: the request rows get the reason (their subject id is dropped, the pseudonym
    kept), and the deletion log gets an entry with method ``refused``. Returns how many.
    """
    from governance.audit.chain import LogEntry
    from governance.retention.schema import deletion_requests

    key = deletion_log.keys.pepper
    with hub.begin() as conn:
        logins = login_map(conn)
        rows = [dict(r._mapping) for r in conn.execute(
            sa.select(deletion_requests).where(deletion_requests.c.status == "pending").order_by(deletion_requests.c.id))]
        refused = [(row, reason) for row in rows if (reason := refusal(row, key, logins)) is not None]
        if not refused:
            return 0
        entries = []
        now = datetime.now(UTC)
        for row, reason in refused:
            conn.execute(deletion_requests.update().where(deletion_requests.c.id == row["id"]).values(
                status="refused", refusal=reason, done_at=now, run_id=run_id, subject_id=None))
            entries.append(LogEntry(
                requested_by=_clean(row["requested_by"], 200), subject_hash=deletion_log.pseudonymise(row["subject_id"]),
                categories=_clean(row.get("categories") or "deletion request", 500), stores="",
                legal_basis=_clean(f"request #{row['id']} not executed: {reason}", 2000), method="refused",
                requested_at=row["requested_at"], due_at=row["due_at"]))
        deletion_log.append(conn, run_id, entries)
    return len(refused)


def bound_requests(conn: Connection, rows: list[dict[str, Any]], key: bytes) -> list[dict[str, Any]]:
    """The requests of ``rows`` a run may execute (see :func:`refusal`)."""
    logins = login_map(conn)
    return [row for row in rows if refusal(row, key, logins) is None]
