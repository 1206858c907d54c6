"""The HR ops page renderer: plain words first, class names in details, inline SVG, escaped values."""

from __future__ import annotations

from hrbridge.i18n import Translator
from validation.report import render_validation_page, trend_svg
from validation.results_suite import Rule

RULES = [
    Rule("overall_score_in_scale", "Overall score outside 0–100", "Scores must be in scale.",
         "expect_column_values_to_be_between", ("overall_score",)),
    Rule("keywords_well_formed", "Keywords not a short list of short words", "",
         "expect_column_values_to_be_in_set", ("keywords_ok",)),
]
EN, ZH = Translator("en"), Translator("zh")
RUN = {"run_id": "r-1", "source": "poll", "started_at": "2026-11-27 12:00", "rows_checked": 200, "stored": 195,
       "quarantined": 5, "duplicates": 1, "failures": {"overall_score_in_scale": 5, "keywords_well_formed": 0}}


def test_page_shows_plain_words_counts_and_examples() -> None:
    page = render_validation_page(RUN, RULES, {"overall_score_in_scale": [
        {"result_id": "res-1", "application_id": "42", "detail": "overall_score = 140 <script>"}]}, [RUN], EN)
    assert "Overall score outside 0–100" in page and "5 failing" in page and "2.5%" in page
    assert "Times are shown in the UTC time zone." in page and '<html lang="en">' in page
    assert "ExpectColumnValuesToBeBetween" in page
    assert "&lt;script&gt;" in page and "<script" not in page
    assert "<b>5</b>held back" in page


def test_trend_svg_has_one_bar_per_run() -> None:
    runs = [{**RUN, "run_id": f"r-{i}", "quarantined": i} for i in range(5)]
    svg = trend_svg(runs, EN)
    assert svg.startswith("<svg") and svg.count("<rect") == 5
    assert "r-4: 2.0% of 200 results held back" in svg
    assert trend_svg([], EN) == "<p>No earlier runs yet.</p>"
    assert trend_svg([], ZH) == "<p>还没有更早的校验记录。</p>"


def test_page_in_chinese_with_times_in_the_stated_zone() -> None:
    from zoneinfo import ZoneInfo

    t = Translator("zh", ZoneInfo("Asia/Shanghai"))
    page = render_validation_page({**RUN, "started_at": "2026-11-27T12:00:00+00:00"}, RULES, {}, [RUN], t,
                                  "r-1/data-docs/index.html")
    assert '<html lang="zh-CN">' in page and "面试结果校验" in page and "5 条未通过" in page
    assert "2026年11月27日 20:00:00" in page  # 12:00 UTC in Shanghai, as the page states
    assert "时间均按 Asia/Shanghai 时区显示。" in page and "定时拉取" in page
    assert 'href="r-1/data-docs/index.html"' in page and "本次校验的 Great Expectations 数据文档" in page
