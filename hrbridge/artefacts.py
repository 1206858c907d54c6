"""The artefact store: reports, exports and Data Docs that a user or another worker reads later.

A worker's disk is not shared, so anything written for later (an HR ops page, a migration report,
a deletion-log export) goes here and XCom, the hub and the CLI carry its key, never a local path.

    store = artefact_store()
    key = store.put("migration", f"{run_id}/report.html", html.encode(), "text/html", {"run_id": run_id})
    page = store.get(key)          # Artefact(data, content_type, meta, created_at, ...)

Keys are ``<kind>/<name>``: ``kind`` one lower-case word (``validation``, ``migration``, ...),
``name`` one or more ``/``-separated segments of letters, digits and ``._+=@:~-`` (no empty
segment, none starting with a dot, so no ``..`` and no absolute path). Backends:

* default — the ``artefacts`` table of the hub database (:mod:`hrbridge.store.artefacts`), shared
  by every worker and api-server whenever the hub is Postgres;
* ``HRBRIDGE_ARTEFACT_URL`` (``s3://bucket/prefix``, ``gs://…``, ``file:///srv/hrbridge``) — an
  object store through Airflow's ``ObjectStoragePath``: bytes at ``<url>/data/<key>``, a JSON
  description (type, meta, time, sha256) at ``<url>/meta/<key>.json`` written after them.

Every artefact is bounded (``HRBRIDGE_ARTEFACT_MAX_BYTES``, default 64 MiB; meta 64 KiB) and
checked against its SHA-256 when read.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hrbridge.settings import Settings, load_settings

MAX_META_BYTES = 64 * 1024
MAX_KEY_LENGTH = 512
_KIND = re.compile(r"^[a-z][a-z0-9-]{0,63}$")
_SEGMENT = re.compile(r"^[A-Za-z0-9_+=@:~-][A-Za-z0-9._+=@:~-]{0,199}$")


class ArtefactError(ValueError):
    """An artefact cannot be stored or read: bad key, too large, bad meta, or altered bytes."""


class ArtefactNotFound(LookupError):
    """No artefact has this key; the message names the key and the store."""


@dataclass(frozen=True)
class ArtefactInfo:
    """What :meth:`ArtefactStore.list` returns: an artefact's description without its bytes."""

    key: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """The first segment of the key."""
        return self.key.split("/", 1)[0]

    @property
    def name(self) -> str:
        """The key without its kind."""
        return self.key.split("/", 1)[1]


@dataclass(frozen=True)
class Artefact(ArtefactInfo):
    """One stored artefact: its description and its bytes."""

    data: bytes = b""

    def text(self) -> str:
        """The bytes decoded as UTF-8 (reports and exports are UTF-8)."""
        return self.data.decode("utf-8")


def artefact_key(kind: str, name: str) -> str:
    """``kind/name`` after checking both parts; raises :class:`ArtefactError` naming what is wrong."""
    if not isinstance(kind, str) or not _KIND.match(kind):
        raise ArtefactError(f"artefact kind {kind!r} must be a lower-case word (a-z, 0-9, -)")
    if not isinstance(name, str) or not name:
        raise ArtefactError(f"artefact name {name!r} is empty")
    for segment in name.split("/"):
        if not _SEGMENT.match(segment):
            raise ArtefactError(
                f"artefact name {name!r}: segment {segment!r} is not allowed (letters, digits and ._+=@:~- "
                "only, not empty, not starting with a dot: no '..' and no absolute paths)"
            )
    key = f"{kind}/{name}"
    if len(key) > MAX_KEY_LENGTH:
        raise ArtefactError(f"artefact key is {len(key)} characters long, more than {MAX_KEY_LENGTH}")
    return key


def safe_name(text: str) -> str:
    """``text`` (a run id, a date range) as one valid name segment: other characters become ``-``."""
    cleaned = re.sub(r"[^A-Za-z0-9._+=@:~-]+", "-", str(text)).lstrip(".-")[:200]
    return cleaned or "-"


def split_key(key: str) -> tuple[str, str]:
    """``(kind, name)`` of a key, checked as :func:`artefact_key` checks it."""
    if not isinstance(key, str) or "/" not in key:
        raise ArtefactError(f"artefact key {key!r} must look like 'kind/name'")
    kind, name = key.split("/", 1)
    artefact_key(kind, name)
    return kind, name


def _check_payload(data: bytes, content_type: str, meta: Mapping[str, Any] | None, limit: int) -> dict[str, Any]:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ArtefactError(f"artefact data must be bytes, not {type(data).__name__}")
    if len(data) > limit:
        raise ArtefactError(f"artefact is {len(data):,} bytes, more than the limit of {limit:,} "
                            "(HRBRIDGE_ARTEFACT_MAX_BYTES)")
    if not content_type or len(content_type) > 200:
        raise ArtefactError("artefact content type must be given, at most 200 characters")
    meta = dict(meta or {})
    try:
        encoded = json.dumps(meta, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ArtefactError(f"artefact meta is not JSON: {exc}") from exc
    if len(encoded) > MAX_META_BYTES:
        raise ArtefactError(f"artefact meta is {len(encoded):,} bytes of JSON, more than {MAX_META_BYTES:,}")
    return json.loads(encoded)


def _checked(info: ArtefactInfo, data: bytes, where: str) -> Artefact:
    if hashlib.sha256(data).hexdigest() != info.sha256:
        raise ArtefactError(f"artefact {info.key} in {where} does not match its SHA-256: it was altered or "
                            "cut short; write it again")
    return Artefact(info.key, info.content_type, info.size, info.sha256, info.created_at, info.meta, bytes(data))


class ArtefactStore(Protocol):
    """Where artefacts live; every backend offers these calls."""

    def put(self, kind: str, name: str, data: bytes, content_type: str,
            meta: Mapping[str, Any] | None = None) -> str:
        """Store (or replace) ``kind/name`` and return its key."""

    def get(self, key: str) -> Artefact:
        """The artefact at ``key``; :class:`ArtefactNotFound` when there is none."""

    def list(self, kind: str, prefix: str = "") -> builtins.list[ArtefactInfo]:
        """Artefacts of ``kind`` whose name starts with ``prefix``, by key."""

    def exists(self, key: str) -> bool:
        """True when ``key`` is stored."""

    def delete(self, key: str) -> bool:
        """Remove ``key``; True when something was removed."""

    def kinds(self) -> builtins.list[str]:
        """Every kind with an artefact stored, sorted (retention walks them all to erase a person)."""


class DatabaseArtefactStore:
    """Artefacts as rows of the hub's ``artefacts`` table (the default backend)."""

    def __init__(self, engine: Engine, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.engine = engine
        self.max_bytes = max_bytes

    def __repr__(self) -> str:
        return f"the hub database ({self.engine.url.render_as_string(hide_password=True)})"

    def put(self, kind: str, name: str, data: bytes, content_type: str,
            meta: Mapping[str, Any] | None = None) -> str:
        """Store (or replace) ``kind/name`` in one transaction and return its key."""
        from connectors.sql import upsert
        from hrbridge.store.artefacts import artefacts

        key = artefact_key(kind, name)
        meta = _check_payload(data, content_type, meta, self.max_bytes)
        row = {"key": key, "kind": kind, "name": name, "content_type": content_type, "size": len(data),
               "sha256": hashlib.sha256(data).hexdigest(), "meta": meta, "data": bytes(data),
               "created_at": datetime.now(UTC)}
        with self.engine.begin() as conn:
            upsert(conn, artefacts, [row], key=["key"])
        return key

    def get(self, key: str) -> Artefact:
        """The artefact at ``key``, checked against its SHA-256."""
        from hrbridge.store.artefacts import artefacts

        split_key(key)
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(artefacts).where(artefacts.c.key == key)).mappings().first()
        if row is None:
            raise ArtefactNotFound(f"no artefact {key} in {self!r}")
        return _checked(self._info(row), bytes(row["data"]), repr(self))

    def list(self, kind: str, prefix: str = "") -> builtins.list[ArtefactInfo]:
        """Artefacts of ``kind`` whose name starts with ``prefix``, by key (bytes not read)."""
        from hrbridge.store.artefacts import artefacts

        artefact_key(kind, "x")
        columns = [c for c in artefacts.c if c.name != "data"]
        query = sa.select(*columns).where(artefacts.c.kind == kind).order_by(artefacts.c.key)
        if prefix:
            query = query.where(artefacts.c.key.startswith(f"{kind}/{prefix}", autoescape=True))
        with self.engine.connect() as conn:
            return [self._info(row) for row in conn.execute(query).mappings()]

    def exists(self, key: str) -> bool:
        """True when ``key`` is stored."""
        from hrbridge.store.artefacts import artefacts

        split_key(key)
        with self.engine.connect() as conn:
            return conn.execute(sa.select(artefacts.c.key).where(artefacts.c.key == key)).first() is not None

    def delete(self, key: str) -> bool:
        """Remove ``key``; True when a row was removed."""
        from hrbridge.store.artefacts import artefacts

        split_key(key)
        with self.engine.begin() as conn:
            return bool(conn.execute(artefacts.delete().where(artefacts.c.key == key)).rowcount)

    def kinds(self) -> builtins.list[str]:
        """Every kind with an artefact stored, sorted."""
        from hrbridge.store.artefacts import artefacts

        if not sa.inspect(self.engine).has_table(artefacts.name):
            return []  # a hub not migrated yet holds no artefact (read-only: nothing is created)
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(artefacts.c.kind).distinct().order_by(artefacts.c.kind)).scalars())

    @staticmethod
    def _info(row: Mapping[str, Any]) -> ArtefactInfo:
        return ArtefactInfo(row["key"], row["content_type"], int(row["size"]), row["sha256"], row["created_at"],
                            dict(row["meta"] or {}))


class ObjectArtefactStore:
    """Artefacts in an object store (S3, GCS, Azure, a local folder) through Airflow's ObjectStoragePath."""

    def __init__(self, base: Any, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.base = base
        self.max_bytes = max_bytes
        self.local = getattr(base, "protocol", "") in ("file", "local", "")

    def __repr__(self) -> str:
        return f"the object store at {self.base}"

    def _data_path(self, key: str) -> Any:
        return self.base.joinpath("data", *key.split("/"))

    def _meta_path(self, key: str) -> Any:
        kind, name = key.split("/", 1)
        return self.base.joinpath("meta", kind, *f"{name}.json".split("/"))

    def _write(self, path: Any, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.local:  # a local folder is state like HRBRIDGE_HOME: owner-only whatever the umask
            _write_owner_only(Path(path.path), data, Path(self.base.path))
        else:
            path.write_bytes(data)

    def put(self, kind: str, name: str, data: bytes, content_type: str,
            meta: Mapping[str, Any] | None = None) -> str:
        """Write the bytes, then their description (a reader sees the artefact once both are there)."""
        key = artefact_key(kind, name)
        meta = _check_payload(data, content_type, meta, self.max_bytes)
        description = {"key": key, "content_type": content_type, "size": len(data),
                       "sha256": hashlib.sha256(data).hexdigest(), "meta": meta,
                       "created_at": datetime.now(UTC).isoformat()}
        self._write(self._data_path(key), bytes(data))
        self._write(self._meta_path(key), json.dumps(description, sort_keys=True).encode("utf-8"))
        return key

    def _describe(self, path: Any) -> ArtefactInfo:
        raw = path.read_bytes()
        if len(raw) > MAX_META_BYTES * 2:
            raise ArtefactError(f"artefact description {path} is larger than {MAX_META_BYTES * 2:,} bytes")
        doc = json.loads(raw)
        return ArtefactInfo(doc["key"], doc["content_type"], int(doc["size"]), doc["sha256"],
                            datetime.fromisoformat(doc["created_at"]), dict(doc.get("meta") or {}))

    def get(self, key: str) -> Artefact:
        """The artefact at ``key``, checked against its size bound and SHA-256."""
        split_key(key)
        meta_path = self._meta_path(key)
        if not meta_path.exists():
            raise ArtefactNotFound(f"no artefact {key} in {self!r}")
        info = self._describe(meta_path)
        if info.size > self.max_bytes:
            raise ArtefactError(f"artefact {key} is {info.size:,} bytes, more than the limit of {self.max_bytes:,}")
        with self._data_path(key).open("rb") as handle:
            data = handle.read(info.size + 1)
        return _checked(info, data, repr(self))

    def list(self, kind: str, prefix: str = "") -> builtins.list[ArtefactInfo]:
        """Artefacts of ``kind`` whose name starts with ``prefix``, by key."""
        artefact_key(kind, "x")
        folder = self.base.joinpath("meta", kind)
        if not folder.exists():
            return []
        infos = [self._describe(p) for p in folder.rglob("*.json") if p.is_file()]
        return sorted((i for i in infos if i.name.startswith(prefix)), key=lambda i: i.key)

    def kinds(self) -> builtins.list[str]:
        """Every kind with an artefact described under ``meta/``, sorted."""
        folder = self.base.joinpath("meta")
        if not folder.exists():
            return []
        return sorted(p.name for p in folder.iterdir() if p.is_dir() and _KIND.match(p.name))

    def exists(self, key: str) -> bool:
        """True when ``key``'s description is stored."""
        split_key(key)
        return bool(self._meta_path(key).exists())

    def delete(self, key: str) -> bool:
        """Remove the description, then the bytes; True when the artefact was there."""
        split_key(key)
        meta_path = self._meta_path(key)
        if not meta_path.exists():
            return False
        meta_path.unlink()
        data_path = self._data_path(key)
        if data_path.exists():
            data_path.unlink()
        return True


def _write_owner_only(path: Path, data: bytes, base: Path) -> None:
    """Write ``path`` (0600) through a temporary file and a rename; folders below ``base`` 0700."""
    folder = path.parent
    while folder != base and base in folder.parents:
        os.chmod(folder, 0o700)
        folder = folder.parent
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


def artefact_store(settings: Settings | None = None, engine: Engine | None = None) -> ArtefactStore:
    """The configured store: ``HRBRIDGE_ARTEFACT_URL`` when set, else the hub database (or ``engine``)."""
    settings = settings or load_settings()
    if settings.artefact_url:
        from airflow.sdk import ObjectStoragePath

        return ObjectArtefactStore(ObjectStoragePath(settings.artefact_url), settings.artefact_max_bytes)
    if engine is None:
        from hrbridge.store import hub_engine

        engine = hub_engine(settings)
    return DatabaseArtefactStore(engine, settings.artefact_max_bytes)


def write_out(store: ArtefactStore, keys: Iterable[str], out_dir: Path,
              rename: Callable[[str], str] | None = None) -> builtins.list[Path]:
    """Copy artefacts to files under ``out_dir`` (at their name, or ``rename(name)``); returns the paths.

    Names are checked keys, so nothing lands outside ``out_dir``.
    """
    out_dir = Path(out_dir)
    written = []
    for key in keys:
        artefact = store.get(key)
        relative = rename(artefact.name) if rename else artefact.name
        target = (out_dir / relative).resolve()
        if out_dir.resolve() not in target.parents:
            raise ArtefactError(f"artefact {key} would be written outside {out_dir}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(artefact.data)
        written.append(target)
    return written
