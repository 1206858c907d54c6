"""SuccessFactors hireDate travels through candidate_sync into the employee archive's hire date."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from hrbridge.archive import archive_engine, employments
from hrbridge.pipelines.archive_sync import run_archive_sync
from hrbridge.settings import load_settings
from hrbridge.store import recruiting as store
from tests.integration import test_candidate_sync as base
from tests.integration.test_candidate_sync import Loop

loop = base.loop  # the shared fixture: both sandboxes over HTTP, a fresh hub (SQLite and Postgres)


def test_hire_date_comes_from_successfactors_not_the_last_change(loop: Loop) -> None:
    loop.run()
    app_id = next(r["applicationId"] for r in loop.sf_sandbox.records("JobApplication") if r["status"] == "Applied")
    loop.sf_sandbox.hire([app_id])
    hired_on = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # recorded later than the hire itself
    loop.sf_sandbox.update("JobApplication", app_id, hireDate=hired_on)
    loop.run()
    with loop.engine.connect() as conn:
        extras = conn.execute(sa.select(store.applications.c.extras)
                              .where(store.applications.c.application_id == str(app_id))).scalar_one()
    assert datetime.fromisoformat(extras["hireDate"]) == hired_on
    settings = load_settings()
    archive = archive_engine(settings)
    summary = run_archive_sync(loop.engine, archive, settings=settings)
    assert summary.archived >= 1
    with archive.connect() as conn:
        hire_date = conn.execute(sa.select(employments.c.hire_date)
                                 .where(employments.c.application_id == str(app_id))).scalar_one()
    assert hire_date == hired_on.date()
