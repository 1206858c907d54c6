"""The SuccessFactors sandbox itself: wire format, query options, paging snapshot, auth, faults, seed, CLI."""

from __future__ import annotations

import base64
import os
import re
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from sandbox.seed import JOB_FAMILIES, STATUSES, build_seed
from sandbox.successfactors import SuccessFactorsSandbox
from tests.factories.successfactors import SANDBOX_CLIENT, SANDBOX_COMPANY, SANDBOX_PASSWORD, SANDBOX_USER

REPO = Path(__file__).resolve().parents[2]
AUTH = (SANDBOX_USER, SANDBOX_PASSWORD)


def odata(sandbox: SuccessFactorsSandbox, path: str, **params: str) -> requests.Response:
    return requests.get(f"{sandbox.url}/odata/v2/{path}", params=params, auth=AUTH, timeout=10)


def test_wire_format_follows_successfactors(sf_sandbox: SuccessFactorsSandbox) -> None:
    body = odata(sf_sandbox, "JobApplication", **{"$inlinecount": "allpages", "$top": "50"}).json()["d"]
    assert body["__count"] == "50" and isinstance(body["__count"], str)
    first = body["results"][0]
    assert first["__metadata"]["uri"].endswith("/odata/v2/JobApplication(700001L)")
    assert first["__metadata"]["type"] == "SFOData.JobApplication"
    assert first["applicationId"] == "700001" and first["candidateId"].isdigit()
    assert first["jobAppStatus"] == {"__deferred": {"uri": first["__metadata"]["uri"] + "/jobAppStatus"}}
    stamps = [r["lastModifiedDateTime"] for r in body["results"]]
    assert any(re.fullmatch(r"/Date\(\d+\+0480\)/", s) for s in stamps)
    assert any(re.fullmatch(r"/Date\(\d+\)/", s) for s in stamps)
    assert "cust_aiOverallScore" in first


def test_filters_order_and_top(sf_sandbox: SuccessFactorsSandbox) -> None:
    records = sf_sandbox.records("JobApplication")
    hired = odata(sf_sandbox, "JobApplication", **{
        "$filter": "status eq 'Hired' and lastModifiedDateTime ge datetime'2025-01-01T00:00:00'",
        "$select": "applicationId,status"}).json()["d"]["results"]
    assert {int(r["applicationId"]) for r in hired} == {r["applicationId"] for r in records if r["status"] == "Hired"}
    either = odata(sf_sandbox, "JobApplication", **{"$filter": "(status eq 'Hired' or status eq 'Offer')",
                                                    "$inlinecount": "allpages"}).json()["d"]["__count"]
    assert int(either) == sum(r["status"] in ("Hired", "Offer") for r in records)
    newest = odata(sf_sandbox, "JobApplication", **{"$orderby": "lastModifiedDateTime desc", "$top": "3"}).json()["d"]
    expected = sorted(records, key=lambda r: r["lastModifiedDateTime"], reverse=True)[:3]
    assert [int(r["applicationId"]) for r in newest["results"]] == [r["applicationId"] for r in expected]
    assert "__next" not in newest


def test_query_errors_look_like_sap(sf_sandbox: SuccessFactorsSandbox) -> None:
    bad_filter = odata(sf_sandbox, "Candidate", **{"$filter": "shoeSize gt 3"})
    assert bad_filter.status_code == 400
    assert bad_filter.json()["error"]["message"]["value"].startswith("[COE0021]Invalid property names: Candidate/shoeSize")
    assert odata(sf_sandbox, "Candidate", **{"$filter": "firstName eq"}).status_code == 400
    missing = odata(sf_sandbox, "JobApplication(1L)")
    assert missing.status_code == 404 and missing.json()["error"]["message"]["lang"] == "en-US"
    assert odata(sf_sandbox, "Nope").json()["error"]["code"] == "COE_ENTITY_NOT_FOUND"


def test_single_entity_and_resume_navigation(sf_sandbox: SuccessFactorsSandbox) -> None:
    one = odata(sf_sandbox, "Candidate(10002L)").json()["d"]
    assert one["candidateId"] == "10002"
    resume = odata(sf_sandbox, "Candidate(10002L)/resume").json()["d"]
    assert resume["documentEntityId"] == "10002"
    assert "工作经验" in base64.b64decode(resume["fileContent"]).decode("utf-8")


def test_paging_is_a_snapshot_even_when_records_change(sf_sandbox: SuccessFactorsSandbox) -> None:
    first = odata(sf_sandbox, "JobApplication", customPageSize="30", **{"$inlinecount": "allpages"}).json()["d"]
    sf_sandbox.add_applications(5)
    seen = [r["applicationId"] for r in first["results"]]
    link = first["__next"]
    while link:
        page = requests.get(link, auth=AUTH, timeout=10).json()["d"]
        seen += [r["applicationId"] for r in page["results"]]
        link = page.get("__next")
    assert len(seen) == len(set(seen)) == int(first["__count"]) == 80
    assert sf_sandbox.count("JobApplication") == 85


def test_in_process_api_changes_records_and_bumps_timestamps(sf_sandbox: SuccessFactorsSandbox) -> None:
    before = sf_sandbox.get("JobApplication", 700004)
    sf_sandbox.set_application_status(700004, "Offer")
    after = sf_sandbox.get("JobApplication", 700004)
    assert after["status"] == "Offer" and after["appStatusSetItemId"] == STATUSES["Offer"]
    assert after["lastModifiedDateTime"] > before["lastModifiedDateTime"]
    new_ids = sf_sandbox.add_applications(3, status="AI Interview")
    assert len(new_ids) == 3 and all(sf_sandbox.get("JobApplication", i)["status"] == "AI Interview" for i in new_ids)
    sf_sandbox.hire(new_ids[:1])
    hired = sf_sandbox.get("JobApplication", new_ids[0])
    assert hired["status"] == "Hired" and hired["hireDate"] is not None
    with pytest.raises(ValueError, match="unknown status 'Promoted'"):
        sf_sandbox.set_application_status(700004, "Promoted")


def test_seed_is_deterministic_and_bilingual() -> None:
    one, two, other = build_seed(7), build_seed(7), build_seed(8)
    assert one == two and one != other
    names = [c["firstName"] + c["lastName"] for c in one["Candidate"]]
    assert any(not n.isascii() for n in names) and any(n.isascii() for n in names)
    assert {r["function"] for r in one["JobRequisition"]} == set(JOB_FAMILIES)
    assert all(not r["cust_jobTitleLocal"].isascii() for r in one["JobRequisition"])
    assert len({a["status"] for a in one["JobApplication"]}) >= 6
    assert len(one["Attachment"]) == len(one["Candidate"])


def test_auth_and_token_endpoint(sf_sandbox: SuccessFactorsSandbox) -> None:
    assert requests.get(f"{sf_sandbox.url}/odata/v2/Candidate", timeout=10).status_code == 401
    assert odata(sf_sandbox, "$metadata").headers["Content-Type"].startswith("application/xml")
    token_url = f"{sf_sandbox.url}/oauth/token"
    form = {"grant_type": "urn:ietf:params:oauth:grant-type:saml2-bearer", "company_id": SANDBOX_COMPANY,
            "client_id": SANDBOX_CLIENT, "assertion": base64.b64encode(b"<a/>").decode()}
    granted = requests.post(token_url, data=form, timeout=10).json()
    assert granted["token_type"] == "Bearer" and granted["expires_in"] == 3600
    headers = {"Authorization": f"Bearer {granted['access_token']}"}
    assert requests.get(f"{sf_sandbox.url}/odata/v2/Candidate", headers=headers, timeout=10).status_code == 200
    assert requests.post(token_url, data={**form, "assertion": "not base64 xml!"}, timeout=10).status_code == 400
    assert requests.post(token_url, data={**form, "grant_type": "password"}, timeout=10).status_code == 400


def test_upsert_rejects_a_body_that_is_not_json(sf_sandbox: SuccessFactorsSandbox) -> None:
    answer = requests.post(f"{sf_sandbox.url}/odata/v2/upsert", data=b"{oops", auth=AUTH, timeout=10)
    assert answer.status_code == 400 and "not valid JSON" in answer.json()["error"]["message"]["value"]
    assert sf_sandbox.upsert_log == []


def test_faults_controlled_over_http(sf_sandbox: SuccessFactorsSandbox) -> None:
    added = requests.post(f"{sf_sandbox.url}/sandbox/faults", json={"kind": "503", "path": "/odata/v2/Candidate$",
                                                                   "count": 2}, timeout=10)
    assert added.status_code == 201 and added.json() == {"pending": 2}
    assert odata(sf_sandbox, "Candidate").status_code == 503
    assert requests.delete(f"{sf_sandbox.url}/sandbox/faults", timeout=10).json() == {"pending": 0}
    assert odata(sf_sandbox, "Candidate").status_code == 200
    bad = requests.post(f"{sf_sandbox.url}/sandbox/faults", json={"kind": "meteor"}, timeout=10)
    assert bad.status_code == 400


def test_serves_concurrent_clients(sf_sandbox: SuccessFactorsSandbox) -> None:
    session = requests.Session()
    url = f"{sf_sandbox.url}/odata/v2/JobRequisition"
    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(lambda _: session.get(url, auth=AUTH, timeout=10).status_code, range(200)))
    assert codes == [200] * 200


@pytest.mark.parametrize("inherited_sigint", ["default", "ignored"])
def test_python_m_sandbox_prints_urls_and_stops_on_interrupt(inherited_sigint: str) -> None:
    command = [sys.executable, "-m", "sandbox", "--sf-port", "0", "--interview-port", "0", "--candidates", "4",
               "--applications", "5"]
    if inherited_sigint == "ignored":  # as a background job of a shell starts it: Ctrl-C ignored on entry
        command = ["sh", "-c", 'trap "" INT; exec "$@"', "sh", *command]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        lines = []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        sf_url = next(line.split(": ", 1)[1].strip() for line in lines if line.startswith("SuccessFactors"))
        answer = requests.get(f"{sf_url}JobApplication", params={"$inlinecount": "allpages"}, auth=AUTH, timeout=10)
        assert answer.json()["d"]["__count"] == "5"
        assert any(line.startswith("Interview platform sandbox: http://127.0.0.1:") for line in lines)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
        assert "sandboxes stopped" in process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()


def test_server_base_routes_methods_and_faults() -> None:
    from sandbox.server import SandboxResponse, SandboxServer

    with SandboxServer() as server:
        server.route("GET", r"/items/(?P<item>[^/]+)", lambda r: SandboxResponse(200, {"item": r.path_params["item"],
                                                                                    "q": r.query, "raw": r.raw_query}))
        server.route("POST", r"/echo", lambda r: SandboxResponse(201, r.json()))
        got = requests.get(f"{server.url}/items/a%20b?x=1&x=2", timeout=5).json()
        assert got == {"item": "a b", "q": {"x": ["1", "2"]}, "raw": "x=1&x=2"}
        assert requests.post(f"{server.url}/echo", json={"k": "值"}, timeout=5).json() == {"k": "值"}
        assert requests.delete(f"{server.url}/echo", timeout=5).status_code == 405
        assert requests.get(f"{server.url}/nowhere", timeout=5).status_code == 404
        server.faults.add("500", r"/items/")
        assert requests.get(f"{server.url}/items/x", timeout=5).status_code == 500
        server.faults.add("malformed", r"/items/")
        with pytest.raises(ValueError):
            requests.get(f"{server.url}/items/x", timeout=5).json()
        with pytest.raises(ValueError, match="unknown fault kind"):
            server.faults.add("meteor")
        assert server.url.startswith("http://127.0.0.1:")
