"""The demo's step machinery: ordered steps, shared context, sandboxes stopped, fresh demo state."""

from __future__ import annotations

import io

import pytest
import requests

from hrbridge.demo import DemoContext, DemoStep, format_summary, run_demo, start_sandboxes


def _sync_without_airflow(ctx: DemoContext) -> dict[str, int]:
    from hrbridge.connections import interview_platform_from_env, successfactors_from_env
    from hrbridge.pipelines.candidate_sync import load_sync_config, run_candidate_sync
    from hrbridge.store import hub_engine

    summary = run_candidate_sync(successfactors_from_env(), interview_platform_from_env(),
                                 hub_engine(ctx.settings), load_sync_config(ctx.settings))
    ctx.state["sf_url"] = ctx.sandboxes["successfactors"].url
    return {"invited": summary.invited, "written_back": summary.written_back}


def test_demo_runs_steps_in_order_and_cleans_up(hrbridge_home, monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW_HOME", str(hrbridge_home / "airflow"))  # restored after the test
    for name in ("HRBRIDGE_SF_URL", "HRBRIDGE_INTERVIEW_URL", "HRBRIDGE_DB_URL", "HRBRIDGE_ARCHIVE_URL"):
        monkeypatch.setenv(name, "placeholder")
    out = io.StringIO()
    steps = [DemoStep("start sandboxes", start_sandboxes), DemoStep("sync", _sync_without_airflow)]
    ctx = run_demo(steps, out=out)
    assert list(ctx.results) == ["start sandboxes", "sync"]
    assert ctx.results["sync"]["invited"] == ctx.results["sync"]["written_back"] > 0
    assert str(hrbridge_home / "demo") in ctx.settings.db_url and ctx.settings.db_url.endswith("hub.db")
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("[1/2] start sandboxes") and lines[1].startswith("[2/2] sync")
    summary = format_summary(ctx)
    assert "hub database" in summary and "invited" in summary
    try:
        requests.get(ctx.state["sf_url"], timeout=1)
        raise AssertionError("sandbox still running after the demo")
    except requests.ConnectionError:
        pass
    second = run_demo(steps, out=io.StringIO())  # a fresh demo state: invitations happen again
    assert second.results["sync"]["invited"] == ctx.results["sync"]["invited"]


def test_demo_with_greenhouse_as_the_source(hrbridge_home, monkeypatch) -> None:
    from hrbridge.connections import interview_platform_from_env
    from hrbridge.demo import GREENHOUSE_STEPS, demo_steps
    from hrbridge.pipelines.candidate_sync import load_sync_config, run_candidate_sync
    from hrbridge.sources import sync_sources
    from hrbridge.store import hub_engine

    monkeypatch.setenv("AIRFLOW_HOME", str(hrbridge_home / "airflow"))
    monkeypatch.setenv("HRBRIDGE_DEMO_SOURCE", "greenhouse")
    for name in ("HRBRIDGE_SF_URL", "HRBRIDGE_INTERVIEW_URL", "HRBRIDGE_DB_URL", "HRBRIDGE_ARCHIVE_URL",
                 "HRBRIDGE_SYNC_SOURCES", "HRBRIDGE_GREENHOUSE_URL"):
        monkeypatch.setenv(name, "placeholder")
    assert demo_steps() is GREENHOUSE_STEPS and [s.name for s in GREENHOUSE_STEPS][-1] == "candidate_sync DAG"

    def sync(ctx: DemoContext) -> dict[str, int]:
        config = load_sync_config(ctx.settings)
        summary = run_candidate_sync(sync_sources(config, settings=ctx.settings), interview_platform_from_env(),
                                     hub_engine(ctx.settings), config)
        return {"invited": summary.invited, "written_back": summary.written_back}

    ctx = run_demo([DemoStep("start sandboxes", start_sandboxes), DemoStep("sync", sync)], out=io.StringIO())
    assert "Greenhouse sandbox" in ctx.artefacts
    assert ctx.results["sync"]["invited"] == ctx.results["sync"]["written_back"] > 0
    assert len(ctx.sandboxes["greenhouse"].patch_log) == ctx.results["sync"]["written_back"]
    monkeypatch.setenv("HRBRIDGE_DEMO_SOURCE", "workday")
    with pytest.raises(ValueError, match="use one of successfactors, greenhouse"):
        demo_steps()
