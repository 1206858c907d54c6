"""The many-machine topology of deploy/compose.yaml on local processes: one scheduler, dag-processor,
triggerer and api-server, N Celery workers, each a "host" with its own AIRFLOW_HOME, HRBRIDGE_HOME and
TMPDIR, sharing nothing but Postgres (fresh databases for Airflow metadata, hub and archive), Redis (a
key prefix and queue of its own, as other runs share the server) and the hub's artefact store.

Where the machine allows it (root, as in CI) every host runs in a mount namespace of its own in which
its folder is mounted at one common path: a local path that one worker passes to another (through XCom,
say) then names a different, empty folder there, exactly as on two machines. Every process runs in its
own process group; :meth:`Topology.stop` ends them all (SIGTERM, then SIGKILL)
and drops the databases, whatever state the run is in.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa

from tests.cluster import compose
from tests.cluster.api import AirflowApi
from tests.cluster.processes import ON_HOST, Service, free_port, mount_namespaces, owner

BIN = Path(sys.executable).parent
ADMIN = "admin"
# Users of the api-server (simple auth manager): Airflow role; hr.demo maps to hrbridge's hr_specialist.
USERS = {ADMIN: "admin", "hr.demo": "viewer"}


class TopologyError(RuntimeError):
    """A service did not start or a step of the start-up failed; the message names it and its log."""


def generated_secrets() -> dict[str, str]:
    """Fresh values for every secret deploy/.env.example asks for (the local stand-in for deploy/.env)."""
    from cryptography.fernet import Fernet

    return {"FERNET_KEY": Fernet.generate_key().decode(), "JWT_SECRET": secrets.token_urlsafe(48),
            "API_SECRET_KEY": secrets.token_urlsafe(48), "POSTGRES_PASSWORD": secrets.token_urlsafe(16),
            "REDIS_PASSWORD": secrets.token_urlsafe(16),
            "HRBRIDGE_KEK": base64.b64encode(os.urandom(32)).decode()}


@dataclass
class Topology:
    """Start with :meth:`start`, talk to it with :attr:`api`, end with :meth:`stop`."""

    root: Path
    pg_server: str
    redis_url: str
    workers: tuple[str, ...] = ("worker-a", "worker-b")
    concurrency: int = 2
    heartbeat_timeout: int = 20
    extra_env: dict[str, str] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)
    databases: dict[str, str] = field(default_factory=dict)
    api: AirflowApi | None = None

    def __post_init__(self) -> None:
        self.isolated = mount_namespaces()
        self.tag = f"hrb{uuid.uuid4().hex[:10]}"
        self.api_port = free_port()
        self.secrets = generated_secrets()
        self.passwords = {user: secrets.token_urlsafe(16) for user in USERS}

    # -- environment -------------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """The api-server's base URL (loopback)."""
        return f"http://127.0.0.1:{self.api_port}"

    def base_env(self) -> dict[str, str]:
        """compose.yaml's x-airflow environment with local addresses and this run's isolation settings."""
        values = {**self.secrets, "TASK_HEARTBEAT_TIMEOUT": str(self.heartbeat_timeout),
                  "WORKER_CONCURRENCY": str(self.concurrency), "AIRFLOW_USERS": ",".join(f"{u}:{r}" for u, r in USERS.items())}
        env = compose.airflow_environment(values)
        pg = self.databases
        local = {
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": pg["airflow"],
            "AIRFLOW__CELERY__BROKER_URL": self.redis_url,
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{pg['airflow']}",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
            "AIRFLOW__API__PORT": str(self.api_port),
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(free_port()),
            "HRBRIDGE_DB_URL": pg["hub"],
            "HRBRIDGE_ARCHIVE_URL": pg["archive"],
        }
        missing = set(compose.LOCAL_ADDRESSES) - set(env)
        if missing:
            raise TopologyError(f"deploy/compose.yaml no longer sets {sorted(missing)}")
        env.update(local)
        env.update({
            # loopback only, and a queue and Redis key prefix of this run's own
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": "127.0.0.1",
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": self.tag,
            "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__GLOBAL_KEYPREFIX": f"{self.tag}:",
            "AIRFLOW__CORE__DAGS_FOLDER": str(compose.REPO / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(compose.REPO / "plugins"),
            # runs start only when asked (no schedule or asset runs racing the tests), DAGs start unpaused
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
            **self.extra_env,
        })
        return env

    def host_dir(self, host: str) -> Path:
        """A host's own folder, as this (the test) process sees it."""
        return self.root / "hosts" / host

    def host_env(self, host: str, base: dict[str, str] | None = None) -> dict[str, str]:
        """The environment of a process on ``host``: its own home, Airflow home, HRBRIDGE_HOME and TMPDIR."""
        real = self.host_dir(host)
        for sub in ("airflow", "hrbridge", "tmp"):
            (real / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
        home = self.mount_point if self.isolated else real
        dirs = {"HOME": home, "AIRFLOW_HOME": home / "airflow", "HRBRIDGE_HOME": home / "hrbridge",
                "TMPDIR": home / "tmp"}
        keep = {k: v for k, v in os.environ.items() if k in ("LANG", "LC_ALL", "TZ", "CI")}
        return {**keep, **(base or self.base_env()), **{k: str(v) for k, v in dirs.items()},
                "PATH": f"{BIN}{os.pathsep}/usr/local/bin:/usr/bin:/bin", "HOSTNAME": host,
                "PYTHONUNBUFFERED": "1"}

    @property
    def mount_point(self) -> Path:
        """Where every host sees its own folder when hosts have mount namespaces."""
        path = self.root / "host"
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        return path

    def on_host(self, host: str, argv: list[str]) -> list[str]:
        """``argv`` wrapped to run on ``host`` (in its mount namespace when the machine allows)."""
        if not self.isolated:
            return argv
        return ["unshare", "--mount", "--propagation", "private", "sh", "-ec", ON_HOST, host,
                str(self.host_dir(host)), str(self.mount_point), *argv]

    def log_path(self, host: str) -> Path:
        """Where a host's process writes its output."""
        (self.root / "logs").mkdir(parents=True, exist_ok=True)
        return self.root / "logs" / f"{host}.log"

    # -- start and stop ----------------------------------------------------------------------------

    def create_databases(self) -> None:
        """Three fresh Postgres databases: Airflow metadata, hrbridge hub, employee archive."""
        admin = sa.create_engine(self.pg_server, isolation_level="AUTOCOMMIT")
        base = self.pg_server.rsplit("/", 1)[0]
        with admin.connect() as conn:
            for role in ("airflow", "hub", "archive"):
                name = f"{self.tag}_{role}"
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
                self.databases[role] = f"{base}/{name}"
        admin.dispose()

    def init(self) -> None:
        """Run compose's airflow-init command once (Airflow metadata, then hrbridge's schema)."""
        env = self.host_env("init")
        log = self.log_path("init")
        with log.open("ab") as out:
            done = subprocess.run(self.on_host("init", compose.command("airflow-init")), env=env, stdout=out,  # noqa: S603
                                  stderr=subprocess.STDOUT, cwd=self.root, timeout=600, check=False)
        if done.returncode != 0:
            raise TopologyError(f"airflow-init exited {done.returncode}; see {log}:\n{Service('init', [], env, log).tail()}")

    def _service(self, name: str, argv_extra: list[str], host: str | None = None, **env: str) -> Service:
        host = host or name
        host_env = {**self.host_env(host), **env}
        argv = self.on_host(host, [*compose.command(name), *argv_extra])
        return Service(host, argv, host_env, self.log_path(host))

    def plan(self) -> list[Service]:
        """The services to start, each with compose's command and the local-only flags."""
        passwords = self.host_dir("api-server") / "auth.json"
        passwords.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        passwords.write_text(json.dumps(self.passwords), encoding="utf-8")
        passwords.chmod(0o600)
        planned = [
            self._service("api-server", ["--host", "127.0.0.1", "--port", str(self.api_port)],
                          AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(passwords)),
            self._service("scheduler", ["--skip-serve-logs"]),
            self._service("dag-processor", []),
            self._service("triggerer", ["--skip-serve-logs"]),
        ]
        for worker in self.workers:
            service = self._service("worker", ["--celery-hostname", f"celery@{worker}", "--skip-serve-logs",
                                               "--concurrency", str(self.concurrency)], host=worker)
            planned.append(service)
        return planned

    def start(self, timeout: float = 240.0) -> Topology:
        """Create the databases, run init, start every service at once and wait until all are ready."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.create_databases()
        self.init()
        for service in self.plan():
            self.services[service.name] = service
            service.start()
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        """Until the api-server reports every component healthy, the DAGs are parsed and workers are up."""
        deadline = time.monotonic() + timeout
        pending = {"api-server", "scheduler", "dag_processor", "triggerer", "dags", *self.workers}
        while pending and time.monotonic() < deadline:
            dead = [s.name for s in self.services.values() if not s.alive()]
            if dead:
                raise TopologyError(f"{', '.join(dead)} exited during start-up:\n" + self.logs(dead))
            pending -= self._ready_now(pending)
            time.sleep(1.0)
        if pending:
            raise TopologyError(f"not ready after {timeout:.0f}s: {sorted(pending)}\n" + self.logs())

    def _ready_now(self, pending: set[str]) -> set[str]:
        ready: set[str] = set()
        try:
            health = requests.get(f"{self.api_url}/api/v2/monitor/health", timeout=5).json()
        except (requests.RequestException, ValueError):
            return ready
        ready.add("api-server")
        ready |= {name for name in ("scheduler", "dag_processor", "triggerer")
                  if (health.get(name) or {}).get("status") == "healthy"}
        if self.api is None:
            self.api = self.client(ADMIN)
        if "dags" in pending and {"candidate_sync", "interview_results", "archive_sync", "legacy_migration",
                                  "retention_purge"} <= self.api.dag_ids():
            ready.add("dags")
        ready |= {w for w in self.workers if f"celery@{w} ready" in self.services[w].tail(400)}
        return ready

    def owner_of(self, pid: int) -> str | None:
        """The service (host) whose process tree runs ``pid``, e.g. a task instance's process."""
        return owner(self.services, pid)

    def client(self, user: str) -> AirflowApi:
        """A REST API client signed in as ``user`` (one of :data:`USERS`)."""
        return AirflowApi(self.api_url, user, self.passwords[user])

    def kill(self, name: str) -> None:
        """SIGKILL one service's whole process group, as when its host dies."""
        service = self.services[name]
        service.signal(signal.SIGKILL)
        if service.popen is not None:
            service.popen.wait(timeout=30)

    def stop(self) -> None:
        """End every process group (TERM, then KILL after 15 s), drop the databases, clear the Redis keys."""
        for service in self.services.values():
            service.signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for service in self.services.values():
            if service.popen is None:
                continue
            try:
                service.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            service.signal(signal.SIGKILL)
            service.popen.wait(timeout=30)
        self._drop_databases()
        self._clear_redis()

    def _drop_databases(self) -> None:
        if not self.databases:
            return
        admin = sa.create_engine(self.pg_server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for url in self.databases.values():
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
        admin.dispose()

    def _clear_redis(self) -> None:
        import redis

        client = redis.Redis.from_url(self.redis_url)
        try:
            keys = list(client.scan_iter(match=f"{self.tag}:*", count=1000))
            if keys:
                client.delete(*keys)
        finally:
            client.close()

    # -- looking inside ----------------------------------------------------------------------------

    def logs(self, names: list[str] | None = None, lines: int = 60) -> str:
        """The tail of each service's log (all services by default) and every task error, for a failure report."""
        chosen = [self.services[n] for n in names] if names else list(self.services.values())
        tails = "\n".join(f"----- {s.name} ({s.log}) -----\n{s.tail(lines)}" for s in chosen)
        return f"{tails}\n----- task errors -----\n{self.task_errors()}"

    def task_errors(self, limit: int = 2000) -> str:
        """Error events in the workers' task logs (each task log is JSON lines), newest attempts included."""
        found = []
        for worker in self.workers:
            for path in sorted(self.task_logs(worker).glob("dag_id=*/**/*.log")):
                for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                    try:
                        event = json.loads(line)
                    except ValueError:
                        continue
                    if event.get("level") in ("error", "critical"):
                        where = path.relative_to(self.task_logs(worker))
                        found.append(f"{worker} {where}: {event.get('event')} {event.get('error_detail', '')}"[:limit])
        return "\n".join(found) or "(none)"

    def task_logs(self, host: str) -> Path:
        """The Airflow task-log folder of one host (a worker's own disk)."""
        return self.host_dir(host) / "airflow" / "logs"

    def ran_on(self, dag_id: str, run_id: str, task_id: str) -> set[str]:
        """The workers whose own disk holds a log of ``task_id`` in that run: where it ran."""
        pattern = f"dag_id={dag_id}/run_id={run_id}/task_id={task_id}"
        return {w for w in self.workers if any(self.task_logs(w).glob(f"{pattern}/**/*.log"))
                or any(self.task_logs(w).glob(f"{pattern}/*.log"))}

    def run_on(self, host: str, argv: list[str], timeout: float = 300.0) -> subprocess.CompletedProcess[str]:
        """Run a command on ``host`` (its environment and home), e.g. a probe on one worker."""
        env = {**(self.services[host].env if host in self.services else self.host_env(host)),
               "PYTHONPATH": str(compose.REPO)}
        return subprocess.run(self.on_host(host, argv), env=env, cwd=str(compose.REPO), capture_output=True,  # noqa: S603
                              text=True, timeout=timeout, check=False)

    def parallel(self, calls: dict[str, Any]) -> dict[str, Any]:
        """Run several zero-argument callables at once; their results by name."""
        with ThreadPoolExecutor(max_workers=len(calls) or 1) as pool:
            futures = {name: pool.submit(call) for name, call in calls.items()}
            return {name: future.result() for name, future in futures.items()}


def remove_tree(path: Path) -> None:
    """Remove a topology's folder (logs and hosts) after a passing run."""
    shutil.rmtree(path, ignore_errors=True)
