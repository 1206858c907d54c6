"""Master keys stored in the hub, wrapped by a key-encryption key (KEK) from the environment.

``HRBRIDGE_KEY_PROVIDER=hub``: every worker reads the same ``master_keys`` table, so a value sealed
on one host opens on any other without a shared disk. Each master key (an *epoch*) is stored only
sealed with AES-256-GCM under the KEK (``HRBRIDGE_KEK``: 32 random bytes, base64), which never
reaches the repository, the image or the database; the hub alone opens nothing.

Rotation across workers: the current master key is read from the hub on every wrap (one indexed
query per batch), so a worker that holds an older key in memory wraps new data keys with the new
one at once; unwrapped master keys are cached per process for :data:`CACHE_SECONDS` only, so a key
destroyed by another worker leaves every process's memory within that time.

KEK rotation: start the processes with the new ``HRBRIDGE_KEK`` and the old one in
``HRBRIDGE_KEK_PREVIOUS``, run ``hrbridge keys rotate-kek`` (re-seals every live master key under
the new KEK), then remove ``HRBRIDGE_KEK_PREVIOUS``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from governance.crypto.errors import CryptoError, KeyProviderUnavailable, NoMasterKey
from governance.crypto.keyring import MasterKeyWrapping, _new_key_id, _open, _seal
from governance.crypto.schema import master_keys, metadata

CACHE_SECONDS = 60.0
_ATTEMPTS = 5


class KekError(KeyProviderUnavailable):
    """``HRBRIDGE_KEK`` is missing, malformed, or not the key the hub's master keys were sealed with."""


def parse_kek(text: str | None, name: str = "HRBRIDGE_KEK") -> bytes:
    """Decode a KEK given as base64 of 32 random bytes; :class:`KekError` naming ``name`` otherwise."""
    if not text or not text.strip():
        raise KekError(f"{name} is not set: HRBRIDGE_KEY_PROVIDER=hub needs a key-encryption key "
                       "(32 random bytes, base64; see deploy/.env.example)")
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KekError(f"{name} is not valid base64") from exc
    if len(raw) != 32:
        raise KekError(f"{name} must decode to 32 bytes, not {len(raw)}")
    return raw


def keks_from_env(env: Mapping[str, str] | None = None) -> list[bytes]:
    """The KEKs to use: ``HRBRIDGE_KEK`` first (it seals), then any ``HRBRIDGE_KEK_PREVIOUS`` (comma-separated)."""
    env = os.environ if env is None else env
    keks = [parse_kek(env.get("HRBRIDGE_KEK"))]
    previous = [p for p in (env.get("HRBRIDGE_KEK_PREVIOUS") or "").split(",") if p.strip()]
    keks += [parse_kek(p, "HRBRIDGE_KEK_PREVIOUS") for p in previous]
    return keks


def kek_id(kek: bytes) -> str:
    """A public fingerprint of a KEK (HMAC of a fixed label): names it without revealing it."""
    return hmac.new(kek, b"hrbridge kek id", hashlib.sha256).hexdigest()[:16]


def kek_ring(keks: Sequence[bytes] | bytes) -> tuple[dict[str, bytes], str]:
    """KEKs by fingerprint, and the fingerprint of the one that seals (the first; the others only
    open, during a KEK rotation)."""
    keks = [keks] if isinstance(keks, bytes) else list(keks)
    if not keks:
        raise KekError("no key-encryption key given")
    return {kek_id(k): k for k in keks}, kek_id(keks[0])


def _aad(key_id: str, epoch: int) -> bytes:
    return f"hrbridge master key|{len(key_id)}:{key_id}|{epoch}".encode()


def _now() -> datetime:
    return datetime.now(UTC)


class HubKeyProvider(MasterKeyWrapping):
    """Master keys in the hub's ``master_keys`` table, sealed by the KEK (see the module docstring).

    ``keks``: the current KEK first (new master keys are sealed with it), older ones after (read
    only, for a KEK rotation in progress). The first master key is created only by
    :meth:`new_master_key` through ``hrbridge keys init`` (``creates_first_key`` is False).
    """

    creates_first_key = False

    def __init__(self, engine: sa.Engine, keks: Sequence[bytes] | bytes, *, read_only: bool = False) -> None:
        self.engine = engine
        self.keks, self.sealing_kek = kek_ring(keks)
        self._cache: dict[str, tuple[float, bytes]] = {}
        if not read_only:
            metadata.create_all(engine, tables=[master_keys])

    # -- reading ---------------------------------------------------------------------------------
    def _rows(self, where: Any = None) -> list[Any]:
        stmt = sa.select(master_keys).order_by(master_keys.c.epoch)
        if where is not None:
            stmt = stmt.where(where)
        try:
            with self.engine.connect() as conn:
                return list(conn.execute(stmt))
        except sa.exc.ProgrammingError as exc:
            raise NoMasterKey("the hub has no master_keys table (run `hrbridge db upgrade`)") from exc
        except sa.exc.OperationalError as exc:
            if "no such table" in str(exc):
                raise NoMasterKey("the hub has no master_keys table (run `hrbridge db upgrade`)") from exc
            raise KeyProviderUnavailable(f"the hub's master_keys cannot be read: {exc.orig}") from exc

    def _unseal(self, row: Any) -> bytes:
        kek = self.keks.get(row.kek_id or "")
        if kek is None:
            raise KekError(
                f"master key {row.key_id!r} is sealed by KEK {row.kek_id}, but HRBRIDGE_KEK is {self.sealing_kek}"
                + (f" (previous: {', '.join(k for k in self.keks if k != self.sealing_kek)})" if len(self.keks) > 1 else "")
                + ": start the process with the KEK this hub was set up with"
            )
        try:
            return _open(kek, row.key_id, bytes(row.wrapped_key), _aad(row.key_id, row.epoch))
        except CryptoError as exc:
            raise KekError(f"master key {row.key_id!r} failed authentication under its KEK (row altered?)") from exc

    def _master(self, key_id: str) -> bytes:
        cached = self._cache.get(key_id)
        if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        rows = self._rows(master_keys.c.key_id == key_id)
        if not rows or rows[0].wrapped_key is None:
            self._cache.pop(key_id, None)
            state = "was destroyed" if rows else "is not in the hub's master_keys"
            raise KeyProviderUnavailable(f"master key {key_id!r} {state}")
        key = self._unseal(rows[0])
        self._cache[key_id] = (time.monotonic(), key)
        return key

    def _current_row(self) -> Any:
        rows = self._rows(master_keys.c.wrapped_key.is_not(None))
        if not rows:
            raise NoMasterKey("the hub holds no master key (master_keys is empty)")
        return rows[-1]

    # -- KeyProvider -----------------------------------------------------------------------------
    def current_key_id(self) -> str:
        """Id of the newest live master key, read from the hub each time (rotation reaches every worker)."""
        return str(self._current_row().key_id)

    def new_master_key(self) -> str:
        """Create the next epoch's master key, sealed by the current KEK; it is current from now on."""
        for _ in range(_ATTEMPTS):
            key_id, key, now = _new_key_id(), AESGCM.generate_key(bit_length=256), _now()
            try:
                with self.engine.begin() as conn:
                    epoch = (conn.execute(sa.select(sa.func.max(master_keys.c.epoch))).scalar() or 0) + 1
                    sealed = _seal(self.keks[self.sealing_kek], key, _aad(key_id, epoch))
                    conn.execute(sa.update(master_keys).where(master_keys.c.retired_at.is_(None))
                                 .values(retired_at=now))
                    conn.execute(sa.insert(master_keys).values(
                        key_id=key_id, epoch=epoch, kek_id=self.sealing_kek, wrapped_key=sealed, created_at=now))
            except sa.exc.IntegrityError:
                continue  # another process took this epoch at the same moment: take the next one
            self._cache[key_id] = (time.monotonic(), key)
            return key_id
        raise KeyProviderUnavailable("could not create a master key: epochs kept colliding")

    # -- extras ----------------------------------------------------------------------------------
    def key_ids(self) -> list[str]:
        """Ids of master keys whose material is still present."""
        return [r.key_id for r in self._rows(master_keys.c.wrapped_key.is_not(None))]

    def epochs(self) -> dict[str, int]:
        """Epoch of every master key (destroyed ones included)."""
        return {r.key_id: r.epoch for r in self._rows()}

    def destroy_master_key(self, key_id: str) -> None:
        """Erase a retired master key's sealed material in the hub (its id, epoch and dates stay)."""
        if key_id == self.current_key_id():
            raise CryptoError(f"master key {key_id!r} is current; rotate before destroying it")
        with self.engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA secure_delete=ON")
            done = conn.execute(sa.update(master_keys).where(master_keys.c.key_id == key_id)
                                .values(wrapped_key=None, kek_id=None, destroyed_at=_now()))
        self._cache.pop(key_id, None)
        if not done.rowcount:
            raise CryptoError(f"master key {key_id!r} is not in the hub's master_keys")

    def rotate_kek(self) -> int:
        """Re-seal every live master key under the current KEK; returns how many were re-sealed."""
        done = 0
        for row in self._rows(master_keys.c.wrapped_key.is_not(None)):
            if row.kek_id == self.sealing_kek:
                continue
            key = self._unseal(row)
            sealed = _seal(self.keks[self.sealing_kek], key, _aad(row.key_id, row.epoch))
            with self.engine.begin() as conn:
                conn.execute(sa.update(master_keys)
                             .where(master_keys.c.key_id == row.key_id, master_keys.c.kek_id == row.kek_id)
                             .values(wrapped_key=sealed, kek_id=self.sealing_kek))
            done += 1
        return done

    def describe(self) -> dict[str, Any]:
        """Provider facts for ``hrbridge keys status`` (KEK fingerprints, never key material)."""
        rows = self._rows()
        live = [r for r in rows if r.wrapped_key is not None]
        if not live:
            raise NoMasterKey("the hub holds no master key (master_keys is empty)")
        return {
            "provider": "hub",
            "kek_id": self.sealing_kek,
            "current": live[-1].key_id,
            "master_keys": {
                r.key_id: {"epoch": r.epoch, "kek_id": r.kek_id, "created_at": r.created_at,
                           "retired_at": r.retired_at, "destroyed_at": r.destroyed_at}
                for r in rows
            },
        }
