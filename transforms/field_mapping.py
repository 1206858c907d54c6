"""Apply a declarative source→canonical field mapping (``configs/mappings/<source>.yaml``).

A mapping names, per stream, the canonical entity it feeds, which source field fills each canonical
field, and which extra source fields to ``$select``. Unmapped custom fields (``cust_*`` by default)
and the declared extra fields (e.g. ``hireDate``) are kept in the row's ``extras`` dict, never dropped. A record that misses a required field or carries
a value of the wrong type goes to the quarantine list with the rule it broke; duplicates of a key
within one batch are collapsed to the most recently modified record and counted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from transforms.canonical import ENTITIES, FIELD_TYPES, CanonicalEntity


class MappingError(ValueError):
    """The mapping document itself is wrong; the message names the stream and field."""


@dataclass(frozen=True)
class FieldRule:
    """Fill canonical field ``target`` from source field ``source`` as ``type``."""

    target: str
    source: str
    type: str
    required: bool
    default: Any = None


@dataclass(frozen=True)
class StreamMapping:
    """How one stream (e.g. ``applications``) maps into one canonical entity.

    ``stream`` is the name the source declares; it is the mapping's own name unless a mapping still
    names another (a source's entity set, kept working for older mapping files).
    """

    name: str
    stream: str
    entity: CanonicalEntity
    rules: tuple[FieldRule, ...]
    extra_fields: tuple[str, ...] = ()
    custom_prefixes: tuple[str, ...] = ("cust_",)
    use_select: bool = True

    @property
    def key_rule(self) -> FieldRule:
        """The rule that fills the entity's natural key."""
        return next(r for r in self.rules if r.target == self.entity.key)

    @property
    def modified_rule(self) -> FieldRule | None:
        """The rule that fills the change-tracking field, if mapped."""
        return next((r for r in self.rules if r.target == self.entity.modified_field), None)

    def select_fields(self) -> list[str] | None:
        """Source fields to ``$select`` (mapped plus declared extras), or None to read every field."""
        if not self.use_select:
            return None
        seen: dict[str, None] = {}
        for name in [r.source for r in self.rules] + list(self.extra_fields):
            seen.setdefault(name, None)
        return list(seen)


@dataclass(frozen=True)
class SourceMapping:
    """Every stream mapping of one source system."""

    source: str
    streams: dict[str, StreamMapping]

    def __getitem__(self, name: str) -> StreamMapping:
        try:
            return self.streams[name]
        except KeyError:
            raise MappingError(
                f"mapping for {self.source} has no stream {name!r}; known: {sorted(self.streams)}"
            ) from None


@dataclass(frozen=True)
class QuarantinedRecord:
    """A source record that could not be mapped: which rule it broke, and the raw payload."""

    stream: str
    record_key: str | None
    rule: str
    field: str | None
    message: str
    raw: dict[str, Any]


@dataclass
class MappedBatch:
    """The result of mapping one batch: canonical rows, quarantined records, duplicates collapsed."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    quarantined: list[QuarantinedRecord] = field(default_factory=list)
    deduplicated: int = 0
    read: int = 0


def parse_mapping(document: Mapping[str, Any], origin: str = "mapping") -> SourceMapping:
    """Validate a mapping document (parsed YAML) against the canonical model and build it."""
    if not isinstance(document, Mapping) or not isinstance(document.get("streams"), Mapping):
        raise MappingError(f"{origin}: expected a mapping with a 'streams' section")
    prefixes = tuple(document.get("custom_prefixes") or ("cust_",))
    streams: dict[str, StreamMapping] = {}
    for name, spec in document["streams"].items():
        where = f"{origin}: stream {name!r}"
        if not isinstance(spec, Mapping):
            raise MappingError(f"{where}: expected a mapping")
        entity_name = spec.get("entity")
        if entity_name not in ENTITIES:
            raise MappingError(f"{where}: unknown entity {entity_name!r}; known: {sorted(ENTITIES)}")
        entity = ENTITIES[entity_name]
        fields_spec = spec.get("fields")
        if not isinstance(fields_spec, Mapping) or not fields_spec:
            raise MappingError(f"{where}: 'fields' must map canonical fields to source fields")
        rules = []
        for target, source in fields_spec.items():
            try:
                declared = entity.field(target)
            except KeyError:
                raise MappingError(
                    f"{where}: {target!r} is not a field of {entity.name}; known: {list(entity.field_names)}"
                ) from None
            options = source if isinstance(source, Mapping) else {"source": source}
            if not isinstance(options.get("source"), str):
                raise MappingError(f"{where}: field {target!r} needs a source field name")
            type_ = options.get("type", declared.type)
            if type_ not in FIELD_TYPES:
                raise MappingError(f"{where}: field {target!r} has unknown type {type_!r}")
            rules.append(
                FieldRule(target, options["source"], type_, bool(options.get("required", declared.required)),
                          options.get("default"))
            )
        missing = [f.name for f in entity.fields if f.required and f.name not in fields_spec]
        if missing:
            raise MappingError(f"{where}: required canonical fields not mapped: {missing}")
        streams[name] = StreamMapping(
            name=name,
            stream=str(spec.get("stream", name)),
            entity=entity,
            rules=tuple(rules),
            extra_fields=tuple(spec.get("extra_fields") or ()),
            custom_prefixes=prefixes,
            use_select=bool(spec.get("select", True)),
        )
    return SourceMapping(source=str(document.get("source", origin)), streams=streams)


class _BadValue(ValueError):
    pass


def _coerce(value: Any, type_: str) -> Any:
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    if type_ == "string":
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise _BadValue(f"expected text, got {type(value).__name__}")
    if type_ == "int":
        if isinstance(value, bool):
            raise _BadValue("expected an integer, got a boolean")
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        raise _BadValue(f"expected an integer, got {value!r}"[:120])
    if type_ == "float":
        if isinstance(value, bool):
            raise _BadValue("expected a number, got a boolean")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise _BadValue(f"expected a number, got {value!r}"[:120]) from None
    if type_ == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"true", "false"}:
            return value.lower() == "true"
        raise _BadValue(f"expected true/false, got {value!r}"[:120])
    if type_ == "datetime":
        return _to_datetime(value)
    return value  # json: any JSON-safe value


def _to_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise _BadValue(f"expected a date-time, got {value!r}"[:120]) from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise _BadValue(f"expected a date-time, got {type(value).__name__}")


def json_safe(value: Any) -> Any:
    """Turn datetimes (and nested containers of them) into ISO strings so the value is JSON-ready."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def map_record(record: Mapping[str, Any], mapping: StreamMapping) -> dict[str, Any] | QuarantinedRecord:
    """Map one source record to a canonical row (with ``extras``) or explain why it is quarantined."""
    row: dict[str, Any] = {}
    key_source = mapping.key_rule.source
    raw_key = record.get(key_source)
    key_text = None if raw_key is None else str(raw_key)
    for rule in mapping.rules:
        value = record.get(rule.source, rule.default)
        try:
            value = _coerce(value, rule.type)
        except _BadValue as exc:
            return QuarantinedRecord(
                mapping.stream, key_text, f"type:{rule.type}", rule.source,
                f"{mapping.stream} record {key_text}: field {rule.source} {exc}", json_safe(dict(record)),
            )
        if value is None and rule.required:
            return QuarantinedRecord(
                mapping.stream, key_text, "required", rule.source,
                f"{mapping.stream} record {key_text}: required field {rule.source} is missing",
                json_safe(dict(record)),
            )
        row[rule.target] = value
    mapped_sources = {r.source for r in mapping.rules}
    declared = set(mapping.extra_fields)
    row["extras"] = {
        name: json_safe(value)
        for name, value in record.items()
        if name not in mapped_sources and (name.startswith(mapping.custom_prefixes) or name in declared)
    }
    return row


def map_records(records: Iterable[Mapping[str, Any]], mapping: StreamMapping) -> MappedBatch:
    """Map a batch: canonical rows (one per key, latest modification wins), quarantine, counts.

    ``read == len(rows) + len(quarantined) + deduplicated`` always holds.
    """
    batch = MappedBatch()
    by_key: dict[Any, dict[str, Any]] = {}
    key = mapping.entity.key
    modified = mapping.entity.modified_field
    for record in records:
        batch.read += 1
        result = map_record(record, mapping)
        if isinstance(result, QuarantinedRecord):
            batch.quarantined.append(result)
            continue
        previous = by_key.get(result[key])
        if previous is not None:
            batch.deduplicated += 1
            if _newer(previous.get(modified), result.get(modified)):
                continue
        by_key[result[key]] = result
    batch.rows = list(by_key.values())
    return batch


def _newer(current: datetime | None, candidate: datetime | None) -> bool:
    """True when ``current`` should be kept over ``candidate``."""
    if candidate is None:
        return True
    return current is not None and current > candidate


def extras_json(extras: Mapping[str, Any]) -> str:
    """Stable JSON text of an ``extras`` dict (sorted keys, UTF-8 kept)."""
    return json.dumps(extras, sort_keys=True, ensure_ascii=False)
