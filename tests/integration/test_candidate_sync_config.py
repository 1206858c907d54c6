"""configs/candidate_sync.yaml is validated up front; each mistake names the file and key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from hrbridge.pipelines.candidate_sync import load_sync_config
from hrbridge.settings import PACKAGE_CONFIGS, ConfigError, load_settings


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "configs"
    target.mkdir()
    for name in ("candidate_sync.yaml", "question_rules.yaml"):
        shutil.copy(PACKAGE_CONFIGS / name, target / name)
    shutil.copytree(PACKAGE_CONFIGS / "mappings", target / "mappings")
    monkeypatch.setenv("HRBRIDGE_CONFIG_DIR", str(target))
    return target


def _edit(config_dir: Path, name: str, change) -> None:
    path = config_dir / name
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")


def test_shipped_config_loads() -> None:
    config = load_sync_config()
    assert config.trigger_for("sales") == "AI Interview"
    assert config.trigger_for("Astronaut") == config.trigger_status["default"]
    assert config.write_back_fields == {"cust_aiInterviewStatus": "status", "cust_aiInterviewLink": "interview_url"}
    assert config.mapping["applications"].stream == "applications"


def test_per_family_trigger_status(config_dir: Path) -> None:
    _edit(config_dir, "candidate_sync.yaml", lambda d: d["trigger_status"].update({"Finance": "Screening"}))
    config = load_sync_config(load_settings())
    assert config.trigger_for("finance") == "Screening" and config.trigger_for("Sales") == "AI Interview"


@pytest.mark.parametrize(
    ("name", "change", "message"),
    [
        ("candidate_sync.yaml", lambda d: d.update(trigger_status={}), "trigger_status"),
        ("candidate_sync.yaml", lambda d: d["write_back"]["fields"].update(cust_x="salary"),
         "write_back.fields.cust_x: unknown value 'salary'"),
        ("candidate_sync.yaml", lambda d: d["write_back"].update(fields={}), "write_back.fields"),
        ("candidate_sync.yaml", lambda d: d.update(lookback_minutes="soon"), "candidate_sync.yaml"),
        ("candidate_sync.yaml", lambda d: d["invitation"].update(not_before="last tuesday"), "candidate_sync.yaml"),
        ("mappings/successfactors.yaml", lambda d: d["streams"]["applications"]["fields"].pop("status"),
         "required canonical fields not mapped: \\['status'\\]"),
        ("question_rules.yaml", lambda d: d.pop("job_families"), "job_families"),
    ],
)
def test_config_mistakes_are_named(config_dir: Path, name, change, message) -> None:
    _edit(config_dir, name, change)
    with pytest.raises(ConfigError, match=message):
        load_sync_config(load_settings())


def test_missing_config_file_is_named(config_dir: Path) -> None:
    (config_dir / "question_rules.yaml").unlink()
    with pytest.raises(ConfigError, match="question_rules.yaml"):
        load_sync_config(load_settings())
