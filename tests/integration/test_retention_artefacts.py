"""Retention reaches reports in the artefact store, whichever backend it has (one ``store: artefacts`` entry).

Both backends of :mod:`hrbridge.artefacts` (the hub's ``artefacts`` table and a ``file://`` object
store) are erased through the store's own interface: a report naming the person (their id, or the
id of one of their applications) goes, on request and when their retention period ends; a report
naming only someone else stays, and the deletion log counts what went.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connectors.sql import make_engine
from governance.retention import request_deletion
from governance.retention.config import RetentionConfigError, parse_config
from tests.factories.retention import CONFIG, NOW, add_candidate, create_tables, make_executor

REPORTS = {"category": "reports", "store": "artefacts", "subject_match": "contains",
           "subject_via": {"table": "t_applications", "column": "application_id", "subject_column": "candidate_id"}}


def _config() -> dict[str, Any]:
    """The factory configuration with the artefact store listed before the applications it goes through."""
    stores = list(CONFIG["stores"])
    stores.insert(1, REPORTS)
    policies = [dict(p) for p in CONFIG["policies"]]
    policies[1]["categories"] = [*policies[1]["categories"], "reports"]
    return {**CONFIG, "stores": stores, "policies": policies}


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    create_tables(engine, engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["hub", "object"])
def store(request: pytest.FixtureRequest, hub: Engine, tmp_path: Path) -> Any:
    """Each backend: the hub table, and a ``file://`` object store (``HRBRIDGE_ARTEFACT_URL``)."""
    from hrbridge.artefacts import artefact_store
    from hrbridge.settings import load_settings
    from hrbridge.store.artefacts import artefacts

    env = {"HRBRIDGE_HOME": str(tmp_path / "home")}
    if request.param == "object":
        env["HRBRIDGE_ARTEFACT_URL"] = f"file://{tmp_path / 'objects'}"
    else:
        artefacts.create(hub)
    return artefact_store(load_settings(env), engine=hub)


def _keys(store: Any) -> list[str]:
    return [i.key for kind in store.kinds() for i in store.list(kind)]


def test_reports_naming_a_person_are_erased_on_request_and_on_expiry(hub: Engine, store: Any, tmp_path: Path) -> None:
    add_candidate(hub, None, "C-asks", decided_days_ago=10)       # files a request
    add_candidate(hub, None, "C-expired", decided_days_ago=400)   # past the 180-day policy
    add_candidate(hub, None, "C-stays", decided_days_ago=10)      # a bystander
    store.put("validation", "run-1.html", b"<td>A-C-asks</td><td>A-C-stays</td>", "text/html")
    store.put("migration", "run-2/report.json", json.dumps({"subject": "C-asks"}).encode(), "application/json")
    store.put("validation", "run-3.html", b"<td>A-C-expired</td>", "text/html")
    store.put("validation", "run-4.html", b"<td>A-C-stays</td> C-asksX", "text/html")  # not a whole word
    executor = make_executor(hub, hub, tmp_path / "keys", _config(), artefacts=store)
    request_deletion(hub, "C-asks", "dpo", "GDPR Art. 17", executor.log.pseudonymise("C-asks"), 15,
                     now=NOW - timedelta(days=1), seal_key=executor.log.keys.pepper)

    plan = executor.plan(NOW)
    assert plan["missing_tables"] == []
    assert plan["totals"]["records_by_store"]["artefacts"] == 3 and len(_keys(store)) == 4, "a plan deletes nothing"

    executor.run(NOW)

    assert _keys(store) == ["validation/run-4.html"]
    with hub.connect() as conn:
        logged = [json.loads(c) for c in conn.execute(sa.text("SELECT counts_before FROM deletion_log")).scalars()]
    assert sum(c.get("artefacts", 0) for c in logged) == 3


def test_without_an_artefact_store_the_store_is_reported_missing(hub: Engine, tmp_path: Path) -> None:
    executor = make_executor(hub, hub, tmp_path / "keys", _config())
    missing = executor.plan(NOW)["missing_tables"]
    assert len(missing) == 1 and "no artefact store was given" in missing[0]


@pytest.mark.parametrize(("extra", "message"), [
    ({"table": "artefacts"}, "takes no table"), ({"subject_match": None}, "needs subject_match: contains"),
    ({"on_request": "anonymise"}, "must be delete or keep"),
])
def test_artefact_store_entry_mistakes_are_named(extra: dict[str, Any], message: str) -> None:
    config = {**_config(), "stores": [{**REPORTS, **extra}]}
    with pytest.raises(RetentionConfigError, match=message):
        parse_config(config, "test-retention.yaml")
