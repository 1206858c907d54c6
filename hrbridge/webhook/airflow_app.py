"""The receiver as mounted in the Airflow API server by the project's AirflowPlugin.

Inside the API server a queued delivery becomes an asset event for ``hrbridge://hub/results_inbox``
through Airflow's own asset manager (no HTTP round trip, no credentials), and the DAG scheduled on
that asset validates and stores the inbox. The secret comes from ``HRBRIDGE_WEBHOOK_SECRET`` in the
API server's environment; bounds from ``HRBRIDGE_WEBHOOK_*``. Nothing is read until the first
delivery, so the plugin loads even before hrbridge is configured (deliveries then get 503).
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from hrbridge.webhook.app import create_app
from hrbridge.webhook.followup import AssetEventEmitter, airflow_in_process
from hrbridge.webhook.limits import WebhookLimits
from hrbridge.webhook.receiver import WebhookReceiver

URL_PREFIX = "/hrbridge/webhooks"
PATH = "/interview"


def _receiver() -> WebhookReceiver:
    from hrbridge.pipelines.interview_results import load_results_config
    from hrbridge.settings import load_settings
    from hrbridge.store import hub_engine

    secret = os.environ.get("HRBRIDGE_WEBHOOK_SECRET", "")
    if not secret:
        raise ValueError("HRBRIDGE_WEBHOOK_SECRET is not set in the Airflow API server's environment")
    settings = load_settings()
    return WebhookReceiver(hub_engine(settings), load_results_config(settings), settings, secret,
                           followup=AssetEventEmitter(airflow_in_process), limits=WebhookLimits.from_env())


def api_server_app() -> FastAPI:
    """The app for the plugin's ``fastapi_apps`` (mounted under :data:`URL_PREFIX`)."""
    return create_app(_receiver, path=PATH, limits=WebhookLimits.from_env())
