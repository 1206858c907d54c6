"""The bias audit over a real hub: sealed categories read by the audit role only, report, notice, exit code."""

from __future__ import annotations

import inspect
import json
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

import hrbridge.operations.notify  # noqa: F401 - Airflow sets up its logging at import: not inside one test's capture
from governance.access import AccessDenied
from hrbridge.cli import main
from hrbridge.pipelines.bias_audit import (
    BiasConfig,
    load_population,
    month_bounds,
    run_bias_audit,
    store_categories,
)
from hrbridge.settings import load_settings
from hrbridge.store import hub_engine
from hrbridge.store.consent import audit_categories
from hrbridge.store.results import interview_results
from tests.factories.fairness import population
from tests.factories.receivers import alert_connections


def _store_results(engine: sa.Engine, rows: list[dict]) -> None:
    """One stored November result per generated person (the audit's population)."""
    with engine.begin() as conn:
        conn.execute(interview_results.insert(), [{
            "result_id": f"R{r['application_id']}", "invitation_id": f"I{r['application_id']}",
            "candidate_id": r["candidate_id"], "application_id": r["application_id"], "job_family": r["job_family"],
            "completed_at": datetime(2026, 11, 15, tzinfo=UTC), "overall_score": r["overall_score"],
            "dimensions": [], "keywords": [], "clips": [], "source": "poll", "run_id": "r",
            "stored_at": datetime(2026, 11, 15, tzinfo=UTC)} for r in rows])


@pytest.fixture
def hub(hrbridge_home):
    engine = hub_engine(load_settings())
    rows = population()
    _store_results(engine, rows)
    stored = store_categories(engine, rows, role="auditor", source="survey")
    assert stored == len(rows)
    return engine


def test_categories_are_sealed_and_readable_by_the_audit_role_only(hub) -> None:
    with hub.connect() as conn:
        sealed = conn.execute(sa.select(audit_categories.c.categories)).scalars().all()
    assert all("female" not in s and "male" not in s for s in sealed)  # vault tokens, not values
    with pytest.raises(AccessDenied):
        store_categories(hub, [{"candidate_id": "P0001", "sex": "male"}], role="hr_specialist", source="x")
    config = BiasConfig.load()
    start, end = month_bounds("2026-11")
    assert (load_population(hub, start, end, config)["sex"] == "female").sum() == 70
    from dataclasses import replace

    with pytest.raises(AccessDenied):
        load_population(hub, start, end, replace(config, role="hr_specialist"))


def test_category_data_is_never_a_scoring_input() -> None:
    import hrbridge.pipelines.interview_results.ingest as ingest
    import transforms.match_report as match
    import transforms.results as results

    for module in (ingest, match, results):
        source = inspect.getsource(module)
        assert "audit_categories" not in source and "race_ethnicity" not in source


def test_cli_writes_both_summaries_and_a_planted_disparity_sends_the_notice(hub, alert_receiver, monkeypatch,
                                                                             capsys) -> None:
    for name, value in alert_connections(alert_receiver).items():
        monkeypatch.setenv(name, value)
    assert main(["audit", "bias", "--period", "2026-11", "--json"]) == 3
    text = capsys.readouterr().out
    out = json.loads(text[text.index("{\n"):])  # importing the notifiers may log a line before it
    assert out["people"] == 140 and out["notice"]["hrbridge_alert_webhook"] == "sent"
    assert {"job_family": "Sales", "measure": "scoring", "group": ["male"]}.items() <= next(
        f for f in out["flags"] if f["group"] == ["male"] and f["measure"] == "scoring").items()
    notices = [d.json() for d in alert_receiver.deliveries if d.path.startswith("/hooks")]
    assert notices and notices[0]["event"] == "bias_audit_below_floor" and "Sales scoring male: 0.667" in notices[0]["flags"]
    from hrbridge.artefacts import artefact_store

    store = artefact_store(load_settings(), hub)
    assert sorted(k.split("/")[-1] for k in out["artefacts"]) == ["audit.json", "summary.en-US.md", "summary.zh-CN.md"]
    assert "偏差审计" in store.get(out["artefacts"][1]).data.decode()
    # An empty month: nothing to flag, exit 0.
    assert run_bias_audit("2026-10", store=False)["flags"] == []


def test_an_alternative_process_leaves_out_that_application_only(hub) -> None:
    from hrbridge.store.consent import consent_events

    config = BiasConfig.load()
    start, end = month_bounds("2026-11")
    everyone = load_population(hub, start, end, config)
    chosen = str(everyone["application_id"].iloc[0])
    moment = datetime(2026, 11, 20, tzinfo=UTC)  # after the result was stored
    with hub.begin() as conn:
        conn.execute(consent_events.insert(), [
            {"event_id": f"E-{app}", "kind": "alternative_process", "candidate_id": f"C-{app}", "application_id": app,
             "scopes": [], "declined": [], "given_at": moment, "received_at": moment}
            for app in (chosen, None)])  # an answer without an application id leaves everyone else in
    kept = load_population(hub, start, end, config)
    assert len(kept) == len(everyone) - 1 and chosen not in set(kept["application_id"])


def test_with_the_hub_key_provider_another_worker_reads_the_categories(tmp_path, monkeypatch) -> None:
    """Categories sealed on one worker are audited on another that shares only the hub and the KEK."""
    import base64
    import os

    def worker(name: str) -> None:
        home = tmp_path / name
        home.mkdir(exist_ok=True)
        monkeypatch.setenv("HRBRIDGE_HOME", str(home))
        monkeypatch.setenv("HRBRIDGE_REPORTS_DIR", str(home / "reports"))

    monkeypatch.setenv("HRBRIDGE_DB_URL", f"sqlite:///{tmp_path / 'hub.db'}")
    monkeypatch.setenv("HRBRIDGE_KEY_PROVIDER", "hub")
    monkeypatch.setenv("HRBRIDGE_KEK", base64.b64encode(os.urandom(32)).decode())
    worker("a")
    assert main(["keys", "init", "--json"]) == 0
    engine = hub_engine(load_settings())
    rows = [r for r in population() if r["job_family"] == population()[0]["job_family"]][:20]
    assert store_categories(engine, rows, role="auditor", source="survey") == len(rows)

    worker("b")  # no keyring, no keys folder: only the hub and HRBRIDGE_KEK
    _store_results(engine, rows)
    start, end = month_bounds("2026-11")
    loaded = load_population(hub_engine(load_settings()), start, end, BiasConfig.load())
    assert len(loaded) == len(rows) and loaded["sex"].notna().all()
    assert not list((tmp_path / "b").glob("keyring*"))  # nothing local was created to read them
