"""Retention policies as data: which category of data lives where, how long it is kept, what then.

The YAML (``configs/retention.yaml``) has four parts:

``stores``
    where each data category lives: ``{category, store: hub|archive, table, subject_column,
    timestamp_column, columns (anonymise only: a list blanked to NULL, or a mapping of column to
    the value it is blanked to, e.g. ``clips: []`` for a NOT NULL JSON column), filter,
    on_request: delete|anonymise|keep}``. ``{category, store: artefacts, subject_match: contains,
    subject_via}`` is the installation's artefact store, whichever backend it has (no table).
``external``
    other systems holding a category: ``{system, categories}``; they are asked to delete it.
``policies``
    ``{name, categories, retention_days, action: delete|anonymise|crypto-shred, legal_basis,
    clock}``. Without a ``clock`` each store row expires on its own ``timestamp_column``; with a
    ``clock`` (``{store, table, subject_column, timestamp_column, filter, exclude}``) a person's
    data in every store of the categories expires ``retention_days`` after the latest clock row.
``requests``
    deletion requests: ``{due_days, legal_basis, crypto_shred, external}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

ACTIONS = ("delete", "anonymise", "crypto-shred")
STORES = ("hub", "archive")
ARTEFACTS = "artefacts"  # the artefact store (hub table or object store), reached through its own interface
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_FILTER_OPS = ("in", "not_in", "equals", "is_null")


class RetentionConfigError(ValueError):
    """The retention configuration is invalid; the message names the file and the entry."""


@dataclass(frozen=True)
class RowFilter:
    """A declarative row condition: ``column`` with one of ``in``, ``not_in``, ``equals``, ``is_null``."""

    column: str
    op: str
    value: Any


@dataclass(frozen=True)
class StoreSpec:
    """One table holding a data category, keyed by the person it is about."""

    category: str
    store: str
    table: str
    subject_column: str
    timestamp_column: str | None = None
    columns: tuple[str, ...] = ()
    filter: RowFilter | None = None
    on_request: str = "delete"
    blank_values: tuple[tuple[str, Any], ...] = ()
    # The person is a key inside a JSON column (e.g. a webhook payload's candidate_id), not a column.
    subject_key: str | None = None
    # The person is found through another table: (table, its column equal to subject_column, its
    # person column), e.g. a write-back queue keyed by application_id, through applications.
    subject_via: tuple[str, str, str] | None = None
    # ``contains``: the person is named somewhere inside the column (a report's bytes): rows holding
    # the person's id, or one of their ``subject_via`` keys (application ids), belong to them.
    subject_match: str | None = None

    @property
    def key(self) -> str:
        """``store.table``; ``artefacts`` for the artefact store."""
        return ARTEFACTS if self.store == ARTEFACTS else f"{self.store}.{self.table}"


@dataclass(frozen=True)
class ClockSpec:
    """Where the retention clock of a person starts (e.g. the application decision)."""

    store: str
    table: str
    subject_column: str
    timestamp_column: str
    filter: RowFilter | None = None
    exclude: RowFilter | None = None


@dataclass(frozen=True)
class Policy:
    """How long data categories are kept and what happens after."""

    name: str
    categories: tuple[str, ...]
    retention_days: int
    action: str
    legal_basis: str
    clock: ClockSpec | None = None


@dataclass(frozen=True)
class RequestSettings:
    """How deletion requests are handled."""

    due_days: int = 15
    legal_basis: str = "PIPL Art. 47(1) / GDPR Art. 17(1): deletion requested by the person"
    crypto_shred: bool = True
    external: tuple[str, ...] = ()


@dataclass(frozen=True)
class RetentionConfig:
    """The parsed retention configuration."""

    stores: tuple[StoreSpec, ...]
    policies: tuple[Policy, ...]
    external: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    requests: RequestSettings = RequestSettings()
    batch_size: int = 10_000
    after_check: bool = False
    source: str = "retention.yaml"

    def stores_for(self, categories: tuple[str, ...]) -> list[StoreSpec]:
        """Stores holding any of ``categories``, in configuration order."""
        return [s for s in self.stores if s.category in categories]

    def systems_for(self, categories: tuple[str, ...]) -> list[str]:
        """External systems holding any of ``categories``."""
        return [system for system, cats in self.external.items() if set(cats) & set(categories)]


def _fail(source: str, where: str, message: str) -> RetentionConfigError:
    return RetentionConfigError(f"{source}: {where}: {message}")


def _identifier(source: str, where: str, value: Any, what: str) -> str:
    if not isinstance(value, str) or not _IDENTIFIER.match(value):
        raise _fail(source, where, f"{what} must be a plain SQL identifier, got {value!r}")
    return value


def _filter(source: str, where: str, raw: Any) -> RowFilter | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or "column" not in raw:
        raise _fail(source, where, "filter needs a column and one of " + ", ".join(_FILTER_OPS))
    ops = [op for op in _FILTER_OPS if op in raw]
    if len(ops) != 1 or len(raw) != 2:
        raise _fail(source, where, f"filter needs exactly one of {', '.join(_FILTER_OPS)}; got {sorted(raw)}")
    value = raw[ops[0]]
    if ops[0] in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            raise _fail(source, where, f"filter {ops[0]} needs a non-empty list")
        value = tuple(value)
    return RowFilter(_identifier(source, where, raw["column"], "filter column"), ops[0], value)


def _require(source: str, where: str, raw: Mapping[str, Any], key: str) -> Any:
    if key not in raw or raw[key] in (None, ""):
        raise _fail(source, where, f"missing {key!r}")
    return raw[key]


def _store(source: str, index: int, raw: Any) -> StoreSpec:
    where = f"stores[{index}]"
    if not isinstance(raw, Mapping):
        raise _fail(source, where, "must be a mapping")
    store = _require(source, where, raw, "store")
    if store == ARTEFACTS:
        return _artefact_store(source, index, raw)
    if store not in STORES:
        raise _fail(source, where, f"store must be one of {', '.join(STORES)}, {ARTEFACTS}, got {store!r}")
    on_request = raw.get("on_request", "delete")
    if on_request not in ("delete", "anonymise", "keep"):
        raise _fail(source, where, f"on_request must be delete, anonymise or keep, got {on_request!r}")
    raw_columns = raw.get("columns") or ()
    if isinstance(raw_columns, Mapping):
        blank = tuple((_identifier(source, where, c, "column"), v) for c, v in raw_columns.items())
    elif isinstance(raw_columns, list | tuple):
        blank = tuple((_identifier(source, where, c, "column"), None) for c in raw_columns)
    else:
        raise _fail(source, where, "columns must be a list of names or a mapping of name to blank value")
    columns = tuple(c for c, _ in blank)
    timestamp = raw.get("timestamp_column")
    subject_key = raw.get("subject_key")
    via = raw.get("subject_via")
    if via is not None:
        if not isinstance(via, Mapping) or set(via) != {"table", "column", "subject_column"}:
            raise _fail(source, where, "subject_via must be a mapping of table, column and subject_column")
        via = tuple(_identifier(source, where, via[k], f"subject_via.{k}") for k in ("table", "column", "subject_column"))
    match = raw.get("subject_match")
    if match not in (None, "contains"):
        raise _fail(source, where, f"subject_match must be contains, got {match!r}")
    return StoreSpec(
        category=str(_require(source, where, raw, "category")),
        store=store,
        table=_identifier(source, where, _require(source, where, raw, "table"), "table"),
        subject_column=_identifier(source, where, _require(source, where, raw, "subject_column"), "subject_column"),
        timestamp_column=_identifier(source, where, timestamp, "timestamp_column") if timestamp else None,
        columns=columns,
        blank_values=blank,
        filter=_filter(source, where, raw.get("filter")),
        on_request=on_request,
        subject_key=_identifier(source, where, subject_key, "subject_key") if subject_key else None,
        subject_via=via,
        subject_match=match,
    )


def _artefact_store(source: str, index: int, raw: Mapping[str, Any]) -> StoreSpec:
    """``store: artefacts``: reports matched by content, deleted whole (no table, no columns)."""
    where = f"stores[{index}]"
    extra = sorted(set(raw) - {"category", "store", "subject_match", "subject_via", "on_request"})
    if extra:
        raise _fail(source, where, f"the artefact store takes no {', '.join(extra)} (it is not a table)")
    if raw.get("subject_match") != "contains":
        raise _fail(source, where, "the artefact store needs subject_match: contains")
    if raw.get("on_request", "delete") not in ("delete", "keep"):
        raise _fail(source, where, "on_request of the artefact store must be delete or keep")
    spec = _store(source, index, {**raw, "store": "hub", "table": ARTEFACTS, "subject_column": "data"})
    return replace(spec, store=ARTEFACTS)


def _clock(source: str, where: str, raw: Any) -> ClockSpec | None:
    if raw is None:
        return None
    where = f"{where}.clock"
    if not isinstance(raw, Mapping):
        raise _fail(source, where, "must be a mapping")
    store = _require(source, where, raw, "store")
    if store not in STORES:
        raise _fail(source, where, f"store must be one of {', '.join(STORES)}, got {store!r}")
    return ClockSpec(
        store=store,
        table=_identifier(source, where, _require(source, where, raw, "table"), "table"),
        subject_column=_identifier(source, where, _require(source, where, raw, "subject_column"), "subject_column"),
        timestamp_column=_identifier(source, where, _require(source, where, raw, "timestamp_column"),
                                     "timestamp_column"),
        filter=_filter(source, where, raw.get("filter")),
        exclude=_filter(source, f"{where}.exclude", raw.get("exclude")),
    )


def _policy(source: str, index: int, raw: Any, stores: tuple[StoreSpec, ...]) -> Policy:
    where = f"policies[{index}]"
    if not isinstance(raw, Mapping):
        raise _fail(source, where, "must be a mapping")
    name = str(_require(source, where, raw, "name"))
    where = f"policies[{index}] ({name})"
    categories = raw.get("categories") or raw.get("category")
    categories = tuple([categories] if isinstance(categories, str) else categories or ())
    if not categories:
        raise _fail(source, where, "needs categories")
    known = {s.category for s in stores}
    unknown = [c for c in categories if c not in known]
    action = _require(source, where, raw, "action")
    if action not in ACTIONS:
        raise _fail(source, where, f"action must be one of {', '.join(ACTIONS)}, got {action!r}")
    if unknown and action != "crypto-shred":
        raise _fail(source, where, f"no store holds categor{'y' if len(unknown) == 1 else 'ies'} {unknown}")
    days = raw.get("retention_days")
    if not isinstance(days, int) or isinstance(days, bool) or days < 0:
        raise _fail(source, where, f"retention_days must be a whole number of days >= 0, got {days!r}")
    clock = _clock(source, where, raw.get("clock"))
    if clock is None:
        for spec in stores:
            if spec.category in categories and not spec.timestamp_column:
                raise _fail(source, where, f"store {spec.key} has no timestamp_column and the policy has no clock")
    if action == "anonymise":
        for spec in stores:
            if spec.category in categories and not spec.columns:
                raise _fail(source, where, f"anonymise needs columns on store {spec.key}")
    return Policy(name=name, categories=categories, retention_days=days, action=action,
                  legal_basis=str(_require(source, where, raw, "legal_basis")), clock=clock)


def parse_config(raw: Any, source: str = "retention.yaml") -> RetentionConfig:
    """Validate a parsed YAML document and return the typed configuration."""
    if not isinstance(raw, Mapping):
        raise RetentionConfigError(f"{source}: must be a mapping with stores and policies")
    stores = tuple(_store(source, i, s) for i, s in enumerate(raw.get("stores") or []))
    policies = tuple(_policy(source, i, p, stores) for i, p in enumerate(raw.get("policies") or []))
    names = [p.name for p in policies]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise RetentionConfigError(f"{source}: duplicate policy names {duplicates}")
    external: dict[str, tuple[str, ...]] = {}
    for i, entry in enumerate(raw.get("external") or []):
        where = f"external[{i}]"
        if not isinstance(entry, Mapping):
            raise _fail(source, where, "must be a mapping")
        system = str(_require(source, where, entry, "system"))
        external[system] = tuple(entry.get("categories") or ())
    req = raw.get("requests") or {}
    if not isinstance(req, Mapping):
        raise _fail(source, "requests", "must be a mapping")
    due = req.get("due_days", 15)
    if not isinstance(due, int) or due < 1:
        raise _fail(source, "requests.due_days", f"must be a whole number of days >= 1, got {due!r}")
    unknown_systems = [s for s in req.get("external") or () if s not in external]
    if unknown_systems:
        raise _fail(source, "requests.external", f"systems {unknown_systems} are not listed under external")
    requests = RequestSettings(
        due_days=due,
        legal_basis=str(req.get("legal_basis") or RequestSettings.legal_basis),
        crypto_shred=bool(req.get("crypto_shred", True)),
        external=tuple(req.get("external") or ()),
    )
    batch = raw.get("batch_size", 10_000)
    if not isinstance(batch, int) or not 1 <= batch <= 30_000:
        raise _fail(source, "batch_size", f"must be between 1 and 30000, got {batch!r}")
    after_check = raw.get("after_check", False)
    if not isinstance(after_check, bool):
        raise _fail(source, "after_check", f"must be true or false, got {after_check!r}")
    return RetentionConfig(stores=stores, policies=policies, external=external, requests=requests,
                           batch_size=batch, after_check=after_check, source=source)
