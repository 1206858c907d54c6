"""Legal holds and deletion requests: the two things people add by hand.

A legal hold has no end date: it blocks every deletion of the person until it is removed. A
deletion request is due ``due_days`` after it was made and is executed by the next retention run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from governance.retention.binding import request_seal
from governance.retention.protocols import erased_name
from governance.retention.schema import create_retention_tables, deletion_requests, legal_holds


class HoldError(ValueError):
    """A hold cannot be added or removed as asked (for example: no active hold to remove)."""


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def add_hold(engine: Engine, subject_id: str, reason: str, placed_by: str,
             now: datetime | None = None) -> int:
    """Place a legal hold on a person; returns the hold id. A second active hold is allowed."""
    if not reason.strip():
        raise HoldError("a legal hold needs a reason")
    create_retention_tables(engine)
    with engine.begin() as conn:
        result = conn.execute(legal_holds.insert().values(
            subject_id=str(subject_id), reason=reason.strip(), placed_by=placed_by, placed_at=_now(now)))
        return int(result.inserted_primary_key[0])


def remove_holds(engine: Engine, subject_id: str, reason: str, released_by: str,
                 now: datetime | None = None) -> int:
    """Release every active hold of a person; returns how many were released."""
    create_retention_tables(engine)
    with engine.begin() as conn:
        result = conn.execute(
            legal_holds.update()
            .where(legal_holds.c.subject_id == str(subject_id), legal_holds.c.released_at.is_(None))
            .values(released_at=_now(now), released_by=released_by, release_reason=reason.strip())
        )
    if result.rowcount == 0:
        raise HoldError(f"candidate {subject_id} has no active legal hold")
    return result.rowcount


def list_holds(engine: Engine, include_released: bool = False) -> list[dict[str, Any]]:
    """Holds (active ones unless ``include_released``), oldest first."""
    create_retention_tables(engine)
    query = sa.select(legal_holds).order_by(legal_holds.c.id)
    if not include_released:
        query = query.where(legal_holds.c.released_at.is_(None))
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def active_holds(conn: Connection) -> dict[str, int]:
    """Map subject id → id of its oldest active hold."""
    rows = conn.execute(
        sa.select(legal_holds.c.subject_id, sa.func.min(legal_holds.c.id))
        .where(legal_holds.c.released_at.is_(None))
        .group_by(legal_holds.c.subject_id)
    )
    return {subject: hold_id for subject, hold_id in rows}


def forget_released_holds(conn: Connection, subject_ids: Sequence[str], pseudonymise: Callable[[str], str]) -> int:
    """Released holds of erased people keep ``erased:<pseudonym>`` instead of the id, in the reasons too.

    The pseudonym is the deletion log's (HMAC under the pepper), so an auditor holding the id can
    still match a hold to the person's log entries; nothing names the person in clear. Active holds
    are left alone (a held person is not erased). Returns how many holds were rewritten.
    """
    changed = 0
    erased = erased_name(pseudonymise)
    for subject in dict.fromkeys(str(s) for s in subject_ids):
        marker = erased(subject)
        word = re.compile(rf"(?<![\w-]){re.escape(subject)}(?![\w-])")
        rows = conn.execute(sa.select(legal_holds.c.id, legal_holds.c.reason, legal_holds.c.release_reason)
                            .where(legal_holds.c.subject_id == subject, legal_holds.c.released_at.is_not(None)))
        for hold_id, reason, release_reason in rows.all():
            conn.execute(legal_holds.update().where(legal_holds.c.id == hold_id).values(
                subject_id=marker, reason=word.sub(marker, reason or ""),
                release_reason=word.sub(marker, release_reason) if release_reason else release_reason))
            changed += 1
    return changed


def request_deletion(engine: Engine, subject_id: str, requested_by: str, legal_basis: str,
                     subject_hash: str, due_days: int, now: datetime | None = None,
                     categories: tuple[str, ...] | None = None, *, seal_key: bytes | None = None) -> dict[str, Any]:
    """Record a person's deletion request, due ``due_days`` from now; returns the request.

    ``categories`` limits it to those retention categories (a withdrawn consent of one scope);
    None deletes everything a request may delete and crypto-shreds the person's key. ``seal_key``
    (the operator's key, e.g. the deletion log's pepper) seals the request to this person: without
    a seal a run executes it only when a login mapped to the person filed it (see :mod:`.binding`).
    """
    if not str(subject_id).strip():
        raise HoldError("a deletion request needs a candidate id")
    create_retention_tables(engine)
    requested_at = _now(now)
    values = dict(subject_id=str(subject_id).strip(), subject_hash=subject_hash, requested_by=requested_by,
                  legal_basis=legal_basis, requested_at=requested_at,
                  due_at=requested_at + timedelta(days=due_days), status="pending",
                  categories=",".join(categories) if categories else None)
    if seal_key is not None:
        values["seal"] = request_seal(seal_key, values["subject_id"], requested_by, legal_basis, requested_at,
                                      values["categories"])
    with engine.begin() as conn:
        result = conn.execute(deletion_requests.insert().values(**values))
    return {"id": int(result.inserted_primary_key[0]), **values}


def list_requests(engine: Engine, status: str | None = None) -> list[dict[str, Any]]:
    """Deletion requests (optionally of one status), oldest first."""
    create_retention_tables(engine)
    query = sa.select(deletion_requests).order_by(deletion_requests.c.id)
    if status:
        query = query.where(deletion_requests.c.status == status)
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]
