"""The hash chain of the deletion log: canonical form of an entry and its SHA-256 hash.

An entry's hash is SHA-256 over the UTF-8 bytes of its canonical text: the previous entry's hash
followed by every field of :data:`HASHED_FIELDS` in that order, joined by the ASCII unit separator
(0x1F), a NULL written as the record separator (0x1E), the sequence number in decimal. Text fields
may not contain either separator, so the form is unambiguous. It is cheap on both sides: the
writer joins strings, and the verifier lets the database concatenate the stored columns and only
runs ``hashlib`` per entry, which is what lets it stream a million entries in seconds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64

HASHED_FIELDS: tuple[str, ...] = (
    "seq", "run_id", "requested_by", "subject_hash", "categories", "stores", "counts_before",
    "counts_after", "legal_basis", "hold", "method", "requested_at", "due_at", "done_at",
)

SEPARATOR = "\x1f"
NULL_MARK = "\x1e"
_sha256 = hashlib.sha256


class EntryTextError(ValueError):
    """A text field of a log entry contains a reserved separator character."""


def canonical_text(prev_hash: str, values: Sequence[Any]) -> str:
    """The canonical text of an entry (see the module doc) from its values in field order."""
    nulls = 0
    parts = [prev_hash]
    for value in values:
        if value is None:
            nulls += 1
            parts.append(NULL_MARK)
        else:
            parts.append(value if value.__class__ is str else str(value))
    text = SEPARATOR.join(parts)
    # Two C-speed scans instead of one per field: any separator inside a field shows up as extra.
    if text.count(SEPARATOR) != len(values) or text.count(NULL_MARK) != nulls:
        bad = [v for v in values if isinstance(v, str) and (SEPARATOR in v or NULL_MARK in v)]
        raise EntryTextError(f"deletion-log field contains a reserved control character: {bad[:1]!r}")
    return text


def entry_hash(prev_hash: str, values: Sequence[Any]) -> str:
    """Hash of one entry given the previous hash and its values in :data:`HASHED_FIELDS` order."""
    return _sha256(canonical_text(prev_hash, values).encode("utf-8")).hexdigest()


def text_hash(canonical: str) -> str:
    """SHA-256 (hex) of an already built canonical text."""
    return _sha256(canonical.encode("utf-8")).hexdigest()


def utc_text(moment: datetime | None) -> str | None:
    """A timestamp as stored in the log: ISO-8601 UTC with microseconds and a ``Z``."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_COUNTS_CACHE: dict[tuple[tuple[str, int], ...], str] = {}


def compact_json(value: Any) -> str:
    """Sorted, compact JSON for the structured fields (counts) so equal data hashes equally."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def counts_text(counts: dict[str, int] | str) -> str:
    """The stored form of a store → count map (memoised: a purge repeats the same few maps)."""
    if isinstance(counts, str):
        return counts
    key = tuple(counts.items())
    text = _COUNTS_CACHE.get(key)
    if text is None:
        text = compact_json(counts)
        if len(_COUNTS_CACHE) < 4096:
            _COUNTS_CACHE[key] = text
    return text


@dataclass(slots=True)
class LogEntry:
    """One deletion, anonymisation, key shred, external request, or a skip because of a hold.

    ``categories`` and ``stores`` are lists (or their comma-joined text); ``counts_before`` and
    ``counts_after`` map store to the number of matching records before and after the action (or
    are that map's compact JSON). ``done_at`` None means "when the batch is written".
    """

    requested_by: str
    subject_hash: str
    categories: Sequence[str] | str
    stores: Sequence[str] | str
    legal_basis: str
    method: str
    counts_before: dict[str, int] | str = field(default_factory=dict)
    counts_after: dict[str, int] | str = field(default_factory=dict)
    hold: str | None = None
    requested_at: datetime | None = None
    due_at: datetime | None = None
    done_at: datetime | None = None

    def template_key(self) -> tuple[Any, ...] | None:
        """Every field but the subject, when all are hashable (texts): entries that share it share a template."""
        key = (self.requested_by, self.categories, self.stores, self.counts_before, self.counts_after,
               self.legal_basis, self.hold, self.method, self.requested_at, self.due_at, self.done_at)
        for part in key[1:5]:
            if part.__class__ is not str:
                return None
        return key

    def values(self, seq: int, run_id: str, done_default: str) -> list[Any]:
        """The entry's values in :data:`HASHED_FIELDS` order, as they are stored."""
        categories, stores = self.categories, self.stores
        return [
            seq, run_id, self.requested_by, self.subject_hash,
            categories if categories.__class__ is str else ",".join(categories),
            stores if stores.__class__ is str else ",".join(stores),
            counts_text(self.counts_before), counts_text(self.counts_after),
            self.legal_basis, self.hold, self.method,
            None if self.requested_at is None else utc_text(self.requested_at),
            None if self.due_at is None else utc_text(self.due_at),
            done_default if self.done_at is None else utc_text(self.done_at),
        ]
