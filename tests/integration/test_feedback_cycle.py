"""The whole feedback cycle over real parts: archive and hub on SQLite, CSV import, the analysis, a
decision by role, candidate_sync against the SuccessFactors and interview sandboxes planning with the
published rules (and recording the version), then rollback restoring the old plan."""

from __future__ import annotations

import dataclasses
import pwd
from os import geteuid

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from governance.access import AccessDenied
from hrbridge.connections import build_interview_platform, build_successfactors
from hrbridge.feedback import rules as versions
from hrbridge.feedback.outcomes import import_attributes, import_file
from hrbridge.feedback.service import analyse_and_report, open_context, report_data
from hrbridge.pipelines.candidate_sync import load_sync_config, run_candidate_sync
from hrbridge.store import recruiting as store
from plugins.hrbridge_pages.access import Viewer
from plugins.hrbridge_pages.app import create_app
from plugins.hrbridge_pages.pages.archive import portrait_view
from sandbox.interview import InterviewPlatformSandbox
from sandbox.successfactors import SuccessFactorsSandbox
from tests.factories import feedback as planted
from transforms.feedback_stats import AnalysisSettings


def _signed_in(name: str):
    class User:
        role = "viewer"

        def get_name(self) -> str:
            return name

    async def resolve(request: object) -> User:
        return User()

    return resolve


def _invitations(engine: sa.Engine) -> dict[str, sa.Row]:
    with engine.connect() as conn:
        return {r.application_id: r for r in conn.execute(sa.select(store.invitations))}


@pytest.mark.slow
def test_import_analyse_approve_publish_plan_rollback(hrbridge_home, tmp_path, db_url, monkeypatch) -> None:
    if db_url.startswith("postgresql"):  # hub and archive in one Postgres database, as a deployment may run them
        monkeypatch.setenv("HRBRIDGE_DB_URL", db_url)
        monkeypatch.setenv("HRBRIDGE_ARCHIVE_URL", db_url)
    context = open_context()
    me = pwd.getpwuid(geteuid()).pw_name
    context.config = dataclasses.replace(
        context.config, analysis=AnalysisSettings(min_sample=100, min_events=15), deciders={me: "hr_lead"})
    archive = planted.planted_archive(2400, seed=11, small_family=40)
    planted.write_archive(context.archive, archive)
    planted.outcomes_csv(archive, tmp_path / "outcomes.csv")
    planted.attributes_csv(archive, tmp_path / "attributes.csv")

    imported = import_file(context.archive, context.vault(), str(tmp_path / "outcomes.csv"), home=hrbridge_home)
    assert imported.reconciled and imported.rejected == 0 and imported.inserted == len(archive.outcomes)
    again = import_file(context.archive, context.vault(), str(tmp_path / "outcomes.csv"), home=hrbridge_home)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, len(archive.outcomes))
    people = import_attributes(context.archive, context.vault(), str(tmp_path / "attributes.csv"), ["gender"],
                               home=hrbridge_home)
    assert people.inserted == 2400
    with context.archive.connect() as conn:  # protected attributes are sealed at rest
        stored = conn.execute(sa.text("SELECT attributes FROM archive_protected LIMIT 1")).scalar()
    assert "gender" not in stored

    result, key = analyse_and_report(context, as_of=archive.as_of)
    assert result.proposal_version == 1 and key.endswith(".html")
    proposal = versions.get_version(context.hub, 1)
    assert proposal["status"] == "proposed" and proposal["base_version"] == 0
    sales = proposal["rules"]["job_families"]["Sales"]["weights"]
    assert sales["customer_negotiation"] > 0.35 and "collaboration" in sales
    report = report_data(context.hub, result.run_id)
    assert "客户谈判" in " ".join(report["families"]["Sales"]["zh"]["findings"])
    assert report["families"]["Sales"]["en"]["status"] == "waiting for a decision"

    clerk = versions.Decider(me, "hr_specialist")
    with pytest.raises(AccessDenied):
        versions.decide(context.hub, 1, approve=True, decider=clerk, policy=context.policy, justification="x")
    lead = versions.cli_decider(context.config.deciders)
    assert lead.role == "hr_lead"

    # the decision through the pages, as the signed-in HR lead (roles.yaml airflow users)
    pages = {name: TestClient(create_app(_signed_in(name))) for name in ("lead.demo", "hr.demo")}
    listing = pages["lead.demo"].get("/feedback")
    assert listing.status_code == 200 and 'href="/feedback/1"' in listing.text
    assert 'id="decision"' in pages["lead.demo"].get("/feedback/1").text
    assert 'id="decision"' not in pages["hr.demo"].get("/feedback/1").text  # may read, may not decide
    assert pages["hr.demo"].post("/feedback/1/decision", data={"decision": "approve"}).status_code == 403
    if proposal["flagged"]:
        refused = pages["lead.demo"].post("/feedback/1/decision", data={"decision": "approve"})
        assert "needs a written justification" in refused.text
        assert versions.get_version(context.hub, 1)["status"] == "proposed"
    approved = pages["lead.demo"].post("/feedback/1/decision", data={
        "decision": "approve", "justification": "Technical depth is the job; the gap is addressed in sourcing."})
    assert approved.status_code == 200 and "Decision recorded." in approved.text
    decided = versions.get_version(context.hub, 1)
    assert (decided["status"], decided["decided_by"], decided["decided_role"]) == ("approved", "lead.demo", "hr_lead")
    assert versions.active_version(context.hub) == 1
    with pytest.raises(versions.ProposalStateError):
        versions.decide(context.hub, 1, approve=False, decider=lead, policy=context.policy)

    # the archive page: communication at hire beside the later assessment
    (tmp_path / "review.csv").write_text("application_id,kind,date,rating,assess_communication,note\n"
                                         "app-0,rating,2026-03-01,4,9.0,leads the key-account team\n", encoding="utf-8")
    assert import_file(context.archive, context.vault(), str(tmp_path / "review.csv"), home=hrbridge_home).inserted == 1
    with context.archive.connect() as conn:  # free text is sealed under the person's data key
        note = conn.execute(sa.text("SELECT note FROM archive_outcomes WHERE note IS NOT NULL")).scalar_one()
    assert "key-account" not in note
    view = portrait_view(Viewer("hr.demo", "hr_specialist"), "p-0")
    growth = {c["dimension"]: (c["at_hire"], c["now"]) for c in view["comparison"]}
    assert growth["communication"] == (archive.hires.loc[0, "communication"], 9.0)

    with SuccessFactorsSandbox(candidates=20, applications=20) as sf_box, InterviewPlatformSandbox() as ip_box:
        sf = build_successfactors(sf_box.url, "sfadmin", "sandbox-secret", "SFPART000001")
        platform = build_interview_platform(ip_box.url, "sandbox-interview-key")
        config = load_sync_config()

        def sync_new(n: int) -> list[sa.Row]:
            before = set(_invitations(context.hub))
            sf_box.add_applications(n, status="AI Interview")
            run_candidate_sync(sf, platform, context.hub, config)
            return [row for app, row in _invitations(context.hub).items() if app not in before]

        published = sync_new(12)
        sales_new = [r for r in published if r.plan["job_family"] == "Sales"]
        assert published and all(r.rules_version == 1 for r in published)
        assert sales_new, "the sandbox's requisitions include Sales"
        assert all("collaboration" in r.plan["weights"] for r in sales_new)

        moved = versions.rollback(context.hub, decider=lead, policy=context.policy)
        assert moved == {"from": 1, "to": 0}
        restored = sync_new(12)
        assert restored and all(r.rules_version == 0 for r in restored)
        for row in (r for r in restored if r.plan["job_family"] == "Sales"):
            assert "collaboration" not in row.plan["weights"]
        with pytest.raises(versions.ProposalStateError):
            versions.rollback(context.hub, decider=lead, policy=context.policy)
