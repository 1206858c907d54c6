"""The distributed topology's parts: Airflow's CeleryExecutor imports on the locked stack and its
brokers (Redis, RabbitMQ) answer, so the same DAGs can move from SQLite to Postgres + Celery."""

from __future__ import annotations

import os

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
BROKERS = {
    "redis": os.environ.get("HRBRIDGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
    "rabbitmq": os.environ.get("HRBRIDGE_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//"),
}


def test_celery_executor_imports_with_pinned_celery() -> None:
    import celery
    from airflow.providers.celery.executors.celery_executor import CeleryExecutor

    assert tuple(int(p) for p in celery.__version__.split(".")[:2]) < (5, 7)
    assert CeleryExecutor.supports_ad_hoc_ti_run is not None


@pytest.mark.parametrize("broker", sorted(BROKERS))
def test_broker_round_trip(broker: str) -> None:
    from kombu import Connection

    url = BROKERS[broker]
    try:
        with Connection(url, connect_timeout=5) as conn:
            conn.ensure_connection(max_retries=1)
            queue = conn.SimpleQueue(f"hrbridge-test-{os.getpid()}")
            queue.put({"batch": 7})
            message = queue.get(timeout=5)
            assert message.payload == {"batch": 7}
            message.ack()
            queue.close()
            queue.queue(conn.default_channel).delete()
    except (OSError, ConnectionError) as exc:
        if IN_CI:
            pytest.fail(f"{broker} at {url} is not reachable: {exc}", pytrace=False)
        pytest.skip(f"{broker} is not reachable: {exc}")
