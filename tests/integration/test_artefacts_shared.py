"""Artefacts written on one host are read on another that shares only the hub database (Postgres)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hrbridge.artefacts import artefact_store
from hrbridge.cli import main
from hrbridge.pipelines.interview_results import (
    build_validation_report,
    load_results_config,
    record_run,
    validate_and_store,
)
from hrbridge.settings import load_settings
from hrbridge.store import hub_engine
from tests.factories.results import make_result


def _host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, hub_url: str) -> Path:
    """Switch the process to another host: its own HRBRIDGE_HOME and temp folder, the shared hub."""
    home = tmp_path / name
    home.mkdir()
    monkeypatch.setenv("HRBRIDGE_HOME", str(home))
    monkeypatch.setenv("HRBRIDGE_REPORTS_DIR", str(home / "reports"))
    monkeypatch.setenv("HRBRIDGE_DB_URL", hub_url)
    monkeypatch.delenv("HRBRIDGE_ARTEFACT_URL", raising=False)
    return home


@pytest.mark.postgres
def test_report_written_on_one_host_is_read_on_another(pg_url: str, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    worker = _host(tmp_path, monkeypatch, "worker-a", pg_url)
    settings = load_settings()
    engine = hub_engine(settings)
    config = load_results_config(settings)
    bad = make_result(2, overall_score=250)
    counts = validate_and_store(engine, [make_result(1), bad], config, run_id="ir-shared", source="poll")
    record_run(engine, counts, datetime.now(UTC), settings)
    report = build_validation_report(engine, settings, run_id="ir-shared")
    assert report.data_docs is not None
    shutil.rmtree(worker)  # nothing the first host wrote on its own disk survives

    _host(tmp_path, monkeypatch, "api-server-b", pg_url)
    out = tmp_path / "download"
    capsys.readouterr()
    assert main(["report", "validation", "--run", "ir-shared", "--out", str(out)]) == 0
    assert "artefact validation/ir-shared.html" in capsys.readouterr().out
    page = (out / "ir-shared.html").read_text(encoding="utf-8")
    assert f"<b>{counts.quarantined}</b>held back" in page and 'href="ir-shared/data-docs/index.html"' in page
    assert (out / "ir-shared" / "data-docs" / "index.html").exists()
    assert len(list((out / "ir-shared" / "data-docs" / "validations").rglob("*.html"))) == 1
    assert artefact_store().list("gx-results") == []  # nothing kept on the side to build Data Docs later
