"""key_rotation: a new master-key epoch on a schedule, destroying the epochs past the window.

This is what makes crypto-shredding reach backups: a copy of the hub taken before a shred opens
nothing once ``keep_epochs + 1`` rotations have run after it (configs/keys.yaml: every 24 h, 6 kept
→ at most 7 days). Every live data key is re-wrapped; no data is re-encrypted. Logic lives in
``hrbridge.pipelines.key_rotation``; docs/security.md states the guarantee.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import dag, task

from hrbridge.operations.defaults import task_defaults
from hrbridge.operations.errors import fail_fast
from hrbridge.pipelines.key_rotation import load_rotation_config

CONFIG = load_rotation_config()


@dag(
    dag_id="key_rotation",
    schedule=CONFIG.interval,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=task_defaults(retry_delay=timedelta(minutes=10)),
    tags=["hrbridge", "keys", "privacy"],
    doc_md=__doc__,
)
def key_rotation() -> None:
    @task
    @fail_fast
    def rotate_and_destroy() -> dict[str, Any]:
        from hrbridge.pipelines.key_rotation import run_key_rotation

        return run_key_rotation()

    rotate_and_destroy()


key_rotation()
