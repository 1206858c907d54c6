"""Set-based SQL on the tables a retention policy names, whatever their schema.

A :class:`BoundTable` reflects a configured table, checks that the configured columns exist, and
offers the few statements retention needs, all parameterised and set-based: the next batch of
subjects after a keyset cursor, record counts per subject, and DELETE / UPDATE-to-NULL over a
batch of subjects (``= ANY(array)`` on Postgres, ``IN (...)`` elsewhere).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Engine

from governance.retention.config import RetentionConfigError, RowFilter

_SQLITE_CHUNK = 5_000
_WORD = re.compile(rb"[A-Za-z0-9_\-]+|[^\x00-\x7f]+")  # ids as words: letters, digits, _ and -


@dataclass(frozen=True)
class KeyRange:
    """Subjects ``after < subject <= last`` minus ``excluded``: a batch of a row-level walk.

    A range scan on the subject index is far cheaper than probing the index once per subject.
    """

    after: Any
    last: Any
    excluded: tuple[Any, ...] = ()


Subjects = Sequence[Any] | KeyRange


class MissingTableError(RetentionConfigError):
    """A configured table does not exist (yet) in its database."""


class BoundTable:
    """A configured table reflected from its database, with retention's statements."""

    def __init__(self, engine: Engine, table: str, subject_column: str, *, label: str,
                 timestamp_column: str | None = None, columns: Sequence[str] = (),
                 blank_values: Sequence[tuple[str, Any]] = (),
                 row_filter: RowFilter | None = None, exclude: RowFilter | None = None,
                 subject_key: str | None = None, subject_via: tuple[str, str, str] | None = None,
                 subject_match: str | None = None) -> None:
        self.engine = engine
        self.label = label
        try:
            self.table = sa.Table(table, sa.MetaData(), autoload_with=engine)
        except sa.exc.NoSuchTableError as exc:
            raise MissingTableError(f"{label}: table {table!r} does not exist") from exc
        wanted = [subject_column, *filter(None, [timestamp_column]), *columns]
        wanted += [f.column for f in (row_filter, exclude) if f]
        missing = [c for c in wanted if c not in self.table.c]
        if missing:
            raise RetentionConfigError(f"{label}: table {table!r} has no column(s) {missing}")
        self.subject: Any = self.table.c[subject_column]
        if subject_key is not None:
            # The person is a key of a JSON column (payload ->> 'candidate_id' / json_extract): the
            # same statements work on the expression; no index, so keep such tables small by policy.
            self.subject = sa.type_coerce(self.subject, sa.JSON)[subject_key].as_string()
        self.timestamp = self.table.c[timestamp_column] if timestamp_column else None
        self.columns = [self.table.c[c] for c in columns]
        self.blank = {name: value for name, value in blank_values} or {c: None for c in columns}
        self.row_filter = row_filter
        self.exclude = exclude
        self._int_subject = subject_key is None and subject_via is None and _python_type(self.subject) is int
        self.via: tuple[sa.Column[Any], sa.Column[Any]] | None = None
        self._back: dict[str, str] = {}
        if subject_via is not None:
            # Rows keyed by another id (application_id): people are translated to those ids through
            # ``subject_via`` before each statement, and the results back to people.
            table_name, key, person = subject_via
            try:
                via = sa.Table(table_name, sa.MetaData(), autoload_with=engine)
            except sa.exc.NoSuchTableError as exc:
                raise MissingTableError(f"{label}: table {table_name!r} (subject_via) does not exist") from exc
            if key not in via.c or person not in via.c:
                raise RetentionConfigError(f"{label}: table {table_name!r} has no column {key!r} or {person!r}")
            self.via = (via.c[key], via.c[person])
        self.contains = subject_match == "contains"
        if self.contains:
            primary = list(self.table.primary_key.columns)
            if len(primary) != 1:
                raise RetentionConfigError(f"{label}: subject_match needs a table with a one-column primary key")
            self.row_key = primary[0]

    def _clause(self, row_filter: RowFilter) -> sa.ColumnElement[bool]:
        column = self.table.c[row_filter.column]
        if row_filter.op == "in":
            return column.in_(list(row_filter.value))
        if row_filter.op == "not_in":
            return sa.or_(column.is_(None), column.not_in(list(row_filter.value)))
        if row_filter.op == "equals":
            return column == row_filter.value
        return column.is_(None) if row_filter.value else column.is_not(None)

    def _cutoff(self, cutoff: datetime) -> Any:
        if self.timestamp is not None and _python_type(self.timestamp) is str:
            return cutoff.isoformat()
        if self.engine.dialect.name != "postgresql":
            return cutoff.astimezone(UTC).replace(tzinfo=None) if cutoff.tzinfo else cutoff
        return cutoff

    def conditions(self, cutoff: datetime | None = None, anonymise: bool = False) -> list[sa.ColumnElement[bool]]:
        """Rows in scope: the store filter, older than ``cutoff``, and (anonymise) not yet blanked."""
        clauses: list[sa.ColumnElement[bool]] = [self.subject.is_not(None)]
        if self.row_filter:
            clauses.append(self._clause(self.row_filter))
        if cutoff is not None and self.timestamp is not None:
            clauses.append(self.timestamp < self._cutoff(cutoff))
        if anonymise and self.columns:
            clauses.append(sa.or_(*[self._not_blank(c) for c in self.columns]))
        return clauses

    def _not_blank(self, column: sa.Column[Any]) -> sa.ColumnElement[bool]:
        value = self.blank.get(column.name)
        if value is None:
            return column.is_not(None)
        blank_text = sa.cast(sa.literal(value, column.type), sa.Text)
        return sa.and_(column.is_not(None), sa.cast(column, sa.Text) != blank_text)

    def coerce(self, subjects: Sequence[Any]) -> list[Any]:
        """Subject ids in the column's Python type (requests arrive as text)."""
        if not self._int_subject:
            return [s if isinstance(s, str) else str(s) for s in subjects]
        out = []
        for subject in subjects:
            try:
                out.append(int(subject))
            except (TypeError, ValueError):
                continue
        return out

    def _subject_in(self, conn: Connection, subjects: Sequence[Any]) -> sa.ColumnElement[bool]:
        if conn.dialect.name == "postgresql":
            array = sa.bindparam("subjects", list(subjects), type_=postgresql.ARRAY(self.subject.type))
            return self.subject == sa.any_(array)
        return self.subject.in_(list(subjects))

    def _through(self, conn: Connection, subjects: Sequence[Any]) -> list[Any]:
        """The row keys of ``subjects`` in a ``subject_via`` store (remembered to translate results back)."""
        assert self.via is not None
        key, person = self.via
        self._back = {}
        for start in range(0, len(subjects), _SQLITE_CHUNK):
            chunk = [str(s) for s in subjects[start:start + _SQLITE_CHUNK]]
            for row_key, subject in conn.execute(sa.select(key, person).where(person.in_(chunk))):
                self._back[str(row_key)] = str(subject)
        return list(self._back)

    def person(self, key: Any) -> str:
        """The person a result row key stands for (the key itself unless the store uses ``subject_via``)."""
        text = key if isinstance(key, str) else str(key)
        return self._back.get(text, text) if self.via is not None else text

    def _needles(self, conn: Connection, subjects: Sequence[Any]) -> dict[str, str]:
        """What names each person inside a ``contains`` store: their id and their ``subject_via`` keys."""
        needles = {str(s): str(s) for s in subjects}
        if self.via is not None:
            key, person = self.via
            for start in range(0, len(subjects), _SQLITE_CHUNK):
                chunk = [str(s) for s in subjects[start:start + _SQLITE_CHUNK]]
                for row_key, subject in conn.execute(sa.select(key, person).where(person.in_(chunk))):
                    needles[str(row_key)] = str(subject)
        return needles

    def _matches(self, conn: Connection, subjects: Subjects,
                 clauses: list[sa.ColumnElement[bool]]) -> dict[Any, set[str]]:
        """Row key → the people a ``contains`` store's rows name, as whole words (ids of 3+ characters).

        One streamed pass over the table per batch: each row's words are collected once and
        intersected with the batch's ids, so the cost does not grow with the number of people.
        """
        if isinstance(subjects, KeyRange):
            raise RetentionConfigError(f"{self.label}: a store matched by content cannot expire on its own "
                                       "timestamp; use it with a clock policy or requests")
        needles = {n: who for n, who in self._needles(conn, self.coerce(subjects)).items() if len(n) >= 3}
        if not needles:
            return {}
        found: dict[Any, set[str]] = {}
        query = sa.select(self.row_key, self.subject).where(*clauses).execution_options(yield_per=20)
        for row_key, value in conn.execute(query):
            people = people_named(value, needles)
            if people:
                found[row_key] = people
        return found

    def _scopes(self, conn: Connection, subjects: Subjects) -> list[sa.ColumnElement[bool]]:
        """One WHERE clause per statement to run: a key range, or the subject list in chunks."""
        if self.via is not None:
            if isinstance(subjects, KeyRange):
                raise RetentionConfigError(f"{self.label}: a store found through subject_via cannot expire on its "
                                           "own timestamp; use it with a clock policy or requests")
            keys = self._through(conn, self.coerce(subjects))
            return [self.subject.in_(keys[i:i + _SQLITE_CHUNK]) for i in range(0, len(keys), _SQLITE_CHUNK)]
        if isinstance(subjects, KeyRange):
            clauses = [self.subject <= subjects.last]
            if subjects.after is not None:
                clauses.append(self.subject > subjects.after)
            excluded = self.coerce(subjects.excluded)
            if excluded:
                clauses.append(self.subject.not_in(excluded))
            return [sa.and_(*clauses)]
        return [self._subject_in(conn, chunk) for chunk in self._chunks(conn, self.coerce(subjects)) if chunk]

    def _chunks(self, conn: Connection, subjects: Sequence[Any]) -> list[Sequence[Any]]:
        if conn.dialect.name == "postgresql":
            return [subjects]
        return [subjects[i:i + _SQLITE_CHUNK] for i in range(0, len(subjects), _SQLITE_CHUNK)]

    def next_subjects(self, conn: Connection, after: Any, limit: int,
                      clauses: list[sa.ColumnElement[bool]]) -> list[Any]:
        """The next ``limit`` distinct subjects with rows in scope, in subject order after ``after``."""
        query = sa.select(self.subject).where(*clauses).distinct().order_by(self.subject).limit(limit)
        if after is not None:
            query = query.where(self.subject > after)
        return list(conn.execute(query).scalars().all())

    def next_clock_subjects(self, conn: Connection, after: Any, limit: int, cutoff: datetime) -> list[Any]:
        """Subjects whose latest clock row is older than ``cutoff`` and who match no ``exclude`` row."""
        clauses = [self.subject.is_not(None)]
        if self.row_filter:
            clauses.append(self._clause(self.row_filter))
        if after is not None:
            clauses.append(self.subject > after)
        if self.exclude:
            excluded = sa.select(self.subject).where(self._clause(self.exclude), self.subject.is_not(None))
            clauses.append(self.subject.not_in(excluded))
        assert self.timestamp is not None
        query = (
            sa.select(self.subject).where(*clauses).group_by(self.subject)
            .having(sa.func.max(self.timestamp) < self._cutoff(cutoff))
            .order_by(self.subject).limit(limit)
        )
        return [row[0] for row in conn.execute(query)]

    def counts(self, conn: Connection, subjects: Subjects,
               clauses: list[sa.ColumnElement[bool]]) -> dict[str, int]:
        """Records in scope per subject (keys as text), for the subjects given."""
        out: dict[str, int] = {}
        if self.contains:
            for people in self._matches(conn, subjects, clauses).values():
                for who in people:
                    out[who] = out.get(who, 0) + 1
            return out
        for scope in self._scopes(conn, subjects):
            query = sa.select(self.subject, sa.func.count()).where(scope, *clauses).group_by(self.subject)
            for subject, count in conn.execute(query):
                who = self.person(subject)
                out[who] = out.get(who, 0) + int(count)
        return out

    def remaining(self, conn: Connection, subjects: Subjects, clauses: list[sa.ColumnElement[bool]]) -> int:
        """How many in-scope rows of ``subjects`` exist (one number: the cheap after-check)."""
        if self.contains:
            return len(self._matches(conn, subjects, clauses))
        total = 0
        for scope in self._scopes(conn, subjects):
            query = sa.select(sa.func.count()).select_from(self.table).where(scope, *clauses)
            total += int(conn.execute(query).scalar_one())
        return total

    def delete(self, conn: Connection, subjects: Subjects,
               clauses: list[sa.ColumnElement[bool]]) -> dict[str, int]:
        """Delete the in-scope rows of ``subjects``; returns rows deleted per subject (RETURNING)."""
        out: dict[str, int] = {}
        if self.contains:  # a row naming several people is deleted once and counted for each
            matched = self._matches(conn, subjects, clauses)
            keys = list(matched)
            for start in range(0, len(keys), _SQLITE_CHUNK):
                conn.execute(self.table.delete().where(self.row_key.in_(keys[start:start + _SQLITE_CHUNK])))
            for people in matched.values():
                for who in people:
                    out[who] = out.get(who, 0) + 1
            return out
        for scope in self._scopes(conn, subjects):
            _tally(out, conn.execute(self.table.delete().where(scope, *clauses).returning(self.subject)), self.person)
        return out

    def anonymise(self, conn: Connection, subjects: Subjects,
                  clauses: list[sa.ColumnElement[bool]]) -> dict[str, int]:
        """Blank the configured columns of the in-scope rows of ``subjects``; returns rows per subject."""
        if self.contains:
            raise RetentionConfigError(f"{self.label}: a store matched by content can only be deleted")
        out: dict[str, int] = {}
        blank = dict(self.blank)
        for scope in self._scopes(conn, subjects):
            statement = self.table.update().where(scope, *clauses).values(**blank).returning(self.subject)
            _tally(out, conn.execute(statement), self.person)
        return out


def people_named(value: Any, needles: dict[str, str]) -> set[str]:
    """The people whose ids (``needles``: id → person) occur in ``value`` (text or bytes) as whole words."""
    data = bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode("utf-8", "replace")
    words = {w.decode("utf-8", "replace") for w in _WORD.findall(data)}
    return {needles[w] for w in words & needles.keys()}


def _tally(out: dict[str, int], rows: Any, person: Any) -> None:
    # One fetch and a C-level count: a purge tallies every deleted row here.
    for subject, n in Counter(rows.scalars().all()).items():
        key = person(subject)
        out[key] = out.get(key, 0) + n


def _python_type(column: sa.Column[Any]) -> type | None:
    try:
        return column.type.python_type
    except NotImplementedError:
        return None
