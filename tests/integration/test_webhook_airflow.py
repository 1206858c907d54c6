"""Verified deliveries become Airflow asset events for hrbridge://hub/results_inbox, on a real Airflow.

One Airflow (SQLite metadata, a DAG scheduled on the asset, the API server on loopback with
hrbridge's plugin) serves both paths: the receiver mounted in the API server emits the event
through Airflow's asset manager; a standalone receiver posts it through the REST API with a
user and password. In both, the consuming DAG is queued to run and the delivery waits in the hub.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from hrbridge.assets import RESULTS_INBOX_URI
from hrbridge.pipelines.interview_results import load_results_config
from hrbridge.settings import load_settings
from hrbridge.store import hub_engine
from hrbridge.store.results import results_inbox
from hrbridge.webhook import AssetEventEmitter, WebhookReceiver, WebhookServer
from hrbridge.webhook.followup import AirflowRestApi
from tests.factories.results import make_result
from tests.factories.webhooks import SECRET, delivery

pytestmark = pytest.mark.slow
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
REPO = Path(__file__).resolve().parents[2]
CONSUMER = f'''
from datetime import datetime
from airflow.sdk import DAG, Asset
from airflow.providers.standard.operators.empty import EmptyOperator

with DAG("inbox_consumer", schedule=[Asset("{RESULTS_INBOX_URI}")], start_date=datetime(2026, 1, 1)):
    EmptyOperator(task_id="validate_inbox")
'''
USER, PASSWORD = "hrbridge", "not-a-real-password"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Airflow:
    """The API server under test: its URL, a logged-in session and the hub its plugin writes to."""

    def __init__(self, url: str, hrbridge_home: Path) -> None:
        self.url, self.hrbridge_home = url, hrbridge_home
        self.api = AirflowRestApi(url, user=USER, password=PASSWORD)

    def get(self, path: str, **params: object) -> dict:
        answer = requests.get(f"{self.url}{path}", params=params, headers=self.api._headers(), timeout=10)  # noqa: SLF001
        answer.raise_for_status()
        return answer.json()

    def events(self) -> list[dict]:
        return self.get("/api/v2/assets/events", asset_id=self.api.asset_id(), limit=100)["asset_events"]

    def wait_for_events(self, count: int) -> list[dict]:
        for _ in range(100):  # bounded: 100 × 0.2 s
            found = self.events()
            if len(found) >= count:
                return found
            time.sleep(0.2)
        return self.events()


@pytest.fixture(scope="module")
def airflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Airflow]:
    root = tmp_path_factory.mktemp("airflow-assets")
    (root / "dags").mkdir()
    (root / "dags" / "inbox_consumer.py").write_text(CONSUMER, encoding="utf-8")
    (root / "passwords.json").write_text(json.dumps({USER: PASSWORD}), encoding="utf-8")
    home = root / "hrbridge"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "HRBRIDGE_"))}
    env.update({
        "AIRFLOW_HOME": str(root / "airflow"), "AIRFLOW__CORE__DAGS_FOLDER": str(root / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{root / 'airflow.db'}",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(root / "passwords.json"),
        "AIRFLOW__API_AUTH__JWT_SECRET": "test-jwt-secret-" + "x" * 32,
        "HRBRIDGE_HOME": str(home), "HRBRIDGE_WEBHOOK_SECRET": SECRET,
    })
    log = (root / "airflow.log").open("w")
    for command in (["db", "migrate"], ["dags", "reserialize"], ["dags", "unpause", "inbox_consumer"]):
        done = subprocess.run([AIRFLOW, *command], env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
        assert done.returncode == 0, f"airflow {' '.join(command)} failed; see {root / 'airflow.log'}"
    server = subprocess.Popen([AIRFLOW, "api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                              env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):  # bounded: up to 60 s to start
            try:
                if requests.get(f"{url}/api/v2/monitor/health", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            assert server.poll() is None, f"the API server exited; see {root / 'airflow.log'}"
            time.sleep(0.2)
        yield Airflow(url, home)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def _inbox(home: Path) -> int:
    engine = hub_engine(load_settings({"HRBRIDGE_HOME": str(home)}))
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(results_inbox)).scalar_one()


def test_receiver_in_the_api_server_emits_the_asset_event_in_process(airflow: Airflow) -> None:
    before = len(airflow.events())
    body, headers = delivery(make_result(1))
    answer = requests.post(f"{airflow.url}/hrbridge/webhooks/interview", data=body, headers=headers, timeout=30)
    assert answer.status_code == 202, answer.text
    replay = requests.post(f"{airflow.url}/hrbridge/webhooks/interview", data=body, headers=headers, timeout=30)
    assert replay.status_code == 409
    events = airflow.wait_for_events(before + 1)
    assert len(events) == before + 1
    assert events[-1]["extra"]["source"] == "hrbridge webhook receiver" and events[-1]["extra"]["deliveries"] == 1
    queued = airflow.get("/api/v2/dags/inbox_consumer/assets/queuedEvents")
    assert [e["asset_id"] for e in queued["queued_events"]] == [airflow.api.asset_id()]
    assert _inbox(airflow.hrbridge_home) == 1


def test_a_standalone_receiver_posts_the_asset_event_over_the_rest_api(airflow: Airflow, hrbridge_home: Path) -> None:
    before = len(airflow.events())
    settings = load_settings()
    emitter = AssetEventEmitter(AirflowRestApi(airflow.url, user=USER, password=PASSWORD).publish)
    server = WebhookServer(WebhookReceiver(hub_engine(settings), load_results_config(settings), settings, SECRET,
                                           followup=emitter)).start()
    try:
        for n in (2, 3):
            body, headers = delivery(make_result(n))
            assert requests.post(server.url, data=body, headers=headers, timeout=30).status_code == 202
        assert server.receiver.wait_idle(30) and emitter.last_error is None
    finally:
        server.stop()
    events = airflow.wait_for_events(before + 1)
    assert 1 <= len(events) - before <= 2  # one event per burst of deliveries
    assert sum(e["extra"]["deliveries"] for e in events[before:]) == 2
