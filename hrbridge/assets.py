"""The Airflow Assets hrbridge's DAGs produce and consume (data-aware scheduling), declared once.

* ``hrbridge://hub/results_inbox`` — a verified webhook delivery was queued in the hub's inbox
  (the webhook receiver emits it); schedules ``interview_results`` besides its timetable.
* ``hrbridge://hub/interview_results`` — interview results were stored in the hub
  (``interview_results`` emits it when it stored at least one); schedules ``archive_sync``
  besides its daily timetable.

The URIs are plain strings for producers outside a DAG (e.g. the REST call
``POST /api/v2/assets/events`` with the asset's id, or an in-process ``outlet``).
"""

from __future__ import annotations

from airflow.sdk import Asset

RESULTS_INBOX_URI = "hrbridge://hub/results_inbox"
INTERVIEW_RESULTS_URI = "hrbridge://hub/interview_results"

# name = URI (Airflow's default), so an Asset built elsewhere from the same URI is the same asset
RESULTS_INBOX = Asset(RESULTS_INBOX_URI)
INTERVIEW_RESULTS = Asset(INTERVIEW_RESULTS_URI)
