"""Retention configuration: the shipped YAML parses, and mistakes name the file and the entry."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from governance.retention import RetentionConfigError, parse_config
from tests.factories.retention import CONFIG

REPO = Path(__file__).resolve().parents[2]


def test_shipped_configuration_is_valid() -> None:
    config = parse_config(yaml.safe_load((REPO / "configs" / "retention.yaml").read_text()))
    names = {p.name for p in config.policies}
    assert {"interview-media-30d", "not-hired-180d"} <= names
    media = next(p for p in config.policies if p.name == "interview-media-30d")
    assert media.retention_days == 30 and media.action == "anonymise"
    assert config.requests.due_days == 15
    assert "interview_platform" in config.systems_for(("interview_media",))


def _broken(path: list[Any], value: Any) -> dict[str, Any]:
    raw = copy.deepcopy(CONFIG)
    target = raw
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return raw


@pytest.mark.parametrize(("path", "value", "message"), [
    (["stores", 0, "store"], "warehouse", r"stores\[0\]: store must be one of hub, archive"),
    (["stores", 1, "table"], "t; DROP TABLE x", r"stores\[1\]: table must be a plain SQL identifier"),
    (["policies", 0, "action"], "shred", r"policies\[0\] \(interview-media-30d\): action must be one of"),
    (["policies", 0, "retention_days"], -1, r"retention_days must be a whole number"),
    (["policies", 0, "categories"], ["nowhere"], r"no store holds category \['nowhere'\]"),
    (["requests", "due_days"], 0, r"requests.due_days: must be a whole number of days >= 1"),
    (["requests", "external"], ["hr_system"], r"requests.external: systems \['hr_system'\] are not listed"),
    (["batch_size"], 100_000, r"batch_size: must be between 1 and 30000"),
])
def test_mistakes_are_named(path: list[Any], value: Any, message: str) -> None:
    with pytest.raises(RetentionConfigError, match=r"^test.yaml: .*" + message):
        parse_config(_broken(path, value), "test.yaml")


def test_anonymise_needs_columns() -> None:
    raw = _broken(["stores", 0, "columns"], [])
    with pytest.raises(RetentionConfigError, match="anonymise needs columns on store hub.t_results"):
        parse_config(raw, "test.yaml")


def test_filter_needs_exactly_one_operator() -> None:
    raw = _broken(["policies", 1, "clock", "exclude"], {"column": "status", "in": ["hired"], "equals": "x"})
    with pytest.raises(RetentionConfigError, match="filter needs exactly one of"):
        parse_config(raw, "test.yaml")
