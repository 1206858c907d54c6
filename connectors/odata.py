"""Generic OData v2 helpers: wire dates, filter literals, EDMX metadata, record cleaning, errors.

Pure functions with no I/O so they are easy to test and reuse by any OData v2 connector.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.errors import MalformedResponseError

_DATE = re.compile(r"^/Date\((-?\d+)(?:([+-])(\d{4}))?\)/$")
INTEGER_TYPES = frozenset({"Edm.Int64", "Edm.Int32", "Edm.Int16", "Edm.Byte", "Edm.SByte"})
FLOAT_TYPES = frozenset({"Edm.Decimal", "Edm.Double", "Edm.Single"})
DATE_TYPES = frozenset({"Edm.DateTime", "Edm.DateTimeOffset"})
_EDM_NS = ("{http://schemas.microsoft.com/ado/2008/09/edm}", "{http://schemas.microsoft.com/ado/2009/11/edm}",
           "{http://schemas.microsoft.com/ado/2007/05/edm}", "{http://schemas.microsoft.com/ado/2006/04/edm}")


def parse_odata_date(text: str) -> datetime:
    """Parse ``/Date(ms)/`` or ``/Date(ms+0480)/`` (also ``\\/Date(...)\\/``) to an aware UTC datetime.

    In OData v2 JSON the milliseconds count from the Unix epoch in UTC; the optional suffix is the
    source offset in minutes and does not move the instant. ISO-8601 text is accepted as well.
    Raises ValueError naming the text when it is neither.
    """
    raw = str(text).strip().replace("\\/", "/")
    match = _DATE.match(raw)
    if match:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(match.group(1)))
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


def parse_metadata(document: bytes | str) -> ServiceMetadata:
    """Parse an EDMX ``$metadata`` document; MalformedResponseError when it is not EDMX."""
    try:
        root = ET.fromstring(document)  # noqa: S314 - metadata of the configured service
    except ET.ParseError as exc:
        raise MalformedResponseError(f"$metadata is not XML: {exc}") from exc
    types: dict[str, EntityType] = {}
    sets: dict[str, str] = {}
    for node in root.iter():
        tag = node.tag.rsplit("}", 1)[-1]
        if tag == "EntityType":
            entity = EntityType(node.get("Name", ""))
            for child in node:
                kind = child.tag.rsplit("}", 1)[-1]
                if kind == "Key":
                    entity.key = [ref.get("Name", "") for ref in child]
                elif kind == "Property":
                    entity.properties[child.get("Name", "")] = child.get("Type", "Edm.String")
                elif kind == "NavigationProperty":
                    entity.navigation.add(child.get("Name", ""))
            types[entity.name] = entity
        elif tag == "EntitySet":
            sets[node.get("Name", "")] = node.get("EntityType", "").rsplit(".", 1)[-1]
    if not types:
        raise MalformedResponseError("$metadata declares no entity types")
    if not sets:  # per-entity $metadata documents may omit the container
        return ServiceMetadata(dict(types))
    return ServiceMetadata({name: types[t] for name, t in sets.items() if t in types})


def coerce_value(value: Any, edm_type: str | None) -> Any:
    """Convert one wire value to Python: dates → aware UTC datetime, Int64 strings → int, decimals → float.

    Values whose type is unknown are converted only when they look like ``/Date(...)/``.
    """
    if value is None:
        return None
    if edm_type in DATE_TYPES or (isinstance(value, str) and value.startswith(("/Date(", "\\/Date("))):
        return parse_odata_date(value)
    if edm_type in INTEGER_TYPES and isinstance(value, str):
        return int(value)
    if edm_type in FLOAT_TYPES and isinstance(value, str):
        return float(value)
    return value


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
                out[name] = [clean_record(item) for item in value["results"]]
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


def results_of(page: Any, where: str) -> list[dict[str, Any]]:
    """``d.results`` of a collection page; MalformedResponseError naming ``where`` otherwise."""
    if not isinstance(page, Mapping) or "d" not in page:
        raise MalformedResponseError(f"{where}: response has no 'd' object: {json.dumps(page)[:120]}")
    body = page["d"]
    if not isinstance(body, Mapping) or not isinstance(body.get("results"), list):
        raise MalformedResponseError(f"{where}: response has no 'd.results' list: {json.dumps(body)[:120]}")
    return body["results"]


def parse_odata_error(text: str) -> tuple[str, str] | None:
    """(code, message) from an OData error body ``{"error": {"code", "message": {"value"}}}``; None otherwise."""
    try:
        body = json.loads(text)
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, Mapping) else None
    if not isinstance(error, Mapping):
        return None
    message = error.get("message")
    if isinstance(message, Mapping):
        message = message.get("value")
    return str(error.get("code", "")), str(message or "")
