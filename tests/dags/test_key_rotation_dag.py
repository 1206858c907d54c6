"""The key_rotation DAG: shape, and one real run through Airflow starting a new master-key epoch."""

from __future__ import annotations

from datetime import timedelta

import pytest

from governance.crypto import Vault
from hrbridge.store import hub_engine


def test_dag_shape(dagbag) -> None:
    dag = dagbag.dags["key_rotation"]
    assert dag.catchup is False and {"hrbridge", "keys"} <= set(dag.tags)
    assert dag.task_ids == ["rotate_and_destroy"]
    assert dag.timetable.delta == timedelta(hours=24)  # configs/keys.yaml interval_hours


@pytest.mark.slow
def test_dag_run_starts_an_epoch_and_keeps_the_window(dagbag, hrbridge_home) -> None:
    vault = Vault.local(hub_engine(), hrbridge_home)
    token = vault.encrypt("C-1", "a@example.com", table="t", column="c", record_id="1")
    first = vault.provider.current_key_id()

    run = dagbag.dags["key_rotation"].test()

    assert str(getattr(run.state, "value", run.state)) == "success"
    epochs = vault.provider.epochs()
    assert len(epochs) == 2 and vault.provider.current_key_id() != first
    assert first in vault.provider.key_ids()  # keep_epochs 6: the ended epoch stays for restores
    assert vault.decrypt("C-1", token, table="t", column="c", record_id="1") == "a@example.com"
