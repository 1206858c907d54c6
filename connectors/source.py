"""One connector model: a source system declares its streams once; each stream owns its incremental state.

Shaped like the Singer SDK's streams and dlt's ``incremental``:

* :class:`Stream` is the declaration, data only: the one ``name`` the stream has everywhere
  (mapping, cursor, quarantine, counts: ``candidates``, ``applications``, ``requisitions``,
  ``resumes``), where it lives at the source (``path``: an OData entity set, a REST endpoint, a
  BAPI), its ``primary_key``, its ``replication_key`` (cursor field; None reads the whole stream
  every run), the canonical ``entity`` it fills and an optional ``schema``.
* :class:`SourceSystem` is what every connector implements: ``name``, ``streams``, and three
  small hooks — ``read_pages(stream, since, fields)``, ``read_keys(stream)``,
  ``upsert(entity, records, key_field)`` (the write-back target, per-record results).
* :class:`SourceStream` binds a declared stream to a :class:`StateStore`: it computes where a
  delta starts (persisted cursor minus the look-back), observes the replication key of every
  record read, persists the new position only when the caller says the pages were loaded
  (:meth:`SourceStream.commit`), and lists the keys the source holds now for deleted-record
  detection. Pipelines never see a wire protocol.
* :class:`SourceKeys` qualifies keys when several sources feed one hub (``greenhouse:4711``) and
  takes the qualifier off again for write-back.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

# canonical stream name -> canonical entity (transforms/canonical.py); the order is the read order:
# requisitions first (job family), resumes last (signals for question plans)
CANONICAL_STREAMS: dict[str, str] = {
    "requisitions": "requisition", "candidates": "candidate", "applications": "application", "resumes": "resume",
}
# canonical fields that hold a hub key of some stream (qualified together when sources share a hub)
KEY_FIELDS = ("candidate_id", "application_id", "requisition_id", "resume_id")


@dataclass(frozen=True)
class Stream:
    """A stream declared once: name, path at the source, keys, cursor, canonical entity, schema.

    ``params`` carries fixed, source-specific request details (an OData filter, a BAPI's constant
    parameters, a REST query) so behaviour stays in the connector's hooks, not in the declaration.
    """

    name: str
    path: str
    primary_key: str
    replication_key: str | None
    entity: str
    schema: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def incremental(self) -> bool:
        """True when the source can answer "changed since" for this stream."""
        return self.replication_key is not None


@dataclass
class WriteBackResult:
    """Outcome per record of a write-back: keys written and (key, the source's message) of those that failed."""

    ok: list[Any] = field(default_factory=list)
    failed: list[tuple[Any, str]] = field(default_factory=list)

    @property
    def all_ok(self) -> bool:
        """True only when every record was written."""
        return not self.failed


@runtime_checkable
class SourceSystem(Protocol):
    """What every HR source implements (SuccessFactors, SAP HCM, Greenhouse, a YAML REST source)."""

    name: str
    streams: Mapping[str, Stream]

    def read_pages(
        self, stream: str, since: datetime | None = None, fields: list[str] | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Pages of source records of ``stream`` changed after ``since`` (every record when None)."""

    def read_keys(self, stream: str) -> set[Any]:
        """Every primary key ``stream`` holds now (what deleted-record detection compares with)."""

    def upsert(self, entity: str, records: list[dict[str, Any]], key_field: str) -> WriteBackResult:
        """Write ``records`` (each carrying ``key_field``) to ``entity``; a status per record."""


class StateStore(Protocol):
    """Where a stream's position persists between runs (the hub's ``sync_cursors`` in production)."""

    def get(self, key: str) -> datetime | None:
        """The stored position of ``key`` (None: never read)."""

    def put(self, key: str, value: datetime, run_id: str) -> None:
        """Store ``value`` as the position of ``key``."""


class MemoryState:
    """A :class:`StateStore` in a dict (tests, conformance runs, dry runs)."""

    def __init__(self) -> None:
        self.values: dict[str, datetime] = {}

    def get(self, key: str) -> datetime | None:
        """The stored position of ``key``."""
        return self.values.get(key)

    def put(self, key: str, value: datetime, run_id: str) -> None:
        """Store ``value`` for ``key`` (``run_id`` is not kept)."""
        self.values[key] = value


@dataclass
class Incremental:
    """A stream's cursor for one run, as ``dlt.sources.incremental`` holds it.

    ``start_value`` is the persisted position, ``lookback`` the window re-read before it (late
    commits, clock skew; duplicates are removed by the loader's upsert on the primary key),
    ``last_value`` the highest replication-key value seen so far.

    >>> inc = Incremental("lastModified", datetime(2026, 1, 1, tzinfo=UTC), timedelta(minutes=15))
    >>> inc.since.isoformat()
    '2025-12-31T23:45:00+00:00'
    """

    cursor_field: str | None
    start_value: datetime | None
    lookback: timedelta = timedelta(minutes=15)
    last_value: datetime | None = None

    def __post_init__(self) -> None:
        if self.last_value is None:
            self.last_value = self.start_value

    @property
    def since(self) -> datetime | None:
        """Where the read starts: the persisted position minus the look-back (None: full read)."""
        if self.cursor_field is None or self.start_value is None:
            return None
        return self.start_value - self.lookback

    def observe(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Advance ``last_value`` to the newest replication-key value in ``records``."""
        if self.cursor_field is None:
            return
        for record in records:
            value = as_datetime(record.get(self.cursor_field))
            if value is not None and (self.last_value is None or value > self.last_value):
                self.last_value = value

    @property
    def advanced(self) -> bool:
        """True when the run saw a newer value than the persisted one."""
        return self.last_value is not None and self.last_value != self.start_value


def as_datetime(value: Any) -> datetime | None:
    """An aware datetime from a datetime or ISO 8601 text; None for anything else."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and len(value) >= 10:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


class SourceStream:
    """A declared stream of one source with its persisted position: changes, commit, current keys.

    >>> stream = SourceStream(source, "applications", state, lookback=timedelta(minutes=15))
    >>> for page in stream.changes(fields=["id", "status"]):
    ...     load(page)
    >>> stream.commit(run_id)          # only after the pages are safely loaded
    """

    def __init__(self, source: SourceSystem, name: str, state: StateStore, *,
                 lookback: timedelta = timedelta(minutes=15), state_key: str | None = None) -> None:
        if name not in source.streams:
            raise KeyError(f"source {source.name} declares no stream {name!r}; it has {sorted(source.streams)}")
        self.source = source
        self.declaration = source.streams[name]
        self.name = name
        self.state = state
        self.state_key = state_key or f"{source.name}:{name}"
        self.incremental = Incremental(self.declaration.replication_key, state.get(self.state_key), lookback)

    def changes(self, fields: list[str] | None = None) -> Iterator[list[dict[str, Any]]]:
        """Pages of records changed since the position minus the look-back (every record on a first run)."""
        for page in self.source.read_pages(self.name, since=self.incremental.since, fields=fields):
            self.incremental.observe(page)
            yield page

    def commit(self, run_id: str) -> datetime | None:
        """Persist the newest replication-key value seen (when it moved); returns the position."""
        if self.incremental.advanced and self.incremental.last_value is not None:
            self.state.put(self.state_key, self.incremental.last_value, run_id)
        return self.incremental.last_value

    def current_keys(self) -> set[str]:
        """Every primary key the source holds now, as text (deleted-record detection)."""
        return {str(key) for key in self.source.read_keys(self.name)}


@dataclass(frozen=True)
class SourceKeys:
    """Source-qualified hub keys: ``prefix`` + the source's key (an empty prefix keeps keys as they are).

    One hub can hold SuccessFactors records of one country and another ATS's elsewhere; each
    source's keys carry its prefix (``greenhouse:4711``), write-back strips it, and
    :meth:`owns` tells which hub records belong to which source. ``others`` are the prefixes of
    the other sources of the same hub, so a source with an empty prefix owns only keys none of
    them claims.
    """

    prefix: str = ""
    others: tuple[str, ...] = ()

    def qualify(self, value: Any) -> Any:
        """``value`` with this source's prefix (None stays None)."""
        return value if value is None or not self.prefix else f"{self.prefix}{value}"

    def qualify_row(self, row: dict[str, Any]) -> dict[str, Any]:
        """A canonical row with every key field (:data:`KEY_FIELDS`) qualified."""
        if not self.prefix:
            return row
        return {name: self.qualify(value) if name in KEY_FIELDS else value for name, value in row.items()}

    def local(self, key: str) -> str:
        """The source's own key of a hub key."""
        return key[len(self.prefix):] if self.prefix and key.startswith(self.prefix) else key

    def owns(self, key: str) -> bool:
        """True when hub key ``key`` came from this source."""
        if self.prefix:
            return key.startswith(self.prefix)
        return not any(key.startswith(other) for other in self.others if other)
