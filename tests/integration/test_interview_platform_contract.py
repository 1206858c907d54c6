"""The sandbox serves its OpenAPI contract, answers in conformance with it, and signs webhooks."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jsonschema
import pytest
import requests
import yaml

from connectors.interview import HrbridgeInterviewClient, idempotency_key
from connectors.webhooks import InvalidSignature, verify
from sandbox.interview import InterviewPlatformSandbox
from tests.factories.interview import make_request

API_KEY = "sandbox-interview-key"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture
def sandbox(interview_sandbox: InterviewPlatformSandbox) -> InterviewPlatformSandbox:
    """The shared conftest sandbox, typed."""
    return interview_sandbox


@pytest.fixture
def spec(sandbox: InterviewPlatformSandbox) -> dict[str, Any]:
    """The contract as the sandbox serves it."""
    return requests.get(f"{sandbox.url}/openapi.json", timeout=5).json()


def schema_validator(spec: dict[str, Any], schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """A validator for ``schema`` that resolves ``#/components/...`` references in ``spec``."""
    return jsonschema.Draft202012Validator(
        {**schema, "components": spec["components"]},
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )


def component(spec: dict[str, Any], name: str) -> jsonschema.Draft202012Validator:
    """Validator of one component schema."""
    return schema_validator(spec, {"$ref": f"#/components/schemas/{name}"})


def assert_conforms(spec: dict[str, Any], method: str, template: str, response: requests.Response) -> Any:
    """The status is documented for the operation and the body matches its media type and schema."""
    operation = spec["paths"][template][method.lower()]
    documented = operation["responses"].get(str(response.status_code))
    assert documented, f"{method} {template} answered undocumented HTTP {response.status_code}"
    if "$ref" in documented:
        documented = spec["components"]["responses"][documented["$ref"].rsplit("/", 1)[1]]
    content = documented.get("content")
    if not content:
        return None
    media_type = response.headers["Content-Type"].split(";")[0].strip()
    assert media_type in content, f"{method} {template} sent {media_type}, documented {list(content)}"
    body = response.json()
    schema_validator(spec, content[media_type]["schema"]).validate(body)
    return body


def post_invitation(sandbox: InterviewPlatformSandbox, body: dict[str, Any], key: str, **headers: str) -> requests.Response:
    """A raw POST /v1/invitations."""
    return requests.post(f"{sandbox.url}/v1/invitations", json=body,
                         headers={**AUTH, "Idempotency-Key": key, **headers}, timeout=5)


def test_openapi_is_served_as_yaml_and_json_and_is_valid_31(sandbox: InterviewPlatformSandbox) -> None:
    as_yaml = requests.get(f"{sandbox.url}/openapi.yaml", timeout=5)
    as_json = requests.get(f"{sandbox.url}/openapi.json", timeout=5)
    assert as_yaml.status_code == as_json.status_code == 200
    assert as_yaml.headers["Content-Type"].startswith("application/yaml")
    spec = yaml.safe_load(as_yaml.text)
    assert spec == as_json.json()
    assert spec["openapi"].startswith("3.1")
    assert {"/v1/invitations", "/v1/invitations/{invitation_id}", "/v1/results",
            "/v1/candidates/{candidate_id}/media"} <= set(spec["paths"])
    assert "interviewCompleted" in spec["webhooks"]
    for name, schema in spec["components"]["schemas"].items():
        jsonschema.Draft202012Validator.check_schema({"$ref": f"#/components/schemas/{name}",
                                                      "components": spec["components"]})
        for example in schema.get("examples", []):
            component(spec, name).validate(example)
    assert spec["components"]["schemas"]["Result"]["examples"]


def test_client_request_bodies_conform_to_the_contract(spec: dict[str, Any]) -> None:
    component(spec, "InvitationCreate").validate(make_request(1).to_dict())
    component(spec, "InvitationCreate").validate(make_request(2, callback_url="https://hr.example/hook").to_dict())


def test_invitation_endpoints_conform(sandbox: InterviewPlatformSandbox, spec: dict[str, Any]) -> None:
    body = make_request(1).to_dict()
    created = post_invitation(sandbox, body, "k-1")
    invitation = assert_conforms(spec, "POST", "/v1/invitations", created)
    assert created.status_code == 201 and invitation["status"] == "not_started"
    replay = post_invitation(sandbox, body, "k-1")
    assert replay.status_code == 200 and assert_conforms(spec, "POST", "/v1/invitations", replay) == invitation

    conflict = post_invitation(sandbox, {**body, "locale": "en-US"}, "k-1")
    assert conflict.status_code == 409
    assert assert_conforms(spec, "POST", "/v1/invitations", conflict)["status"] == 409

    invalid = post_invitation(sandbox, {**body, "locale": "de-DE", "job_id": ""}, "k-2")
    problem = assert_conforms(spec, "POST", "/v1/invitations", invalid)
    assert invalid.status_code == 422
    assert {e["field"] for e in problem["errors"]} == {"locale", "job_id"}

    no_key = requests.post(f"{sandbox.url}/v1/invitations", json=body, headers=AUTH, timeout=5)
    assert no_key.status_code == 400 and "Idempotency-Key" in assert_conforms(spec, "POST", "/v1/invitations", no_key)["detail"]
    not_json = requests.post(f"{sandbox.url}/v1/invitations", data=b"{oops",
                             headers={**AUTH, "Idempotency-Key": "k-3"}, timeout=5)
    assert not_json.status_code == 400

    fetched = requests.get(f"{sandbox.url}/v1/invitations/{invitation['id']}", headers=AUTH, timeout=5)
    assert assert_conforms(spec, "GET", "/v1/invitations/{invitation_id}", fetched)["id"] == invitation["id"]
    missing = requests.get(f"{sandbox.url}/v1/invitations/inv_nope", headers=AUTH, timeout=5)
    assert missing.status_code == 404
    assert_conforms(spec, "GET", "/v1/invitations/{invitation_id}", missing)
    denied = requests.get(f"{sandbox.url}/v1/invitations/{invitation['id']}", timeout=5)
    assert denied.status_code == 401
    assert_conforms(spec, "GET", "/v1/invitations/{invitation_id}", denied)


def test_results_and_media_endpoints_conform(sandbox: InterviewPlatformSandbox, spec: dict[str, Any]) -> None:
    for n in range(1, 15):
        post_invitation(sandbox, make_request(n).to_dict(), f"k-{n}")
    sandbox.complete(bad_fraction=0.5)

    page = requests.get(f"{sandbox.url}/v1/results", params={"limit": 100}, headers=AUTH, timeout=5)
    body = assert_conforms(spec, "GET", "/v1/results", page)
    assert len(body["results"]) == 14 and body["has_more"] is False
    result_schema = component(spec, "Result")
    schema_detectable = {"score_out_of_range", "missing_required_field", "keywords_not_short_strings"}
    for result in body["results"]:
        kind = sandbox.bad_results.get(result["result_id"])
        valid = result_schema.is_valid(result)
        assert valid is (kind not in schema_detectable), (result["result_id"], kind)

    bad_limit = requests.get(f"{sandbox.url}/v1/results", params={"limit": 0}, headers=AUTH, timeout=5)
    assert bad_limit.status_code == 400
    assert_conforms(spec, "GET", "/v1/results", bad_limit)

    candidate = body["results"][0].get("candidate_id") or body["results"][1]["candidate_id"]
    deleted = requests.delete(f"{sandbox.url}/v1/candidates/{candidate}/media", headers=AUTH, timeout=5)
    assert assert_conforms(spec, "DELETE", "/v1/candidates/{candidate_id}/media", deleted)["deleted_clips"] > 0
    owned = next(r for r in body["results"] if r.get("candidate_id") == candidate)
    gone = requests.get(owned["clips"][0]["url"], timeout=5)
    assert gone.status_code == 404
    assert_conforms(spec, "GET", "/media/clips/{clip_id}.mp4", gone)
    report = requests.get(owned["report_url"], timeout=5)
    assert report.status_code == 200 and report.headers["Content-Type"].startswith("text/html")


# ------------------------------------------------------------------------------- webhooks


class _Receiver:
    """A real HTTP endpoint on port 0 that records deliveries and answers with ``status``."""

    def __init__(self, status: int = 204) -> None:
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - stdlib hook name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.deliveries.append((dict(self.headers.items()), body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/interview"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    def __enter__(self) -> _Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    """A webhook receiver that accepts everything."""
    with _Receiver() as running:
        yield running


def test_completion_webhook_is_delivered_signed_and_verifiable(
    sandbox: InterviewPlatformSandbox, receiver: _Receiver, spec: dict[str, Any]
) -> None:
    client = HrbridgeInterviewClient(sandbox.url, API_KEY)
    request = make_request(5, callback_url=receiver.url)
    invitation = client.create_invitation(request, idempotency_key(request.application_id, "3"))
    without_callback = make_request(6)
    client.create_invitation(without_callback, idempotency_key(without_callback.application_id, "3"))

    results = sandbox.complete()

    assert len(results) == 2 and len(receiver.deliveries) == 1
    headers, body = receiver.deliveries[0]
    event = verify(body, headers, sandbox.webhook_secret)
    component(spec, "WebhookEvent").validate(event)
    assert event["event"] == "interview.completed" and event["invitation_id"] == invitation.id
    fetched = [r for page, _ in client.iter_results() for r in page]
    assert event["result"] == next(r for r in fetched if r["invitation_id"] == invitation.id)
    assert sandbox.webhook_deliveries == [
        {"invitation_id": invitation.id, "url": receiver.url, "event_id": event["event_id"], "status": 204}
    ]
    with pytest.raises(InvalidSignature, match="mismatch"):
        verify(body, headers, "some-other-secret")


def test_failed_webhook_deliveries_are_recorded_and_do_not_block_results(sandbox: InterviewPlatformSandbox) -> None:
    client = HrbridgeInterviewClient(sandbox.url, API_KEY)
    with _Receiver() as closed:
        dead_url = closed.url
    with _Receiver(status=500) as failing:
        for n, url in ((1, dead_url), (2, failing.url)):
            request = make_request(n, callback_url=url)
            client.create_invitation(request, idempotency_key(request.application_id, "3"))
        results = sandbox.complete()
        assert len(failing.deliveries) == 1

    assert len(results) == 2
    outcomes = {d["url"]: d for d in sandbox.webhook_deliveries}
    assert outcomes[dead_url]["status"] is None and "Error" in outcomes[dead_url]["error"]
    assert outcomes[failing.url]["status"] == 500 and outcomes[failing.url]["error"] == "HTTP 500"
    assert sum(len(page) for page, _ in client.iter_results()) == 2


def test_sign_verify_interop_with_the_raw_wire_bytes(sandbox: InterviewPlatformSandbox, receiver: _Receiver) -> None:
    client = HrbridgeInterviewClient(sandbox.url, API_KEY)
    request = make_request(9, callback_url=receiver.url)
    client.create_invitation(request, idempotency_key(request.application_id, "3"))
    sandbox.complete()
    headers, body = receiver.deliveries[0]
    reencoded = json.dumps(json.loads(body)).encode()
    assert reencoded != body  # Chinese text is sent as UTF-8, not \\u escapes
    with pytest.raises(InvalidSignature, match="mismatch"):
        verify(reencoded, headers, sandbox.webhook_secret)
