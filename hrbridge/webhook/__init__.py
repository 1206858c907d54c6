"""The signed ``interview.completed`` webhook receiver (the faster path into ``results_inbox``).

* :mod:`~hrbridge.webhook.receiver` — verify, refuse replays, queue (HTTP-independent);
* :mod:`~hrbridge.webhook.app` — the ASGI app reading bodies with hard bounds;
* :mod:`~hrbridge.webhook.server` — standalone serving under uvicorn (``hrbridge webhook serve``);
* :mod:`~hrbridge.webhook.followup` — after a delivery is queued: process the inbox here, or emit
  the Airflow asset event ``hrbridge://hub/results_inbox`` (in the API server or over its REST API);
* :mod:`~hrbridge.webhook.limits` — the bounds, declared once.
"""

from hrbridge.webhook.app import create_app
from hrbridge.webhook.followup import AssetEventEmitter, InboxProcessor
from hrbridge.webhook.limits import WebhookLimits
from hrbridge.webhook.receiver import EVENT, Answer, WebhookReceiver
from hrbridge.webhook.server import WebhookServer

__all__ = ["EVENT", "Answer", "AssetEventEmitter", "InboxProcessor", "WebhookLimits",
           "WebhookReceiver", "WebhookServer", "create_app"]
