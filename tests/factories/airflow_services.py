"""A small real Airflow on loopback for tests: dag-processor, scheduler (LocalExecutor), api-server.

Its own ``AIRFLOW_HOME`` (SQLite metadata), the repo's DAGs, free ports, every process bound to
127.0.0.1 (the scheduler's log server is off), one shared JWT secret, every caller an admin (the
simple auth manager's all-admins mode, as ``airflow standalone`` uses). :meth:`stop` ends the
processes it started, by their process groups.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class AirflowServices:
    """Start with :meth:`start`; talk to it through :attr:`api` (an httpx client on the api-server)."""

    home: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        """The environment every process (and every task) gets."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__") and k != "AIRFLOW_HOME"}
        url = f"http://127.0.0.1:{self.port}"
        env.update({
            "AIRFLOW_HOME": str(self.home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"), "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__API_AUTH__JWT_SECRET": self._secret, "AIRFLOW__API__SECRET_KEY": self._secret,
            "AIRFLOW__API__BASE_URL": url, "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{url}/execution/",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1", "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True", "PATH": f"{Path(sys.executable).parent}:{env['PATH']}",
            **self.extra_env,
        })
        return env

    def __post_init__(self) -> None:
        self._secret = secrets.token_hex(32)
        self.home.mkdir(parents=True, exist_ok=True)

    def _airflow(self, *args: str) -> list[str]:
        return [str(Path(sys.executable).with_name("airflow")), *args]

    def start(self, timeout: float = 240.0) -> AirflowServices:
        """Migrate, create the pools, start the three services and wait until the DAGs are parsed."""
        logs = self.home / "service-logs"
        logs.mkdir(exist_ok=True)
        subprocess.run(self._airflow("db", "migrate"), env=self.env, check=True, capture_output=True, timeout=300)
        subprocess.run([sys.executable, "-m", "hrbridge.cli", "airflow", "pools"], env=self.env, check=True,
                       capture_output=True, timeout=300)
        commands = {
            "api-server": ("api-server", "--host", "127.0.0.1", "--port", str(self.port)),
            "dag-processor": ("dag-processor",),
            "scheduler": ("scheduler", "--skip-serve-logs"),
        }
        for name, args in commands.items():
            with (logs / f"{name}.log").open("wb") as out:
                self.processes[name] = subprocess.Popen(self._airflow(*args), env=self.env, stdout=out,  # noqa: S603
                                                        stderr=subprocess.STDOUT, start_new_session=True)
        self.api = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30)
        self.wait(lambda: self._ok("/api/v2/monitor/health"), timeout, "the api-server to answer")
        return self

    def _ok(self, path: str) -> bool:
        try:
            return self.api.get(path).status_code == 200
        except httpx.HTTPError:
            return False

    def wait(self, condition: Any, timeout: float, what: str) -> Any:
        """Poll ``condition`` until it returns something truthy; fail naming ``what`` and the logs."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise AssertionError(f"{name} exited ({process.returncode}); see {self.home / 'service-logs'}")
            value = condition()
            if value:
                return value
            time.sleep(1)
        raise AssertionError(f"timed out waiting for {what}; see {self.home / 'service-logs'}")

    def wait_for_dag(self, dag_id: str, timeout: float = 180.0) -> dict[str, Any]:
        """Wait until the dag-processor has parsed ``dag_id``; returns its API record."""
        return self.wait(lambda: self._ok(f"/api/v2/dags/{dag_id}") and self.api.get(f"/api/v2/dags/{dag_id}").json(),
                         timeout, f"DAG {dag_id} to be parsed")

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        """The DAG's runs as the API lists them."""
        return list(self.api.get(f"/api/v2/dags/{dag_id}/dagRuns").json()["dag_runs"])

    def wait_for_run_state(self, dag_id: str, run_id: str, states: set[str], timeout: float = 240.0) -> str:
        """Wait until the run reaches one of ``states``; returns it."""
        def reached() -> str | None:
            found = self.api.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}").json().get("state")
            return found if found in states else None

        return self.wait(reached, timeout, f"{dag_id} run {run_id} to reach {sorted(states)}")

    def stop(self) -> None:
        """Stop the services: SIGTERM to each process group it started, SIGKILL what is left after 20 s."""
        if getattr(self, "api", None) is not None:
            self.api.close()
        for process in self.processes.values():
            _signal_group(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
            _signal_group(process.pid, signal.SIGKILL)  # the group's workers, if any outlived their parent
            process.wait(timeout=10)


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass
