"""Several sources feed one hub: SuccessFactors (sandbox) and SAP HCM (recorded BAPIs), keys source-qualified."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from connectors.source import SourceKeys
from hrbridge.cli import main
from hrbridge.connections import build_interview_platform, build_successfactors
from hrbridge.pipelines.candidate_sync import SyncSource, load_sync_config, run_candidate_sync
from hrbridge.settings import ConfigError, load_config
from hrbridge.sources import key_prefixes, sync_source_names
from hrbridge.store import create_schema
from hrbridge.store import recruiting as store
from sandbox.interview import InterviewPlatformSandbox
from sandbox.successfactors import SuccessFactorsSandbox
from tests.factories.sap_recruiting import RecordedRecruiting
from tests.factories.successfactors import FAST_RETRY


def test_successfactors_and_sap_hcm_feed_one_hub(hrbridge_home, tmp_path) -> None:
    from connectors.sql import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'hub.sqlite'}")
    create_schema(engine)
    sap = RecordedRecruiting.seeded(6)
    config = load_sync_config()
    sap_config = config.for_source(load_config("sources/sap_hcm"))
    with SuccessFactorsSandbox() as sf_box, InterviewPlatformSandbox() as ip_box:
        sf = build_successfactors(sf_box.url, "sfadmin", "sandbox-secret", "SFPART000001", retry=FAST_RETRY)
        sources = [SyncSource(sf, config, SourceKeys("", ("sap_hcm:",))),
                   SyncSource(sap.source(), sap_config, SourceKeys("sap_hcm:", ("",)))]
        platform = build_interview_platform(ip_box.url, "sandbox-interview-key", retry=FAST_RETRY)
        summary = run_candidate_sync(sources, platform, engine, config)
        sf_written = {str(r["key"]) for r in sf_box.upsert_log}
        del sap.applicants[1003]  # removed in SAP: the next run's key check marks it deleted
        again = run_candidate_sync(sources, platform, engine, config)
    with engine.connect() as conn:
        apps = dict(conn.execute(sa.select(store.applications.c.application_id, store.applications.c.deleted_at)).all())
        cursors = {r.stream for r in conn.execute(sa.select(store.sync_cursors))}
        origins = dict(conn.execute(sa.select(store.candidates.c.candidate_id, store.candidates.c.source)).all())
    sap_apps = {k for k in apps if k.startswith("sap_hcm:")}
    assert sap_apps == {f"sap_hcm:{1000 + i:08d}-{50000100 + i % 3:08d}" for i in range(6)}
    assert len(apps) - len(sap_apps) == sf_box.count("JobApplication")
    assert summary.streams["applications"].read == sf_box.count("JobApplication") + 6
    per_source = summary.to_dict()["sources"]
    assert per_source["sap_hcm"]["applications"]["read"] == 6
    assert per_source["successfactors"]["applications"]["read"] == sf_box.count("JobApplication")
    assert not any(k.startswith("sap_hcm:") for k in sf_written)  # SuccessFactors never sees another source's key
    assert {w["key"] for w in sap.written} <= {k.removeprefix("sap_hcm:") for k in sap_apps}
    assert {origins[k] for k in origins if k.startswith("sap_hcm:")} == {"sap_hcm"}
    assert {origins[k] for k in origins if not k.startswith("sap_hcm:")} == {"successfactors"}
    assert "successfactors:applications" in cursors and not any(c.startswith("sap_hcm:") for c in cursors)
    assert again.streams["applications"].deleted == 1 and apps["sap_hcm:00001003-50000100"] is not None
    assert sum(1 for k, gone in apps.items() if gone is not None) == 1  # SuccessFactors records untouched


def test_source_names_and_prefixes(monkeypatch: pytest.MonkeyPatch) -> None:
    assert sync_source_names(env={}) == ["successfactors"]
    assert sync_source_names(env={"HRBRIDGE_SYNC_SOURCES": "successfactors, greenhouse"}) == [
        "successfactors", "greenhouse"]
    assert key_prefixes({"successfactors": {}, "greenhouse": {}}) == {"successfactors": "", "greenhouse": "greenhouse:"}
    with pytest.raises(ConfigError, match="share hub keys"):
        key_prefixes({"successfactors": {}, "other": {"key_prefix": ""}})
    with pytest.raises(ConfigError, match="share hub keys"):
        key_prefixes({"a": {"key_prefix": "gh:"}, "b": {"key_prefix": "gh:x"}})


def test_cli_unknown_source_exits_2(sandbox_env, capsys) -> None:
    assert main(["sync", "candidates", "--source", "nowhere"]) == 2
    assert "configs/sources/nowhere.yaml" in capsys.readouterr().err
    assert main(["sync", "candidates", "--source", "successfactors", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["invited"] > 0
