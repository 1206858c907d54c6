"""Hub table of the webhook receiver's replay store: which signed deliveries were accepted lately.

``webhook_replays`` keeps one row per replay key of an accepted delivery (a digest of the signed
timestamp and body, and of the event id — never the payload or a person's id) until the signature
window has passed. It lives in the hub, not in a process, so every receiver process and every
API-server replica refuses a delivery that any of them has already accepted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from hrbridge.store import metadata
from hrbridge.store.recruiting import UTCDateTime

webhook_replays = sa.Table(
    "webhook_replays", metadata,
    sa.Column("replay_key", sa.String(80), primary_key=True),  # "message:<sha256>" or "event:<sha256>"
    sa.Column("received_at", UTCDateTime(), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False, index=True),
)


def seen_keys(conn: Connection, keys: Sequence[str], now: datetime) -> set[str]:
    """Which of ``keys`` were accepted and have not expired yet."""
    if not keys:
        return set()
    rows = conn.execute(sa.select(webhook_replays.c.replay_key)
                        .where(webhook_replays.c.replay_key.in_(list(keys)), webhook_replays.c.expires_at >= now))
    return {row[0] for row in rows}


def remember(conn: Connection, keys: Sequence[str], now: datetime, window: timedelta) -> None:
    """Record ``keys`` until ``now + window`` and drop expired keys, in the caller's transaction.

    Two receivers racing on the same key: the second insert violates the primary key and its
    transaction (with the inbox row it would have added) rolls back.
    """
    conn.execute(webhook_replays.delete().where(webhook_replays.c.expires_at < now))
    conn.execute(webhook_replays.insert(), [
        {"replay_key": key, "received_at": now, "expires_at": now + window} for key in keys
    ])
