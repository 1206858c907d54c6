"""One many-machine topology per test module (started from deploy/compose.yaml), sandboxes on loopback.

Under CI (``CI=true``) a missing Postgres or Redis fails the tests; elsewhere they skip with the reason.
On a failure every service's log tail is written to the terminal before the processes are ended.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cluster.api import AirflowApi
from tests.cluster.scenario import write_legacy
from tests.cluster.topology import Topology, remove_tree
from tests.conftest import IN_CI, PG_URL, REPO, _unavailable

REDIS_URL = os.environ.get("HRBRIDGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _require_services() -> None:
    import redis
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(PG_URL)
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any driver error means the server is unusable
        _unavailable("PostgreSQL", exc)
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5).ping()
    except Exception as exc:  # noqa: BLE001
        _unavailable("Redis", exc)


@pytest.fixture(scope="module")
def legacy_csv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    """The small legacy export both the embedded and the cluster run migrate, and its expected counts."""
    path = tmp_path_factory.mktemp("legacy") / "legacy.csv"
    return path, write_legacy(path)


@pytest.fixture(scope="module")
def embedded_run(legacy_csv: tuple[Path, dict[str, int]], tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """The embedded run of the same scenario, started now in its own process (it runs while the cluster boots)."""
    out = tmp_path_factory.mktemp("embedded") / "counts.json"
    log = out.with_suffix(".log")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "HRBRIDGE_"))}
    with log.open("wb") as sink:
        process = subprocess.Popen([sys.executable, "-m", "tests.cluster.scenario", "--legacy", str(legacy_csv[0]),  # noqa: S603
                                    "--out", str(out)], cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        yield process, out
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    """The topology, running; ended (every process group) after the module, its logs shown on failure."""
    _require_services()
    topology = Topology(tmp_path_factory.mktemp("cluster"), PG_URL, REDIS_URL)
    if not topology.isolated and IN_CI:
        pytest.fail("CI runs as root: each host needs its own mount namespace (unshare --mount)", pytrace=False)
    failed_before = request.session.testsfailed
    try:
        topology.start()
        yield topology
    except BaseException:
        _show(request, topology.logs(lines=120))
        raise
    finally:
        failed = request.session.testsfailed > failed_before
        if failed:
            _show(request, topology.logs(lines=120))
        topology.stop()
        if not failed:
            remove_tree(topology.root)


def _show(request: pytest.FixtureRequest, text: str) -> None:
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("\n===== cluster service logs =====\n" + text)


@pytest.fixture(scope="module")
def sandboxes(cluster: Topology) -> Iterator[tuple[Any, Any]]:
    """Both sandboxes on loopback, registered as Airflow Connections through the REST API."""
    from sandbox.interview import InterviewPlatformSandbox
    from sandbox.successfactors import SuccessFactorsSandbox

    sf, platform = SuccessFactorsSandbox(port=0).start(), InterviewPlatformSandbox(port=0).start()
    api: AirflowApi = cluster.api
    api.put_connection("hrbridge_successfactors", conn_type="http", host=sf.url, login="sfadmin",
                       password="sandbox-secret", extra='{"company_id": "SFPART000001"}')
    api.put_connection("hrbridge_interview", conn_type="http", host=platform.url, password="sandbox-interview-key")
    try:
        yield sf, platform
    finally:
        sf.stop()
        platform.stop()
