"""The SuccessFactors connector over real HTTP against the loopback OData v2 sandbox."""

from __future__ import annotations

import base64
import re
import socket
from datetime import timedelta

import pytest

from connectors.errors import (
    AuthenticationError,
    MalformedResponseError,
    RetryBudgetExceeded,
    UnreachableError,
)
from connectors.http import RetryPolicy
from connectors.successfactors import (
    STREAMS,
    StreamSpec,
    SuccessFactorsConnector,
    UnknownEntityError,
    UnknownFieldError,
    delta_since,
)
from sandbox.server import SandboxRequest, SandboxResponse, SandboxServer
from sandbox.successfactors import SuccessFactorsSandbox, load_model, metadata_document
from tests.factories.successfactors import (
    FAST_RETRY,
    SANDBOX_CLIENT,
    SANDBOX_COMPANY,
    SANDBOX_PASSWORD,
    SANDBOX_USER,
    sandbox_connector,
)

SKIP_PARAM = re.compile(r"(\$|%24)skip=", re.IGNORECASE)


def test_full_read_across_pages_reconciles_counts(sf_sandbox: SuccessFactorsSandbox) -> None:
    connector = sandbox_connector(sf_sandbox, page_size=25)
    pages = list(connector.read_pages("JobApplication"))
    records = [r for page in pages for r in page]
    assert [len(p) for p in pages] == [25, 25, 25, 5]
    assert len(records) == connector.last_count == sf_sandbox.count("JobApplication") == 80
    assert len({r["applicationId"] for r in records}) == 80
    assert connector.stats.pages == 4


def test_paging_follows_next_links_and_never_sends_skip(sf_sandbox: SuccessFactorsSandbox) -> None:
    connector = sandbox_connector(sf_sandbox, page_size=30)
    assert sum(1 for _ in connector.read("Candidate")) == 60
    reads = [line for line in sf_sandbox.request_log if line.startswith("GET /odata/v2/Candidate?")]
    assert len(reads) == 2
    assert not any(SKIP_PARAM.search(line) for line in reads)
    assert "$skiptoken=" in reads[1]
    assert "inlinecount" in reads[0]


def test_delta_read_returns_exactly_the_changed_records(sf_sandbox: SuccessFactorsSandbox) -> None:
    connector = sandbox_connector(sf_sandbox)
    cursor = max(r["lastModifiedDateTime"] for r in connector.read("JobApplication"))
    changed = [700003, 700010, 700042]
    for app_id in changed:
        sf_sandbox.set_application_status(app_id, "AI Interview")
    delta = list(connector.read("JobApplication", since=delta_since(cursor, timedelta(0))))
    assert sorted(r["applicationId"] for r in delta) == changed
    assert connector.last_count == 3
    assert {r["status"] for r in delta} == {"AI Interview"}


def test_delta_lookback_overlap_rereads_recent_records(sf_sandbox: SuccessFactorsSandbox) -> None:
    connector = sandbox_connector(sf_sandbox)
    cursor = max(r["lastModifiedDateTime"] for r in sf_sandbox.records("JobApplication"))
    sf_sandbox.set_application_status(700005, "Interview")
    since = delta_since(cursor, timedelta(days=30))
    expected = {r["applicationId"] for r in sf_sandbox.records("JobApplication") if r["lastModifiedDateTime"] > since}
    got = {r["applicationId"] for r in connector.read("JobApplication", since=since)}
    assert got == expected
    assert 700005 in got and len(got) > 1


def test_select_limits_fields_but_keeps_key_and_cursor(sf_sandbox: SuccessFactorsSandbox) -> None:
    records = list(sandbox_connector(sf_sandbox).read("JobApplication", fields=["status", "cust_aiOverallScore"]))
    assert set(records[0]) == {"applicationId", "lastModifiedDateTime", "status", "cust_aiOverallScore"}
    assert isinstance(records[0]["applicationId"], int)
    assert records[0]["lastModifiedDateTime"].tzinfo is not None


def test_custom_fields_survive_a_write_and_read_back(sf_sandbox: SuccessFactorsSandbox) -> None:
    connector = sandbox_connector(sf_sandbox)
    result = connector.upsert("JobApplication", [
        {"applicationId": 700001, "cust_aiOverallScore": 87.5, "cust_aiKeywords": "Python, 沟通",
         "cust_aiReportUrl": "https://interview.example/r/1"},
    ], key_field="applicationId")
    assert result.all_ok and result.ok == [700001]
    record = next(r for r in connector.read("JobApplication") if r["applicationId"] == 700001)
    assert record["cust_aiOverallScore"] == 87.5
    assert record["cust_aiKeywords"] == "Python, 沟通"
    assert {k for k in record if k.startswith("cust_ai")} >= {"cust_aiInterviewStatus", "cust_aiMatchPercent"}


def test_upsert_with_mixed_per_record_results(sf_sandbox: SuccessFactorsSandbox) -> None:
    before = sf_sandbox.get("JobApplication", 700002)
    result = sandbox_connector(sf_sandbox).upsert("JobApplication", [
        {"applicationId": 700001, "cust_aiInterviewStatus": "Invited"},
        {"applicationId": 999, "cust_aiInterviewStatus": "Invited"},
        {"applicationId": 700002, "lastModifiedDateTime": before["lastModifiedDateTime"]},
        {"applicationId": 700002, "cust_aiInterviewLink": "https://x.example/" + "a" * 600},
        {"applicationId": 700002, "cust_unknownField": "x"},
    ], key_field="applicationId", chunk_size=2)
    assert result.ok == [700001]
    failed = dict(result.failed)
    assert "not found" in failed[999] and "404" in failed[999]
    assert len(result.failed) == 4
    messages = " | ".join(m for _, m in result.failed)
    assert "read-only" in messages and "maximum length is 500" in messages and "cust_unknownField" in messages
    assert sf_sandbox.get("JobApplication", 700001)["cust_aiInterviewStatus"] == "Invited"
    assert sf_sandbox.get("JobApplication", 700002) == before


def test_resume_stream_carries_parseable_content(sf_sandbox: SuccessFactorsSandbox) -> None:
    connector = sandbox_connector(sf_sandbox)
    resumes = list(connector.read("resumes"))
    assert len(resumes) == connector.last_count == 60
    text = base64.b64decode(resumes[0]["fileContent"]).decode("utf-8")
    assert "Years of experience:" in text and "Skills:" in text
    assert {r["mimeType"] for r in resumes} == {"text/plain", "application/pdf"}


def test_saml_bearer_auth_obtains_and_uses_a_token(sf_sandbox: SuccessFactorsSandbox) -> None:
    assertion = base64.b64encode(b"<saml2:Assertion xmlns:saml2='urn:oasis:names:tc:SAML:2.0:assertion'/>").decode()
    connector = SuccessFactorsConnector.saml_bearer(sf_sandbox.url, f"{sf_sandbox.url}/oauth/token", SANDBOX_COMPANY, SANDBOX_CLIENT, assertion,
                                                    retry=FAST_RETRY)
    assert sum(1 for _ in connector.read("JobRequisition")) == 12
    assert sum(1 for line in sf_sandbox.request_log if line == "POST /oauth/token") == 1


def test_saml_bearer_with_private_key_uses_idp_for_the_assertion(sf_sandbox: SuccessFactorsSandbox) -> None:
    connector = SuccessFactorsConnector.saml_bearer(sf_sandbox.url, None, SANDBOX_COMPANY, SANDBOX_CLIENT,
                                                    private_key="LS0tLS1CRUdJTi...", user_id="sfadmin")
    assert sum(1 for _ in connector.read("JobRequisition")) == 12
    assert "POST /oauth/idp" in sf_sandbox.request_log


def test_unknown_oauth_client_is_an_authentication_error(sf_sandbox: SuccessFactorsSandbox) -> None:
    assertion = base64.b64encode(b"<Assertion/>").decode()
    connector = SuccessFactorsConnector.saml_bearer(sf_sandbox.url, None, SANDBOX_COMPANY, "stranger", assertion)
    with pytest.raises(AuthenticationError) as info:
        list(connector.read("Candidate"))
    assert "stranger@SFPART000001" in str(info.value)
    assert "invalid_client: client_id 'stranger' is not registered" in str(info.value)
    assert assertion not in str(info.value)


def test_wrong_password_names_the_user_but_not_the_password(sf_sandbox: SuccessFactorsSandbox) -> None:
    connector = SuccessFactorsConnector.basic(sf_sandbox.url, "sfadmin", "hunter2", company_id="SFPART000001")
    with pytest.raises(AuthenticationError) as info:
        list(connector.read("Candidate"))
    assert "rejected the credentials for user sfadmin@SFPART000001 (HTTP 401)" in str(info.value)
    assert "hunter2" not in str(info.value)


def test_unknown_entity_lists_the_known_sets(sf_sandbox: SuccessFactorsSandbox) -> None:
    with pytest.raises(UnknownEntityError) as info:
        list(sandbox_connector(sf_sandbox).read("JobApplications"))
    message = str(info.value)
    assert "entity set 'JobApplications' does not exist on 127.0.0.1" in message
    known = message.split("known: ", 1)[1].split(";")[0].split(", ")
    assert {"Attachment", "Candidate", "JobApplication", "JobRequisition"} <= set(known) and known == sorted(known)
    assert "did you mean JobApplication" in message


def test_unknown_field_reports_sap_message(sf_sandbox: SuccessFactorsSandbox) -> None:
    with pytest.raises(UnknownFieldError, match=r"Invalid property names: Candidate/favouriteColour"):
        list(sandbox_connector(sf_sandbox).read("Candidate", fields=["favouriteColour"]))


def test_unreachable_host() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    connector = SuccessFactorsConnector.basic(f"http://127.0.0.1:{port}", SANDBOX_USER, SANDBOX_PASSWORD,
                                              retry=RetryPolicy(max_attempts=2, backoff_base=0.01, total_budget=1))
    with pytest.raises(UnreachableError, match=f"cannot reach 127.0.0.1:{port}"):
        list(connector.read("Candidate"))


def test_truncated_json_is_malformed(sf_sandbox: SuccessFactorsSandbox) -> None:
    sf_sandbox.faults.add("malformed", r"/odata/v2/Candidate$")
    with pytest.raises(MalformedResponseError, match="not JSON"):
        list(sandbox_connector(sf_sandbox).read("Candidate"))


def test_body_without_d_results_is_malformed() -> None:
    document = metadata_document({"JobApplication": load_model()["JobApplication"]})
    with SandboxServer() as server:
        server.route("GET", r"/odata/v2/JobApplication/\$metadata", lambda r: SandboxResponse(200, document))
        server.route("GET", r"/odata/v2/JobApplication", lambda r: SandboxResponse(200, {"d": {"count": 1}}))
        connector = SuccessFactorsConnector(server.url, retry=FAST_RETRY)
        with pytest.raises(MalformedResponseError, match="JobApplication page 1: response has no 'd.results' list"):
            list(connector.read("JobApplication"))


def test_429_retry_after_is_honoured_and_counted(sf_sandbox: SuccessFactorsSandbox) -> None:
    sf_sandbox.faults.add("429", r"/odata/v2/JobApplication$", count=2, retry_after=0.05)
    connector = sandbox_connector(sf_sandbox)
    assert sum(1 for _ in connector.read("JobApplication")) == 80
    assert connector.stats.retries == 2
    assert connector.stats.status_counts[429] == 2
    assert connector.stats.waited_seconds == pytest.approx(0.1)


def test_endless_429_gives_up_within_the_budget(sf_sandbox: SuccessFactorsSandbox) -> None:
    sf_sandbox.faults.add("429", r"/odata/v2/JobApplication$", count=50, retry_after=0.05)
    connector = sandbox_connector(sf_sandbox, retry=RetryPolicy(max_attempts=3, max_retry_after=0.05, total_budget=1))
    with pytest.raises(RetryBudgetExceeded, match="HTTP 429 after 3 attempts"):
        list(connector.read("JobApplication"))
    assert sf_sandbox.faults.pending() == 47


def test_503_then_success(sf_sandbox: SuccessFactorsSandbox) -> None:
    sf_sandbox.faults.add("503", r"/odata/v2/Candidate$")
    connector = sandbox_connector(sf_sandbox)
    assert sum(1 for _ in connector.read("Candidate")) == 60
    assert connector.stats.retries == 1


def test_dropped_connection_is_retried(sf_sandbox: SuccessFactorsSandbox) -> None:
    sf_sandbox.faults.add("disconnect", r"/odata/v2/JobRequisition$")
    connector = sandbox_connector(sf_sandbox)
    assert sum(1 for _ in connector.read("JobRequisition")) == 12
    assert connector.stats.retries == 1


def test_declared_stream_with_expanded_resume(sf_sandbox: SuccessFactorsSandbox) -> None:
    streams = {**STREAMS, "CandidateWithResume": StreamSpec("CandidateWithResume", "Candidate", "candidateId",
                                                            fields=("firstName", "resume"), expand=("resume",))}
    connector = sandbox_connector(sf_sandbox, streams=streams)
    records = list(connector.read("CandidateWithResume"))
    assert len(records) == 60
    first = records[0]
    assert set(first) == {"candidateId", "lastModifiedDateTime", "firstName", "resume"}
    assert first["resume"]["documentEntityId"] == str(first["candidateId"])
    assert "__metadata" not in first["resume"]
    assert first["resume"]["lastModifiedDateTime"].tzinfo is not None


def test_slow_response_times_out_and_is_retried(sf_sandbox: SuccessFactorsSandbox) -> None:
    sf_sandbox.faults.add("slow", r"/odata/v2/JobRequisition$", delay=1.0)
    connector = sandbox_connector(sf_sandbox, timeout=0.3)
    assert sum(1 for _ in connector.read("JobRequisition")) == 12
    assert connector.stats.retries == 1
    assert ("slow", "/odata/v2/JobRequisition") in sf_sandbox.faults.fired


def test_upsert_chunk_refused_as_a_whole_marks_its_records_and_continues() -> None:
    calls: list[int] = []

    def upsert(request: SandboxRequest) -> SandboxResponse:
        calls.append(len(request.json()))
        if len(calls) == 2:
            return SandboxResponse(400, {"error": {"code": "COE_GENERAL_BAD_REQUEST",
                                                   "message": {"lang": "en-US", "value": "[COE0019]Bad chunk"}}})
        return SandboxResponse(200, {"d": [{"status": "OK", "index": i, "httpCode": 200} for i in range(calls[-1])]})

    with SandboxServer() as server:
        server.route("POST", r"/odata/v2/upsert", upsert)
        connector = SuccessFactorsConnector(server.url, retry=FAST_RETRY)
        records = [{"applicationId": i, "cust_aiInterviewStatus": "Invited"} for i in range(1, 6)]
        result = connector.upsert("JobApplication", records, "applicationId", chunk_size=2)
    assert calls == [2, 2, 1]
    assert result.ok == [1, 2, 5]
    assert [key for key, _ in result.failed] == [3, 4]
    assert "[COE0019]Bad chunk" in result.failed[0][1]


def test_upsert_refuses_records_without_key_before_sending(sf_sandbox: SuccessFactorsSandbox) -> None:
    with pytest.raises(ValueError, match=r"upsert records \[1\] for JobApplication have no 'applicationId'"):
        sandbox_connector(sf_sandbox).upsert("JobApplication", [{"applicationId": 700001}, {"status": "x"}],
                                             "applicationId")
    assert sf_sandbox.upsert_log == []


def test_read_keys_finds_records_deleted_at_the_source(sf_sandbox: SuccessFactorsSandbox) -> None:
    connector = sandbox_connector(sf_sandbox, page_size=50)
    before = connector.read_keys("JobApplication")
    sf_sandbox.delete("JobApplication", 700007)
    after = connector.read_keys("JobApplication")
    assert before - after == {700007}
    assert len(after) == connector.last_count == 79


def test_sandbox_rate_limit_answers_429_and_the_connector_keeps_going() -> None:
    with SuccessFactorsSandbox(page_size=10, rate_limit=3) as sandbox:
        connector = sandbox_connector(sandbox, page_size=10, retry=RetryPolicy(
            max_attempts=10, max_retry_after=0.4, total_budget=20))
        assert sum(1 for _ in connector.read("Candidate")) == 60
    assert connector.stats.status_counts.get(429, 0) >= 1
    assert connector.stats.retries == connector.stats.status_counts[429]
