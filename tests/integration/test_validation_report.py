"""The HR ops validation report: plain words, masked examples, inline SVG trend, GX Data Docs."""

from __future__ import annotations

import re

import pytest

from connectors.interview_rest import HrbridgeInterviewClient
from hrbridge.artefacts import artefact_store
from hrbridge.pipelines.interview_results import (
    build_validation_report,
    ingest_results,
    load_results_config,
    stored_validation_report,
    validate_and_store,
    write_validation_report,
)
from hrbridge.settings import load_settings
from hrbridge.store import hub_engine
from tests.factories.results import invite, make_result


def test_report_for_a_run_with_bad_results(hrbridge_home, interview_sandbox) -> None:
    settings = load_settings()
    config = load_results_config(settings)
    engine = hub_engine(settings)
    platform = HrbridgeInterviewClient(interview_sandbox.url, "sandbox-interview-key")
    invite(platform, engine, [str(4000 + i) for i in range(14)])
    interview_sandbox.complete(bad_fraction=0.5)
    first = ingest_results(platform, engine, config, settings=settings)
    second = ingest_results(platform, engine, config, settings=settings)  # an empty poll
    platform.close()

    report = build_validation_report(engine, settings, run_id=first.run_id)
    store = artefact_store(settings, engine=engine)
    page = store.get(report.page).text()
    assert report.page == f"validation/{first.run_id}.html"
    assert "Overall score outside 0–100" in page or "Dimension scores outside 0–100" in page
    assert f"<b>{first.quarantined}</b>held back" in page
    assert "<svg" in page and "<script" not in page and "http://cdn" not in page.lower()
    assert page.count("<rect") == 1  # the trend holds this run only
    assert "ExpectColumnValuesToNotBeNull" in page  # class names only in the details column
    # Examples are shown for failing checks.
    assert page.count("<li>result ") >= 1
    # The run's Data Docs site was built during validation by the suite's Checkpoint (UpdateDataDocsAction).
    docs = f"validation/{first.run_id}/data-docs/"
    assert report.data_docs == f"{docs}index.html" and f'href="{first.run_id}/data-docs/index.html"' in page
    batch_pages = [i.key for i in store.list("validation", f"{first.run_id}/data-docs/validations/")]
    assert len(batch_pages) == 1 and batch_pages[0].endswith(".html")
    batch_page = store.get(batch_pages[0]).text()
    assert "expect_column_values_to_be_between" in batch_page or "values must be" in batch_page.lower()
    assert batch_pages[0].removeprefix(docs) in store.get(report.data_docs).text()  # the index links the batch
    assert stored_validation_report(engine, store, first.run_id) == report

    written = write_validation_report(store, report, settings.reports_dir)
    assert written[0] == (settings.reports_dir / f"{first.run_id}.html").resolve()
    site = settings.reports_dir / first.run_id / "data-docs"
    assert (site / "index.html").exists()  # the page's relative link works
    assert (site / "static" / "styles" / "data_docs_default_styles.css").exists()  # and the site's own links

    latest = build_validation_report(engine, settings)
    assert latest.run_id == second.run_id and latest.data_docs is None
    third_page = store.get(latest.page).text()
    assert third_page.count("<rect") == 2  # empty polls appear only as the run being reported


def test_examples_mask_personal_data(hrbridge_home) -> None:
    settings = load_settings()
    config = load_results_config(settings)
    engine = hub_engine(settings)
    bad = make_result(1, keywords=["call me at 13812345678 or li.lei@example.com"])
    counts = validate_and_store(engine, [bad], config, run_id="run-mask", source="poll")
    from datetime import UTC, datetime

    from hrbridge.pipelines.interview_results import record_run

    record_run(engine, counts, datetime.now(UTC), settings)
    page = artefact_store(settings).get(build_validation_report(engine, settings, run_id="run-mask").page).text()
    assert "Keywords not a short list of short words" in page
    assert "13812345678" not in page and "li.lei@example.com" not in page
    assert re.search(r"\*+5678", page) and "l***@example.com" in page


def test_unknown_run_is_a_clear_error(hrbridge_home) -> None:
    settings = load_settings()
    with pytest.raises(LookupError, match="no validation run nope"):
        build_validation_report(hub_engine(settings), settings, run_id="nope")
