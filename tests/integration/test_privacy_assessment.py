"""hrbridge privacy assessment: every declared personal field listed; a changed retention period shows as a diff."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from hrbridge.cli import main
from hrbridge.consent.assessment import assess, build_record
from hrbridge.settings import PACKAGE_CONFIGS, load_config, load_settings


@pytest.fixture
def configs(hrbridge_home, tmp_path: Path, monkeypatch) -> Path:
    folder = tmp_path / "configs"
    shutil.copytree(PACKAGE_CONFIGS, folder, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    monkeypatch.setenv("HRBRIDGE_CONFIG_DIR", str(folder))
    return folder


def test_the_record_lists_every_personal_field_the_configuration_declares(configs) -> None:
    settings = load_settings()
    text = assess(settings, store=False)["text"]
    record = build_record(settings)
    from hrbridge.consent.assessment import mapping_names

    assert len(mapping_names(settings)) >= 2  # SuccessFactors and every configs/sources/*.yaml mapping
    for name in mapping_names(settings):
        mapping = load_config(name, settings)
        for stream_name, stream in mapping["streams"].items():
            if stream["entity"] not in ("candidate", "application", "resume"):
                continue
            for field, source in stream["fields"].items():
                source = source["source"] if isinstance(source, dict) else source
                assert f"| {field} | {mapping['source']} {stream.get('stream', stream_name)}.{source} |" in text
    roles = load_config("roles", settings)
    personal = {name for name, spec in roles["tables"].items() if spec.get("subject_column")}
    for resource in roles["resources"].values():
        if resource.get("table") in personal and resource["columns"] != "*":
            for column in resource["columns"]:
                assert f"| {column} | hub {resource['table']}.{column} |" in text
    for category in load_config("bias_audit", settings)["categories"]:
        assert f"| {category} | hub audit_categories.categories (sealed) |" in text
    for store in load_config("retention", settings)["stores"]:
        assert f"| {store.get('table', store['store'])} | {store['category']} |" in text
    sensitive = {i["field"] for i in record["inventory"] if i["sensitive"]}
    assert {"clips", "transcript_ref", "id_number", "race_ethnicity"} <= sensitive
    assert all(i["encrypted"] for i in record["inventory"]
               if i["field"] in ("clips", "transcript_ref", "email") and i["where"].startswith("hub "))


def test_a_changed_retention_period_changes_the_record_and_shows_the_difference(configs, capsys) -> None:
    assert main(["privacy", "assessment", "--json"]) == 0
    assert main(["privacy", "assessment", "--check"]) == 0  # nothing changed: up to date
    capsys.readouterr()
    doc = yaml.safe_load((configs / "retention.yaml").read_text(encoding="utf-8"))
    doc["policies"][0]["retention_days"] = 45
    (configs / "retention.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    from hrbridge.settings import _read_yaml

    _read_yaml.cache_clear()
    assert main(["privacy", "assessment", "--check"]) == 3  # out of date, nothing stored
    capsys.readouterr()
    assert main(["privacy", "assessment", "--diff"]) == 0
    out = capsys.readouterr().out
    assert "-| interview-media-30d | interview_media | 30 |" in out
    assert "+| interview-media-30d | interview_media | 45 |" in out
    assert out.count("\n+|") == 1 and out.count("\n-|") == 1  # only that line changed
    again = assess(load_settings())
    assert again["changed"] is False and again["key"].endswith(".md")
