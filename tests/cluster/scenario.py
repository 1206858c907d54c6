"""The five DAGs in the demo's order against the sandboxes, with the counts each leaves in the hub and archive.

One scenario, two runners: :class:`EmbeddedRunner` (``dag.test()`` on SQLite, the embedded default) and the
cluster's REST API runner in tests/cluster. Both must leave the same counts. Run as a module it performs
the embedded run in a fresh HRBRIDGE_HOME and prints the counts as JSON:

    python -m tests.cluster.scenario --legacy legacy.csv --out counts.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa

from hrbridge.settings import Settings

LEGACY_ROWS = 2_000
LEGACY_BATCH = 500
LEGACY_SEED = 13
HIRED = 3


class Runner(Protocol):
    """Runs one DAG run to its end and says how it ended."""

    def run(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        """Run ``dag_id`` once with ``conf``; the final state (``success`` or ``failed``)."""


class EmbeddedRunner:
    """The embedded default: one in-process ``dag.test()`` per run (hrbridge.airflow_env.run_dag)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def run(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        """Run through real Airflow in this process."""
        from hrbridge.airflow_env import run_dag

        return run_dag(dag_id, conf, settings=self.settings)


def _count(engine: sa.Engine, table: sa.Table, *where: Any) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one()


def _latest(engine: sa.Engine, table: sa.Table, column: sa.Column) -> Any:
    with engine.connect() as conn:
        return conn.execute(sa.select(table).order_by(column.desc()).limit(1)).one()


def run_scenario(runner: Runner, settings: Settings, sf: Any, platform: Any, legacy: Path,
                 between: Callable[[str], None] | None = None) -> dict[str, dict[str, int]]:
    """Run the five DAGs in order and return their counts; a run that does not succeed raises."""
    from governance.audit.schema import deletion_log
    from hrbridge.archive import archive_engine, employments, persons, portraits
    from hrbridge.store import hub_engine
    from hrbridge.store import recruiting as store
    from hrbridge.store.results import interview_results, results_writeback, validation_runs

    hub, archive = hub_engine(settings), archive_engine(settings)
    counts: dict[str, dict[str, int]] = {}

    def step(dag_id: str, conf: dict[str, Any] | None = None) -> None:
        state = runner.run(dag_id, conf)
        if state != "success":
            raise AssertionError(f"{dag_id} ended {state}")
        if between:
            between(dag_id)

    step("candidate_sync")
    run = _latest(hub, store.sync_runs, store.sync_runs.c.started_at)
    counts["candidate_sync"] = {k: int(run.counts[k]) for k in ("applications_read", "invited", "written_back",
                                                                 "quarantined")}
    completed = platform.complete(bad_fraction=0.2)
    step("interview_results")
    run = _latest(hub, validation_runs, validation_runs.c.started_at)
    counts["interview_results"] = {"completed": len(completed), "read": run.rows_checked + run.duplicates,
                                   "stored": run.stored, "quarantined": run.quarantined,
                                   "written_back": _count(hub, results_writeback, results_writeback.c.state == "written")}
    with hub.connect() as conn:
        hires = conn.execute(sa.select(interview_results.c.application_id)
                             .order_by(interview_results.c.application_id).limit(HIRED)).scalars().all()
    sf.hire([int(a) for a in hires])
    step("candidate_sync")
    step("archive_sync")
    counts["archive_sync"] = {"persons": _count(archive, persons), "employments": _count(archive, employments),
                              "portraits": _count(archive, portraits)}
    step("legacy_migration", {"source": str(legacy), "batch_size": LEGACY_BATCH})
    counts["legacy_migration"] = {"employees": _raw_count(archive, "employees")}
    step("retention_purge")
    counts["retention_purge"] = {"deletion_log_entries": _count(hub, deletion_log)}
    return counts


def _raw_count(engine: sa.Engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608 - fixed name


def write_legacy(path: Path) -> dict[str, int]:
    """The legacy CSV both runs migrate (seeded, so identical every time); its expected counts."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from benchmarks.generate_legacy import generate, write

    frame, injected = generate(LEGACY_ROWS, seed=LEGACY_SEED)
    write(frame, path, encoding="gbk")
    return {"rows": injected.rows, "expected_clean_rows": injected.expected_clean_rows}


def without_approval_gate(settings: Settings, home: Path) -> Settings:
    """Settings whose retention approval threshold no plan reaches (``dag.test()`` has nobody to ask).

    The cluster run keeps the shipped threshold and approves through the REST API; both delete the same.
    """
    import shutil

    import yaml

    from hrbridge.settings import load_settings

    operations = settings.configs_dir / "operations.yaml"
    if not operations.exists():
        return settings
    configs = home / "configs"
    shutil.copytree(settings.configs_dir, configs, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    document = yaml.safe_load((configs / "operations.yaml").read_text(encoding="utf-8"))
    document.setdefault("retention_approval", {}).update({"max_subjects": 10**9, "max_records": 10**9})
    (configs / "operations.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    os.environ["HRBRIDGE_CONFIG_DIR"] = str(configs)
    return load_settings()


def main(argv: list[str] | None = None) -> int:
    """The embedded run: sandboxes in this process, SQLite hub and archive, counts as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--legacy", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)
    home = Path(tempfile.mkdtemp(prefix="hrbridge-embedded-"))
    for key in ("HRBRIDGE_DB_URL", "HRBRIDGE_ARCHIVE_URL", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW_HOME"):
        os.environ.pop(key, None)
    os.environ["HRBRIDGE_HOME"] = str(home)
    from hrbridge.settings import load_settings
    from sandbox.interview import InterviewPlatformSandbox
    from sandbox.successfactors import SuccessFactorsSandbox

    sf, platform = SuccessFactorsSandbox(port=0).start(), InterviewPlatformSandbox(port=0).start()
    os.environ.update({"HRBRIDGE_SF_URL": sf.url, "HRBRIDGE_SF_USER": "sfadmin",
                       "HRBRIDGE_SF_PASSWORD": "sandbox-secret", "HRBRIDGE_SF_COMPANY_ID": "SFPART000001",
                       "HRBRIDGE_INTERVIEW_URL": platform.url, "HRBRIDGE_INTERVIEW_API_KEY": "sandbox-interview-key"})
    try:
        settings = without_approval_gate(load_settings(), home).ensure_dirs()
        counts = run_scenario(EmbeddedRunner(settings), settings, sf, platform, args.legacy)
    finally:
        sf.stop()
        platform.stop()
    args.out.write_text(json.dumps(counts, indent=2, sort_keys=True), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
