"""Generic OData v2 helpers: wire dates, filter literals, EDMX metadata, record cleaning, errors.

Pure functions with no I/O so they are easy to test and reuse by any OData v2 connector. What
comes from the server is bounded (:class:`connectors.limits.Limits`): ``$metadata`` is parsed by
expat with no DTD, no entities, a size and a depth bound; values must fit their declared type.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.parsers import expat

from connectors.bounded_json import loads, preview
from connectors.errors import LimitExceeded, MalformedResponseError
from connectors.limits import Limits

_DATE = re.compile(r"^/Date\((-?\d+)(?:([+-])(\d{4}))?\)/$")
INTEGER_TYPES = frozenset({"Edm.Int64", "Edm.Int32", "Edm.Int16", "Edm.Byte", "Edm.SByte"})
FLOAT_TYPES = frozenset({"Edm.Decimal", "Edm.Double", "Edm.Single"})
DATE_TYPES = frozenset({"Edm.DateTime", "Edm.DateTimeOffset"})
INTEGER_RANGES = {"Edm.Int64": 63, "Edm.Int32": 31, "Edm.Int16": 15, "Edm.SByte": 7}


def parse_odata_date(text: str) -> datetime:
    """Parse ``/Date(ms)/`` or ``/Date(ms+0480)/`` (also ``\\/Date(...)\\/``) to an aware UTC datetime.

    In OData v2 JSON the milliseconds count from the Unix epoch in UTC; the optional suffix is the
    source offset in minutes and does not move the instant. ISO-8601 text is accepted as well.
    Raises ValueError naming the text when it is neither.
    """
    raw = str(text).strip().replace("\\/", "/")
    match = _DATE.match(raw)
    if match:
        try:
            return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(match.group(1)))
        except OverflowError:
            raise ValueError(f"OData date out of range: {text[:40]!r}") from None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"not an OData date: {text!r} (expected /Date(ms)/ or ISO 8601)") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def to_odata_date(value: datetime) -> str:
    """Encode a datetime as ``/Date(ms)/`` (naive values are taken as UTC) for request bodies."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return f"/Date({int(value.timestamp() * 1000)})/"


def format_odata_datetime(value: datetime) -> str:
    """A ``$filter`` literal ``datetime'2026-01-01T00:00:00'`` in UTC (milliseconds kept when present)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond // 1000:03d}"
    return f"datetime'{text}'"


def odata_literal(value: Any) -> str:
    """A key or filter literal: ``123L`` for integers, ``'text'`` (quotes doubled) for strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}L"
    if isinstance(value, datetime):
        return format_odata_datetime(value)
    return "'" + str(value).replace("'", "''") + "'"


def build_filter(cursor_field: str | None, since: datetime | None, extra: str | None = None) -> str | None:
    """``cursor gt datetime'…'`` from ``since``, joined with ``extra`` by ``and``; None when both are empty."""
    parts = []
    if since is not None and cursor_field:
        parts.append(f"{cursor_field} gt {format_odata_datetime(since)}")
    if extra:
        parts.append(f"({extra})" if parts else extra)
    return " and ".join(parts) or None


class NotMetadataError(MalformedResponseError):
    """The body is not an EDMX document at all (not XML, or no entity types): nothing hostile, just not metadata."""


@dataclass
class EntityType:
    """What ``$metadata`` says about one entity type: key, property types, navigation properties."""

    name: str
    key: list[str] = field(default_factory=list)
    properties: dict[str, str] = field(default_factory=dict)
    navigation: set[str] = field(default_factory=set)


@dataclass
class ServiceMetadata:
    """Entity sets (name → entity type) of an OData v2 service."""

    entity_sets: dict[str, EntityType] = field(default_factory=dict)


class _EdmxReader:
    """Expat handlers that build entity types and sets, refusing DTDs and going past ``max_depth``."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.depth = 0
        self.types: dict[str, EntityType] = {}
        self.sets: dict[str, str] = {}
        self._entity: EntityType | None = None
        self._in_key = False

    def doctype(self, *args: Any) -> None:
        """EDMX never has a DTD; one is where entity expansion and external entities come from."""
        raise MalformedResponseError("$metadata declares a DTD (<!DOCTYPE>/<!ENTITY>); refused")

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        """Open an element: track depth, read the EDM elements hrbridge needs."""
        self.depth += 1
        if self.depth > self.limits.max_depth:
            raise LimitExceeded(f"$metadata nests elements deeper than {self.limits.hint('max_depth')}", "max_depth")
        name = tag.rsplit("}", 1)[-1]
        if name == "EntityType" and self._entity is None:
            self._entity = self.types.setdefault(attrs.get("Name", ""), EntityType(attrs.get("Name", "")))
        elif self._entity is not None and name == "Key":
            self._in_key = True
        elif self._entity is not None and name == "PropertyRef" and self._in_key:
            self._entity.key.append(attrs.get("Name", ""))
        elif self._entity is not None and name == "Property":
            self._entity.properties[attrs.get("Name", "")] = attrs.get("Type", "Edm.String")
        elif self._entity is not None and name == "NavigationProperty":
            self._entity.navigation.add(attrs.get("Name", ""))
        elif name == "EntitySet":
            self.sets[attrs.get("Name", "")] = attrs.get("EntityType", "").rsplit(".", 1)[-1]

    def end(self, tag: str) -> None:
        """Close an element."""
        self.depth -= 1
        name = tag.rsplit("}", 1)[-1]
        if name == "EntityType":
            self._entity = None
        elif name == "Key":
            self._in_key = False


def parse_metadata(document: bytes | str, limits: Limits | None = None) -> ServiceMetadata:
    """Parse an EDMX ``$metadata`` document within ``limits``; MalformedResponseError when it is not EDMX.

    A DTD (and so any entity, internal or external: XXE, billion laughs) is refused; the document's
    size is bounded by ``max_body_bytes`` and its element nesting by ``max_depth``.
    """
    limits = limits or Limits()
    data = document.encode("utf-8") if isinstance(document, str) else bytes(document)
    if len(data) > limits.max_body_bytes:
        raise LimitExceeded(f"$metadata of {len(data)} bytes exceeds {limits.hint('max_body_bytes')}", "max_body_bytes")
    reader = _EdmxReader(limits)
    parser = expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = reader.doctype
    parser.EntityDeclHandler = reader.doctype
    parser.ExternalEntityRefHandler = reader.doctype
    parser.StartElementHandler = reader.start
    parser.EndElementHandler = reader.end
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise NotMetadataError(f"$metadata is not XML: {exc}") from None
    if not reader.types:
        raise NotMetadataError("$metadata declares no entity types")
    if not reader.sets:  # per-entity $metadata documents may omit the container
        return ServiceMetadata(dict(reader.types))
    return ServiceMetadata({name: reader.types[t] for name, t in reader.sets.items() if t in reader.types})


def coerce_value(value: Any, edm_type: str | None) -> Any:
    """Convert one wire value to Python: dates → aware UTC datetime, Int64 strings → int, decimals → float.

    Values whose type is unknown are converted only when they look like ``/Date(...)/``. Raises
    ValueError for a value outside its type: an integer out of range, NaN/Infinity or an overflow.
    """
    if value is None:
        return None
    if edm_type in DATE_TYPES or (isinstance(value, str) and value.startswith(("/Date(", "\\/Date("))):
        return parse_odata_date(value)
    if edm_type in INTEGER_TYPES and isinstance(value, str | int) and not isinstance(value, bool):
        return _checked_int(value, edm_type)
    if edm_type in FLOAT_TYPES and isinstance(value, str | float):
        number = float(_plausible(value)) if isinstance(value, str) else value
        if not math.isfinite(number):
            raise ValueError(f"{str(value)[:40]!r} is not a finite {edm_type} (NaN, Infinity or overflow)")
        return number
    return value


def _plausible(text: str) -> str:
    """``text`` when it is short enough to be a number of any EDM type (ValueError otherwise)."""
    if len(text) > 64:
        raise ValueError(f"a number of {len(text)} characters ({text[:20]}…) is not a plausible value")
    return text


def _checked_int(value: str | int, edm_type: str) -> int:
    number = int(_plausible(value)) if isinstance(value, str) else value
    bits = INTEGER_RANGES.get(edm_type)
    if bits is not None and not -(2 ** bits) <= number < 2 ** bits:
        raise ValueError(f"{str(value)[:40]!r} is out of the range of {edm_type}")
    return number


def clean_record(raw: Mapping[str, Any], types: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Drop ``__metadata`` and deferred navigation properties, coerce values, keep everything else.

    Expanded navigation properties become a cleaned dict or a list of cleaned dicts; custom
    ``cust_*`` fields are kept like any other property. Raises ValueError naming the field for a
    value that does not fit its declared type.
    """
    types = types or {}
    out: dict[str, Any] = {}
    for name, value in raw.items():
        if value is None or value is True or value is False:
            out[name] = value
            continue
        if isinstance(value, dict):
            if name == "__metadata" or "__deferred" in value:
                continue
            if isinstance(value.get("results"), list):
                out[name] = [_clean_item(name, position, item) for position, item in enumerate(value["results"])]
            else:
                out[name] = clean_record(value)
            continue
        edm_type = types.get(name)
        if edm_type is None or edm_type == "Edm.String":
            if isinstance(value, str) and value.startswith(("/Date(", "\\/Date(")):
                edm_type = "Edm.DateTime"
            else:
                out[name] = value
                continue
        try:
            out[name] = coerce_value(value, edm_type)
        except ValueError as exc:
            raise ValueError(f"field {name!r}: {exc}") from exc
    return out


def _clean_item(name: str, position: int, item: Any) -> dict[str, Any]:
    if not isinstance(item, Mapping):
        raise ValueError(f"expanded {name!r} item {position} is not an object: {preview(item)}")
    return clean_record(item)


def results_of(page: Any, where: str) -> list[dict[str, Any]]:
    """``d.results`` of a collection page, every item an object; MalformedResponseError naming ``where`` otherwise."""
    if not isinstance(page, Mapping) or "d" not in page:
        raise MalformedResponseError(f"{where}: response has no 'd' object: {preview(page)}")
    body = page["d"]
    if not isinstance(body, Mapping) or not isinstance(body.get("results"), list):
        raise MalformedResponseError(f"{where}: response has no 'd.results' list: {preview(body)}")
    for position, item in enumerate(body["results"]):
        if not isinstance(item, Mapping):
            raise MalformedResponseError(f"{where}: record {position} is not an object: {preview(item)}")
    return body["results"]


def parse_odata_error(text: str) -> tuple[str, str] | None:
    """(code, message) from an OData error body ``{"error": {"code", "message": {"value"}}}``; None otherwise."""
    try:
        body = loads(text, where="error body")
    except MalformedResponseError:
        return None
    error = body.get("error") if isinstance(body, Mapping) else None
    if not isinstance(error, Mapping):
        return None
    message = error.get("message")
    if isinstance(message, Mapping):
        message = message.get("value")
    return str(error.get("code", "")), str(message or "")
