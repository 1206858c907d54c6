"""One message catalogue, in Simplified Chinese and English, for the pages and everything written elsewhere.

The catalogue is the pages' ``plugins/hrbridge_pages/messages.yaml`` (``key: {en, zh}``); the
pages pick the viewer's language and time zone per request (:mod:`plugins.hrbridge_pages.i18n`),
standalone reports and exports (the HR ops validation page, the migration report, deletion-log
exports) take them from :func:`report_translator`: ``--lang`` or ``HRBRIDGE_LANG``, else the
locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``); ``HRBRIDGE_TZ``, else UTC; a report states its zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_percent

LANGUAGES = ("zh", "en")
BABEL_LOCALES = {"zh": "zh_Hans_CN", "en": "en_GB"}
# The pages' catalogue is the only one: reports and exports written outside the pages use it too.
CATALOGUE_FILE = Path(__file__).resolve().parents[1] / "plugins" / "hrbridge_pages" / "messages.yaml"


class MissingMessage(KeyError):
    """A message key is not in the catalogue (a bug: tests check every key the code uses)."""


@cache
def catalogue() -> dict[str, dict[str, str]]:
    """key -> {"en": text, "zh": text}, validated to hold both languages for every key."""
    data = yaml.safe_load(CATALOGUE_FILE.read_text(encoding="utf-8"))
    for key, texts in data.items():
        if not isinstance(texts, dict) or set(texts) != set(LANGUAGES):
            raise ValueError(f"{CATALOGUE_FILE}: {key}: needs exactly the languages {LANGUAGES}")
    return data


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    """The page language: a valid cookie wins, else the first supported Accept-Language entry."""
    if cookie in LANGUAGES:
        return str(cookie)
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, index, tag.strip().lower()))
    for _, _, tag in sorted(ranked):
        base = tag.split("-")[0]
        if base in LANGUAGES:
            return base
    return "en"


def zone(name: str | None) -> tzinfo:
    """The named IANA time zone, UTC when missing or unknown."""
    if not name or len(name) > 64:
        return UTC
    name = unquote(name)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _parse(value: Any) -> datetime | date | None:
    if value is None or value == "":
        return None
    if isinstance(value, (datetime, date)):
        return value
    text = str(value).strip().replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class Translator:
    """Texts, dates and numbers for one viewer: ``t("key", name=...)``, ``t.dt(value)``."""

    lang: str
    tz: tzinfo = UTC

    def __call__(self, key: str, **values: Any) -> str:
        """The message ``key`` in this language with ``{placeholders}`` filled in."""
        try:
            text = catalogue()[key][self.lang]
        except KeyError as exc:
            raise MissingMessage(key) from exc
        return text.format(**values) if values else text

    def get(self, key: str, default: str = "") -> str:
        """The message ``key`` if the catalogue has it, else ``default`` (for data-driven keys)."""
        texts = catalogue().get(key)
        return texts[self.lang] if texts else default

    @property
    def locale(self) -> str:
        """Babel locale of the language."""
        return BABEL_LOCALES[self.lang]

    def dt(self, value: Any, length: str = "medium") -> str:
        """A timestamp in the viewer's zone and language (naive values are UTC); '' when empty."""
        moment = _parse(value)
        if moment is None:
            return ""
        if not isinstance(moment, datetime):
            return format_date(moment, length, locale=self.locale)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return format_datetime(moment, length, tzinfo=self.tz, locale=self.locale)

    def iso(self, value: Any) -> str:
        """ISO-8601 in the viewer's zone with its offset (machine-readable, for exports)."""
        moment = _parse(value)
        if not isinstance(moment, datetime):
            return "" if moment is None else moment.isoformat()
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(self.tz).isoformat(timespec="seconds")

    def day(self, value: Any) -> str:
        """A date in the viewer's language."""
        moment = _parse(value)
        if moment is None:
            return ""
        if isinstance(moment, datetime):
            moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(self.tz).date()
        return format_date(moment, "medium", locale=self.locale)

    def num(self, value: Any, digits: int = 0) -> str:
        """A number with grouping, ``digits`` decimals."""
        if value is None or value == "":
            return ""
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(float(value), format=pattern, locale=self.locale)

    def pct(self, value: Any, digits: int = 1) -> str:
        """A share (0..1) as a percentage."""
        if value is None:
            return ""
        return format_percent(float(value), format="#,##0." + "0" * digits + "%", locale=self.locale)

    def zone_name(self) -> str:
        """The viewer's time zone name shown next to times."""
        return str(getattr(self.tz, "key", "UTC"))


def report_translator(lang: str | None = None, settings: Any = None) -> Translator:
    """The translator of a standalone report or export: ``lang`` (e.g. ``--lang``) else the settings'.

    ``settings`` (default: :func:`hrbridge.settings.load_settings`) carry ``HRBRIDGE_LANG`` / the
    locale and ``HRBRIDGE_TZ``; a language other than zh or en is a ConfigError naming both.
    """
    from hrbridge.settings import ConfigError, load_settings

    settings = settings or load_settings()
    chosen = lang or settings.lang
    if chosen not in LANGUAGES:
        raise ConfigError(f"language {chosen!r} is not available: choose one of {', '.join(LANGUAGES)}")
    return Translator(chosen, ZoneInfo(settings.time_zone))
