"""A SuccessFactors-compatible service without per-entity ``$metadata``, and SAML-bearer from env/CLI."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path

import pytest

from connectors.successfactors import UnknownEntityError
from hrbridge.cli import main
from hrbridge.connections import successfactors_from_env
from sandbox.successfactors import SuccessFactorsSandbox
from tests.factories.successfactors import (
    SANDBOX_CLIENT,
    SANDBOX_COMPANY,
    SANDBOX_PASSWORD,
    sandbox_connector,
)

ASSERTION = base64.b64encode(b"<saml2:Assertion xmlns:saml2='urn:oasis:names:tc:SAML:2.0:assertion'/>").decode()


@pytest.mark.parametrize("answer", ["missing", "not-xml"])
def test_delta_read_falls_back_to_the_service_metadata(sf_sandbox: SuccessFactorsSandbox, answer: str) -> None:
    sf_sandbox.entity_metadata = answer
    changed = sf_sandbox.update("JobApplication", 700003, status="Offer")
    with sandbox_connector(sf_sandbox) as sf:
        rows = [r for page in sf.read_pages("JobApplication", since=changed - timedelta(milliseconds=1)) for r in page]
        assert [r["applicationId"] for r in rows] == [700003]  # Int64 typed from the service metadata
        assert sf.field_types("Candidate")["lastModifiedDateTime"] == "Edm.DateTimeOffset"
        with pytest.raises(UnknownEntityError, match="did you mean JobApplication"):
            sf.entity_type("JobAplication")
    service_reads = [line for line in sf_sandbox.request_log if "/odata/v2/$metadata" in line]
    assert len(service_reads) == 1  # read once, then cached for every entity


def test_extract_since_and_sync_candidates_without_entity_metadata(
    sandbox_env: tuple, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    sf_box, ip_box = sandbox_env
    sf_box.entity_metadata = "not-xml"
    out = tmp_path / "apps.jsonl"
    args = ["extract", "--type", "successfactors", "--url", sf_box.url, "--user", "sfadmin", "--company-id",
            SANDBOX_COMPANY, "--stream", "JobApplication", "--since", "2000-01-01T00:00:00Z", "--out", str(out),
            "--json"]
    assert main(args) == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out)["records"] == sf_box.count("JobApplication")
    assert main(["sync", "candidates", "--json"]) == 0, capsys.readouterr().err
    counts = json.loads(capsys.readouterr().out)
    assert counts["applications_read"] == sf_box.count("JobApplication")
    assert counts["invited"] == counts["written_back"] == ip_box.creations > 0


def test_saml_bearer_from_the_environment(sf_sandbox: SuccessFactorsSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"HRBRIDGE_SF_URL": sf_sandbox.url, "HRBRIDGE_SF_AUTH_SCHEME": "saml_bearer",
           "HRBRIDGE_SF_CLIENT_ID": SANDBOX_CLIENT, "HRBRIDGE_SF_COMPANY_ID": SANDBOX_COMPANY,
           "HRBRIDGE_SF_ASSERTION": ASSERTION}
    with successfactors_from_env(env) as sf:
        assert sf.read_keys("JobRequisition")
        assert sf.client.principal == f"OAuth client {SANDBOX_CLIENT}@{SANDBOX_COMPANY}"
    wrong = {**env, "HRBRIDGE_SF_CLIENT_ID": "someone-else"}
    with successfactors_from_env(wrong) as sf, pytest.raises(Exception, match="someone-else") as refused:
        sf.read_keys("JobRequisition")
    assert ASSERTION not in str(refused.value)


def test_extract_cli_with_saml_bearer(
    sf_sandbox: SuccessFactorsSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("HRBRIDGE_SF_ASSERTION", ASSERTION)
    monkeypatch.delenv("HRBRIDGE_SF_PASSWORD", raising=False)
    out = tmp_path / "reqs.jsonl"
    args = ["extract", "--type", "successfactors", "--url", sf_sandbox.url, "--auth-scheme", "saml_bearer",
            "--client-id", SANDBOX_CLIENT, "--company-id", SANDBOX_COMPANY, "--stream", "JobRequisition",
            "--out", str(out), "--json"]
    assert main(args) == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out)["records"] == sf_sandbox.count("JobRequisition")
    monkeypatch.setenv("HRBRIDGE_SF_PASSWORD", SANDBOX_PASSWORD)  # basic stays the default
    basic = ["extract", "--type", "successfactors", "--url", sf_sandbox.url, "--user", "sfadmin", "--company-id",
             SANDBOX_COMPANY, "--stream", "JobRequisition", "--out", str(out), "--json"]
    assert main(basic) == 0, capsys.readouterr().err
