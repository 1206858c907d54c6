"""The employee archive database (``HRBRIDGE_ARCHIVE_URL``): persons, employments, interview portraits.

* ``archive_persons`` — ONE row per person across rehires (natural key ``person_key``).
* ``archive_employments`` — one row per hire (key ``application_id``): position, hire date.
* ``archive_portraits`` — interview history keyed by ``result_id``: dimension scores, keywords,
  interviewer comments, clip references and the match report ("initial portrait").
* ``archive_outcomes`` — what happened later (``hrbridge.feedback.outcomes``): performance ratings
  with later per-dimension assessments, promotions, separations (voluntary or not), keyed to the
  person and to the hire they follow; free-text notes are vault tokens.
* ``archive_protected`` — protected attributes per person, one vault token, read only for the
  four-fifths check under their own access rule (``archive.protected_attributes`` in roles.yaml).

Rows carry a content hash; :func:`save_rows` inserts new keys, rewrites only rows whose hash
changed and leaves identical rows untouched, so rerunning archive_sync changes nothing.

Contact details of persons (``email``, ``phone``) and portraits' clip references are vault tokens
under the candidate's data key — the same vault (on the hub) as the hub's copies, so one shred
makes every copy unreadable; :func:`open_persons` / :func:`open_portraits` decrypt them. The
e-mail person key is an HMAC under the archive pepper (:func:`archive_pepper`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from hrbridge.settings import Settings, load_settings
from hrbridge.store.recruiting import UTCDateTime

archive_metadata = sa.MetaData()
_KEY = sa.String(80)

persons = sa.Table(
    "archive_persons", archive_metadata,
    sa.Column("person_key", _KEY, primary_key=True),
    sa.Column("candidate_id", sa.String(64)),
    sa.Column("first_name", sa.String(200)),
    sa.Column("last_name", sa.String(200)),
    sa.Column("email", sa.Text),  # a vault token under the candidate's key
    sa.Column("phone", sa.Text),  # a vault token under the candidate's key
    sa.Column("country", sa.String(64)),
    sa.Column("city", sa.String(200)),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("archived_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

employments = sa.Table(
    "archive_employments", archive_metadata,
    sa.Column("application_id", sa.String(64), primary_key=True),
    sa.Column("person_key", _KEY, sa.ForeignKey("archive_persons.person_key"), nullable=False, index=True),
    sa.Column("candidate_id", sa.String(64)),
    sa.Column("requisition_id", sa.String(64)),
    sa.Column("position_title", sa.String(400)),
    sa.Column("job_code", sa.String(100)),
    sa.Column("job_family", sa.String(100)),
    sa.Column("department", sa.String(200)),
    sa.Column("hire_date", sa.Date),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("archived_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

portraits = sa.Table(
    "archive_portraits", archive_metadata,
    sa.Column("result_id", sa.String(128), primary_key=True),
    sa.Column("person_key", _KEY, sa.ForeignKey("archive_persons.person_key"), nullable=False, index=True),
    sa.Column("application_id", sa.String(64), nullable=False, index=True),
    sa.Column("candidate_id", sa.String(64)),
    sa.Column("completed_at", sa.String(40)),
    sa.Column("job_family", sa.String(100)),
    sa.Column("overall_score", sa.Float),
    sa.Column("dimension_scores", sa.JSON, nullable=False),
    sa.Column("dimension_comments", sa.JSON, nullable=False),
    sa.Column("keywords", sa.JSON, nullable=False),
    sa.Column("interviewer_comments", sa.Text),
    sa.Column("clip_refs", sa.JSON, nullable=False),  # a vault token (JSON string) when media encryption is on
    sa.Column("report_url", sa.Text),
    sa.Column("match_percent", sa.Float),
    sa.Column("match_report", sa.JSON),
    sa.Column("model_version", sa.String(128)),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("archived_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

outcomes = sa.Table(
    "archive_outcomes", archive_metadata,
    sa.Column("outcome_id", sa.String(200), primary_key=True),  # "<source>:<entity>:<source key>"
    sa.Column("person_key", _KEY, nullable=False, index=True),  # the person across rehires
    sa.Column("application_id", sa.String(64), index=True),  # the hire it follows (latest hire on or before it)
    sa.Column("candidate_id", sa.String(64)),
    sa.Column("kind", sa.String(20), nullable=False),  # rating | promotion | separation
    sa.Column("effective_date", sa.Date, nullable=False),
    sa.Column("rating", sa.Float),
    sa.Column("rating_scale_max", sa.Float),
    sa.Column("assessments", sa.JSON, nullable=False),  # later per-dimension assessments, e.g. {"communication": 9.0}
    sa.Column("separation_type", sa.String(20)),  # voluntary | involuntary
    sa.Column("source", sa.String(40), nullable=False),
    sa.Column("note", sa.Text),  # free text (reason, comment): a vault token under the candidate's key
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("archived_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('rating', 'promotion', 'separation')", name="ck_archive_outcomes_kind"),
)

protected_attributes = sa.Table(
    "archive_protected", archive_metadata,
    sa.Column("person_key", _KEY, primary_key=True),
    sa.Column("candidate_id", sa.String(64)),
    sa.Column("attributes", sa.Text, nullable=False),  # a vault token of a JSON object, e.g. {"gender": "F"}
    sa.Column("source", sa.String(40), nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("archived_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

TABLE_KEYS: dict[str, str] = {"archive_persons": "person_key", "archive_employments": "application_id",
                              "archive_portraits": "result_id", "archive_outcomes": "outcome_id",
                              "archive_protected": "person_key"}


# Archive columns holding personal data as vault tokens: table -> (columns, subject column, record id column)
ARCHIVE_ENCRYPTED: dict[str, tuple[tuple[str, ...], str, str]] = {
    "archive_persons": (("email", "phone"), "candidate_id", "person_key"),
}
PEPPER_FILE = "archive-pepper.key"


class ArchivePepperError(RuntimeError):
    """The archive pepper file is unreadable or readable by others; the message names the file."""


def archive_pepper(home: Path, store: Any = None, *, create: bool | None = None) -> bytes:
    """The secret keying e-mail person keys, ``archive-pepper.key`` in the installation's secret store.

    ``store``: a :class:`~governance.crypto.shared.SecretStore`; default :func:`hrbridge.shared_secrets.
    default_secret_store` for this ``home`` — ``<home>/keys/archive-pepper.key`` (0600, created on
    first use) with the local provider, the hub sealed by ``HRBRIDGE_KEK`` with
    ``HRBRIDGE_KEY_PROVIDER=hub`` (every worker computes the same person keys; created only by
    ``hrbridge keys init``). ``create`` overrides the store's first-use rule.

    Losing it changes every e-mail person key (rehires would no longer meet their earlier rows),
    so it belongs in the same backup as the keyring.
    """
    import secrets

    from governance.crypto.shared import DirSecretStore, SecretPermissionError

    if store is None:
        from hrbridge.shared_secrets import default_secret_store

        settings = load_settings()
        store = (default_secret_store(settings) if settings.key_provider == "hub"
                 else DirSecretStore(Path(home) / "keys"))
    create = store.creates_on_first_use if create is None else create
    where = store.where(PEPPER_FILE)
    try:
        pepper = store.get(PEPPER_FILE)
        if pepper is None:
            if not create:
                raise ArchivePepperError(f"no archive pepper in {where}: run `hrbridge keys init`")
            store.create(PEPPER_FILE, secrets.token_hex(32).encode("ascii"))  # False: a concurrent run made it
            pepper = store.get(PEPPER_FILE) or b""
    except SecretPermissionError as exc:
        raise ArchivePepperError(str(exc)) from exc
    pepper = pepper.strip()
    if len(pepper) < 32:
        raise ArchivePepperError(f"{where} holds fewer than 32 bytes; restore it from the backup")
    return pepper


def archive_engine(settings: Settings | None = None, url: str | None = None, *, create: bool = True) -> Engine:
    """The archive database engine (one per URL), its schema versioned by :mod:`hrbridge.migrations`.

    ``create=True`` (pipelines): a SQLite file is created owner-only and the schema upgraded to head
    on first use (unless ``HRBRIDGE_DB_AUTO_UPGRADE=false``). ``create=False`` (read-only commands):
    a read-only engine; SchemaMissing / SchemaOutdated name ``hrbridge db upgrade --archive`` when
    the archive is missing or behind, and nothing is ever created.
    """
    from hrbridge.migrations import ARCHIVE, open_engine

    settings = settings or load_settings()
    if url is None:
        url = (settings.ensure_dirs() if create else settings).archive_url
    return open_engine(url, ARCHIVE, create=create, auto_upgrade=settings.db_auto_upgrade)


@dataclass
class SaveCounts:
    """Rows of one table: inserted, updated (content changed) and unchanged."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


def save_rows(
    conn: Connection,
    table: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    now: datetime | None = None,
    prepare: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None,
) -> SaveCounts:
    """Insert new keys, update rows whose ``content_hash`` changed, skip identical ones.

    ``prepare`` transforms only the rows that will be written (e.g. encrypts a column), so the
    hash compares plaintext content and unchanged rows are never rewritten.
    """
    counts = SaveCounts()
    if not rows:
        return counts
    now = now or datetime.now(UTC)
    key = TABLE_KEYS[table.name]
    key_col = table.c[key]
    latest = {row[key]: row for row in rows}
    existing: dict[Any, str] = {}
    keys = list(latest)
    for start in range(0, len(keys), 900):
        chunk = keys[start:start + 900]
        existing.update(conn.execute(sa.select(key_col, table.c.content_hash).where(key_col.in_(chunk))).all())
    inserts, updates = [], []
    for value, row in latest.items():
        if value not in existing:
            inserts.append({**row, "archived_at": now, "updated_at": now})
        elif existing[value] != row["content_hash"]:
            updates.append({**row, "updated_at": now})
        else:
            counts.unchanged += 1
    if prepare is not None:
        inserts, updates = prepare(inserts), prepare(updates)
    if inserts:
        conn.execute(table.insert(), inserts)
    for row in updates:
        conn.execute(table.update().where(key_col == row[key]).values(**{k: v for k, v in row.items() if k != key}))
    counts.inserted, counts.updated = len(inserts), len(updates)
    return counts


def open_persons(vault: Any, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Person rows with ``email``/``phone`` decrypted (plaintext passes through; a shredded key gives None)."""
    from hrbridge.pipelines.pii import open_rows

    if not rows:
        return []
    columns, subject, record = ARCHIVE_ENCRYPTED["archive_persons"]
    present = [c for c in columns if any(c in r for r in rows)]
    opened, _ = open_rows(vault, rows, present, table="archive_persons", subject_key=subject, record_key=record)
    return opened


def seal_persons(vault: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Person rows with ``email``/``phone`` encrypted under each candidate's key (shredded → None)."""
    from hrbridge.pipelines.pii import seal_rows

    if not rows:
        return rows
    columns, subject, record = ARCHIVE_ENCRYPTED["archive_persons"]
    sealed, _ = seal_rows(vault, rows, columns, table="archive_persons", subject_key=subject, record_key=record)
    return sealed


def open_portraits(vault: Any, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Portrait rows with ``clip_refs`` decrypted (plaintext passes through; a shredded key gives [])."""
    import json

    from governance.crypto import SubjectKeyShredded
    from governance.crypto.envelope import is_token

    opened = []
    for row in rows:
        row = dict(row)
        if is_token(row.get("clip_refs")):
            try:
                row["clip_refs"] = json.loads(vault.decrypt(row["candidate_id"], row["clip_refs"],
                                                            table="archive_portraits", column="clip_refs",
                                                            record_id=row["result_id"]))
            except SubjectKeyShredded:
                row["clip_refs"] = []
        opened.append(row)
    return opened
