"""The standard conformance suite, generated for every source from its declared streams.

Every source in tests/conformance/harness.py (SuccessFactors, Greenhouse Harvest v3, SAP HCM with
recorded BAPI structures, the YAML REST example) must: read exactly the source's record count per
stream; return every changed record in a delta and nothing the look-back does not allow; show a
deleted record as missing from its current keys; retry 429 (Retry-After) and 5xx within the budget
and then fail clearly; fail once on refused credentials naming the source and the user, never the
secret; deliver custom fields; and report write-back failures per record.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from connectors.errors import AuthenticationError, RetryBudgetExceeded
from connectors.source import MemoryState, SourceStream, as_datetime
from tests.conformance.harness import HARNESSES, OVER_HTTP, Control

LOOKBACK = timedelta(seconds=2)


@pytest.fixture(params=sorted(HARNESSES))
def control(request: pytest.FixtureRequest) -> Iterator[Control]:
    with HARNESSES[request.param]() as running:
        yield running


@pytest.fixture(params=OVER_HTTP)
def http_control(request: pytest.FixtureRequest) -> Iterator[Control]:
    """A source spoken over HTTP (the only ones with throttling and server errors to retry)."""
    with HARNESSES[request.param]() as running:
        assert running.inject is not None, f"{running.label}: no fault injection"
        yield running


def _rows(control: Control, stream: str) -> list[dict[str, Any]]:
    return [row for page in control.system.read_pages(stream) for row in page]


def test_full_read_equals_the_source_count(control: Control) -> None:
    for name, declared in control.system.streams.items():
        rows = _rows(control, name)
        keys = [str(row[declared.primary_key]) for row in rows]
        assert len(rows) == control.count(name) > 0, name
        assert len(set(keys)) == len(keys), f"{name}: a key read twice"


def test_delta_returns_every_change_and_no_more_than_the_lookback(control: Control) -> None:
    state = MemoryState()
    for name, declared in control.system.streams.items():
        first = SourceStream(control.system, name, state, lookback=LOOKBACK)
        assert sum(len(page) for page in first.changes()) == control.count(name)
        position = first.commit("run-1")
        changed = control.change(name, 2)
        second = SourceStream(control.system, name, state, lookback=LOOKBACK)
        rows = [row for page in second.changes() for row in page]
        keys = {str(row[declared.primary_key]) for row in rows}
        assert changed <= keys, f"{name}: changed records missing from the delta"
        if not declared.incremental:  # read whole every run: the delta is the stream
            assert len(keys) == control.count(name)
            continue
        assert position is not None and second.incremental.since == position - LOOKBACK
        for row in rows:
            if str(row[declared.primary_key]) not in changed:
                stamp = as_datetime(row[declared.replication_key])
                assert stamp is not None and stamp >= position - LOOKBACK, f"{name}: {row[declared.primary_key]}"
        assert second.commit("run-2") > position


def test_deleted_records_are_detected(control: Control) -> None:
    state = MemoryState()
    for name in control.system.streams:
        gone = control.delete(name)
        keys = SourceStream(control.system, name, state).current_keys()
        assert gone not in keys and len(keys) == control.count(name), name


def test_throttling_and_server_errors_are_retried_then_fail_clearly(http_control: Control) -> None:
    control = http_control
    control.inject("applications", "429", 2)
    control.inject("candidates", "503", 1)
    assert len(_rows(control, "applications")) == control.count("applications")
    assert len(_rows(control, "candidates")) == control.count("candidates")
    control.inject("applications", "503", 50)
    with pytest.raises(RetryBudgetExceeded, match="HTTP 503 after"):
        _rows(control, "applications")


def test_refused_credentials_fail_once_naming_source_and_user_never_the_secret(control: Control) -> None:
    assert control.bad_credentials is not None
    system, secret, who = control.bad_credentials()
    with pytest.raises(AuthenticationError) as info:
        list(system.read_pages("applications"))
    message = str(info.value)
    assert who in message and control.label.split()[0] in message, message
    assert secret not in message


def test_custom_fields_arrive(control: Control) -> None:
    for stream, name in control.custom_fields.items():
        rows = _rows(control, stream)
        assert rows and all(name in row for row in rows), f"{stream}: {name} missing"


def test_write_back_reports_each_record(control: Control) -> None:
    case = control.write_back()
    records = [{case.key_field: key, **case.fields} for key in (case.good, case.bad)]
    result = control.system.upsert(case.entity, records, case.key_field)
    assert [str(k) for k in result.ok] == [str(case.good)]
    assert [str(k) for k, _ in result.failed] == [str(case.bad)]
    assert all(message for _, message in result.failed)
