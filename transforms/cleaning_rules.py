"""Cleaning and dedupe rules for legacy HR records, declared as data (``configs/cleaning.yaml``).

:func:`load_rules` validates a parsed YAML mapping and returns a frozen :class:`CleaningRules`;
every problem raises ``ValueError`` naming the offending key, so a typo in the YAML never turns
into silently different cleaning. ``CleaningRules()`` equals the shipped defaults.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

CANONICAL_COLUMNS: dict[str, str] = {
    "employee_id": "employee_id",
    "name": "text",
    "id_number": "id_number",
    "phone": "phone",
    "email": "email",
    "department": "text",
    "title": "text",
    "hire_date": "date",
    "gender": "enum:gender",
    "birth_date": "date",
    "employment_status": "enum:employment_status",
    "salary": "number",
    "updated_at": "datetime",
}
"""Canonical legacy-employee columns → value type (what :func:`clean_frame` assumes by default)."""

BASE_TYPES = frozenset({"text", "date", "datetime", "phone", "email", "id_number", "employee_id", "number"})
DEDUPE_RULES = ("exact", "id_number", "email+name", "phone+name")
SURVIVORSHIP = ("most_recent", "most_complete")
PHONE_REGIONS = {"CN": "86"}

DEFAULT_ENUMS: dict[str, dict[str, str]] = {
    "gender": {
        "M": "M", "男": "M", "male": "M", "man": "M", "1": "M",
        "F": "F", "女": "F", "female": "F", "woman": "F", "2": "F",
    },
    "employment_status": {
        "active": "active", "在职": "active", "employed": "active", "正式": "active",
        "probation": "probation", "试用": "probation", "试用期": "probation",
        "on_leave": "on_leave", "on leave": "on_leave", "停薪留职": "on_leave", "休假": "on_leave", "leave": "on_leave",
        "terminated": "terminated", "离职": "terminated", "resigned": "terminated", "已离职": "terminated",
        "retired": "retired", "退休": "retired",
    },
}


@dataclass(frozen=True)
class DedupeRules:
    """Which duplicate rules run (in order) and which record survives a merge."""

    rules: tuple[str, ...] = DEDUPE_RULES
    survivorship: str = "most_recent"
    timestamp_columns: tuple[str, ...] = ("updated_at", "hire_date")


@dataclass(frozen=True)
class CleaningRules:
    """Everything :func:`transforms.cleaning.clean_frame` and :func:`transforms.dedupe.dedupe` obey."""

    null_sentinels: tuple[str, ...] = ("", "NULL", "N/A", "NA", "NONE", "NAN", "无", "-", "--", "/")
    day_first: bool = False
    date_min: dt.date = dt.date(1900, 1, 1)
    date_max: dt.date = dt.date(2100, 12, 31)
    excel_serial_min: int = 10000
    excel_serial_max: int = 73050
    phone_region: str = "CN"
    email_check: bool = True
    employee_id_width: int = 6
    employee_id_pattern: str = r"[A-Za-z0-9_-]+"
    id_upgrade_15: bool = True
    id_birth_consistency: bool = True
    id_gender_consistency: bool = False
    enums: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: DEFAULT_ENUMS)
    required: tuple[str, ...] = ("employee_id", "name")
    column_types: Mapping[str, str] = field(default_factory=lambda: dict(CANONICAL_COLUMNS))
    log_conversions: bool = False
    dedupe: DedupeRules = DedupeRules()

    def enum_lookup(self, name: str) -> dict[str, str]:
        """Case-folded source value → canonical value for enum ``name`` (canonical values map to themselves)."""
        table = {str(k).casefold(): str(v) for k, v in self.enums[name].items()}
        table.update({str(v).casefold(): str(v) for v in self.enums[name].values()})
        return table


_SIMPLE_KEYS = {f.name for f in fields(CleaningRules)} - {"dedupe", "enums", "column_types"}


def _fail(key: str, problem: str) -> ValueError:
    return ValueError(f"cleaning rules: '{key}' {problem}")


def _as_date(key: str, value: Any) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise _fail(key, f"must be an ISO date (YYYY-MM-DD), got {value!r}") from exc


def _check_type(key: str, value: Any, expected: type | tuple[type, ...]) -> Any:
    if isinstance(value, bool) and expected is int:
        raise _fail(key, f"must be an integer, got {value!r}")
    if not isinstance(value, expected):
        names = expected.__name__ if isinstance(expected, type) else "/".join(t.__name__ for t in expected)
        raise _fail(key, f"must be {names}, got {type(value).__name__} {value!r}")
    return value


def _str_tuple(key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        raise _fail(key, f"must be a list, got {type(value).__name__}")
    return tuple("" if v is None else str(v) for v in value)


def _column_type_ok(kind: str, enums: Mapping[str, Any]) -> bool:
    if kind.startswith("enum:"):
        return kind[5:] in enums
    return kind in BASE_TYPES


def _load_dedupe(data: Any) -> DedupeRules:
    if not isinstance(data, Mapping):
        raise _fail("dedupe", "must be a mapping")
    unknown = set(data) - {"rules", "survivorship", "timestamp_columns"}
    if unknown:
        raise _fail(f"dedupe.{sorted(unknown)[0]}", "is not a known dedupe setting")
    base = DedupeRules()
    rules = _str_tuple("dedupe.rules", data.get("rules", list(base.rules)))
    for rule in rules:
        if rule not in DEDUPE_RULES:
            raise _fail("dedupe.rules", f"has unknown rule {rule!r}; known: {', '.join(DEDUPE_RULES)}")
    survivorship = str(data.get("survivorship", base.survivorship))
    if survivorship not in SURVIVORSHIP:
        raise _fail("dedupe.survivorship", f"must be one of {', '.join(SURVIVORSHIP)}, got {survivorship!r}")
    stamps = _str_tuple("dedupe.timestamp_columns", data.get("timestamp_columns", list(base.timestamp_columns)))
    return DedupeRules(rules=rules, survivorship=survivorship, timestamp_columns=stamps)


def load_rules(data: Mapping[str, Any] | None) -> CleaningRules:
    """Validate parsed ``cleaning.yaml`` content and build :class:`CleaningRules`.

    Missing keys keep their defaults; unknown keys, wrong types and impossible values raise
    ``ValueError`` naming the key, e.g. ``cleaning rules: 'employee_id_width' must be int``.
    """
    data = {} if data is None else data
    if not isinstance(data, Mapping):
        raise ValueError("cleaning rules: the document must be a mapping of settings")
    unknown = set(data) - _SIMPLE_KEYS - {"dedupe", "enums", "column_types"}
    if unknown:
        raise _fail(sorted(unknown)[0], "is not a known cleaning setting")
    base = CleaningRules()
    kwargs: dict[str, Any] = {}
    for key in ("day_first", "email_check", "id_upgrade_15", "id_birth_consistency", "id_gender_consistency",
                "log_conversions"):
        if key in data:
            kwargs[key] = _check_type(key, data[key], bool)
    for key in ("excel_serial_min", "excel_serial_max", "employee_id_width"):
        if key in data:
            kwargs[key] = _check_type(key, data[key], int)
            if kwargs[key] < 0:
                raise _fail(key, "must not be negative")
    for key in ("date_min", "date_max"):
        if key in data:
            kwargs[key] = _as_date(key, data[key])
    for key in ("null_sentinels", "required"):
        if key in data:
            kwargs[key] = _str_tuple(key, data[key])
    if "phone_region" in data:
        region = str(data["phone_region"]).upper()
        if region not in PHONE_REGIONS:
            raise _fail("phone_region", f"must be one of {', '.join(PHONE_REGIONS)}, got {data['phone_region']!r}")
        kwargs["phone_region"] = region
    if "employee_id_pattern" in data:
        pattern = str(data["employee_id_pattern"])
        try:
            re.compile(pattern)
        except re.error as exc:
            raise _fail("employee_id_pattern", f"is not a valid regular expression: {exc}") from exc
        kwargs["employee_id_pattern"] = pattern
    enums = {k: dict(v) for k, v in base.enums.items()}
    if "enums" in data:
        if not isinstance(data["enums"], Mapping):
            raise _fail("enums", "must be a mapping of enum name → {source value: canonical value}")
        for name, table in data["enums"].items():
            if not isinstance(table, Mapping) or not table:
                raise _fail(f"enums.{name}", "must be a non-empty mapping of source value → canonical value")
            enums[str(name)] = {str(k): str(v) for k, v in table.items()}
    kwargs["enums"] = enums
    column_types = dict(base.column_types)
    if "column_types" in data:
        if not isinstance(data["column_types"], Mapping):
            raise _fail("column_types", "must be a mapping of column → type")
        column_types.update({str(k): str(v) for k, v in data["column_types"].items()})
    for column, kind in column_types.items():
        if not _column_type_ok(kind, enums):
            raise _fail(f"column_types.{column}", f"has unknown type {kind!r}")
    kwargs["column_types"] = column_types
    if "dedupe" in data:
        kwargs["dedupe"] = _load_dedupe(data["dedupe"])
    rules = CleaningRules(**kwargs)
    if rules.date_min >= rules.date_max:
        raise _fail("date_min", "must be before date_max")
    if rules.excel_serial_min >= rules.excel_serial_max:
        raise _fail("excel_serial_min", "must be below excel_serial_max")
    return rules
