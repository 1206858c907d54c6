"""Personal data in migrated records: encrypted on load, verified by keyed digests.

The mapping declares which canonical columns are personal and which column keys their subject
(``personal:`` in the mapping YAML; default: ``id_number``, ``phone``, ``email`` and ``salary``,
keyed by ``employee_id`` in the ``employee`` namespace, so subject ``employee:000123``). For each
personal column the target holds:

* ``<column>``: a vault token (``hrb1:…``) under the subject's data key, the same envelope scheme
  as the rest of the archive (:class:`governance.crypto.Vault`, keys in the hub wrapped by the
  master key; sealed through the vault's bulk path, ``seal_columns``: one key lookup per 2,000
  subjects of a batch, new keys used as generated); associated data binds the target table,
  column and employee id, so a token moved to another row does not decrypt;
* ``<column>_digest``: HMAC-SHA256 of the cleaned value under the run target's digest key,
  truncated to 128 bits (hex), computed BEFORE encryption.

Verification compares digests, never plaintext: the expected side, the spill files, the
checkpoints and the cross-batch key index hold digests of personal values (64 bits of the same
HMAC for dedupe keys), so nothing on disk can be reversed by hashing likely phone or ID numbers.
The digest key is random, stored in the target's ``migration_keys`` table as a vault token (so
every worker with the key provider can read it, and nobody without it).

Quarantine and repair lines about a personal column keep their evidence sealed the same way
(subject: the row's employee id, or the run for a row without one).
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

DEFAULT_COLUMNS = ("id_number", "phone", "email", "salary")
DIGEST_SUFFIX = "_digest"
KEY_NAME = "digest-key"
KEY_SUBJECT = "hrbridge:migration"

keys_metadata = sa.MetaData()
migration_keys = sa.Table(
    "migration_keys", keys_metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("token", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)


class PersonalDataError(RuntimeError):
    """The personal-data set-up cannot work (no digest key to verify with, keys unavailable)."""


@dataclass(frozen=True)
class PersonalSpec:
    """Which canonical columns are personal, and how their subject is named."""

    columns: tuple[str, ...] = DEFAULT_COLUMNS
    subject: str = "employee_id"
    namespace: str = "employee"

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any], available: Sequence[str]) -> PersonalSpec:
        """The mapping's ``personal:`` block (columns, subject, namespace), defaults otherwise;
        only columns the target has are kept."""
        block = mapping.get("personal")
        block = block if isinstance(block, Mapping) else {}
        columns = block.get("columns", DEFAULT_COLUMNS)
        if not isinstance(columns, list | tuple) or not all(isinstance(c, str) for c in columns):
            raise ValueError("mapping 'personal.columns' must be a list of canonical column names")
        subject = str(block.get("subject", "employee_id"))
        unknown = [c for c in [*columns, subject] if c not in available]
        if unknown:
            raise ValueError(f"mapping 'personal' names {unknown[0]!r}, which is not a canonical column")
        if subject in columns:
            raise ValueError(f"mapping 'personal': the subject column {subject!r} cannot itself be encrypted")
        return cls(tuple(columns), subject, str(block.get("namespace", "employee")))

    def subject_ids(self, values: pd.Series) -> list[str | None]:
        """Vault subject ids for the subject column's values (``employee:000123``)."""
        prefix = f"{self.namespace}:" if self.namespace else ""
        return [None if v is None or v != v else f"{prefix}{v}" for v in values.tolist()]


def canonical_text(value: Any) -> str:
    """The text a digest is taken of: numbers as their shortest float repr, dates as ISO, text as is."""
    if isinstance(value, float | np.floating):
        return repr(float(value) + 0.0)
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


class PersonalData:
    """Digests and seals the personal columns of a batch (see the module docstring)."""

    def __init__(self, spec: PersonalSpec, vault: Any, digest_key: bytes, table: str) -> None:
        self.spec = spec
        self.vault = vault
        self.key = digest_key
        self.table = table

    def digest_values(self, column: str, values: pd.Series) -> np.ndarray:
        """HMAC-SHA256(key, column NUL value)[:16] as hex, None where the value is absent."""
        prefix = column.encode() + b"\0"
        key = self.key
        out = np.full(len(values), None, dtype=object)
        present = values.notna().to_numpy()
        for at, value in zip(np.flatnonzero(present).tolist(), values[present].tolist(), strict=True):
            out[at] = hmac.digest(key, prefix + canonical_text(value).encode("utf-8"), "sha256")[:16].hex()
        return out

    def digests(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """Per personal column of ``frame``: its digests (hex or None)."""
        return {c: self.digest_values(c, frame[c]) for c in self.spec.columns if c in frame.columns}

    @staticmethod
    def keys64(hexes: np.ndarray) -> np.ndarray:
        """64 bits of each digest as uint64 (0 where absent), for the cross-batch key index."""
        return np.array([int(h[:16], 16) if h is not None else 0 for h in hexes.tolist()], dtype=np.uint64)

    def match_keys(self, column: str, values: pd.Series, cleaned: pd.Series, digests: np.ndarray) -> np.ndarray:
        """64-bit keyed keys of a dedupe key part: the stored digests where the key's text equals the
        cleaned value (the usual case), fresh digests where the key normalises it further."""
        out = self.keys64(digests)
        texts = [None if v is None or v != v else canonical_text(v) for v in cleaned.tolist()]
        differ = [at for at, (key, text) in enumerate(zip(values.tolist(), texts, strict=True))
                  if key is not None and key == key and key != text]
        if differ:
            out[differ] = self.keys64(self.digest_values(column, values.iloc[differ]))
        return out

    def seal(self, frame: pd.DataFrame, digests: Mapping[str, np.ndarray]) -> pd.DataFrame:
        """``frame`` with each personal column a vault token and its digest column beside it."""
        columns = [c for c in self.spec.columns if c in frame.columns]
        if not columns or not len(frame):
            return frame.assign(**{f"{c}{DIGEST_SUFFIX}": pd.Series(dtype=object) for c in columns})
        values = {c: [canonical_text(v) if ok else None
                      for v, ok in zip(frame[c].tolist(), frame[c].notna().tolist(), strict=True)]
                  for c in columns}
        sealed = self.vault.seal_columns(values, self.spec.subject_ids(frame[self.spec.subject]),
                                         frame[self.spec.subject].astype("str").tolist(), table=self.table)
        out = frame.copy()
        for column in columns:
            out[column] = pd.Series(sealed[column], index=frame.index, dtype=object)
            out[f"{column}{DIGEST_SUFFIX}"] = pd.Series(digests[column], index=frame.index, dtype=object)
        return out

    def seal_log(self, lines: pd.DataFrame, value_columns: Sequence[str], subjects: Mapping[int, Any], log: str,
                 run_id: str) -> pd.DataFrame:
        """Quarantine or repair lines with the values of personal columns sealed under the row's subject."""
        if not len(lines):
            return lines
        personal = lines["column"].isin(list(self.spec.columns)).to_numpy()
        if not personal.any():
            return lines
        picked = lines[personal]
        prefix = f"{self.spec.namespace}:" if self.spec.namespace else ""
        rows = []
        for row, column, *values in picked[["row", "column", *value_columns]].itertuples(index=False):
            owner = subjects.get(int(row))
            subject = f"{prefix}{owner}" if owner not in (None, "") and owner == owner else f"migration-run:{run_id}"
            rows.append({"__subject": subject, "__record": f"{run_id}#{row}#{column}",
                         **{name: None if v is None or v != v else str(v) for name, v in zip(value_columns, values,
                                                                                          strict=True)}})
        sealed = self.vault.encrypt_rows(rows, list(value_columns), table=log, subject_key="__subject",
                                         record_key="__record")
        out = lines.copy()
        for name in value_columns:
            out[name] = out[name].astype(object)
            out.loc[personal, name] = [r[name] for r in sealed]
        return out


def digest_key(engine: sa.Engine, vault: Any, create: bool) -> bytes:
    """The target's digest key, decrypted with the vault; created (random) when missing and ``create``."""
    where = {"table": "migration_keys", "column": "token", "record_id": KEY_NAME}
    with engine.connect() as conn:
        exists = sa.inspect(conn).has_table("migration_keys")
        token = conn.execute(sa.select(migration_keys.c.token).where(migration_keys.c.name == KEY_NAME)
                             ).scalar_one_or_none() if exists else None
    if token is None:
        if not create:
            raise PersonalDataError(f"{engine.url.render_as_string(hide_password=True)}: no digest key "
                                    "(table migration_keys): nothing was migrated here with personal data sealed")
        keys_metadata.create_all(engine)
        fresh = vault.encrypt(KEY_SUBJECT, secrets.token_hex(32), **where)
        try:
            with engine.begin() as conn:
                conn.execute(migration_keys.insert().values(name=KEY_NAME, token=fresh,
                                                            created_at=dt.datetime.now(dt.UTC)))
        except sa.exc.IntegrityError:
            pass  # another worker created it first: use theirs
        return digest_key(engine, vault, create=False)
    return bytes.fromhex(vault.decrypt(KEY_SUBJECT, token, **where))
