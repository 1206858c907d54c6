"""The vault: per-subject data keys, wrapped by a master key, used to encrypt values, columns and media.

Every subject (candidate) gets one AES-256 data key, stored only wrapped (by the key provider's
master key) in the ``data_keys`` table of the database the vault is given. Destroying that row's
wrapped key — :meth:`Vault.shred` — makes the subject's ciphertext unreadable wherever it is read
through this database (tables, exports, media). A *copy* of the database still holds the wrapped
key until the master key of its epoch is destroyed (:meth:`rotate_master` with ``destroy_old``,
scheduled by the key_rotation DAG). Rotating the master key re-wraps data keys only; the encrypted
data is never touched.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, BinaryIO

import pandas as pd
import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from governance.crypto import envelope, streams
from governance.crypto.errors import (
    CryptoError,
    DataKeyMissing,
    KeyProviderUnavailable,
    MasterKeyMissing,
    NoMasterKey,
    SubjectKeyShredded,
    TamperedCiphertext,
)
from governance.crypto.keyring import KeyProvider, LocalKeyringProvider
from governance.crypto.schema import data_keys, metadata

__all__ = ["RotationResult", "Vault", "VaultStats", "data_keys", "metadata"]

# An advisory lock (Postgres) between creating data keys and destroying master keys: a data key is
# never stored under a master key that a concurrent rotation is erasing.
_KEY_LOCK = 0x6872_6B65_7973  # "hrkeys"

_LOOKUP_BATCH = 500
_ROTATE_BATCH = 1000
KeyRef = tuple[str, int]


@dataclass
class VaultStats:
    """Counters that show how much key work a call did (one unwrap per subject in batches)."""

    keys_created: int = 0
    unwraps: int = 0
    lookups: int = 0


@dataclass(frozen=True)
class RotationResult:
    """What a master-key rotation did."""

    new_master_id: str
    old_master_ids: list[str]
    rewrapped: int
    total: int
    destroyed_master_ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for ``hrbridge keys rotate --json``."""
        return {
            "new_master_id": self.new_master_id,
            "old_master_ids": self.old_master_ids,
            "rewrapped": self.rewrapped,
            "total": self.total,
            "destroyed_master_ids": self.destroyed_master_ids,
        }


def _now() -> datetime:
    return datetime.now(UTC)


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _key_lock(conn: sa.Connection, *, exclusive: bool) -> None:
    """Hold the key lock for the rest of ``conn``'s transaction (Postgres; SQLite serialises writers itself)."""
    if conn.dialect.name == "postgresql":
        name = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        conn.execute(sa.select(getattr(sa.func, name)(_KEY_LOCK)))


_INSERTED = ("subject_id", "key_version", "master_key_id", "wrapped_key", "created_at")


def _insert_keys(conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
    """Insert new data-key rows through the driver's executemany: each column's SQLAlchemy bind
    processor is applied directly (the shared timestamp once), which skips per-row statement
    processing — the cost that dominated creating a batch's keys."""
    if len(rows) < 100:
        conn.execute(sa.insert(data_keys), rows)
        return
    dialect = conn.dialect
    processors = {c: data_keys.c[c].type._cached_bind_processor(dialect) for c in _INSERTED}
    same = {c: (processors[c] or (lambda v: v))(rows[0][c]) for c in ("key_version", "master_key_id", "created_at")}
    binary = processors["wrapped_key"] or (lambda v: v)
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (f"INSERT INTO {dialect.identifier_preparer.format_table(data_keys)} ({', '.join(_INSERTED)}) "  # noqa: S608 - fixed names
           f"VALUES ({', '.join([marker] * len(_INSERTED))})")
    conn.exec_driver_sql(sql, [(r["subject_id"], same["key_version"], same["master_key_id"], binary(r["wrapped_key"]),
                                same["created_at"]) for r in rows])


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Vault:
    """Envelope encryption with per-subject data keys, crypto-shredding and master-key rotation."""

    def __init__(
        self, engine: sa.Engine, provider: KeyProvider, *, read_only: bool = False,
        create_first_key: bool | None = None, tombstone: Callable[[str], str] | None = None,
    ) -> None:
        """``read_only``: create no table and no key (status commands). ``create_first_key``: may the
        vault create the provider's first master key while no data key exists (default: the
        provider's ``creates_first_key``, True for the local keyring only). ``tombstone``: the name
        a shredded subject's key record keeps instead of the subject id (the deletion log's
        ``erased:<pseudonym>``); lookups map it back, so an erased subject never gets a new key."""
        self.engine = engine
        self.tombstone = tombstone
        self.provider = provider
        self.read_only = read_only
        self.create_first_key = (getattr(provider, "creates_first_key", False) if create_first_key is None
                                 else create_first_key)
        self.stats = VaultStats()
        if not read_only:
            metadata.create_all(engine, tables=[data_keys])

    @classmethod
    def local(cls, engine: sa.Engine, home: Path, *, read_only: bool = False) -> Vault:
        """A vault whose master keys live in ``<home>/keyring.json`` (0600; created by the first
        encrypting call while the hub holds no data key)."""
        return cls(engine, LocalKeyringProvider(Path(home) / "keyring.json"), read_only=read_only)

    # -- master keys -------------------------------------------------------------------------------
    def wrapped_by_master(self) -> dict[str, int]:
        """Live wrapped data keys per master key id (an absent ``data_keys`` table counts as none)."""
        try:
            with self.engine.connect() as conn:
                return {str(k): n for k, n in conn.execute(
                    sa.select(data_keys.c.master_key_id, sa.func.count())
                    .where(data_keys.c.destroyed_at.is_(None), data_keys.c.wrapped_key.is_not(None))
                    .group_by(data_keys.c.master_key_id)
                ).all()}
        except sa.exc.DBAPIError:
            if sa.inspect(self.engine).has_table("data_keys"):
                raise
            return {}

    def _lost(self, exc: NoMasterKey) -> MasterKeyMissing | None:
        orphans = self.wrapped_by_master()
        return MasterKeyMissing(str(exc), sum(orphans.values()), sorted(orphans)) if orphans else None

    def current_key_id(self) -> str:
        """The provider's current master key. With none at all: :class:`MasterKeyMissing` when data
        keys exist (never replaced silently), else the first key is created only if allowed."""
        try:
            return self.provider.current_key_id()
        except NoMasterKey as exc:
            lost = self._lost(exc)
            if lost is not None:
                raise lost from exc
            if self.read_only or not self.create_first_key:
                raise NoMasterKey(f"{exc}: run `hrbridge keys init` to create the first master key") from exc
            return self.initialise()

    def initialise(self, *, replace_lost: bool = False) -> str:
        """Create the first master key (``hrbridge keys init``); returns the current key id.

        Idempotent when a master key exists. Refuses (:class:`MasterKeyMissing`) when wrapped data
        keys exist but no master key, unless ``replace_lost`` — then their data stays unreadable.
        """
        if self.read_only:
            raise CryptoError("a read-only vault creates no key")
        try:
            return self.provider.current_key_id()
        except NoMasterKey as exc:
            lost = self._lost(exc)
            if lost is not None and not replace_lost:
                raise lost from exc
        return self.provider.new_master_key()

    # -- availability ------------------------------------------------------------------------------
    def require_available(self) -> None:
        """Raise :class:`KeyProviderUnavailable` unless the provider can wrap and unwrap right now.

        Pipelines call this before writing anything, so no sensitive value is ever stored in
        plaintext because the key service was down.
        """
        probe, aad = AESGCM.generate_key(bit_length=256), b"hrbridge availability probe"
        try:
            key_id = self.current_key_id()
            ok = self.provider.unwrap(key_id, self.provider.wrap(key_id, probe, aad), aad) == probe
        except KeyProviderUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - any provider failure means it is unusable
            raise KeyProviderUnavailable(f"key provider failed its self-test: {exc}") from exc
        if not ok:
            raise KeyProviderUnavailable("key provider returned a different key on unwrap")

    # -- data keys -----------------------------------------------------------------------------------
    def _unwrap(self, subject_id: str, row: Any) -> bytes:
        if row.destroyed_at is not None or row.wrapped_key is None:
            raise SubjectKeyShredded(subject_id)
        self.stats.unwraps += 1
        aad = envelope.data_key_aad(subject_id, row.key_version)
        try:
            return self.provider.unwrap(row.master_key_id, bytes(row.wrapped_key), aad)
        except NoMasterKey as exc:
            raise self._lost(exc) or exc from exc

    def _rows(self, subject_ids: list[str], chunk: int = _LOOKUP_BATCH) -> dict[str, list[Any]]:
        """Key rows by subject; a subject's tombstone (destroyed key) stands for all its rows."""
        found: dict[str, list[Any]] = {}
        erased: dict[str, list[Any]] = {}
        with self.engine.connect() as conn:
            for batch in _chunks(subject_ids, chunk):
                self.stats.lookups += 1
                aliases = {self.tombstone(s): s for s in batch} if self.tombstone else {}
                stmt = sa.select(data_keys).where(data_keys.c.subject_id.in_([*batch, *aliases]))
                for row in conn.execute(stmt):
                    subject = aliases.get(row.subject_id)
                    if subject is None:
                        found.setdefault(row.subject_id, []).append(row)
                    else:  # the tombstone, read as the subject's destroyed key
                        erased.setdefault(subject, []).append(SimpleNamespace(**{**row._asdict(), "subject_id": subject}))
        return found | erased

    def _wrap_many(self, key_id: str, items: list[tuple[bytes, bytes]]) -> list[bytes]:
        many = getattr(self.provider, "wrap_many", None)
        if many is not None:
            return list(many(key_id, items))
        return [self.provider.wrap(key_id, key, aad) for key, aad in items]

    def _unwrap_rows(self, rows: list[Any]) -> dict[str, bytes]:
        """Unwrap the given (live) data-key rows, one provider call per master key where it can."""
        out: dict[str, bytes] = {}
        many = getattr(self.provider, "unwrap_many", None)
        if many is None:
            return {row.subject_id: self._unwrap(row.subject_id, row) for row in rows}
        by_master: dict[str, list[Any]] = {}
        for row in rows:
            if row.destroyed_at is not None or row.wrapped_key is None:
                raise SubjectKeyShredded(row.subject_id)
            by_master.setdefault(row.master_key_id, []).append(row)
        for master, group in by_master.items():
            items = [(bytes(r.wrapped_key), envelope.data_key_aad(r.subject_id, r.key_version)) for r in group]
            try:
                keys = many(master, items)
            except NoMasterKey as exc:
                raise self._lost(exc) or exc from exc
            self.stats.unwraps += len(group)
            out.update({r.subject_id: k for r, k in zip(group, keys, strict=True)})
        return out

    def _create_keys(self, subject_ids: list[str]) -> dict[str, bytes]:
        """Create version-1 data keys for ``subject_ids``; the keys this call stored, by subject.

        All in one transaction and one multi-row insert; a subject whose key another worker
        created at the same moment is left out (the caller reads the winner's)."""
        if not subject_ids:
            return {}
        if self.read_only:
            raise CryptoError("a read-only vault creates no data key")
        fresh = os.urandom(32 * len(subject_ids))
        keys = {s: fresh[i * 32:(i + 1) * 32] for i, s in enumerate(subject_ids)}
        stored: dict[str, bytes] = {}
        try:
            with self.engine.begin() as conn:
                _key_lock(conn, exclusive=False)  # the current key cannot be destroyed before we commit
                key_id = self.current_key_id()
                now = _now()
                wrapped = self._wrap_many(key_id, [(keys[s], envelope.data_key_aad(s, 1)) for s in subject_ids])
                rows = [{"subject_id": s, "key_version": 1, "master_key_id": key_id, "wrapped_key": w,
                         "created_at": now} for s, w in zip(subject_ids, wrapped, strict=True)]
                _insert_keys(conn, rows)
            stored = keys
        except sa.exc.IntegrityError:
            # Another worker created some of these keys at the same moment: insert one by one,
            # keeping whichever key won.
            for row in rows:
                try:
                    with self.engine.begin() as conn:
                        _key_lock(conn, exclusive=False)
                        conn.execute(sa.insert(data_keys), [row])
                    stored[row["subject_id"]] = keys[row["subject_id"]]
                except sa.exc.IntegrityError:
                    continue
        self.stats.keys_created += len(stored)
        return stored

    def _encryption_keys(self, subject_ids: Iterable[str], chunk: int = _LOOKUP_BATCH) -> dict[str, tuple[int, bytes]]:
        """Current (version, data key) per subject, creating keys for new subjects.

        One lookup per ``chunk`` subjects; keys created here are used as generated (never
        unwrapped again); existing ones are unwrapped in one provider call per master key."""
        wanted = sorted(set(subject_ids))
        found = self._rows(wanted, chunk)
        created = self._create_keys([s for s in wanted if s not in found])
        lost_race = [s for s in wanted if s not in found and s not in created]
        if lost_race:
            found.update(self._rows(lost_race, chunk))
        latest = {s: max(found[s], key=lambda r: r.key_version) for s in wanted if s not in created}
        opened = self._unwrap_rows(list(latest.values()))
        keys = {s: (1, k) for s, k in created.items()}
        keys.update({s: (row.key_version, opened[s]) for s, row in latest.items()})
        return keys

    def _decryption_keys(self, refs: Iterable[KeyRef]) -> dict[KeyRef, bytes]:
        """Data key per (subject, version) named by ciphertexts; one unwrap each."""
        wanted = set(refs)
        found = self._rows(sorted({s for s, _ in wanted}))
        keys: dict[KeyRef, bytes] = {}
        for subject_id, version in wanted:
            rows = {r.key_version: r for r in found.get(subject_id, [])}
            if version not in rows:
                if any(r.destroyed_at is not None for r in rows.values()):
                    raise SubjectKeyShredded(subject_id)
                raise DataKeyMissing(subject_id, version)
            keys[(subject_id, version)] = self._unwrap(subject_id, rows[version])
        return keys

    # -- single values ---------------------------------------------------------------------------------
    @staticmethod
    def _plain_bytes(value: str | bytes, column: str, record_id: str) -> tuple[str, bytes]:
        if isinstance(value, str):
            return envelope.KIND_TEXT, value.encode("utf-8")
        if isinstance(value, bytes | bytearray | memoryview):
            return envelope.KIND_BYTES, bytes(value)
        raise TypeError(
            f"column {column!r} of record {record_id!r}: cannot encrypt a {type(value).__name__}; "
            "serialise it to text or bytes (e.g. JSON) first"
        )

    @staticmethod
    def _seal(data_key: bytes | AESGCM, version: int, value: str | bytes, where: envelope.Location) -> str:
        kind, plain = Vault._plain_bytes(value, where.column, where.record_id)
        sealed = envelope.seal(data_key, plain, where.aad("value", version, kind))
        return envelope.format_token(version, kind, sealed)

    @staticmethod
    def _parse(token: str, where: envelope.Location) -> envelope.Token:
        try:
            return envelope.parse_token(token)
        except ValueError as exc:
            raise TamperedCiphertext(where.record_id, where.column, str(exc)) from exc

    @staticmethod
    def _open(data_key: bytes | AESGCM, parsed: envelope.Token, where: envelope.Location) -> str | bytes:
        try:
            plain = envelope.open_sealed(data_key, parsed.sealed, where.aad("value", parsed.key_version, parsed.kind))
        except InvalidTag as exc:
            raise TamperedCiphertext(where.record_id, where.column) from exc
        return plain.decode("utf-8") if parsed.kind == envelope.KIND_TEXT else plain

    def encrypt(
        self, subject_id: str, value: str | bytes | None, *, table: str, column: str, record_id: str
    ) -> str | None:
        """Encrypt one value for ``table.column`` of ``record_id``; ``None`` stays ``None``."""
        if _is_missing(value):
            return None
        where = envelope.Location(table, column, str(record_id), str(subject_id))
        version, data_key = self._encryption_keys([where.subject_id])[where.subject_id]
        return self._seal(data_key, version, value, where)  # type: ignore[arg-type]

    def decrypt(
        self, subject_id: str, token: str | None, *, table: str, column: str, record_id: str
    ) -> str | bytes | None:
        """Decrypt a token; ``str`` if it was encrypted from text, ``bytes`` otherwise.

        Raises :class:`TamperedCiphertext` (naming record and column) when the token was altered
        or belongs to another location, :class:`SubjectKeyShredded` after :meth:`shred`.
        """
        if _is_missing(token):
            return None
        where = envelope.Location(table, column, str(record_id), str(subject_id))
        parsed = self._parse(token, where)  # type: ignore[arg-type]
        ref = (where.subject_id, parsed.key_version)
        return self._open(self._decryption_keys([ref])[ref], parsed, where)

    # -- columns and rows ---------------------------------------------------------------------------
    @staticmethod
    def _locate(
        values: list[Any], subjects: list[Any], records: list[Any], *, table: str, column: str,
        subject_name: str, record_name: str,
    ) -> list[tuple[Any, envelope.Location | None]]:
        out: list[tuple[Any, envelope.Location | None]] = []
        for position, (value, subject, record) in enumerate(zip(values, subjects, records, strict=True)):
            if _is_missing(value):
                out.append((None, None))
                continue
            if _is_missing(subject) or _is_missing(record):
                raise ValueError(
                    f"table {table!r}, column {column!r}, row {position}: a value needs both "
                    f"{subject_name!r} (subject) and {record_name!r} (record id)"
                )
            out.append((value, envelope.Location(table, column, str(record), str(subject))))
        return out

    def _frame_locations(
        self, frame: pd.DataFrame, column: str, table: str, subject_col: str, record_col: str
    ) -> list[tuple[Any, envelope.Location | None]]:
        for name in (column, subject_col, record_col):
            if name not in frame.columns:
                raise KeyError(f"table {table!r}: frame has no column {name!r}")
        return self._locate(
            frame[column].tolist(), frame[subject_col].tolist(), frame[record_col].tolist(),
            table=table, column=column, subject_name=subject_col, record_name=record_col,
        )

    def _row_locations(
        self, rows: Sequence[Mapping[str, Any]], columns: Sequence[str], table: str, subject_key: str,
        record_key: str,
    ) -> dict[str, list[tuple[Any, envelope.Location | None]]]:
        subjects = [row.get(subject_key) for row in rows]
        records = [row.get(record_key) for row in rows]
        return {
            column: self._locate([row.get(column) for row in rows], subjects, records, table=table,
                                 column=column, subject_name=subject_key, record_name=record_key)
            for column in columns
        }

    def _seal_all(self, located: list[list[tuple[Any, envelope.Location | None]]]) -> list[list[str | None]]:
        """Encrypt several located lists with one key lookup per subject across all of them."""
        subjects = {w.subject_id for items in located for _, w in items if w is not None}
        keys = {s: (v, envelope.cipher(k)) for s, (v, k) in self._encryption_keys(subjects).items()}
        return [
            [None if w is None else self._seal(keys[w.subject_id][1], keys[w.subject_id][0], value, w)
             for value, w in items]
            for items in located
        ]

    def _open_all(self, located: list[list[tuple[Any, envelope.Location | None]]]) -> list[list[Any]]:
        """Decrypt several located lists with one key unwrap per subject and key version."""
        parsed = [[(None, None) if w is None else (self._parse(token, w), w) for token, w in items]
                  for items in located]
        refs = {(w.subject_id, p.key_version) for items in parsed for p, w in items if w is not None}
        keys = {ref: envelope.cipher(key) for ref, key in self._decryption_keys(refs).items()}
        return [
            [None if w is None else self._open(keys[(w.subject_id, p.key_version)], p, w) for p, w in items]
            for items in parsed
        ]

    def encrypt_column(
        self, frame: pd.DataFrame, column: str, *, table: str, subject_col: str, record_col: str
    ) -> pd.DataFrame:
        """Return a copy of ``frame`` with ``column`` replaced by tokens; one key lookup per subject.

        The column becomes ``object`` dtype with ``None`` for missing values, so it loads as SQL NULL.
        """
        [tokens] = self._seal_all([self._frame_locations(frame, column, table, subject_col, record_col)])
        out = frame.copy()
        out[column] = pd.Series(tokens, index=frame.index, dtype=object)  # keep None → SQL NULL
        return out

    def decrypt_column(
        self, frame: pd.DataFrame, column: str, *, table: str, subject_col: str, record_col: str
    ) -> pd.DataFrame:
        """Return a copy of ``frame`` with ``column`` decrypted; one key unwrap per subject and version.

        Text columns come back with pandas' inferred string dtype, bytes as ``object``.
        """
        [values] = self._open_all([self._frame_locations(frame, column, table, subject_col, record_col)])
        out = frame.copy()
        out[column] = pd.Series(values, index=frame.index)
        return out

    def encrypt_rows(
        self, rows: Sequence[Mapping[str, Any]], columns: Sequence[str], *, table: str, subject_key: str,
        record_key: str,
    ) -> list[dict[str, Any]]:
        """Copies of ``rows`` (dicts, e.g. for ``upsert``) with ``columns`` encrypted; one key lookup
        per subject for all columns together."""
        located = self._row_locations(rows, columns, table, subject_key, record_key)
        sealed = dict(zip(located, self._seal_all(list(located.values())), strict=True))
        return [{**row, **{c: sealed[c][i] for c in columns}} for i, row in enumerate(rows)]

    def seal_columns(
        self, columns: Mapping[str, Sequence[Any]], subjects: Sequence[Any], records: Sequence[Any], *, table: str,
    ) -> dict[str, list[str | None]]:
        """Bulk :meth:`encrypt_rows` for large batches (migrations): per column, the tokens of its values.

        ``columns`` maps column name → values, aligned with ``subjects`` and ``records``. One
        data-key lookup per 2,000 subjects, new keys used as generated, no per-row database round
        trip; the tokens are the same format and open with :meth:`decrypt_rows`
        (:mod:`governance.crypto.bulk`)."""
        from governance.crypto.bulk import seal_columns

        return seal_columns(self, columns, subjects, records, table=table)

    def decrypt_rows(
        self, rows: Sequence[Mapping[str, Any]], columns: Sequence[str], *, table: str, subject_key: str,
        record_key: str,
    ) -> list[dict[str, Any]]:
        """Copies of ``rows`` with ``columns`` decrypted (inverse of :meth:`encrypt_rows`)."""
        located = self._row_locations(rows, columns, table, subject_key, record_key)
        opened = dict(zip(located, self._open_all(list(located.values())), strict=True))
        return [{**row, **{c: opened[c][i] for c in columns}} for i, row in enumerate(rows)]

    # -- media streams ---------------------------------------------------------------------------------
    def encrypt_stream(
        self, subject_id: str, src: BinaryIO, dst: BinaryIO, *, table: str, column: str, record_id: str,
        chunk_size: int = 1 << 20,
    ) -> int:
        """Encrypt a file-like ``src`` into ``dst`` in authenticated chunks; returns plaintext bytes."""
        where = envelope.Location(table, column, str(record_id), str(subject_id))
        version, data_key = self._encryption_keys([where.subject_id])[where.subject_id]
        return streams.encrypt_stream(data_key, version, src, dst, where.aad("stream", version), chunk_size)

    def decrypt_stream(
        self, subject_id: str, src: BinaryIO, dst: BinaryIO, *, table: str, column: str, record_id: str
    ) -> int:
        """Decrypt a stream made by :meth:`encrypt_stream`; returns plaintext bytes written.

        Raises :class:`TamperedCiphertext` on truncation, reordering, swapped or appended chunks.
        Write to a temporary file and keep it only if no error was raised.
        """
        where = envelope.Location(table, column, str(record_id), str(subject_id))
        try:
            header = streams.read_header(src)
        except streams.StreamFormatError as exc:
            raise TamperedCiphertext(where.record_id, column, str(exc)) from exc
        ref = (where.subject_id, header.key_version)
        data_key = self._decryption_keys([ref])[ref]
        try:
            return streams.decrypt_stream(data_key, header, src, dst, where.aad("stream", header.key_version))
        except streams.StreamFormatError as exc:
            raise TamperedCiphertext(where.record_id, column, str(exc)) from exc

    # -- shredding -------------------------------------------------------------------------------------
    def shred(self, subject_id: str) -> bool:
        """Destroy the subject's data key(s); True if a live key was destroyed now.

        The subject's ciphertext — tables, exports, media files — becomes unreadable through this
        database at once. Idempotent: shredding again returns False. On SQLite the freed pages are
        overwritten (``secure_delete``); on Postgres ``VACUUM data_keys`` reclaims the old row
        version. Copies of the database (backups) still hold the wrapped key until the master key
        of their epoch is destroyed by a rotation with ``destroy_old`` (the key_rotation DAG).

        With a ``tombstone``, the destroyed key's record keeps only the tombstone name (key version,
        creation and destruction times), never the subject id: an auditor matches it to the
        deletion log's entry by the same pseudonym.
        """
        subject = str(subject_id)
        with self.engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA secure_delete=ON")
            result = conn.execute(
                sa.update(data_keys)
                .where(data_keys.c.subject_id == subject, data_keys.c.destroyed_at.is_(None))
                .values(wrapped_key=None, master_key_id=None, destroyed_at=_now())
            )
            if self.tombstone is not None:
                name = self.tombstone(subject)
                known = sa.select(data_keys.c.key_version).where(data_keys.c.subject_id == name).scalar_subquery()
                conn.execute(data_keys.delete().where(data_keys.c.subject_id == subject,
                                                      data_keys.c.key_version.in_(known)))
                conn.execute(data_keys.update().where(data_keys.c.subject_id == subject).values(subject_id=name))
        return bool(result.rowcount)

    def is_shredded(self, subject_id: str) -> bool:
        """True when the subject had a data key and none is left alive."""
        rows = self._rows([str(subject_id)]).get(str(subject_id), [])
        return bool(rows) and all(r.destroyed_at is not None for r in rows)

    # -- rotation --------------------------------------------------------------------------------------
    def rotate_master(
        self, progress: Callable[[int, int], None] | None = None, *, destroy_old: bool = False,
        keep_epochs: int = 0,
    ) -> RotationResult:
        """Create a new master key (the next epoch) and re-wrap every live data key with it; data is untouched.

        Safe to interrupt: a rerun re-wraps whatever is not yet under the newest key. With
        ``destroy_old`` (local keyring, hub provider), master keys no data key uses any more are
        erased afterwards, except the ``keep_epochs`` epochs just before the new one (so database
        backups of those epochs can still be restored).
        """
        if keep_epochs < 0:
            raise ValueError(f"keep_epochs must be 0 or more, not {keep_epochs}")
        self.require_available()
        new_id = self.provider.new_master_key()
        live = data_keys.c.destroyed_at.is_(None)
        pending = sa.and_(live, data_keys.c.master_key_id != new_id)
        with self.engine.connect() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(data_keys).where(pending)).scalar_one()
            old_ids = sorted(
                conn.execute(sa.select(data_keys.c.master_key_id).where(pending).distinct()).scalars()
            )
        done, after = 0, ("", -1)
        if progress:
            progress(0, total)
        while True:
            with self.engine.connect() as conn:
                batch = conn.execute(
                    sa.select(data_keys)
                    .where(pending, sa.tuple_(data_keys.c.subject_id, data_keys.c.key_version) > sa.tuple_(*after))
                    .order_by(data_keys.c.subject_id, data_keys.c.key_version)
                    .limit(_ROTATE_BATCH)
                ).all()
            if not batch:
                break
            updates = []
            for row in batch:
                data_key = self._unwrap(row.subject_id, row)
                aad = envelope.data_key_aad(row.subject_id, row.key_version)
                updates.append({
                    "s": row.subject_id, "v": row.key_version, "old": row.master_key_id,
                    "mk": new_id, "wk": self.provider.wrap(new_id, data_key, aad), "at": _now(),
                })
            with self.engine.begin() as conn:
                conn.execute(
                    sa.update(data_keys)
                    .where(
                        data_keys.c.subject_id == sa.bindparam("s"),
                        data_keys.c.key_version == sa.bindparam("v"),
                        data_keys.c.master_key_id == sa.bindparam("old"),
                        live,
                    )
                    .values(master_key_id=sa.bindparam("mk"), wrapped_key=sa.bindparam("wk"),
                            rewrapped_at=sa.bindparam("at")),
                    updates,
                )
            done += len(batch)
            after = (batch[-1].subject_id, batch[-1].key_version)
            if progress:
                progress(done, total)
        destroyed = self._destroy_unused(new_id, old_ids, keep_epochs) if destroy_old else []
        return RotationResult(new_id, old_ids, done, total, destroyed)

    def _destroy_unused(self, current: str, old_ids: list[str], keep_epochs: int = 0) -> list[str]:
        destroy = getattr(self.provider, "destroy_master_key", None)
        if destroy is None:
            raise CryptoError("this key provider cannot destroy master keys; retire them in the KMS")
        known = getattr(self.provider, "key_ids", lambda: old_ids)()
        epochs = getattr(self.provider, "epochs", dict)()
        oldest_kept = epochs.get(current, 0) - keep_epochs
        with self.engine.begin() as conn:
            _key_lock(conn, exclusive=True)  # no data key is being stored under one of these meanwhile
            used = set(conn.execute(sa.select(data_keys.c.master_key_id).distinct()).scalars())
            gone = sorted(key_id for key_id in set(known) | set(old_ids)
                          if key_id != current and key_id not in used and epochs.get(key_id, 0) < oldest_kept)
            for key_id in gone:
                destroy(key_id)
        return gone

    def key_status(self) -> dict[str, Any]:
        """Counts of data keys per master key, shredded keys, provider facts (no key material) and a
        ``state``: ``ok``, ``no-master-key`` (nothing encrypted yet) or ``master-key-missing`` (data
        keys wrapped by a master key the provider does not hold: their data cannot be opened).
        Reads only: creates no table and no key."""
        per_master = self.wrapped_by_master()
        shredded = 0
        if per_master or sa.inspect(self.engine).has_table("data_keys"):
            with self.engine.connect() as conn:
                shredded = conn.execute(
                    sa.select(sa.func.count()).select_from(data_keys).where(data_keys.c.destroyed_at.is_not(None))
                ).scalar_one()
        status: dict[str, Any] = {"live_keys_by_master": per_master, "shredded_keys": shredded}
        describe = getattr(self.provider, "describe", None)
        try:
            provider = describe() if describe else {"provider": type(self.provider).__name__,
                                                    "current": self.provider.current_key_id()}
        except NoMasterKey as exc:
            lost = self._lost(exc)
            status.update(provider={"provider": type(self.provider).__name__, "current": None, "master_keys": {}},
                          state="master-key-missing" if lost else "no-master-key", problem=str(lost or exc))
            return status
        key_ids = getattr(self.provider, "key_ids", None)  # a KMS keeps old versions it does not list
        held = set(key_ids()) if key_ids is not None else set(per_master)
        unreadable = {k: n for k, n in per_master.items() if k not in held}
        status["provider"] = provider
        status["state"] = "master-key-missing" if unreadable else "ok"
        if unreadable:
            status["problem"] = str(MasterKeyMissing(
                f"the provider does not hold master key(s) {', '.join(sorted(unreadable))}",
                sum(unreadable.values()), sorted(unreadable)))
        return status
