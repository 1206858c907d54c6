"""Follow-ups after a queued delivery: coalescing, retries, and the Airflow API settings."""

from __future__ import annotations

import json
import threading

import pytest

from hrbridge.settings import ConfigError
from hrbridge.webhook.followup import AssetEventEmitter, CoalescingWorker, airflow_api_from_env


def test_a_failed_action_is_retried_then_left() -> None:
    calls: list[int] = []

    def flaky(covered: int) -> None:
        calls.append(covered)
        if len(calls) < 2:
            raise OSError("Airflow not answering")

    worker = CoalescingWorker(flaky, "test-flaky", retry_delays=(0.01,))
    worker.notify()
    assert worker.wait_idle(10) and worker.last_error is None and calls == [1, 1]

    def broken(_covered: int) -> None:
        raise OSError("down for good")

    stuck = CoalescingWorker(broken, "test-broken", retry_delays=(0.01, 0.01))
    stuck.notify()
    assert stuck.wait_idle(10) and "down for good" in (stuck.last_error or "")
    worker.close()
    stuck.close()


def test_deliveries_during_an_event_are_covered_by_one_more_event() -> None:
    published: list[dict] = []
    first_started, release = threading.Event(), threading.Event()

    def publish(extra: dict) -> None:
        first_started.set()
        release.wait(10)
        published.append(extra)

    emitter = AssetEventEmitter(publish)
    emitter.notify()
    assert first_started.wait(10)
    for _ in range(4):  # a burst while the first event is being sent
        emitter.notify()
    release.set()
    assert emitter.wait_idle(10)
    assert [event["deliveries"] for event in published] == [1, 4] and emitter.emitted == 2
    emitter.close()


def test_airflow_api_from_variables_or_connection() -> None:
    assert airflow_api_from_env({}) is None
    api = airflow_api_from_env({"HRBRIDGE_AIRFLOW_API_URL": "http://127.0.0.1:8080/", "HRBRIDGE_AIRFLOW_API_TOKEN": "t"})
    assert (api.base_url, api.token, api.user) == ("http://127.0.0.1:8080", "t", None)
    conn = {"conn_type": "http", "host": "airflow-api", "port": 8080, "login": "svc", "password": "pw"}
    api = airflow_api_from_env({"AIRFLOW_CONN_HRBRIDGE_AIRFLOW_API": json.dumps(conn)})
    assert (api.base_url, api.user, api.password) == ("http://airflow-api:8080", "svc", "pw")


def test_a_connection_uri_works_and_a_broken_one_is_a_config_error() -> None:
    api = airflow_api_from_env({"AIRFLOW_CONN_HRBRIDGE_AIRFLOW_API": "https://svc:p%40ss@airflow-api:8443"})
    assert (api.base_url, api.user, api.password) == ("https://airflow-api:8443", "svc", "p@ss")
    for broken in ("{not json", "http://"):
        with pytest.raises(ConfigError, match="AIRFLOW_CONN_HRBRIDGE_AIRFLOW_API"):
            airflow_api_from_env({"AIRFLOW_CONN_HRBRIDGE_AIRFLOW_API": broken})
