"""load_rules: the shipped YAML equals the defaults; every malformed key is named in the error."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from transforms.cleaning_rules import CANONICAL_COLUMNS, CleaningRules, DedupeRules, load_rules

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "cleaning.yaml"


def test_shipped_yaml_equals_the_defaults() -> None:
    assert load_rules(yaml.safe_load(CONFIG.read_text(encoding="utf-8"))) == CleaningRules()
    assert load_rules(None) == CleaningRules() == load_rules({})


def test_settings_override_defaults() -> None:
    rules = load_rules({
        "day_first": True, "employee_id_width": 8, "date_min": "1950-01-01", "required": ["employee_id"],
        "enums": {"gender": {"先生": "M", "女士": "F"}}, "column_types": {"remark": "text", "grade": "number"},
        "dedupe": {"rules": ["exact", "id_number"], "survivorship": "most_complete", "timestamp_columns": ["x"]},
    })
    assert rules.day_first and rules.employee_id_width == 8 and rules.date_min == dt.date(1950, 1, 1)
    assert rules.required == ("employee_id",)
    assert rules.enum_lookup("gender") == {"先生": "M", "女士": "F", "m": "M", "f": "F"}
    assert rules.column_types["grade"] == "number" and rules.column_types["hire_date"] == "date"
    assert rules.dedupe == DedupeRules(rules=("exact", "id_number"), survivorship="most_complete",
                                       timestamp_columns=("x",))


def test_canonical_schema_lists_every_column_type() -> None:
    assert list(CANONICAL_COLUMNS) == ["employee_id", "name", "id_number", "phone", "email", "department", "title",
                                       "hire_date", "gender", "birth_date", "employment_status", "salary",
                                       "updated_at"]
    assert CANONICAL_COLUMNS["salary"] == "number" and CANONICAL_COLUMNS["gender"] == "enum:gender"


@pytest.mark.parametrize(("data", "key"), [
    ({"dayfirst": True}, "'dayfirst' is not a known"),
    ({"day_first": "yes"}, "'day_first' must be bool"),
    ({"employee_id_width": "6"}, "'employee_id_width' must be int"),
    ({"employee_id_width": -1}, "'employee_id_width' must not be negative"),
    ({"date_min": "last year"}, "'date_min' must be an ISO date"),
    ({"date_min": "2100-01-01", "date_max": "2000-01-01"}, "'date_min' must be before date_max"),
    ({"null_sentinels": "NULL"}, "'null_sentinels' must be a list"),
    ({"phone_region": "US"}, "'phone_region' must be one of CN"),
    ({"employee_id_pattern": "[a-"}, "'employee_id_pattern' is not a valid regular expression"),
    ({"enums": {"gender": []}}, "'enums.gender' must be a non-empty mapping"),
    ({"column_types": {"salary": "money"}}, "'column_types.salary' has unknown type"),
    ({"column_types": {"grade": "enum:grade"}}, "'column_types.grade' has unknown type"),
    ({"dedupe": {"rules": ["exact", "fuzzy"]}}, "'dedupe.rules' has unknown rule 'fuzzy'"),
    ({"dedupe": {"survivorship": "oldest"}}, "'dedupe.survivorship' must be one of"),
    ({"dedupe": {"keep": "first"}}, "'dedupe.keep' is not a known dedupe setting"),
    ({"excel_serial_min": 80000}, "'excel_serial_min' must be below excel_serial_max"),
])
def test_malformed_rules_name_the_key(data: dict[str, object], key: str) -> None:
    with pytest.raises(ValueError, match="cleaning rules: " + key.replace("(", r"\(")):
        load_rules(data)


def test_document_must_be_a_mapping() -> None:
    with pytest.raises(ValueError, match="must be a mapping"):
        load_rules(["day_first"])  # type: ignore[arg-type]
