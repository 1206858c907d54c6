"""The artefact store as a retention store: reports that name a person are deleted whole.

Reports, exports and Data Docs pages live in the installation's artefact store
(:mod:`hrbridge.artefacts`): the hub's ``artefacts`` table by default, an object store with
``HRBRIDGE_ARTEFACT_URL``. Retention reaches both through the store's own interface (``kinds``,
``list``, ``get``, ``delete``), declared once in the configuration as ``store: artefacts``.
An artefact belongs to a person when its bytes name them as a whole word: their id, or one of
their ``subject_via`` keys (application ids), ids of 3 characters or more.

An object store has no transaction: deletions here are done before the hub transaction that logs
them (like a store in the archive database). A run that stops in between deletes nothing twice;
the rerun finds nothing left for that person and logs what it finds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from governance.retention.config import RetentionConfigError
from governance.retention.stores import KeyRange, MissingTableError, Subjects, people_named

_CHUNK = 5_000


class ArtefactBackend(Protocol):
    """What retention uses of an artefact store (:class:`hrbridge.artefacts.ArtefactStore`)."""

    def kinds(self) -> list[str]:
        """Every kind with an artefact stored."""
        ...

    def list(self, kind: str, prefix: str = "") -> list[Any]:
        """Descriptions (with ``key``) of the artefacts of ``kind``."""
        ...

    def get(self, key: str) -> Any:
        """The artefact at ``key`` (with ``data``)."""
        ...

    def delete(self, key: str) -> bool:
        """Remove ``key``; True when something was removed."""
        ...


class ArtefactStoreTable:
    """An artefact store offering the statements retention asks of a table (delete and count only)."""

    # Deletes outside the hub transaction: run before the hub's stores, like another database.
    outside_transaction = True

    def __init__(self, backend: ArtefactBackend, hub: Engine, *, label: str,
                 subject_via: tuple[str, str, str] | None = None) -> None:
        self.backend = backend
        self.engine = hub  # where subject_via is read
        self.label = label
        self.via: tuple[sa.Column[Any], sa.Column[Any]] | None = None
        if subject_via is not None:
            table_name, key, person = subject_via
            try:
                via = sa.Table(table_name, sa.MetaData(), autoload_with=hub)
            except sa.exc.NoSuchTableError as exc:
                raise MissingTableError(f"{label}: table {table_name!r} (subject_via) does not exist") from exc
            if key not in via.c or person not in via.c:
                raise RetentionConfigError(f"{label}: table {table_name!r} has no column {key!r} or {person!r}")
            self.via = (via.c[key], via.c[person])

    def __repr__(self) -> str:
        return f"ArtefactStoreTable({self.backend!r})"

    def conditions(self, cutoff: Any = None, anonymise: bool = False) -> list[sa.ColumnElement[bool]]:
        """No row filter: every artefact is in scope (matched by content)."""
        if anonymise:
            raise RetentionConfigError(f"{self.label}: an artefact store can only be deleted from")
        return []

    def coerce(self, subjects: Sequence[Any]) -> list[str]:
        """Subject ids as text."""
        return [str(s) for s in subjects]

    def _refuse_range(self) -> RetentionConfigError:
        return RetentionConfigError(f"{self.label}: an artefact store cannot expire on its own timestamp; "
                                    "use it with a clock policy or requests")

    def next_subjects(self, *_: Any) -> list[Any]:
        """Not a selector: refused with the configuration error."""
        raise self._refuse_range()

    def next_clock_subjects(self, *_: Any) -> list[Any]:
        """Not a clock: refused with the configuration error."""
        raise self._refuse_range()

    def _needles(self, conn: Connection, subjects: Sequence[str]) -> dict[str, str]:
        needles = {s: s for s in subjects}
        if self.via is not None:
            key, person = self.via
            for start in range(0, len(subjects), _CHUNK):
                chunk = list(subjects[start:start + _CHUNK])
                for row_key, subject in conn.execute(sa.select(key, person).where(person.in_(chunk))):
                    needles[str(row_key)] = str(subject)
        return {n: who for n, who in needles.items() if len(n) >= 3}

    def _matches(self, conn: Connection, subjects: Subjects) -> dict[str, set[str]]:
        """Artefact key → the people its bytes name (one read of every artefact per batch)."""
        if isinstance(subjects, KeyRange):
            raise self._refuse_range()
        needles = self._needles(conn, self.coerce(subjects))
        if not needles:
            return {}
        found: dict[str, set[str]] = {}
        for kind in self.backend.kinds():
            for info in self.backend.list(kind):
                people = people_named(self.backend.get(info.key).data, needles)
                if people:
                    found[info.key] = people
        return found

    def counts(self, conn: Connection, subjects: Subjects, clauses: Any = None) -> dict[str, int]:
        """Artefacts naming each subject (an artefact naming several people counts for each)."""
        return _per_person(self._matches(conn, subjects))

    def remaining(self, conn: Connection, subjects: Subjects, clauses: Any = None) -> int:
        """How many artefacts still name any of ``subjects``."""
        return len(self._matches(conn, subjects))

    def delete(self, conn: Connection, subjects: Subjects, clauses: Any = None) -> dict[str, int]:
        """Delete every artefact naming one of ``subjects``; artefacts deleted per subject."""
        matched = self._matches(conn, subjects)
        for key in matched:
            self.backend.delete(key)
        return _per_person(matched)

    def anonymise(self, *_: Any) -> dict[str, int]:
        """Refused: an artefact naming a person is deleted whole."""
        raise RetentionConfigError(f"{self.label}: an artefact store can only be deleted from")


def _per_person(matched: dict[str, set[str]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for people in matched.values():
        for who in people:
            out[who] = out.get(who, 0) + 1
    return out
