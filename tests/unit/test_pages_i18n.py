"""The pages' message catalogue: every key the templates and code use exists in both languages;
language negotiation and time-zone formatting."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from plugins.hrbridge_pages.i18n import LANGUAGES, Translator, catalogue, negotiate, zone

REPO = Path(__file__).resolve().parents[2]
PAGES = REPO / "plugins" / "hrbridge_pages"
# Standalone reports and exports written outside the pages use the same catalogue.
REPORTS = [REPO / "validation" / "report.py", REPO / "validation" / "migration_report.py",
           REPO / "governance" / "audit" / "export.py", REPO / "hrbridge" / "pipelines" / "interview_results" / "report.py",
           REPO / "hrbridge" / "feedback" / "report.py"]
LITERAL = re.compile(r"""\bt\(\s*['"]([a-z_][a-z0-9_.-]*)['"]""")


def used_keys() -> set[str]:
    keys: set[str] = set()
    for path in [*PAGES.glob("templates/*.html"), *PAGES.glob("pages/*.py"), PAGES / "render.py", PAGES / "app.py",
                 *REPORTS]:
        keys.update(LITERAL.findall(path.read_text(encoding="utf-8")))
    return keys


def test_every_used_key_is_in_the_catalogue_in_both_languages() -> None:
    missing = sorted(k for k in used_keys() if k not in catalogue() and not k.endswith("."))  # "x." ~ name: data-driven
    assert len(used_keys()) > 150 and missing == []
    for key, texts in catalogue().items():
        assert set(texts) == set(LANGUAGES) and all(texts.values()), key


def test_placeholders_match_between_languages() -> None:
    field = re.compile(r"{(\w+)}")
    for key, texts in catalogue().items():
        assert set(field.findall(texts["en"])) == set(field.findall(texts["zh"])), key


@pytest.mark.parametrize(("cookie", "header", "expected"), [
    (None, "zh-CN,zh;q=0.9,en;q=0.8", "zh"), (None, "en-US,en;q=0.9", "en"), (None, "de-DE,zh-TW;q=0.5", "zh"),
    (None, "fr;q=0.9,en;q=0.1", "en"), (None, None, "en"), ("zh", "en-US", "zh"), ("xx", "zh", "zh"),
    (None, "en;q=0.2,zh;q=0.8", "zh"),
])
def test_language_negotiation(cookie: str | None, header: str | None, expected: str) -> None:
    assert negotiate(cookie, header) == expected


def test_times_in_the_viewers_zone_and_language() -> None:
    moment = datetime(2026, 1, 15, 2, 0, tzinfo=UTC)
    assert Translator("zh", zone("Asia/Shanghai")).dt(moment, "short") == "2026/1/15 10:00"
    assert Translator("en", zone("Europe/Berlin")).iso("2026-01-15T02:00:00Z") == "2026-01-15T03:00:00+01:00"
    assert Translator("en", zone("Not/AZone")).zone_name() == "UTC"
    assert Translator("zh")("audit.entry_title", seq=3) == "第 3 条记录"


@pytest.mark.parametrize(("env", "expected"), [
    ({}, ("en", "UTC")), ({"LANG": "zh_CN.UTF-8"}, ("zh", "UTC")), ({"LC_ALL": "en_US.UTF-8", "LANG": "zh_CN"}, ("en", "UTC")),
    ({"HRBRIDGE_LANG": "zh", "LANG": "en_GB.UTF-8", "HRBRIDGE_TZ": "Asia/Shanghai"}, ("zh", "Asia/Shanghai")),
    ({"HRBRIDGE_LANG": "zh-CN"}, ("zh", "UTC")),
])
def test_reports_take_language_from_hrbridge_lang_else_the_locale(env: dict[str, str], expected: tuple) -> None:
    from hrbridge.i18n import report_translator
    from hrbridge.settings import load_settings

    t = report_translator(settings=load_settings(env))
    assert (t.lang, t.zone_name()) == expected
    assert report_translator("en", load_settings(env)).lang == "en"  # --lang wins


@pytest.mark.parametrize("env", [{"HRBRIDGE_LANG": "fr"}, {"HRBRIDGE_TZ": "Mars/Olympus"}])
def test_an_unknown_language_or_zone_is_a_clear_configuration_error(env: dict[str, str]) -> None:
    from hrbridge.settings import ConfigError, load_settings

    with pytest.raises(ConfigError, match=next(iter(env))):
        load_settings(env)
