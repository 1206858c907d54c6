"""The same DAGs on the many-machine topology: five DAGs through the REST API with the embedded run's
counts, a secret sealed on one worker opened on the other, the compose health checks passing, and a
worker killed mid-migration while the other finishes with exact counts."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hrbridge.artefacts import artefact_store
from hrbridge.settings import load_settings
from tests.cluster import compose
from tests.cluster.api import AirflowApi
from tests.cluster.scenario import run_scenario
from tests.cluster.topology import Topology

pytestmark = [pytest.mark.cluster, pytest.mark.slow, pytest.mark.postgres]
WAITING = {"awaiting_input", "deferred"}  # a human-in-the-loop task parked until someone answers


class ApiRunner:
    """The scenario's runner on the cluster: trigger through the REST API, wait for the run's end.

    A run that stops at a human-in-the-loop approval (retention_purge above its threshold) is looked at
    while it waits (``before_approval`` returns what must hold then) and approved through the REST API.
    """

    def __init__(self, api: AirflowApi, before_approval: Callable[[], dict[str, Any]] | None = None) -> None:
        self.api = api
        self.runs: dict[str, list[str]] = {}
        self.before_approval = before_approval
        self.approvals: list[dict[str, Any]] = []

    def run(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        """Trigger ``dag_id``, answer its approval if it asks for one, wait; the final state."""
        run_id = self.api.trigger(dag_id, conf)
        self.runs.setdefault(dag_id, []).append(run_id)
        if "approve" in self.api.task_ids(dag_id):
            self._approve_when_asked(dag_id, run_id)
        return self.api.wait(dag_id, run_id, timeout=300)

    def _approve_when_asked(self, dag_id: str, run_id: str, timeout: float = 300.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.api.run_state(dag_id, run_id) in ("success", "failed"):
                return
            if self.api.task_state(dag_id, run_id, "approve") in WAITING:
                asked = self.api.hitl(dag_id, run_id, "approve")
                seen = self.before_approval() if self.before_approval else {}
                time.sleep(2)  # still waiting a moment later: nothing moves without an answer
                seen["still_waiting"] = self.api.task_state(dag_id, run_id, "approve") in WAITING
                self.api.respond(dag_id, run_id, "approve", ["Approve"])
                self.approvals.append({"asked": asked, "before": seen})
                return
            time.sleep(1)
        raise TimeoutError(f"{dag_id} run {run_id} neither finished nor asked for approval")


def _cluster_settings(cluster: Topology, tmp_path: Path) -> Any:
    return load_settings({"HRBRIDGE_HOME": str(tmp_path / "reader"), "HRBRIDGE_DB_URL": cluster.databases["hub"],
                          "HRBRIDGE_ARCHIVE_URL": cluster.databases["archive"]})


def test_five_dags_through_the_rest_api_match_the_embedded_run(
        cluster: Topology, sandboxes: tuple[Any, Any], embedded_run: Any, legacy_csv: Any, tmp_path: Path) -> None:
    from governance.audit.schema import deletion_log
    from hrbridge.archive import archive_engine, persons
    from hrbridge.store import hub_engine
    from tests.cluster.scenario import _count

    sf, platform = sandboxes
    settings = _cluster_settings(cluster, tmp_path)

    def before_approval() -> dict[str, Any]:
        return {"deletion_log_entries": _count(hub_engine(settings), deletion_log),
                "persons": _count(archive_engine(settings), persons)}

    runner = ApiRunner(cluster.api, before_approval)
    counts = run_scenario(runner, settings, sf, platform, legacy_csv[0])

    process, out = embedded_run
    assert process.wait(timeout=600) == 0, out.with_suffix(".log").read_text(encoding="utf-8")[-4000:]
    assert counts == json.loads(out.read_text(encoding="utf-8"))
    assert counts["legacy_migration"]["employees"] == legacy_csv[1]["expected_clean_rows"]
    assert counts["candidate_sync"]["invited"] > 0 and counts["interview_results"]["stored"] > 0
    ran = {dag_id: {h for run_id in run_ids for h in cluster.ran_on(dag_id, run_id, "*")}
           for dag_id, run_ids in runner.runs.items()}
    assert set().union(*ran.values()) == set(cluster.workers), f"tasks did not reach both workers: {ran}"
    # the deletion-log keys and the peppers are the hub's (sealed by HRBRIDGE_KEK), on no worker's disk
    on_disk = [str(path) for worker in cluster.workers for path in (cluster.host_dir(worker) / "hrbridge" / "keys").glob("*")]
    assert on_disk == [], f"secrets on a worker's disk: {on_disk}"
    if "approve" in cluster.api.task_ids("retention_purge"):
        # above the threshold the run waited for a person, deleting nothing, and deleted once approved
        assert len(runner.approvals) == 1, "retention_purge did not ask for approval"
        before = runner.approvals[0]["before"]
        assert before["still_waiting"] and before["deletion_log_entries"] == 0
        assert before["persons"] == counts["archive_sync"]["persons"]
        assert counts["retention_purge"]["deletion_log_entries"] > 0


def test_values_sealed_on_one_worker_open_on_the_other(cluster: Topology, sandboxes: Any) -> None:
    opened = {worker: cluster.run_on(worker, ["python", "-m", "tests.cluster.probe", "decrypt"])
              for worker in cluster.workers}
    for worker, done in opened.items():
        assert done.returncode == 0, f"{worker} could not open the hub's sealed values:\n{done.stderr[-3000:]}"
    results = {worker: json.loads(done.stdout.strip().splitlines()[-1]) for worker, done in opened.items()}
    first = results[cluster.workers[0]]
    assert first["sealed_media"] > 0 and first["sealed_contacts"] > 0
    for result in results.values():
        assert result == first
        assert result["opened_media"] == result["sealed_media"]
        assert result["opened_contacts"] == result["sealed_contacts"]


def test_compose_health_checks_pass_on_every_service(cluster: Topology) -> None:
    checks = {name: compose.healthcheck("worker" if name in cluster.workers else name)
              for name in cluster.services}
    done = cluster.parallel({name: (lambda n=name, argv=argv: cluster.run_on(n, argv, timeout=120))
                             for name, argv in checks.items()})
    failed = {name: (d.returncode, d.stderr[-500:]) for name, d in done.items() if d.returncode != 0}
    assert not failed


def test_reports_written_by_a_worker_are_read_elsewhere(cluster: Topology, sandboxes: Any, tmp_path: Path) -> None:
    store = artefact_store(_cluster_settings(cluster, tmp_path))
    reports = store.list("validation")
    assert reports, "no validation report reached the artefact store"
    page = store.get(reports[-1].key)
    assert page.content_type.startswith("text/html") and len(page.data) > 0
    assert store.list("migration"), "no migration report reached the artefact store"
    # read through the api-server as an HR user: the bytes a worker stored, served by another process
    hr = cluster.client("hr.demo")
    served = hr.session.get(f"{cluster.api_url}/hrbridge/api/artefacts/{reports[-1].key}", timeout=30)
    assert served.status_code == 200, served.text[:300]
    assert served.content == page.data and served.headers["content-type"].startswith("text/html")


KILL_ROWS = 200_000
KILL_BATCH = 50_000


def _running_batch(api: AirflowApi, run_id: str, at_least: int) -> dict[str, Any] | None:
    for ti in api.task_instances("legacy_migration", run_id):
        if ti["task_id"] == "migrate_batch" and ti["state"] == "running" and ti["map_index"] >= at_least and ti["pid"]:
            return ti
    return None


def test_a_worker_killed_mid_migration_loses_nothing(cluster: Topology, tmp_path: Path) -> None:
    """Runs last: it leaves one worker. The lost batch's attempt times out, its retry runs on the survivor."""
    from benchmarks.generate_legacy import generate, write

    frame, injected = generate(KILL_ROWS, seed=5)
    source = write(frame, tmp_path / "legacy-200k.csv")
    del frame
    api = cluster.api
    run_id = api.trigger("legacy_migration", {"source": str(source), "batch_size": KILL_BATCH,
                                              "target_table": "employees_killed_worker"})
    deadline = time.monotonic() + 300
    while (victim := _running_batch(api, run_id, at_least=1)) is None:
        assert time.monotonic() < deadline, "no batch of the migration started running"
        assert api.run_state("legacy_migration", run_id) not in ("success", "failed")
        time.sleep(0.5)
    time.sleep(1.5)  # into the batch's load
    host = cluster.owner_of(victim["pid"])
    assert host in cluster.workers, f"task pid {victim['pid']} belongs to no worker"
    cluster.kill(host)
    survivor = next(w for w in cluster.workers if w != host)

    assert api.wait("legacy_migration", run_id, timeout=600) == "success"
    summary = api.xcom("legacy_migration", run_id, "verify")
    assert (summary["source_rows"], summary["loaded_rows"], summary["quarantined_rows"],
            summary["duplicates_merged"]) == (injected.rows, injected.expected_clean_rows, injected.quarantined_rows,
                                              injected.duplicates_merged)
    assert summary["verified_rows"] == injected.expected_clean_rows and summary["mismatched_rows"] == 0
    assert summary["integrity_ratio"] == 1.0 and summary["passed"]
    retried = [ti for ti in api.task_instances("legacy_migration", run_id)
               if ti["task_id"] == "migrate_batch" and ti["map_index"] == victim["map_index"]][0]
    assert retried["state"] == "success" and retried["try_number"] > victim["try_number"]
    assert survivor in cluster.ran_on("legacy_migration", run_id, "verify")
