"""candidate_sync keeps e-mail and phone encrypted at rest under each candidate's data key."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from governance.access import Policy, Principal, SecureReader
from governance.crypto import KeyProviderUnavailable, Vault
from governance.crypto.envelope import is_token
from hrbridge.pipelines import candidate_sync as pipeline
from hrbridge.pipelines.pii import open_rows
from hrbridge.settings import load_settings
from hrbridge.store import recruiting as store
from tests.integration import test_candidate_sync as base
from tests.integration.test_candidate_sync import Loop

loop = base.loop  # the shared fixture: both sandboxes over HTTP, a fresh hub (SQLite and Postgres)
REPO = Path(__file__).resolve().parents[2]


def _vault(loop: Loop) -> Vault:
    return Vault.local(loop.engine, load_settings().home)


def _stored(loop: Loop, table: sa.Table) -> list[dict]:
    with loop.engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(table)).mappings()]


def test_contacts_are_tokens_in_the_hub_and_plaintext_only_on_the_wire(loop: Loop) -> None:
    summary = loop.run()
    assert summary.invited > 0
    source = {str(r["candidateId"]): r for r in loop.sf_sandbox.records("Candidate")}
    candidates = _stored(loop, store.candidates)
    assert candidates and all(is_token(r["email"]) and is_token(r["phone"]) for r in candidates)
    assert all(is_token(r["email"]) for r in _stored(loop, store.applications) if r["email"])
    opened, shredded = open_rows(_vault(loop), candidates, ["email", "phone"], table="candidates",
                                 subject_key="candidate_id", record_key="candidate_id")
    assert not shredded
    assert {r["candidate_id"]: r["email"] for r in opened} == {k: v["primaryEmail"] for k, v in source.items()}
    assert {r["candidate_id"]: r["phone"] for r in opened} == {k: v["cellPhone"] for k, v in source.items()}
    sent = {inv["request"]["application_id"]: inv["request"]["candidate_email"]
            for inv in loop.platform_sandbox.invitations.values()}
    for row in loop.invitations().values():
        assert is_token(row.request["candidate_email"])  # the stored request holds no address either
        assert sent[row.application_id] == source[row.candidate_id]["primaryEmail"]
    # role-based readers decrypt with the same table/column/record binding
    policy = Policy.from_yaml(REPO / "configs" / "roles.yaml")
    reader = SecureReader(loop.engine, policy, _vault(loop), Principal("hr_specialist"))
    emails = {str(r["candidate_id"]): r["email"] for r in reader.read_candidates().to_dict("records")}
    assert emails == {k: v["primaryEmail"] for k, v in source.items()}


def test_unavailable_key_provider_writes_nothing(loop: Loop) -> None:
    vault = _vault(loop)
    vault.require_available()  # creates the keyring
    keyring = load_settings().home / "keyring.json"
    os.chmod(keyring, 0o644)  # group/other may read it: refused, as an unreadable KMS would be
    with pytest.raises(KeyProviderUnavailable):
        loop.run()
    with loop.engine.connect() as conn:
        for table in (store.candidates, store.applications, store.requisitions, store.invitations):
            assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 0
        assert store.read_cursor(conn, "successfactors:candidates") is None
        assert conn.execute(sa.select(store.sync_runs.c.status)).scalar() == "failed"
    os.chmod(keyring, 0o600)
    assert loop.run().invited > 0  # fixed: the next run loads everything


def _applied_single(loop: Loop) -> dict:
    apps = loop.sf_sandbox.records("JobApplication")
    count: dict = {}
    for app in apps:
        count[app["candidateId"]] = count.get(app["candidateId"], 0) + 1
    return next(a for a in apps if a["status"] == "Applied" and count[a["candidateId"]] == 1)


def test_shredded_candidate_reads_as_none_and_is_not_invited(loop: Loop) -> None:
    loop.run()
    app = _applied_single(loop)
    assert _vault(loop).shred(str(app["candidateId"]))
    loop.sf_sandbox.update("Candidate", app["candidateId"], city="Suzhou")  # reloaded after the shred
    loop.sf_sandbox.set_application_status(app["applicationId"], "AI Interview")
    posts = len(loop.platform_sandbox.invitation_posts)
    summary = loop.run()
    assert summary.erased == 1 and summary.to_dict()["erased"] == 1
    assert summary.streams["candidates"].erased == 1 and summary.streams["applications"].erased == 1
    assert str(app["applicationId"]) not in loop.invitations()
    assert len(loop.platform_sandbox.invitation_posts) == posts
    with loop.engine.connect() as conn:
        row = conn.execute(sa.select(store.candidates).where(
            store.candidates.c.candidate_id == str(app["candidateId"]))).mappings().one()
    assert row["email"] is None and row["phone"] is None and row["city"] == "Suzhou"
    others = _stored(loop, store.candidates)
    opened, shredded = open_rows(_vault(loop), others, ["email"], table="candidates",
                                 subject_key="candidate_id", record_key="candidate_id")
    assert shredded == set() and all(r["email"] for r in opened if r["candidate_id"] != str(app["candidateId"]))


def test_candidate_shredded_after_planning_is_dropped_unsent(loop: Loop) -> None:
    run_id = pipeline.new_run_id()
    pipeline.start_run(loop.engine, run_id)
    pipeline.extract_and_load(loop.sf, loop.engine, loop.config, run_id=run_id)
    planned = pipeline.plan_invitations(loop.engine, loop.config, run_id=run_id)
    victim = next(iter(loop.invitations().values()))
    _vault(loop).shred(victim.candidate_id)
    posted = pipeline.post_invitations(loop.platform, loop.engine, loop.config, run_id=run_id)
    assert posted["invited"] == len(loop.invitations()) < planned["planned"]
    assert victim.application_id not in loop.invitations()
    sent = {inv["request"]["application_id"] for inv in loop.platform_sandbox.invitations.values()}
    assert victim.application_id not in sent


def test_hub_rows_open_for_other_readers(loop: Loop) -> None:
    from hrbridge.pipelines.pii import open_hub_rows

    loop.run()
    source = {str(r["applicationId"]): r for r in loop.sf_sandbox.records("JobApplication")}
    opened = open_hub_rows(_vault(loop), "applications", _stored(loop, store.applications))
    assert {r["application_id"]: r["email"] for r in opened} == {k: v["contactEmail"] for k, v in source.items()}
    plain = [{"candidate_id": "x1", "email": "legacy@example.com", "phone": None}]  # before encryption
    assert open_hub_rows(_vault(loop), "candidates", plain) == plain
