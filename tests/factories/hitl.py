"""Answer Airflow's human-in-the-loop tasks through the REST API, as a person in the UI would.

``api`` is anything with ``get(path, params=...)`` and ``patch(path, json=...)`` returning
responses with ``status_code`` and ``json()``: Starlette's TestClient on Airflow's Core API app,
or an ``httpx.Client(base_url=<api-server>/, headers={"Authorization": "Bearer …"})`` against a
running api-server. Paths are relative to the server root (``/api/v2/...``).

:func:`answer_retention_approval` is the whole check a topology test needs: it waits until
``retention_purge`` asks for approval, checks nothing was deleted meanwhile and that the request
shows counts (no personal data), then answers.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


def pending_approvals(api: Any, dag_id: str) -> list[dict[str, Any]]:
    """HITL requests of ``dag_id`` without a response yet (any run)."""
    response = api.get(f"/api/v2/dags/{dag_id}/dagRuns/~/hitlDetails", params={"response_received": "false"})
    assert response.status_code == 200, response.text
    return list(response.json()["hitl_details"])


# How long a request must have been waiting before it is answered. A person never answers within a
# second; an answer that fast can reach the scheduler before it has seen the asking task's process
# exit, and Airflow 3.3 then takes that exit for a crash of the resumed task and retries it (which
# asks again). Three seconds is far below any human answer and far above that window.
SETTLE = 3.0


def wait_for_approval(api: Any, dag_id: str, timeout: float = 180.0, waiting: Callable[[], None] | None = None,
                      ) -> dict[str, Any]:
    """Poll until ``dag_id`` has a pending request whose task has waited for input for :data:`SETTLE`
    seconds; ``waiting`` runs on each poll."""
    deadline = time.monotonic() + timeout
    seen: dict[str, float] = {}
    while time.monotonic() < deadline:
        for detail in pending_approvals(api, dag_id):
            if detail["task_instance"]["state"] == "awaiting_input":
                first = seen.setdefault(detail["task_instance"]["id"], time.monotonic())
                if time.monotonic() - first >= SETTLE:
                    return detail
        if waiting:
            waiting()
        time.sleep(0.5)
    raise AssertionError(f"{dag_id} did not ask for approval within {timeout:.0f}s")


def answer(api: Any, detail: dict[str, Any], option: str) -> dict[str, Any]:
    """Choose ``option`` for the request ``detail`` (what the Required Actions page sends)."""
    ti = detail["task_instance"]
    path = (f"/api/v2/dags/{ti['dag_id']}/dagRuns/{ti['dag_run_id']}/taskInstances/{ti['task_id']}"
            f"/{ti['map_index']}/hitlDetails")
    response = api.patch(path, json={"chosen_options": [option], "params_input": {}})
    assert response.status_code == 200, response.text
    return response.json()


def answer_retention_approval(api: Any, option: str, rows: Callable[[], int], timeout: float = 180.0,
                              ) -> dict[str, Any]:
    """Wait for retention_purge's approval request, check it, then answer ``Approve`` or ``Reject``.

    ``rows`` counts the records retention would delete (e.g. candidates in the hub); it must not
    change while the run waits. Returns the request as the API showed it.
    """
    before = rows()

    def unchanged() -> None:
        assert rows() == before, "retention deleted data before anyone approved"

    detail = wait_for_approval(api, "retention_purge", timeout, waiting=unchanged)
    unchanged()
    assert detail["options"] == ["Approve", "Reject"] and detail["defaults"] == ["Reject"]
    assert re.search(r"\d+ people, \d+ records", detail["subject"]), detail["subject"]
    assert "| policy / store | action | people | records by store |" in detail["body"]
    assert not EMAIL.search(detail["subject"] + detail["body"]), "the approval request shows personal data"
    answer(api, detail, option)
    return detail
