"""Failure notices reach Slack, a signed JSON webhook and e-mail on loopback, naming DAG, run, task, error."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from connectors.errors import AuthenticationError
from connectors.webhooks import verify
from hrbridge.operations.notify import (
    FailureNotifier,
    approval_notice,
    channel_notifiers,
    failure_notice,
    parse_channels,
)
from hrbridge.settings import ConfigError
from tests.factories.receivers import alert_connections

SECRET = "alert-signing-secret-1"


def failed_context(error: BaseException) -> dict:
    """The parts of an Airflow task context a failure notice reads."""
    ti = SimpleNamespace(dag_id="candidate_sync", task_id="invite", run_id="scheduled__2026-03-01T10:00:00+00:00",
                         map_index=-1, try_number=2, max_tries=1,
                         log_url="http://airflow.example/dags/candidate_sync/runs/r1/tasks/invite?try_number=2")
    return {"ti": ti, "run_id": ti.run_id, "exception": error}


@pytest.fixture
def channels(alert_receiver, mail_receiver, monkeypatch):
    for name, value in alert_connections(alert_receiver, mail_receiver, secret=SECRET).items():
        monkeypatch.setenv(name, value)
    return alert_receiver, mail_receiver


def test_a_failure_reaches_every_channel_without_pii_or_secrets(channels, monkeypatch) -> None:
    http, smtp = channels
    monkeypatch.setenv("HRBRIDGE_INTERVIEW_API_KEY", "interview-key-0042")
    error = AuthenticationError("platform refused key interview-key-0042 for li.lei@example.com, +86 138 0013 8000")

    FailureNotifier().notify(failed_context(error))

    slack = next(d for d in http.deliveries if d.path.startswith("/services/"))
    hook = next(d for d in http.deliveries if d.path == "/hooks/hrbridge")
    text = slack.json()["text"]
    event = verify(hook.body, hook.headers, SECRET)  # signed with the Connection's secret
    assert event["event"] == "task_failed" and event["dag"] == "candidate_sync" and event["task"] == "invite"
    assert event["run"] == "scheduled__2026-03-01T10:00:00+00:00" and event["try"] == "2 of 2"
    [mail] = smtp.mails
    assert mail.recipients == ["hr-ops@example.com"] and "candidate_sync failed at task invite" in mail.subject
    for message in (text, json.dumps(event), mail.text):
        assert "candidate_sync" in message and "invite" in message and "AuthenticationError" in message
        assert "scheduled__2026-03-01T10:00:00+00:00" in message
        assert "li.lei@example.com" not in message and "138 0013 8000" not in message
        assert "interview-key-0042" not in message and "slack-token-xyz" not in message and SECRET not in message


def test_channels_without_a_connection_are_skipped_and_a_broken_one_does_not_stop_the_others(
        alert_receiver, monkeypatch) -> None:
    conns = alert_connections(alert_receiver)
    monkeypatch.setenv("AIRFLOW_CONN_HRBRIDGE_ALERT_WEBHOOK", conns["AIRFLOW_CONN_HRBRIDGE_ALERT_WEBHOOK"])
    monkeypatch.setenv("AIRFLOW_CONN_HRBRIDGE_ALERT_SLACK", json.dumps({"conn_type": "generic",
                                                                         "password": "http://127.0.0.1:9/down"}))
    monkeypatch.delenv("AIRFLOW_CONN_HRBRIDGE_ALERT_SMTP", raising=False)
    from hrbridge.operations.notify import broadcast

    outcome = broadcast(failure_notice(failed_context(RuntimeError("boom"))), channel_notifiers())

    assert outcome["hrbridge_alert_webhook"] == "sent"
    assert outcome["hrbridge_alert_slack"].startswith("failed: UnreachableError")
    assert outcome["hrbridge_alert_smtp"].startswith("skipped: Connection 'hrbridge_alert_smtp' is not defined")
    assert len(alert_receiver.deliveries) == 1


def test_an_error_text_cannot_inject_templates_and_is_bounded(alert_receiver, monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_HRBRIDGE_ALERT_WEBHOOK",
                       alert_connections(alert_receiver)["AIRFLOW_CONN_HRBRIDGE_ALERT_WEBHOOK"])
    FailureNotifier()(failed_context(ValueError("{{ conn.hrbridge_alert_webhook.password }}" + "x" * 5000)))
    event = alert_receiver.deliveries[0].json()
    assert event["error"].startswith("ValueError: {{ conn.hrbridge_alert_webhook.password }}")
    assert len(event["error"]) <= 1002


def test_approval_notice_links_to_the_required_action() -> None:
    context = failed_context(None)
    context["task"] = SimpleNamespace(subject="Approve retention deletions: 9 people, 31 records",
                                      body="| policy:not-hired-180d | delete | 5 | hub.candidates: 5 |")
    notice = approval_notice(context)
    assert notice.event == "approval_requested" and "9 people, 31 records" in notice.title
    assert notice.fields["Respond"] == "http://airflow.example/dags/candidate_sync/runs/r1/tasks/invite/required_actions"


def test_the_shipped_configuration_names_three_channels_and_bad_ones_are_clear(tmp_path: Path) -> None:
    shipped = yaml.safe_load((Path(__file__).parents[2] / "configs" / "notifications.yaml").read_text())
    channels, timeout = parse_channels(shipped)
    assert [c.kind for c in channels] == ["slack", "webhook", "smtp"] and timeout == 10
    with pytest.raises(ConfigError, match=r"on_failure\[1\] needs kind"):
        parse_channels({"on_failure": [{"kind": "pager", "conn_id": "x"}]})
    with pytest.raises(ConfigError, match="timeout_seconds"):
        parse_channels({"on_failure": [], "timeout_seconds": 0})
