"""Master-key providers: who holds the keys that wrap every subject's data key.

:class:`KeyProvider` is the protocol. :class:`LocalKeyringProvider` (the default) keeps master keys
in a JSON file readable by its owner only; :class:`KmsKeyProvider` shows how an external KMS plugs in
— its transport is a plain callable, so any HTTP/SDK client can sit behind it. Master keys never
leave the provider through this interface: callers only ever see wrapped data keys.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import fcntl
import json
import os
import secrets
import stat
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from governance.crypto.errors import CryptoError, KeyProviderUnavailable, KeyringPermissionError, NoMasterKey

KEYRING_FORMAT = "hrbridge-keyring/1"
_NONCE = 12


@runtime_checkable
class KeyProvider(Protocol):
    """Holds master keys and wraps/unwraps data keys with them."""

    def current_key_id(self) -> str:
        """Id of the master key new data keys are wrapped with."""
        ...

    def wrap(self, key_id: str, data_key: bytes, aad: bytes) -> bytes:
        """Encrypt ``data_key`` under master key ``key_id``, bound to ``aad``."""
        ...

    def unwrap(self, key_id: str, wrapped: bytes, aad: bytes) -> bytes:
        """Decrypt a wrapped data key; fails if ``wrapped`` or ``aad`` was altered."""
        ...

    def new_master_key(self) -> str:
        """Create a master key, make it current and return its id (used by rotation)."""
        ...


def _new_key_id() -> str:
    return f"mk-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"


def _seal(master: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(_NONCE)
    return nonce + AESGCM(master).encrypt(nonce, plaintext, aad)


def _open(master: bytes | AESGCM, key_id: str, sealed: bytes, aad: bytes) -> bytes:
    aead = master if isinstance(master, AESGCM) else AESGCM(master)
    try:
        return aead.decrypt(sealed[:_NONCE], sealed[_NONCE:], aad)
    except (InvalidTag, ValueError) as exc:
        raise CryptoError(
            f"a data key wrapped by master key {key_id!r} failed authentication "
            "(wrapped key altered or stored under another subject)"
        ) from exc


def seal_many(master: bytes, items: list[tuple[bytes, bytes]]) -> list[bytes]:
    """Wrap many (data key, aad) pairs under one master key: one cipher, one random read for all nonces."""
    aead, nonces = AESGCM(master), os.urandom(_NONCE * len(items))
    out = []
    for index, (plaintext, aad) in enumerate(items):
        nonce = nonces[index * _NONCE:(index + 1) * _NONCE]
        out.append(nonce + aead.encrypt(nonce, plaintext, aad))
    return out


def open_many(master: bytes, key_id: str, items: list[tuple[bytes, bytes]]) -> list[bytes]:
    """Unwrap many (wrapped, aad) pairs under one master key with one cipher."""
    aead = AESGCM(master)
    return [_open(aead, key_id, sealed, aad) for sealed, aad in items]


def epochs_of(keys: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Epoch (1, 2, ...) of each master key: stored, or by creation order for keyrings written before epochs."""
    ordered = sorted(keys, key=lambda k: (keys[k].get("epoch") or 0, keys[k].get("created_at") or "", k))
    found: dict[str, int] = {}
    for position, key_id in enumerate(ordered, start=1):
        found[key_id] = int(keys[key_id].get("epoch") or position)
    return found


class MasterKeyWrapping:
    """Wrapping and unwrapping data keys under master keys held in this process: the providers that
    keep master keys themselves (local keyring, hub) implement only ``_master(key_id)``."""

    def _master(self, key_id: str) -> bytes:
        raise NotImplementedError

    def wrap(self, key_id: str, data_key: bytes, aad: bytes) -> bytes:
        """AES-256-GCM-encrypt a data key under the named master key."""
        return _seal(self._master(key_id), data_key, aad)

    def unwrap(self, key_id: str, wrapped: bytes, aad: bytes) -> bytes:
        """Decrypt a wrapped data key; raises if it was altered or its master key is gone."""
        return _open(self._master(key_id), key_id, wrapped, aad)

    def wrap_many(self, key_id: str, items: list[tuple[bytes, bytes]]) -> list[bytes]:
        """:meth:`wrap` for many (data key, aad) pairs with one master-key read."""
        return seal_many(self._master(key_id), items)

    def unwrap_many(self, key_id: str, items: list[tuple[bytes, bytes]]) -> list[bytes]:
        """:meth:`unwrap` for many (wrapped, aad) pairs with one master-key read."""
        return open_many(self._master(key_id), key_id, items)


class LocalKeyringProvider(MasterKeyWrapping):
    """Master keys in a local JSON keyring (``<home>/keyring.json``), mode 0600.

    Never created by reading: with no file, every call raises :class:`NoMasterKey` and the vault
    decides (it creates the first key only while no data key exists). A keyring that group or other
    users can read or write is refused: whoever can read it can read every candidate's data.
    """

    creates_first_key = True  # the embedded default: the first encrypting run on an empty hub creates it

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._cache: tuple[tuple[int, int, int], dict[str, Any]] | None = None

    # -- file handling -------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _check_permissions(self) -> os.stat_result:
        info = self.path.stat()
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o077:
            raise KeyringPermissionError(
                f"keyring {self.path} has mode {mode:04o}: group/other users can access it; "
                f"it must be readable by its owner only — run `chmod 600 {self.path}`"
            )
        return info

    def _write(self, data: dict[str, Any]) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)

    def _read(self) -> dict[str, Any]:
        try:
            info = self._check_permissions()
            signature = (info.st_ino, info.st_mtime_ns, info.st_size)
            if self._cache is not None and self._cache[0] == signature:
                return self._cache[1]
            with self.path.open(encoding="utf-8") as handle:
                data = json.load(handle)
        except KeyringPermissionError:
            raise
        except (OSError, ValueError) as exc:
            raise KeyProviderUnavailable(f"keyring {self.path} cannot be read: {exc}") from exc
        if not isinstance(data, dict) or data.get("format") != KEYRING_FORMAT or "keys" not in data:
            raise KeyProviderUnavailable(f"keyring {self.path} is not a {KEYRING_FORMAT} file")
        self._cache = (signature, data)
        return data

    def _load(self) -> dict[str, Any]:
        if not self.path.exists():
            raise NoMasterKey(f"no keyring at {self.path}")
        return self._read()

    @staticmethod
    def _entry(epoch: int) -> dict[str, Any]:
        return {
            "key": base64.b64encode(AESGCM.generate_key(bit_length=256)).decode("ascii"),
            "epoch": epoch,
            "created_at": datetime.now(UTC).isoformat(),
            "destroyed_at": None,
        }

    def _master(self, key_id: str) -> bytes:
        entry = self._load()["keys"].get(key_id)
        if entry is None or not entry.get("key"):
            state = "was destroyed" if entry else "is not in the keyring"
            raise KeyProviderUnavailable(f"master key {key_id!r} {state} ({self.path})")
        return base64.b64decode(entry["key"])

    # -- KeyProvider -----------------------------------------------------------------------------
    def current_key_id(self) -> str:
        """Id of the current master key; :class:`NoMasterKey` when there is no keyring."""
        return str(self._load()["current"])

    def new_master_key(self) -> str:
        """Add a fresh master key and make it current; older keys stay until destroyed."""
        with self._locked():
            data = copy.deepcopy(self._read()) if self.path.exists() else {"format": KEYRING_FORMAT, "keys": {}}
            key_id = _new_key_id()
            data["keys"][key_id] = self._entry(max(epochs_of(data["keys"]).values(), default=0) + 1)
            data["current"] = key_id
            self._write(data)
        return key_id

    # -- extras ----------------------------------------------------------------------------------
    def key_ids(self) -> list[str]:
        """Ids of master keys whose material is still present."""
        return [k for k, v in self._load()["keys"].items() if v.get("key")]

    def epochs(self) -> dict[str, int]:
        """Epoch of every master key the keyring names (destroyed ones included)."""
        return epochs_of(self._load()["keys"])

    def destroy_master_key(self, key_id: str) -> None:
        """Erase a retired master key's material (keeps its id and when it was destroyed).

        Once gone, database backups holding data keys wrapped by it — including keys that were
        shredded since — can no longer be opened. The current key cannot be destroyed.
        """
        with self._locked():
            data = copy.deepcopy(self._read())
            if data["current"] == key_id:
                raise CryptoError(f"master key {key_id!r} is current; rotate before destroying it")
            entry = data["keys"].get(key_id)
            if entry is None:
                raise CryptoError(f"master key {key_id!r} is not in the keyring ({self.path})")
            entry["key"] = None
            entry["destroyed_at"] = datetime.now(UTC).isoformat()
            self._write(data)

    def describe(self) -> dict[str, Any]:
        """Provider facts for ``hrbridge keys status`` (never key material)."""
        data = self._load()
        epochs = epochs_of(data["keys"])
        return {
            "provider": "local-keyring",
            "path": str(self.path),
            "mode": f"{stat.S_IMODE(self.path.stat().st_mode):04o}",
            "current": data["current"],
            "master_keys": {
                k: {"epoch": epochs[k], "created_at": v.get("created_at"), "destroyed_at": v.get("destroyed_at")}
                for k, v in data["keys"].items()
            },
        }


Transport = Callable[[str, dict[str, Any]], dict[str, Any]]


class KmsKeyProvider:
    """An external KMS behind a callable ``transport(operation, payload) -> response``.

    Operations: ``current`` → ``{"key_id"}``; ``wrap`` ``{"key_id", "plaintext", "aad"}`` →
    ``{"ciphertext"}``; ``unwrap`` ``{"key_id", "ciphertext", "aad"}`` → ``{"plaintext"}``;
    ``create`` → ``{"key_id"}``. Bytes travel base64-encoded. Wire it to a cloud KMS or an HSM
    gateway (e.g. via ``connectors.http.HttpClient``); any transport failure becomes
    :class:`KeyProviderUnavailable`, so nothing is written unencrypted.
    """

    def __init__(self, transport: Transport, name: str = "kms") -> None:
        self.transport = transport
        self.name = name

    def _call(self, operation: str, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self.transport(operation, payload)
        except CryptoError:
            raise
        except Exception as exc:  # noqa: BLE001 - any transport failure means the KMS is unusable
            raise KeyProviderUnavailable(f"{self.name}: {operation} failed: {exc}") from exc
        if not isinstance(response, dict):
            raise KeyProviderUnavailable(f"{self.name}: {operation} returned {type(response).__name__}")
        return response

    def current_key_id(self) -> str:
        """Ask the KMS for its current key id."""
        return str(self._call("current", {})["key_id"])

    def wrap(self, key_id: str, data_key: bytes, aad: bytes) -> bytes:
        """Have the KMS encrypt the data key."""
        payload = {"key_id": key_id, "plaintext": _b64(data_key), "aad": _b64(aad)}
        return base64.b64decode(self._call("wrap", payload)["ciphertext"])

    def unwrap(self, key_id: str, wrapped: bytes, aad: bytes) -> bytes:
        """Have the KMS decrypt a wrapped data key."""
        payload = {"key_id": key_id, "ciphertext": _b64(wrapped), "aad": _b64(aad)}
        return base64.b64decode(self._call("unwrap", payload)["plaintext"])

    def new_master_key(self) -> str:
        """Ask the KMS to create a key version and make it current."""
        return str(self._call("create", {})["key_id"])

    def describe(self) -> dict[str, Any]:
        """Provider facts for ``hrbridge keys status``."""
        return {"provider": self.name, "current": self.current_key_id()}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
