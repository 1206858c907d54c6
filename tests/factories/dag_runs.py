"""Read what a ``dag.test()`` run did: its state and each task's state and try number."""

from __future__ import annotations

from typing import Any, NamedTuple


class TaskOutcome(NamedTuple):
    """A task instance's final state and how many tries it took."""

    state: str
    try_number: int


def state(run: Any) -> str:
    """The run's state as text (``success``, ``failed``, ...)."""
    return str(getattr(run.state, "value", run.state))


def tasks(run: Any) -> dict[str, TaskOutcome]:
    """Task id → outcome (mapped tasks keyed ``task_id[index]``)."""
    outcomes = {}
    for ti in run.get_task_instances():
        key = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
        outcomes[key] = TaskOutcome(str(getattr(ti.state, "value", ti.state)), ti.try_number)
    return outcomes


def asset_events(uri: str, run_id: str) -> list[dict[str, Any]]:
    """The ``extra`` of every asset event for ``uri`` a run emitted, from the Airflow metadata database."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        events = session.scalars(select(AssetEvent).join(AssetModel, AssetModel.id == AssetEvent.asset_id)
                                 .where(AssetModel.uri == uri, AssetEvent.source_run_id == run_id)).all()
        return [dict(event.extra or {}) for event in events]
