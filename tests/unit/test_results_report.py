"""The HR ops page renderer: plain words first, class names in details, inline SVG, escaped values."""

from __future__ import annotations

from validation.report import render_validation_page, trend_svg
from validation.results_suite import Rule

RULES = [
    Rule("overall_score_in_scale", "Overall score outside 0–100", "Scores must be in scale.",
         "expect_column_values_to_be_between", ("overall_score",)),
    Rule("keywords_well_formed", "Keywords not a short list of short words", "",
         "expect_column_values_to_be_in_set", ("keywords_ok",)),
]
RUN = {"run_id": "r-1", "source": "poll", "started_at": "2026-11-27 12:00", "rows_checked": 200, "stored": 195,
       "quarantined": 5, "duplicates": 1, "failures": {"overall_score_in_scale": 5, "keywords_well_formed": 0}}


def test_page_shows_plain_words_counts_and_examples() -> None:
    page = render_validation_page(RUN, RULES, {"overall_score_in_scale": [
        {"result_id": "res-1", "application_id": "42", "detail": "overall_score = 140 <script>"}]}, [RUN])
    assert "Overall score outside 0–100" in page and "5 failing" in page and "2.5%" in page
    assert "ExpectColumnValuesToBeBetween" in page
    assert "&lt;script&gt;" in page and "<script" not in page
    assert "<b>5</b>held back" in page


def test_trend_svg_has_one_bar_per_run() -> None:
    runs = [{**RUN, "run_id": f"r-{i}", "quarantined": i} for i in range(5)]
    svg = trend_svg(runs)
    assert svg.startswith("<svg") and svg.count("<rect") == 5
    assert "r-4: 2.0% of 200 rows" in svg
    assert trend_svg([]) == "<p>No earlier runs yet.</p>"
