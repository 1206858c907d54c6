"""Resume signals in Chinese and English: experience, skills, languages, education."""

from __future__ import annotations

from datetime import date

from tests.factories.recruiting import ENGINEER_RESUME_EN, SALES_RESUME_ZH, b64
from transforms.canonical import ResumeSignals
from transforms.resume_signals import decode_resume, education_level, extract_signals, years_of_experience


def test_chinese_sales_resume() -> None:
    signals = extract_signals(SALES_RESUME_ZH)
    assert signals.years_experience == 9.0
    assert {"key_accounts", "negotiation", "excel"} <= set(signals.skills)
    assert signals.languages == ("en",)
    assert signals.education == "bachelor"


def test_english_resume_sums_dated_periods() -> None:
    signals = extract_signals(ENGINEER_RESUME_EN, today=date(2026, 6, 30))
    # 2019-03..2022-06 is 40 months, 2022-07..2026-06 is 48 months
    assert signals.years_experience == round(88 / 12, 1)
    assert {"python", "sql", "cloud"} <= set(signals.skills)
    assert signals.languages == ("en", "zh")
    assert signals.education == "master"


def test_overlapping_periods_are_counted_once() -> None:
    text = "2010-2012 A\n2011-2013 B"
    assert years_of_experience(text, today=date(2026, 1, 1)) == 4.0


def test_stated_years_win_over_periods() -> None:
    assert years_of_experience("5+ years of experience. 2020-2021 X") == 5.0
    assert years_of_experience("3年以上销售经验") == 3.0


def test_skill_aliases_need_word_boundaries() -> None:
    assert "java" not in extract_signals("JavaScript developer").skills
    assert "javascript" in extract_signals("JavaScript developer").skills


def test_highest_education_wins() -> None:
    assert education_level("本科 ... 硕士研究生") == "master"
    assert education_level("PhD in physics, BSc") == "doctorate"
    assert education_level("no degree listed") is None


def test_empty_text_gives_no_signals() -> None:
    assert extract_signals("   ") == ResumeSignals()


def test_decode_base64_and_plain_text() -> None:
    assert decode_resume(b64(SALES_RESUME_ZH)) == SALES_RESUME_ZH
    assert decode_resume("not base64 at all!") == "not base64 at all!"
    assert decode_resume(None) == ""


def test_signals_round_trip() -> None:
    signals = extract_signals(SALES_RESUME_ZH)
    assert ResumeSignals.from_dict(signals.to_dict()) == signals


def test_labelled_years_and_pdf_like_text() -> None:
    text = "%PDF-1.4\n(Years of experience: 7) Tj T*\n(Skills: key accounts, negotiation) Tj T*\n"
    signals = extract_signals(text)
    assert signals.years_experience == 7.0
    assert {"key_accounts", "negotiation"} <= set(signals.skills)
