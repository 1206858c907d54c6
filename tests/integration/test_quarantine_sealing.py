"""Quarantine payloads keep rule, field and masked values readable; the raw record is sealed per candidate."""

from __future__ import annotations

import json

import sqlalchemy as sa

from connectors.interview_rest import HrbridgeInterviewClient
from governance.crypto import Vault
from governance.crypto.envelope import is_token
from hrbridge.pipelines.candidate_sync import read_quarantine
from hrbridge.pipelines.interview_results import ingest_results, load_results_config
from hrbridge.pipelines.interview_results.ingest import open_quarantined
from hrbridge.settings import load_settings
from hrbridge.store import hub_engine
from hrbridge.store import recruiting as store
from hrbridge.store.results import results_quarantine
from tests.factories.results import invite
from tests.integration import test_candidate_sync as base
from tests.integration.test_candidate_sync import Loop

loop = base.loop  # the shared fixture: both sandboxes over HTTP, a fresh hub (SQLite and Postgres)


def _vault(engine: sa.Engine) -> Vault:
    return Vault.local(engine, load_settings().home)


def test_sync_quarantine_payload_is_minimised_and_sealed(loop: Loop) -> None:
    victim = next(r for r in loop.sf_sandbox.records("JobApplication") if r.get("contactEmail"))
    loop.sf_sandbox.update("JobApplication", victim["applicationId"], status=None)
    summary = loop.run()
    assert summary.streams["applications"].quarantined == 1
    with loop.engine.connect() as conn:
        stored = conn.execute(sa.select(store.sync_quarantine)).mappings().one()
    text = json.dumps(stored["raw"], ensure_ascii=False)
    assert victim["contactEmail"] not in text and victim["firstName"] not in text
    assert is_token(stored["raw"]["_sealed"])
    # what HR ops need stays readable: rule, field, ids, masked values
    assert (stored["rule"], stored["field"], stored["record_key"]) == ("required", "status",
                                                                        str(victim["applicationId"]))
    assert stored["raw"]["applicationId"] == victim["applicationId"]
    assert stored["raw"]["candidateId"] == victim["candidateId"] and stored["raw"]["status"] is None
    assert stored["raw"]["contactEmail"].endswith("@" + victim["contactEmail"].split("@")[1])
    (opened,) = read_quarantine(loop.engine)
    assert opened["raw"]["contactEmail"] == victim["contactEmail"]
    assert opened["raw"]["firstName"] == victim["firstName"]
    (masked,) = read_quarantine(loop.engine, decrypt=False)
    assert "_sealed" not in masked["raw"] and masked["raw"]["contactEmail"] == stored["raw"]["contactEmail"]
    # erasure: the sealed record becomes unreadable, the masked view remains
    _vault(loop.engine).shred(str(victim["candidateId"]))
    (after,) = read_quarantine(loop.engine)
    assert after["raw"]["contactEmail"] == stored["raw"]["contactEmail"] and "_sealed" not in after["raw"]


def test_results_quarantine_payload_sealed_and_requeue_still_works(hrbridge_home, interview_sandbox) -> None:
    from hrbridge.pipelines.interview_results import quarantine_summary, requeue_quarantined
    from hrbridge.store.recruiting import invitations

    settings = load_settings()
    config = load_results_config(settings)
    engine = hub_engine(settings)
    client = HrbridgeInterviewClient(interview_sandbox.url, "sandbox-interview-key")
    (inv_id,) = invite(client, engine, ["9301"])
    with engine.begin() as conn:  # the ledger lags: the result is quarantined (known_invitation)
        conn.execute(invitations.update().values(platform_invitation_id=None))
    interview_sandbox.complete()
    first = ingest_results(client, engine, config, settings=settings)
    assert first.quarantined == 1
    with engine.connect() as conn:
        row = conn.execute(sa.select(results_quarantine)).mappings().one()
    payload = row["payload"]
    assert is_token(payload["_sealed"]) and payload["application_id"] == "9301"
    assert payload["candidate_id"] == "cand-9301" and isinstance(payload["overall_score"], float)
    clip_urls = [c.get("url") for c in open_quarantined(_vault(engine), row)["clips"]]
    assert clip_urls and all(u and u not in json.dumps(payload) for u in clip_urls)
    assert quarantine_summary(engine) == {"known_invitation": 1}
    with engine.begin() as conn:
        conn.execute(invitations.update().values(platform_invitation_id=inv_id))
    assert requeue_quarantined(engine, rule="known_invitation") == 1  # the inbox gets the original payload
    second = ingest_results(client, engine, config, settings=settings)
    client.close()
    assert (second.stored, second.quarantined) == (1, 0)
