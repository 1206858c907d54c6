"""candidate_sync: HR applications → personalised AI-interview invitations → write-back.

Every 10 minutes. Tasks pass counts through XCom; data lives in the hub. Logic lives in
``hrbridge.pipelines.candidate_sync``; the sources are ``HRBRIDGE_SYNC_SOURCES`` (default
successfactors; see hrbridge.sources), connectors come from the Airflow Connections
``hrbridge_successfactors`` / ``hrbridge_interview`` (or HRBRIDGE_* env for local runs). Tasks
calling a system run in its pool (shared rate limit across DAGs); ``summary`` records the run and
then fails it when too many invitations, write-backs or applications failed
(failure_thresholds in configs/operations.yaml). Errors a retry cannot fix are not retried.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import dag, get_current_context, task

from hrbridge.operations.config import INTERVIEW_POOL, SUCCESSFACTORS_POOL
from hrbridge.operations.defaults import task_defaults
from hrbridge.operations.errors import fail_fast


def _run_id() -> str:
    return f"cs-{get_current_context()['run_id']}"[:64]


def record_failure(context: Any) -> None:
    """Task failure callback: mark the hub's sync run failed, naming the task and the error."""
    from hrbridge.pipelines.candidate_sync import mark_failed
    from hrbridge.store import hub_engine

    task = context["ti"].task_id if context.get("ti") else "a task"
    error = context.get("exception")
    mark_failed(hub_engine(), f"cs-{context['run_id']}"[:64], f"{task} failed: {type(error).__name__}: {error}")


def _setup() -> tuple[Any, Any]:
    from hrbridge.pipelines.candidate_sync import load_sync_config
    from hrbridge.store import hub_engine

    return hub_engine(), load_sync_config()


@dag(
    dag_id="candidate_sync",
    schedule=timedelta(minutes=10),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=task_defaults(retry_delay=timedelta(minutes=1), on_failure=[record_failure]),
    tags=["hrbridge", "recruiting", "successfactors", "interview"],
    doc_md=__doc__,
)
def candidate_sync() -> None:
    @task(pool=SUCCESSFACTORS_POOL)
    @fail_fast
    def extract_and_load() -> dict[str, Any]:
        from hrbridge.pipelines import candidate_sync as pipeline
        from hrbridge.sources import sync_sources
        from plugins.hrbridge_provider import hr_source

        engine, config = _setup()
        pipeline.start_run(engine, _run_id())
        streams: dict[str, Any] = {}
        for source in sync_sources(config, build=hr_source):
            pipeline.merge_counts(streams, pipeline.extract_and_load(source.system, engine, source.config,
                                                                     run_id=_run_id(), keys=source.keys))
        return {name: asdict(counts) for name, counts in streams.items()}

    @task(pool=INTERVIEW_POOL)
    @fail_fast
    def invite(loaded: dict[str, Any]) -> dict[str, int]:
        from hrbridge.pipelines import candidate_sync as pipeline
        from plugins.hrbridge_provider import interview_platform

        engine, config = _setup()
        planned = pipeline.plan_invitations(engine, config, run_id=_run_id())
        posted = pipeline.post_invitations(interview_platform(config.interview_rate_limit), engine, config,
                                           run_id=_run_id())
        return {**planned, **posted}

    @task(pool=SUCCESSFACTORS_POOL)
    @fail_fast
    def write_back(invited: dict[str, int]) -> dict[str, int]:
        from hrbridge.pipelines import candidate_sync as pipeline
        from hrbridge.sources import sync_sources
        from plugins.hrbridge_provider import hr_source

        engine, config = _setup()
        written = {"written_back": 0, "write_back_failed": 0}
        for source in sync_sources(config, build=hr_source):
            for key, value in pipeline.write_back(source.system, engine, source.config, run_id=_run_id(),
                                                  keys=source.keys).items():
                written[key] += value
        return written

    @task
    @fail_fast
    def summary(loaded: dict[str, Any], invited: dict[str, int], written: dict[str, int]) -> dict[str, Any]:
        from hrbridge.operations.thresholds import enforce
        from hrbridge.pipelines import candidate_sync as pipeline

        engine, _ = _setup()
        counts = pipeline.record_summary(engine, _run_id(), loaded, {**invited, **written}).to_dict()
        enforce("candidate_sync", _run_id(), counts)
        return counts

    loaded = extract_and_load()
    invited = invite(loaded)
    written = write_back(invited)
    summary(loaded, invited, written)


candidate_sync()
