"""What happens after a verified delivery is queued in ``results_inbox``.

* :class:`InboxProcessor` — validate and store the inbox in this process with the same pipeline
  function the poller uses (the embedded default, no Airflow).
* :class:`AssetEventEmitter` — tell Airflow that ``hrbridge://hub/results_inbox`` changed, so the
  ``interview_results`` DAG scheduled on that asset runs; in the API server through Airflow's
  asset manager (:func:`airflow_in_process`), standalone through the REST API
  (:class:`AirflowRestApi`).

Each runs on one background thread that coalesces notifications: a burst of deliveries leads to
one inbox pass or one asset event, never one per request, and the HTTP answer never waits for it.
A failed attempt is retried a few times; rows not handled stay in the inbox for the next run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy.engine import Engine

from hrbridge.pipelines.interview_results import ResultsConfig, new_run_id, process_inbox, record_run
from hrbridge.settings import Settings

log = logging.getLogger("hrbridge.webhook")



def results_inbox_uri() -> str:
    """The asset URI, declared in :mod:`hrbridge.assets` (imported late: it imports Airflow's SDK)."""
    from hrbridge.assets import RESULTS_INBOX_URI

    return RESULTS_INBOX_URI


class Followup(Protocol):
    """Told after each queued delivery; works in the background."""

    def notify(self) -> None:
        """A delivery was queued."""

    def wait_idle(self, timeout: float) -> bool:
        """Block until every notification so far is handled; False on timeout."""

    def close(self) -> None:
        """Stop; what is not handled stays in the inbox."""


class CoalescingWorker:
    """Run ``action`` on a background thread after notifications, once per burst.

    ``action`` receives how many notifications it covers. A failure is logged and retried after
    ``retry_delays`` seconds; after the last one the notifications are dropped (the inbox keeps the
    rows, and the next notification or the DAG's own schedule picks them up).
    """

    def __init__(self, action: Callable[[int], None], name: str, retry_delays: tuple[float, ...] = (1.0, 5.0)) -> None:
        self.action, self.retry_delays = action, retry_delays
        self._state = threading.Condition()
        self._queued = self._done = 0
        self._stopping = False
        self.last_error: str | None = None
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def notify(self) -> None:
        """Count one notification and wake the worker."""
        with self._state:
            self._queued += 1
            self._state.notify_all()

    def _work(self) -> None:
        while True:
            with self._state:
                self._state.wait_for(lambda: self._stopping or self._queued > self._done)
                if self._stopping:
                    return
                target, covered = self._queued, self._queued - self._done
            for delay in (*self.retry_delays, None):
                try:
                    self.action(covered)
                    self.last_error = None
                    break
                except Exception as exc:  # noqa: BLE001 - keep serving; the inbox keeps the rows
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    log.warning("webhook follow-up failed (%s)%s", self.last_error,
                                f"; retrying in {delay}s" if delay is not None else "; left for the next run")
                    if delay is None or self._sleep(delay):
                        break
            with self._state:
                self._done = target
                self._state.notify_all()

    def _sleep(self, seconds: float) -> bool:
        """Wait ``seconds`` unless stopped; True when stopping."""
        with self._state:
            return self._state.wait_for(lambda: self._stopping, timeout=seconds)

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until every notification so far is handled; False on timeout."""
        with self._state:
            return self._state.wait_for(lambda: self._done >= self._queued, timeout=timeout)

    def close(self) -> None:
        """Stop the thread (waits for a running action up to 10 s)."""
        with self._state:
            self._stopping = True
            self._state.notify_all()
        self._thread.join(timeout=10)


class InboxProcessor(CoalescingWorker):
    """Validate and store queued deliveries in this process (embedded: no Airflow to tell)."""

    def __init__(self, engine: Engine, config: ResultsConfig, settings: Settings, vault: Any = None) -> None:
        self.engine, self.config, self.settings, self.vault = engine, config, settings, vault
        super().__init__(self._process, "hrbridge-webhook-inbox", retry_delays=())

    def _process(self, _covered: int) -> None:
        counts = process_inbox(self.engine, self.config, run_id=new_run_id("webhook"), vault=self.vault)
        if counts.read:
            record_run(self.engine, counts, datetime.now(UTC), self.settings)


class AssetEventEmitter(CoalescingWorker):
    """Emit one asset event for ``hrbridge://hub/results_inbox`` per burst of queued deliveries.

    ``publish(extra)`` sends it: :func:`airflow_in_process` inside the API server,
    :meth:`AirflowRestApi.publish` from a standalone receiver.
    """

    def __init__(self, publish: Callable[[dict[str, Any]], None]) -> None:
        self.publish = publish
        self.emitted = 0
        super().__init__(self._emit, "hrbridge-webhook-asset-events")

    def _emit(self, covered: int) -> None:
        self.publish({"source": "hrbridge webhook receiver", "deliveries": covered,
                      "queued_at": datetime.now(UTC).isoformat()})
        self.emitted += 1


def airflow_in_process(extra: dict[str, Any]) -> None:
    """Register an asset event through Airflow's asset manager (inside the API server process).

    Logs a warning and emits nothing when no DAG has declared the asset yet (Airflow knows an
    asset only once a parsed DAG names it).
    """
    from airflow.assets.manager import asset_manager
    from airflow.models.asset import AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        uri = results_inbox_uri()
        asset = session.scalar(select(AssetModel).where(AssetModel.uri == uri).limit(1))
        if asset is None:
            log.warning("no DAG declares the asset %s yet; no event emitted (the inbox keeps the rows)", uri)
            return
        asset_manager.register_asset_change(asset=asset, extra=extra, source_is_api=True, session=session)


class AirflowRestApi:
    """Post asset events to an Airflow API server (``POST /api/v2/assets/events``).

    Credentials are a bearer token, or a user and password exchanged for a token at
    ``POST /auth/token``; they are sent only to ``base_url`` (redirects are not followed).
    """

    def __init__(self, base_url: str, *, token: str | None = None, user: str | None = None,
                 password: str | None = None, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token, self.user, self.password, self.timeout = token, user, password, timeout
        self._asset_id: int | None = None
        self._expires = 0.0

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        import requests

        response = requests.request(method, f"{self.base_url}{path}", timeout=self.timeout,
                                    allow_redirects=False, **kwargs)
        if response.status_code == 401 and self.user:
            self.token = None  # expired or revoked: the next attempt logs in again
        if response.status_code >= 300:
            raise RuntimeError(f"Airflow API {method} {path}: HTTP {response.status_code} {response.text[:200]}")
        return response.json()

    def _headers(self) -> dict[str, str]:
        if self.user and (not self.token or time.monotonic() > self._expires):
            answer = self._request("POST", "/auth/token", json={"username": self.user, "password": self.password})
            self.token, self._expires = answer["access_token"], time.monotonic() + 600
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def asset_id(self) -> int:
        """The id Airflow gave ``hrbridge://hub/results_inbox`` (looked up once)."""
        if self._asset_id is None:
            uri = results_inbox_uri()
            found = self._request("GET", "/api/v2/assets", headers=self._headers(),
                                  params={"uri_pattern": uri, "limit": 50})
            ids = [a["id"] for a in found.get("assets", []) if a.get("uri") == uri]
            if not ids:
                raise RuntimeError(f"Airflow at {self.base_url} knows no asset {uri} "
                                   "(is the interview_results DAG parsed?)")
            self._asset_id = ids[0]
        return self._asset_id

    def publish(self, extra: dict[str, Any]) -> None:
        """Create one asset event for the results inbox."""
        self._request("POST", "/api/v2/assets/events", headers=self._headers(),
                      json={"asset_id": self.asset_id(), "extra": extra})


AIRFLOW_API_CONNECTION = "AIRFLOW_CONN_HRBRIDGE_AIRFLOW_API"


def airflow_api_from_env(env: Any = None) -> AirflowRestApi | None:
    """The Airflow REST API client configured in the environment, or None when none is.

    ``HRBRIDGE_AIRFLOW_API_URL`` with ``HRBRIDGE_AIRFLOW_API_TOKEN`` or ``HRBRIDGE_AIRFLOW_API_USER``
    / ``HRBRIDGE_AIRFLOW_API_PASSWORD``; or the Connection ``hrbridge_airflow_api`` given as
    ``AIRFLOW_CONN_HRBRIDGE_AIRFLOW_API``, a URI (``http://user:password@host:8080``) or JSON
    (host = API server URL, login, password, or ``extra.token``).
    """
    import json
    import os

    from hrbridge.settings import ConfigError

    env = os.environ if env is None else env
    if env.get("HRBRIDGE_AIRFLOW_API_URL"):
        return AirflowRestApi(env["HRBRIDGE_AIRFLOW_API_URL"], token=env.get("HRBRIDGE_AIRFLOW_API_TOKEN") or None,
                              user=env.get("HRBRIDGE_AIRFLOW_API_USER") or None,
                              password=env.get("HRBRIDGE_AIRFLOW_API_PASSWORD") or None)
    raw = env.get(AIRFLOW_API_CONNECTION)
    if not raw:
        return None
    if not raw.lstrip().startswith("{"):
        return _api_from_uri(raw)
    try:
        conn = json.loads(raw)
        host = str(conn["host"])
    except (ValueError, TypeError, KeyError):
        raise ConfigError(f"{AIRFLOW_API_CONNECTION} must be a Connection URI or JSON with a 'host' "
                          '(e.g. {"conn_type": "http", "host": "http://127.0.0.1:8080", "login": "...", '
                          '"password": "..."})') from None
    if "://" not in host:
        host = f"{conn.get('schema') or 'http'}://{host}" + (f":{conn['port']}" if conn.get("port") else "")
    extra = conn.get("extra") or {}
    extra = json.loads(extra) if isinstance(extra, str) else extra
    return AirflowRestApi(host, token=extra.get("token"), user=conn.get("login"), password=conn.get("password"))


def _api_from_uri(raw: str) -> AirflowRestApi:
    """An Airflow Connection URI (``http://user:password@host:8080``; ``https`` kept)."""
    from urllib.parse import parse_qs, unquote, urlsplit

    from hrbridge.settings import ConfigError

    parts = urlsplit(raw.strip())
    if not parts.hostname:
        raise ConfigError(f"{AIRFLOW_API_CONNECTION} names no host (e.g. http://user:password@airflow-api:8080)")
    scheme = "https" if parts.scheme == "https" else "http"
    base = f"{scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    token = (parse_qs(parts.query).get("token") or [None])[0]
    return AirflowRestApi(base, token=token, user=unquote(parts.username) if parts.username else None,
                          password=unquote(parts.password) if parts.password else None)
