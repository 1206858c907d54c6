"""Announce failed tasks (and approvals waiting for a person) on Slack, a JSON webhook or e-mail.

Every hrbridge DAG has :class:`FailureNotifier` as its tasks' ``on_failure_callback``; it reads
``configs/notifications.yaml`` when a task fails and sends one :class:`Notice` to each channel
whose Airflow Connection is defined (a channel without one is skipped, a channel that fails is
logged and the others still run). Each channel is an Airflow notifier of its own
(:class:`SlackWebhookNotifier`, :class:`JsonWebhookNotifier`, :class:`SmtpFailureNotifier`), usable
directly as a callback. A notice names the DAG, run, task, try and error; error text is bounded,
personal data in it is masked and every secret Airflow knows (Connection passwords) is redacted.
Messages are built here, not rendered as templates, so an error text can never inject Jinja.
"""

from __future__ import annotations

import html
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from airflow.sdk import BaseNotifier

from hrbridge.settings import ConfigError, Settings, load_config, load_settings
from transforms.masking import mask_pii

log = logging.getLogger(__name__)

MAX_ERROR_CHARS = 1000
KINDS = ("slack", "webhook", "smtp")
# environment variables whose values are secrets: scrubbed from every notice as a second line of defence
SECRET_ENV = ("HRBRIDGE_SF_PASSWORD", "HRBRIDGE_INTERVIEW_API_KEY", "HRBRIDGE_WEBHOOK_SECRET", "HRBRIDGE_KEK",
              "HRBRIDGE_AUDIT_PEPPER")


class ChannelNotConfigured(LookupError):
    """The channel's Connection is not defined: the channel is skipped."""


@dataclass(frozen=True)
class Notice:
    """One announcement: what happened (``event``), a title and ordered fields."""

    event: str
    title: str
    fields: Mapping[str, str]
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def text(self) -> str:
        """Plain text: the title, then one ``Name: value`` line per field."""
        return "\n".join([self.title, *(f"{name}: {value}" for name, value in self.fields.items() if value)])

    def html(self) -> str:
        """The same as a small HTML document (every value escaped)."""
        rows = "".join(f"<tr><th align='left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                       for k, v in self.fields.items() if v)
        return f"<p><b>{html.escape(self.title)}</b></p><table>{rows}</table>"

    def as_dict(self) -> dict[str, Any]:
        """JSON form: ``event``, ``title``, ``at`` and the fields under snake_case keys."""
        return {"event": self.event, "title": self.title, "at": self.at,
                **{name.lower().replace(" ", "_"): value for name, value in self.fields.items()}}


def scrub(text: str) -> str:
    """Mask personal data and redact known secrets (Airflow's secrets masker, secret env values)."""
    text = mask_pii(text)
    try:
        from airflow.sdk._shared.secrets_masker import redact

        text = str(redact(text))
    except ImportError:  # pragma: no cover - older task SDK layouts
        pass
    for name in SECRET_ENV:
        value = os.environ.get(name) or ""
        if len(value) >= 6:
            text = text.replace(value, "***")
    return text


def _error_text(error: Any) -> str:
    if error is None:
        return "(no exception: the task was marked failed)"
    text = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else str(error)
    text = scrub(text)
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS] + " …"


def failure_notice(context: Mapping[str, Any]) -> Notice:
    """The notice for a failed task, from its Airflow context (DAG, run, task, try, error, log link)."""
    ti = context.get("ti") or context.get("task_instance")
    dag_id = getattr(ti, "dag_id", None) or getattr(context.get("dag"), "dag_id", "?")
    task_id = getattr(ti, "task_id", "?")
    map_index = getattr(ti, "map_index", -1)
    task = f"{task_id}[{map_index}]" if isinstance(map_index, int) and map_index >= 0 else task_id
    tries = getattr(ti, "max_tries", None)
    attempt = getattr(ti, "try_number", None)
    return Notice(
        event="task_failed",
        title=f"hrbridge: {dag_id} failed at task {task}",
        fields={"DAG": str(dag_id), "Run": str(context.get("run_id") or getattr(ti, "run_id", "?")),
                "Task": str(task), "Try": f"{attempt} of {(tries or 0) + 1}" if attempt else "",
                "Error": _error_text(context.get("exception")), "Log": _log_url(ti)},
    )


def approval_notice(context: Mapping[str, Any]) -> Notice:
    """The notice that a task waits for a person (a human-in-the-loop task's subject and body)."""
    ti = context.get("ti") or context.get("task_instance")
    task = context.get("task")
    return Notice(
        event="approval_requested",
        title=f"hrbridge: {getattr(ti, 'dag_id', '?')} waits for approval: {getattr(task, 'subject', '')}",
        fields={"DAG": str(getattr(ti, "dag_id", "?")), "Run": str(context.get("run_id") or ""),
                "Task": str(getattr(ti, "task_id", "?")), "Details": scrub(str(getattr(task, "body", "") or "")),
                "Respond": _log_url(ti).split("?")[0] + "/required_actions" if ti is not None else ""},
    )


def _log_url(ti: Any) -> str:
    try:
        return str(ti.log_url) if ti is not None else ""
    except Exception:  # noqa: BLE001 - a link is a convenience; the notice goes out without it
        return ""


# ----------------------------------------------------------------------------------- channels


def _connection(conn_id: str) -> Any:
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException as exc:
        raise ChannelNotConfigured(f"Connection {conn_id!r} is not defined") from exc


def _url(conn: Any) -> str:
    host = (conn.host or "").strip()
    if "://" in host:
        return host
    scheme = conn.schema or "https"
    return f"{scheme}://{host}" + (f":{conn.port}" if conn.port else "")


class _ChannelNotifier(BaseNotifier):
    """A notifier that sends the notice ``build`` makes from the context (a failure by default)."""

    def __init__(self, conn_id: str, build: Callable[[Mapping[str, Any]], Notice] = failure_notice,
                 timeout: float = 10.0) -> None:
        super().__init__()
        self.conn_id = conn_id
        self.build = build
        self.timeout = timeout

    def notify(self, context: Mapping[str, Any]) -> None:
        """Send the notice for ``context``."""
        self.send(self.build(context))

    def send(self, notice: Notice) -> None:
        """Deliver one notice; raises ChannelNotConfigured without a Connection."""
        raise NotImplementedError


class SlackWebhookNotifier(_ChannelNotifier):
    """Slack incoming webhook: the Connection's password holds the webhook URL (it embeds a token)."""

    def send(self, notice: Notice) -> None:
        """POST ``{"text": ...}`` to the webhook URL."""
        from connectors.alerts import post_json

        conn = _connection(self.conn_id)
        url = (conn.password or "").strip() or _url(conn)
        post_json(url, {"text": notice.text()}, timeout=self.timeout)


class JsonWebhookNotifier(_ChannelNotifier):
    """Generic JSON webhook: the Connection's host is the URL, its password (optional) signs the body."""

    def send(self, notice: Notice) -> None:
        """POST the notice's JSON form, signed with ``X-HRB-Signature`` when a secret is set."""
        from connectors.alerts import post_json

        conn = _connection(self.conn_id)
        post_json(_url(conn), notice.as_dict(), secret=conn.password or None, timeout=self.timeout)


class SmtpFailureNotifier(_ChannelNotifier):
    """E-mail through the SMTP provider's hook; recipients from the channel or the Connection's extra ``to``."""

    def __init__(self, conn_id: str, build: Callable[[Mapping[str, Any]], Notice] = failure_notice,
                 timeout: float = 10.0, to: list[str] | None = None, from_email: str | None = None) -> None:
        super().__init__(conn_id, build, timeout)
        self.to = list(to or [])
        self.from_email = from_email

    def send(self, notice: Notice) -> None:
        """Send the notice as an HTML mail (subject = title)."""
        from airflow.providers.smtp.hooks.smtp import SmtpHook

        conn = _connection(self.conn_id)
        extra = conn.extra_dejson
        to = self.to or extra.get("to") or []
        if isinstance(to, str):
            to = [part.strip() for part in to.split(",") if part.strip()]
        if not to:
            raise ConfigError(f"no recipients: set `to` for the smtp channel or in Connection {self.conn_id!r} extra")
        with SmtpHook(smtp_conn_id=self.conn_id) as hook:
            hook.send_email_smtp(to=to, subject=notice.title, html_content=notice.html(),
                                 from_email=self.from_email or extra.get("from_email") or None)


# ------------------------------------------------------------------------------ configuration


@dataclass(frozen=True)
class ChannelSpec:
    """One configured channel: its kind, Connection and (e-mail) recipients."""

    kind: str
    conn_id: str
    to: tuple[str, ...] = ()
    from_email: str | None = None


def parse_channels(doc: Any) -> tuple[list[ChannelSpec], float]:
    """Channels and per-channel timeout from the parsed ``notifications.yaml``; ConfigError names the key."""
    where = "notifications.yaml"
    doc = doc or {}
    if not isinstance(doc, Mapping):
        raise ConfigError(f"{where}: expected a mapping with on_failure")
    items = doc.get("on_failure") or []
    if not isinstance(items, list):
        raise ConfigError(f"{where}: on_failure must be a list of channels")
    channels = []
    for number, item in enumerate(items, 1):
        if not isinstance(item, Mapping) or item.get("kind") not in KINDS or not item.get("conn_id"):
            raise ConfigError(f"{where}: on_failure[{number}] needs kind (one of {KINDS}) and conn_id")
        to = item.get("to") or ()
        channels.append(ChannelSpec(str(item["kind"]), str(item["conn_id"]),
                                    tuple([to] if isinstance(to, str) else to), item.get("from_email")))
    timeout = doc.get("timeout_seconds", 10)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 120:
        raise ConfigError(f"{where}: timeout_seconds must be a number of seconds between 0 and 120")
    return channels, float(timeout)


def channel_notifiers(settings: Settings | None = None,
                      build: Callable[[Mapping[str, Any]], Notice] = failure_notice) -> list[_ChannelNotifier]:
    """One notifier per channel configured in ``configs/notifications.yaml`` (none when the file is absent)."""
    settings = settings or load_settings()
    if not (settings.configs_dir / "notifications.yaml").exists():
        return []
    channels, timeout = parse_channels(load_config("notifications", settings))
    made: list[_ChannelNotifier] = []
    for spec in channels:
        if spec.kind == "slack":
            made.append(SlackWebhookNotifier(spec.conn_id, build, timeout))
        elif spec.kind == "webhook":
            made.append(JsonWebhookNotifier(spec.conn_id, build, timeout))
        else:
            made.append(SmtpFailureNotifier(spec.conn_id, build, timeout, list(spec.to), spec.from_email))
    return made


def broadcast(notice: Notice, notifiers: list[_ChannelNotifier]) -> dict[str, str]:
    """Send ``notice`` on every channel; returns ``conn_id → sent | skipped: … | failed: …`` (never raises)."""
    outcome: dict[str, str] = {}
    for notifier in notifiers:
        try:
            notifier.send(notice)
            outcome[notifier.conn_id] = "sent"
        except ChannelNotConfigured as exc:
            outcome[notifier.conn_id] = f"skipped: {exc}"
        except Exception as exc:  # noqa: BLE001 - one broken channel must not silence the others
            outcome[notifier.conn_id] = f"failed: {scrub(f'{type(exc).__name__}: {exc}')[:300]}"
            log.warning("notification via %s failed: %s", notifier.conn_id, outcome[notifier.conn_id])
    sent = [k for k, v in outcome.items() if v == "sent"]
    log.info("%s notice sent via %s", notice.event, ", ".join(sent) or "no channel (none configured)")
    return outcome


class FailureNotifier(BaseNotifier):
    """Every DAG's failure callback: the failure notice on every channel of ``configs/notifications.yaml``."""

    def __init__(self, build: Callable[[Mapping[str, Any]], Notice] = failure_notice) -> None:
        super().__init__()
        self.build = build

    def notify(self, context: Mapping[str, Any]) -> None:
        """Read the channels now (config changes apply without re-parsing DAGs) and broadcast."""
        try:
            notifiers = channel_notifiers(build=self.build)
        except ConfigError as exc:
            log.error("notifications not sent: %s", exc)
            return
        broadcast(self.build(context), notifiers)
