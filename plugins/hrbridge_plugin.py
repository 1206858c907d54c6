"""The hrbridge Airflow plugin: hrbridge's pages in the Airflow API server and the Airflow UI.

``fastapi_apps`` mounts the pages (and their JSON API) at ``/hrbridge``; ``external_views`` adds
them to the Airflow UI's navigation. Put this folder on Airflow's ``[core] plugins_folder`` (the
``.airflowignore`` beside this file keeps Airflow from importing the packages here as plugins).
The signed interview webhook receiver is mounted at ``/hrbridge/webhooks`` (listed first: Starlette
matches mounts in order, and ``/hrbridge`` would otherwise take its requests); there a verified
delivery becomes an ``hrbridge://hub/results_inbox`` asset event (:mod:`hrbridge.webhook.airflow_app`).
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from hrbridge.webhook.airflow_app import URL_PREFIX as WEBHOOK_PREFIX
from hrbridge.webhook.airflow_app import api_server_app as webhook_app
from plugins.hrbridge_pages.app import create_app

URL_PREFIX = "/hrbridge"

VIEWS = [
    ("Validation", "validation"),
    ("Candidates", "candidates"),
    ("Archive", "archive"),
    ("Migration", "migration"),
    ("Deletion log", "deletion-log"),
]


class HrbridgePlugin(AirflowPlugin):
    """Pages for HR ops, hiring managers, auditors and IT, with hrbridge's own permissions."""

    name = "hrbridge"
    fastapi_apps = [
        {"app": webhook_app(), "url_prefix": WEBHOOK_PREFIX, "name": "hrbridge webhook receiver"},
        {"app": create_app(), "url_prefix": URL_PREFIX, "name": "hrbridge pages"},
    ]
    external_views = [
        {"name": title, "href": f"{URL_PREFIX}/{slug}", "destination": "nav", "category": "hrbridge",
         "url_route": f"hrbridge-{slug}"}
        for title, slug in VIEWS
    ]
