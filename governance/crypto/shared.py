"""Where the installation's small secrets live: a folder of 0600 files, or the hub sealed by the KEK.

The deletion log's signing key (and its public key, a rollover's pending key) and the peppers of
subject hashes and archive person keys must be the same on every worker, or a log signed on one
host is unverifiable on another and rehires stop matching. :class:`DirSecretStore` keeps them under
``HRBRIDGE_HOME/keys`` (the embedded default, created on first use); :class:`HubSecretStore` keeps
them in the hub's ``shared_secrets`` table sealed with AES-256-GCM under ``HRBRIDGE_KEK``, like the
master keys (``HRBRIDGE_KEY_PROVIDER=hub``), and creates nothing on first use: ``hrbridge keys
init`` creates them (adopting files a local installation already has).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, runtime_checkable

import sqlalchemy as sa

from governance.crypto.errors import CryptoError, KeyProviderUnavailable
from governance.crypto.kek import KekError, kek_ring
from governance.crypto.keyring import _open, _seal
from governance.crypto.schema import metadata, shared_secrets


class SecretPermissionError(CryptoError):
    """A secret file is readable by others; the message names it and the fix."""


@runtime_checkable
class SecretStore(Protocol):
    """Named secrets (bytes) shared by the processes of one installation."""

    creates_on_first_use: bool

    def get(self, name: str) -> bytes | None:
        """The secret, or None when it does not exist."""
        ...

    def create(self, name: str, value: bytes) -> bool:
        """Store ``value`` unless ``name`` exists (then False: a concurrent creator won; read theirs)."""
        ...

    def replace(self, name: str, value: bytes) -> None:
        """Store ``value`` under ``name``, over any previous value."""
        ...

    def remove(self, name: str) -> None:
        """Delete ``name`` (no error when absent)."""
        ...

    def where(self, name: str) -> str:
        """Where ``name`` lives, for messages."""
        ...


class DirSecretStore:
    """Secrets as owner-only files in a folder (0700 folder, 0600 files); created on first use."""

    creates_on_first_use = True

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def where(self, name: str) -> str:
        """The file path."""
        return str(self.folder / name)

    def get(self, name: str) -> bytes | None:
        """The file's bytes; refused (:class:`SecretPermissionError`) when others can read it."""
        path = self.folder / name
        try:
            mode = path.stat().st_mode & 0o777
        except FileNotFoundError:
            return None
        if mode & 0o077 and not name.endswith(".pub"):
            raise SecretPermissionError(f"{path} is readable by others (mode {mode:o}); run chmod 600 {path}")
        return path.read_bytes()

    def create(self, name: str, value: bytes) -> bool:
        """Write a new file with O_EXCL (never over an existing one)."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(self.folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as handle:
            handle.write(value)
        return True

    def replace(self, name: str, value: bytes) -> None:
        """Write a temporary 0600 file and rename it over ``name`` (atomic)."""
        temp = self.folder / f".{name}.tmp"
        temp.unlink(missing_ok=True)
        self.create(temp.name, value)
        os.replace(temp, self.folder / name)

    def remove(self, name: str) -> None:
        """Delete the file."""
        (self.folder / name).unlink(missing_ok=True)


def _aad(name: str) -> bytes:
    return f"hrbridge shared secret|{len(name)}:{name}".encode()


class HubSecretStore:
    """Secrets in the hub's ``shared_secrets``, sealed by the KEK: every worker reads the same ones.

    ``keks``: the current KEK first (it seals), older ones after (read only, during a KEK rotation).
    Read on every call (no cache), so a key rollover on one worker reaches every other at once.
    """

    creates_on_first_use = False

    def __init__(self, engine: sa.Engine, keks: Sequence[bytes] | bytes, *, read_only: bool = False) -> None:
        self.engine = engine
        self.keks, self.sealing_kek = kek_ring(keks)
        if not read_only:
            metadata.create_all(engine, tables=[shared_secrets])

    def where(self, name: str) -> str:
        """The hub row, for messages."""
        return f"the hub's shared_secrets[{name!r}]"

    def _row(self, name: str) -> sa.Row | None:
        try:
            with self.engine.connect() as conn:
                return conn.execute(sa.select(shared_secrets).where(shared_secrets.c.name == name)).first()
        except sa.exc.ProgrammingError:
            return None  # no shared_secrets table yet (Postgres): nothing stored
        except sa.exc.OperationalError as exc:
            if "no such table" in str(exc):
                return None
            raise KeyProviderUnavailable(f"the hub's shared_secrets cannot be read: {exc.orig}") from exc

    def _unseal(self, name: str, row: sa.Row) -> bytes:
        kek = self.keks.get(row.kek_id)
        if kek is None:
            raise KekError(f"{self.where(name)} is sealed by KEK {row.kek_id}, but HRBRIDGE_KEK is "
                           f"{self.sealing_kek}: start the process with the KEK this hub was set up with")
        try:
            return _open(kek, name, bytes(row.sealed), _aad(name))
        except CryptoError as exc:
            raise KekError(f"{self.where(name)} failed authentication under its KEK (row altered?)") from exc

    def get(self, name: str) -> bytes | None:
        """The unsealed secret, or None."""
        row = self._row(name)
        return None if row is None else self._unseal(name, row)

    def _sealed(self, name: str, value: bytes) -> dict[str, object]:
        return {"kek_id": self.sealing_kek, "sealed": _seal(self.keks[self.sealing_kek], value, _aad(name))}

    def create(self, name: str, value: bytes) -> bool:
        """Insert the sealed secret; False when the row exists already."""
        try:
            with self.engine.begin() as conn:
                conn.execute(sa.insert(shared_secrets).values(
                    name=name, created_at=datetime.now(UTC), **self._sealed(name, value)))
        except sa.exc.IntegrityError:
            return False
        return True

    def replace(self, name: str, value: bytes) -> None:
        """Update (or insert) the sealed secret."""
        for _ in range(3):
            with self.engine.begin() as conn:
                done = conn.execute(sa.update(shared_secrets).where(shared_secrets.c.name == name)
                                    .values(updated_at=datetime.now(UTC), **self._sealed(name, value)))
            if done.rowcount or self.create(name, value):
                return
        raise KeyProviderUnavailable(f"{self.where(name)} could not be stored: it kept appearing and vanishing")

    def remove(self, name: str) -> None:
        """Delete the row (SQLite overwrites the freed page)."""
        with self.engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA secure_delete=ON")
            conn.execute(sa.delete(shared_secrets).where(shared_secrets.c.name == name))

    def names(self) -> list[str]:
        """Names of the stored secrets (never their values)."""
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(shared_secrets.c.name).order_by(shared_secrets.c.name)).scalars())

    def rotate_kek(self) -> int:
        """Re-seal every secret not sealed by the current KEK; returns how many."""
        with self.engine.connect() as conn:
            rows = list(conn.execute(sa.select(shared_secrets).where(shared_secrets.c.kek_id != self.sealing_kek)))
        for row in rows:
            value = self._unseal(row.name, row)
            with self.engine.begin() as conn:
                conn.execute(sa.update(shared_secrets)
                             .where(shared_secrets.c.name == row.name, shared_secrets.c.kek_id == row.kek_id)
                             .values(**self._sealed(row.name, value)))
        return len(rows)
