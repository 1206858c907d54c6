"""A small client of Airflow 3's REST API (v2) with a JWT from ``/auth/token``, as an operator's script uses it."""

from __future__ import annotations

import time
from typing import Any

import requests

FINISHED = {"success", "failed"}


class AirflowApiError(RuntimeError):
    """The API answered with an error; the message has the method, path, status and body."""


class AirflowApi:
    """Trigger DAG runs, wait for them, read task instances and XComs, create Connections."""

    def __init__(self, base_url: str, username: str, password: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        response = self.session.post(f"{self.base_url}/auth/token", json={"username": username, "password": password},
                                     timeout=timeout)
        if response.status_code not in (200, 201):
            raise AirflowApiError(f"POST /auth/token: {response.status_code} {response.text[:300]}")
        self.session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One request to ``/api/v2{path}``; the decoded JSON body (None for 204)."""
        response = self.session.request(method, f"{self.base_url}/api/v2{path}", timeout=self.timeout, **kwargs)
        if response.status_code >= 400:
            raise AirflowApiError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response.json() if response.content else None

    def dag_ids(self) -> set[str]:
        """The DAGs the dag-processor has parsed and serialised."""
        return {d["dag_id"] for d in self.call("GET", "/dags", params={"limit": 100})["dags"]}

    def put_connection(self, conn_id: str, **fields: Any) -> None:
        """Create (or replace) an Airflow Connection, stored encrypted with the shared Fernet key."""
        try:
            self.call("DELETE", f"/connections/{conn_id}")
        except AirflowApiError as exc:
            if ": 404 " not in str(exc):
                raise
        self.call("POST", "/connections", json={"connection_id": conn_id, **fields})

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        """Start a manual run of ``dag_id``; returns its run id."""
        body = {"logical_date": None, "conf": conf or {}}
        return self.call("POST", f"/dags/{dag_id}/dagRuns", json=body)["dag_run_id"]

    def run_state(self, dag_id: str, run_id: str) -> str:
        """The run's state: queued, running, success or failed."""
        return self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"]

    def wait(self, dag_id: str, run_id: str, timeout: float = 300.0, poll: float = 1.0) -> str:
        """Poll until the run finishes (or ``timeout`` passes); returns the final state."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.run_state(dag_id, run_id)
            if state in FINISHED:
                return state
            time.sleep(poll)
        raise TimeoutError(f"{dag_id} run {run_id} still {self.run_state(dag_id, run_id)} after {timeout:.0f}s")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Every task instance of a run (mapped ones included)."""
        return self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 1000})[
            "task_instances"]

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value", map_index: int = -1) -> Any:
        """A task's XCom value (deserialised)."""
        entry = self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}",
                          params={"map_index": map_index, "deserialize": True})
        return entry["value"]

    def task_state(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> str | None:
        """One task instance's state (None before the scheduler created it)."""
        try:
            ti = self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"
                           + (f"/{map_index}" if map_index >= 0 else ""))
        except AirflowApiError as exc:
            if ": 404 " in str(exc):
                return None
            raise
        return ti["state"]

    def hitl(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> dict[str, Any]:
        """What a human-in-the-loop task asks (subject, body, options) and any response so far."""
        return self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/{map_index}/hitlDetails")

    def respond(self, dag_id: str, run_id: str, task_id: str, options: list[str], map_index: int = -1) -> None:
        """Answer a human-in-the-loop task (e.g. ``["Approve"]``) as the signed-in user."""
        self.call("PATCH", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/{map_index}/hitlDetails",
                  json={"chosen_options": options, "params_input": {}})

    def task_ids(self, dag_id: str) -> set[str]:
        """The task ids of a DAG as the api-server serves it."""
        return {t["task_id"] for t in self.call("GET", f"/dags/{dag_id}/tasks")["tasks"]}
