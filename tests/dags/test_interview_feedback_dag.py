"""The interview_feedback DAG: shape, and one real run that reads outcomes from the SuccessFactors
sandbox (review forms, terminations, promotion job events) and writes a proposal — never publishing it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from hrbridge.archive import outcomes
from hrbridge.feedback import rules as versions
from hrbridge.feedback.outcomes import import_attributes
from hrbridge.feedback.service import open_context
from tests.factories import feedback as planted


def test_dag_shape(dagbag) -> None:
    dag = dagbag.dags["interview_feedback"]
    assert dag.catchup is False and {"hrbridge", "feedback"} <= set(dag.tags)
    assert dag.task_ids == ["import_outcomes", "analyse"]
    assert dag.task_dict["import_outcomes"].pool == "hrbridge_successfactors"


def _at(day: object) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@pytest.mark.slow
def test_dag_run_imports_from_successfactors_and_proposes(dagbag, sandbox_env, tmp_path) -> None:
    sf_box, _ = sandbox_env
    context = open_context()
    archive = planted.planted_archive(1200, seed=11, small_family=30)
    planted.write_archive(context.archive, archive)
    planted.attributes_csv(archive, tmp_path / "attributes.csv")
    import_attributes(context.archive, context.vault(), str(tmp_path / "attributes.csv"), ["gender"],
                      home=context.settings.home)
    person = dict(zip(archive.hires["application_id"], archive.hires["candidate_id"], strict=True))
    pushed = 0
    for row in archive.outcomes.itertuples():
        who = person[row.application_id]
        if row.kind == "rating":
            sf_box.add_review(who, _at(row.effective_date), row.rating, row.rating_scale_max)
        elif row.kind == "separation":
            sf_box.terminate(who, _at(row.effective_date),
                             "TERM_RESIGN" if row.separation_type == "voluntary" else "TERM_DISMISS")
        else:
            sf_box.promote(who, _at(row.effective_date), "SAL-2")
        pushed += 1

    run = dagbag.dags["interview_feedback"].test()

    assert str(getattr(run.state, "value", run.state)) == "success"
    with context.archive.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(outcomes)).scalar_one() == pushed
    (proposal,) = versions.list_versions(context.hub)
    assert proposal["status"] == "proposed" and proposal["changes"]
    assert versions.active_version(context.hub) == 0  # nothing publishes without a person
