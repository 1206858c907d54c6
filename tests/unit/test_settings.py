"""Settings resolve everything under HRBRIDGE_HOME unless told otherwise."""

from pathlib import Path

import pytest

from hrbridge.settings import ConfigError, load_config, load_settings


def test_defaults_live_under_home(tmp_path: Path) -> None:
    settings = load_settings({"HRBRIDGE_HOME": str(tmp_path)})
    assert settings.db_url == f"sqlite:///{tmp_path / 'hub.db'}"
    assert settings.archive_url == f"sqlite:///{tmp_path / 'archive.db'}"
    assert settings.airflow_home == tmp_path / "airflow"
    assert settings.reports_dir == tmp_path / "reports"


def test_explicit_urls_win(tmp_path: Path) -> None:
    settings = load_settings({"HRBRIDGE_HOME": str(tmp_path), "HRBRIDGE_DB_URL": "postgresql://h/db"})
    assert settings.db_url == "postgresql://h/db"


def test_ensure_dirs_is_owner_only(tmp_path: Path) -> None:
    settings = load_settings({"HRBRIDGE_HOME": str(tmp_path / "h")}).ensure_dirs()
    assert (settings.home.stat().st_mode & 0o077) == 0


def test_missing_and_broken_config_name_the_file(tmp_path: Path) -> None:
    settings = load_settings({"HRBRIDGE_HOME": str(tmp_path), "HRBRIDGE_CONFIG_DIR": str(tmp_path)})
    with pytest.raises(ConfigError, match="nothere.yaml"):
        load_config("nothere", settings)
    (tmp_path / "broken.yaml").write_text("a: [1, 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="broken.yaml"):
        load_config("broken", settings)


def test_artefact_and_upgrade_settings(tmp_path: Path) -> None:
    home = {"HRBRIDGE_HOME": str(tmp_path)}
    defaults = load_settings(home)
    assert defaults.artefact_url is None and defaults.artefact_max_bytes == 64 * 1024 * 1024
    assert defaults.db_auto_upgrade is True
    chosen = load_settings({**home, "HRBRIDGE_ARTEFACT_URL": "s3://bucket/reports",
                            "HRBRIDGE_ARTEFACT_MAX_BYTES": "1024", "HRBRIDGE_DB_AUTO_UPGRADE": "False"})
    assert (chosen.artefact_url, chosen.artefact_max_bytes, chosen.db_auto_upgrade) == ("s3://bucket/reports", 1024, False)
    with pytest.raises(ConfigError, match="HRBRIDGE_ARTEFACT_MAX_BYTES"):
        load_settings({**home, "HRBRIDGE_ARTEFACT_MAX_BYTES": "-5"})
    with pytest.raises(ConfigError, match="HRBRIDGE_DB_AUTO_UPGRADE"):
        load_settings({**home, "HRBRIDGE_DB_AUTO_UPGRADE": "sometimes"})
