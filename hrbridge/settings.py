"""Where hrbridge keeps its state and configuration, read from the environment.

Everything lives under ``HRBRIDGE_HOME`` (default ``./.hrbridge``) unless a URL or path is given:
the hub database, the employee archive database, an Airflow home on SQLite, and reports.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

# The default configuration: the installed ``configs`` package's YAML (package data, wherever installed).
PACKAGE_CONFIGS = Path(str(resources.files("configs")))


@dataclass(frozen=True)
class Settings:
    """Resolved locations of hrbridge's state; build with :func:`load_settings`."""

    home: Path
    db_url: str
    archive_url: str
    airflow_home: Path
    reports_dir: Path
    configs_dir: Path
    artefact_url: str | None = None  # HRBRIDGE_ARTEFACT_URL: object store; None = a table in the hub
    artefact_max_bytes: int = 64 * 1024 * 1024  # HRBRIDGE_ARTEFACT_MAX_BYTES: largest artefact stored
    db_auto_upgrade: bool = True  # HRBRIDGE_DB_AUTO_UPGRADE: bring hub/archive to head on first use
    lang: str = "en"  # HRBRIDGE_LANG (zh|en), else the locale: language of standalone reports and exports
    time_zone: str = "UTC"  # HRBRIDGE_TZ (IANA name): the zone reports and exports show times in
    key_provider: str = "local"  # HRBRIDGE_KEY_PROVIDER: local (keyring under home) or hub (HRBRIDGE_KEK)

    def ensure_dirs(self) -> Settings:
        """Create the home, Airflow home and reports folders owner-only (0700, whatever the umask) and
        return self; a home that exists with group or other access (and is ours) is made owner-only too."""
        private_dir(self.home)
        mode = self.home.stat()
        if mode.st_mode & 0o077 and mode.st_uid == os.getuid():
            os.chmod(self.home, 0o700)
        for path in (self.airflow_home, self.reports_dir):
            private_dir(path)
        return self


def private_dir(path: Path) -> Path:
    """Create ``path`` and each missing parent 0700, whatever the umask (folders that exist are left as
    they are); returns ``path``."""
    missing = []
    folder = Path(path)
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)
        os.chmod(folder, 0o700)
    return Path(path)


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Read settings from ``env`` (default ``os.environ``); defaults keep everything under home."""
    env = dict(os.environ if env is None else env)
    home = Path(env.get("HRBRIDGE_HOME", ".hrbridge")).expanduser().resolve()
    return Settings(
        home=home,
        db_url=env.get("HRBRIDGE_DB_URL") or f"sqlite:///{home / 'hub.db'}",
        archive_url=env.get("HRBRIDGE_ARCHIVE_URL") or f"sqlite:///{home / 'archive.db'}",
        airflow_home=Path(env.get("AIRFLOW_HOME") or home / "airflow"),
        reports_dir=Path(env.get("HRBRIDGE_REPORTS_DIR") or home / "reports"),
        configs_dir=Path(env.get("HRBRIDGE_CONFIG_DIR") or PACKAGE_CONFIGS),
        artefact_url=env.get("HRBRIDGE_ARTEFACT_URL") or None,
        artefact_max_bytes=_positive_int(env, "HRBRIDGE_ARTEFACT_MAX_BYTES", 64 * 1024 * 1024),
        db_auto_upgrade=_flag(env, "HRBRIDGE_DB_AUTO_UPGRADE", True),
        lang=_language(env),
        time_zone=_time_zone(env),
        key_provider=_choice(env, "HRBRIDGE_KEY_PROVIDER", KEY_PROVIDERS),
    )


LANGUAGES = ("zh", "en")


def _language(env: dict[str, str]) -> str:
    """HRBRIDGE_LANG if set (zh or en), else the locale's language: zh for any ``zh_*``, else en."""
    chosen = (env.get("HRBRIDGE_LANG") or "").strip().lower()
    if chosen:
        base = chosen.replace("_", "-").split("-")[0]
        if base not in LANGUAGES:
            raise ConfigError(f"HRBRIDGE_LANG must be zh or en, not {chosen!r}")
        return base
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = (env.get(name) or "").strip()
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def _time_zone(env: dict[str, str]) -> str:
    """HRBRIDGE_TZ, an IANA zone name (e.g. Asia/Shanghai); UTC when unset."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = (env.get("HRBRIDGE_TZ") or "").strip()
    if not name:
        return "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"HRBRIDGE_TZ must name an IANA time zone such as Asia/Shanghai, not {name!r}") from None
    return name


KEY_PROVIDERS = ("local", "hub")


def _choice(env: dict[str, str], name: str, allowed: tuple[str, ...]) -> str:
    text = (env.get(name) or "").strip().lower() or allowed[0]
    if text not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}, not {text!r}")
    return text


def _flag(env: dict[str, str], name: str, default: bool) -> bool:
    text = (env.get(name) or "").strip().lower()
    if not text:
        return default
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, not {text!r}")


def _positive_int(env: dict[str, str], name: str, default: int) -> int:
    text = env.get(name)
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(f"{name} must be a positive whole number, not {text!r}")
    return value


class ConfigError(ValueError):
    """A configuration file is missing or malformed; the message names the file."""


@cache
def _read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"configuration file not found: {path}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"configuration file {path} is not valid YAML: {exc}") from exc


def load_config(name: str, settings: Settings | None = None) -> Any:
    """Return the parsed ``configs/<name>.yaml`` (from ``HRBRIDGE_CONFIG_DIR`` when set)."""
    settings = settings or load_settings()
    return _read_yaml(settings.configs_dir / f"{name}.yaml")
