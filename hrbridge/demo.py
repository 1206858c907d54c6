"""``hrbridge demo``: the whole loop on one machine, with real servers and real Airflow.

The demo is an ordered list of :class:`DemoStep`; each step gets the shared :class:`DemoContext`
and returns a few counts for the final summary. Later loops append their steps to :data:`STEPS`
(interview results, archive, report) without touching the ones before.

State lives in ``HRBRIDGE_HOME/demo/<run>/`` (hub and archive SQLite files and reports, recreated on
each run so the counts are meaningful); Airflow lives in ``HRBRIDGE_HOME/airflow`` (migrated once)
and its output goes to ``HRBRIDGE_HOME/demo/<run>/airflow.log``, not the terminal.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from hrbridge.settings import Settings, load_settings


@dataclass
class DemoContext:
    """What steps share: settings, running sandboxes, counts so far, and where artefacts are."""

    settings: Settings
    log_file: Path
    sandboxes: dict[str, Any] = field(default_factory=dict)
    results: dict[str, dict[str, int]] = field(default_factory=dict)
    artefacts: dict[str, str] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)

    def reload_settings(self) -> None:
        """Re-read settings after a step changed the environment."""
        self.settings = load_settings()


@dataclass(frozen=True)
class DemoStep:
    """One named demo step; ``run`` returns counts shown in the summary."""

    name: str
    run: Callable[[DemoContext], dict[str, int]]


DEMO_SOURCES = ("successfactors", "greenhouse")


def demo_source() -> str:
    """The HR source the demo's candidate_sync reads: ``HRBRIDGE_DEMO_SOURCE`` (default successfactors)."""
    chosen = (os.environ.get("HRBRIDGE_DEMO_SOURCE") or "successfactors").strip().lower()
    if chosen not in DEMO_SOURCES:
        raise ValueError(f"HRBRIDGE_DEMO_SOURCE={chosen!r}: use one of {', '.join(DEMO_SOURCES)}")
    return chosen


def _start_greenhouse(ctx: DemoContext) -> dict[str, int]:
    """Start the Greenhouse Harvest v3 sandbox and make it candidate_sync's only source."""
    from sandbox.greenhouse import DEFAULT_CLIENTS, DEFAULT_USER_ID, GreenhouseSandbox

    gh = GreenhouseSandbox(port=0).start()
    ctx.sandboxes["greenhouse"] = gh
    client, secret = next(iter(DEFAULT_CLIENTS.items()))
    os.environ.update({
        "HRBRIDGE_SYNC_SOURCES": "greenhouse", "HRBRIDGE_GREENHOUSE_URL": gh.url,
        "HRBRIDGE_GREENHOUSE_CLIENT_ID": client, "HRBRIDGE_GREENHOUSE_CLIENT_SECRET": secret,
        "HRBRIDGE_GREENHOUSE_USER_ID": DEFAULT_USER_ID,
    })
    ctx.artefacts["Greenhouse sandbox"] = f"{gh.url}/v3"
    return {"applications": gh.count("applications"), "candidates": gh.count("candidates")}


def start_sandboxes(ctx: DemoContext) -> dict[str, int]:
    """Start the SuccessFactors and interview sandboxes on loopback and point the environment at them.

    With ``HRBRIDGE_DEMO_SOURCE=greenhouse`` the Greenhouse sandbox is started too and is the source
    candidate_sync reads.
    """
    from sandbox.interview import InterviewPlatformSandbox
    from sandbox.successfactors import SuccessFactorsSandbox

    source = demo_source()

    sf = SuccessFactorsSandbox(port=0).start()
    ctx.sandboxes["successfactors"] = sf
    platform = InterviewPlatformSandbox(port=0).start()
    ctx.sandboxes["interview"] = platform
    os.environ.update({
        "HRBRIDGE_SF_URL": sf.url, "HRBRIDGE_SF_USER": "sfadmin", "HRBRIDGE_SF_PASSWORD": "sandbox-secret",
        "HRBRIDGE_SF_COMPANY_ID": "SFPART000001",
        "HRBRIDGE_INTERVIEW_URL": platform.url, "HRBRIDGE_INTERVIEW_API_KEY": "sandbox-interview-key",
    })
    ctx.artefacts["SuccessFactors sandbox"] = f"{sf.url}/odata/v2"
    ctx.artefacts["interview sandbox"] = platform.url
    if source == "greenhouse":
        return _start_greenhouse(ctx)
    os.environ.pop("HRBRIDGE_SYNC_SOURCES", None)
    return {"applications": sf.count("JobApplication"), "candidates": sf.count("Candidate")}


def prepare_airflow_step(ctx: DemoContext) -> dict[str, int]:
    """Prepare Airflow under HRBRIDGE_HOME (SQLite; the first run migrates its database)."""
    from hrbridge.airflow_env import prepare_airflow

    home = prepare_airflow(ctx.settings, ctx.log_file)
    ctx.artefacts["Airflow home"] = str(home)
    return {}


def candidate_sync_step(ctx: DemoContext) -> dict[str, int]:
    """Run the candidate_sync DAG once through Airflow and read its counts from the hub."""
    import sqlalchemy as sa

    from hrbridge.airflow_env import AirflowRunError, run_dag
    from hrbridge.store import hub_engine
    from hrbridge.store import recruiting as store

    state = run_dag("candidate_sync", settings=ctx.settings, log_file=ctx.log_file)
    if state != "success":
        raise AirflowRunError(f"candidate_sync ended {state}; see {ctx.log_file}")
    with hub_engine(ctx.settings).connect() as conn:
        run = conn.execute(
            sa.select(store.sync_runs.c.counts).order_by(store.sync_runs.c.started_at.desc()).limit(1)
        ).scalar_one()
    return {key: int(run[key]) for key in ("applications_read", "invited", "written_back", "quarantined")}


STEPS: list[DemoStep] = [
    DemoStep("start sandboxes", start_sandboxes),
    DemoStep("prepare Airflow", prepare_airflow_step),
    DemoStep("candidate_sync DAG", candidate_sync_step),
]


def complete_interviews_step(ctx: DemoContext) -> dict[str, int]:
    """The interview sandbox completes every open interview; a fifth of the results are made bad."""
    platform = ctx.sandboxes["interview"]
    completed = platform.complete(bad_fraction=0.2)
    return {"completed": len(completed), "deliberately_bad": len(platform.bad_results)}


def interview_results_step(ctx: DemoContext) -> dict[str, int]:
    """Run the interview_results DAG once: validate, store, quarantine, write back, report."""
    import sqlalchemy as sa

    from hrbridge.airflow_env import AirflowRunError, run_dag
    from hrbridge.store import hub_engine
    from hrbridge.store.results import results_writeback, validation_runs

    state = run_dag("interview_results", settings=ctx.settings, log_file=ctx.log_file)
    if state != "success":
        raise AirflowRunError(f"interview_results ended {state}; see {ctx.log_file}")
    with hub_engine(ctx.settings).connect() as conn:
        run = conn.execute(sa.select(validation_runs).order_by(validation_runs.c.started_at.desc()).limit(1)).one()
        written = conn.execute(sa.select(sa.func.count()).select_from(results_writeback)
                               .where(results_writeback.c.state == "written")).scalar_one()
    if run.report_key:  # the report task stored it; copy it out so the summary names a file to open
        from hrbridge.artefacts import artefact_store
        from hrbridge.pipelines.interview_results import stored_validation_report, write_validation_report

        engine = hub_engine(ctx.settings)
        store = artefact_store(ctx.settings, engine=engine)
        report = stored_validation_report(engine, store, run.run_id)
        if report:
            page = write_validation_report(store, report, ctx.settings.reports_dir)[0]
            ctx.artefacts["validation report"] = f"{page} (artefact {report.page})"
    return {"results_read": run.rows_checked + run.duplicates, "stored": run.stored,
            "quarantined": run.quarantined, "scores_written_back": written}


def hire_step(ctx: DemoContext) -> dict[str, int]:
    """Hire three interviewed candidates in the SuccessFactors sandbox and refresh the hub."""
    import logging

    import sqlalchemy as sa

    from hrbridge.connections import successfactors_from_env
    from hrbridge.pipelines.candidate_sync import extract_and_load, load_sync_config, new_run_id
    from hrbridge.store import hub_engine
    from hrbridge.store.results import interview_results

    engine = hub_engine(ctx.settings)
    with engine.connect() as conn:
        app_ids = conn.execute(sa.select(interview_results.c.application_id)
                               .order_by(interview_results.c.application_id).limit(3)).scalars().all()
    ctx.sandboxes["successfactors"].hire([int(a) for a in app_ids])
    quiet = logging.getLogger("hrbridge.pipelines.candidate_sync")
    level = quiet.level
    quiet.setLevel(logging.WARNING)  # per-stream progress lines belong in logs, not the summary
    try:
        extract_and_load(successfactors_from_env(), engine, load_sync_config(ctx.settings), run_id=new_run_id())
    finally:
        quiet.setLevel(level)
    return {"hired": len(app_ids)}


def archive_sync_step(ctx: DemoContext) -> dict[str, int]:
    """Run the archive_sync DAG once and count the archive's rows."""
    import sqlalchemy as sa

    from hrbridge.airflow_env import AirflowRunError, run_dag
    from hrbridge.archive import archive_engine, employments, persons, portraits

    state = run_dag("archive_sync", settings=ctx.settings, log_file=ctx.log_file)
    if state != "success":
        raise AirflowRunError(f"archive_sync ended {state}; see {ctx.log_file}")
    with archive_engine(ctx.settings).connect() as conn:
        return {name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                for name, table in (("persons", persons), ("employments", employments), ("portraits", portraits))}


STEPS += [
    DemoStep("interviews completed (sandbox)", complete_interviews_step),
    DemoStep("interview_results DAG", interview_results_step),
    DemoStep("candidates hired (sandbox)", hire_step),
    DemoStep("archive_sync DAG", archive_sync_step),
]


from hrbridge.demo_serve import STEPS as PAGES_STEPS  # noqa: E402 - the pages' steps follow the loop's

STEPS += PAGES_STEPS
# With Greenhouse as the source the demo runs the candidate loop; interview results, hiring and the
# archive still write to and read from SuccessFactors (docs/greenhouse.md), so they are left out.
GREENHOUSE_STEPS: list[DemoStep] = STEPS[:3]


def demo_steps() -> list[DemoStep]:
    """The steps for ``HRBRIDGE_DEMO_SOURCE``: all of them for SuccessFactors, the candidate loop for Greenhouse."""
    return GREENHOUSE_STEPS if demo_source() == "greenhouse" else STEPS


def demo_settings(base: Settings | None = None) -> Settings:
    """Point hub, archive and reports at a fresh ``HRBRIDGE_HOME/demo/<run>`` and Airflow at the home's.

    Earlier demo runs' folders are removed, so each demo starts from empty databases.
    """
    import uuid

    from hrbridge.settings import private_dir

    base = (base or load_settings()).ensure_dirs()
    parent = base.home / "demo"
    if parent.exists():
        shutil.rmtree(parent)
    demo_home = private_dir(parent / f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:4]}")
    os.environ.update({
        "HRBRIDGE_HOME": str(base.home),
        "HRBRIDGE_DB_URL": f"sqlite:///{demo_home / 'hub.db'}",
        "HRBRIDGE_ARCHIVE_URL": f"sqlite:///{demo_home / 'archive.db'}",
        "HRBRIDGE_REPORTS_DIR": str(demo_home / "reports"),
        "AIRFLOW_HOME": str(base.airflow_home),
    })
    return load_settings().ensure_dirs()


def run_demo(steps: Sequence[DemoStep] | None = None, out: TextIO | None = None,
             stop_sandboxes: bool = True) -> DemoContext:
    """Run every step in order, printing one line per step, then stop the sandboxes (unless the
    caller keeps them for the pages, where clips play from the interview sandbox)."""
    import sys

    out = out or sys.stdout
    settings = demo_settings()
    ctx = DemoContext(settings=settings, log_file=settings.reports_dir.parent / "airflow.log")
    ctx.artefacts.update({"hub database": settings.db_url, "archive database": settings.archive_url,
                          "reports": str(settings.reports_dir), "Airflow log": str(ctx.log_file)})
    steps = steps or demo_steps()
    try:
        for number, step in enumerate(steps, 1):
            print(f"[{number}/{len(steps)}] {step.name} ...", end="", flush=True, file=out)
            started = time.perf_counter()
            counts = step.run(ctx) or {}
            ctx.results[step.name] = counts
            details = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items())
            print(f" done in {time.perf_counter() - started:.1f}s" + (f": {details}" if details else ""),
                  file=out, flush=True)
    except BaseException:
        stop_sandboxes = True
        raise
    finally:
        if stop_sandboxes:
            for server in ctx.sandboxes.values():
                server.stop()
    return ctx


def format_summary(ctx: DemoContext) -> str:
    """The closing summary: the candidate_sync counts, then where every artefact is."""
    lines = ["", "Summary"]
    for step, counts in ctx.results.items():
        if counts:
            lines.append(f"  {step}:")
            lines.extend(f"    {name.replace('_', ' '):<22}{value:>7}" for name, value in counts.items())
    lines += ["", "Artefacts"]
    lines.extend(f"  {name:<24}{where}" for name, where in ctx.artefacts.items())
    return "\n".join(lines)
