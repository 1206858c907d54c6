"""A loopback Personio recruiting API v2 (beta) for the declarative REST source's example config.

Follows Personio's public v2 reference: ``POST /v2/auth/token`` (client credentials, ``client_id``
and ``client_secret`` in the form body), ``GET /v2/recruiting/{jobs,candidates,applications}``
with the ``Beta: true`` header, ``limit`` (1-200, default 100), ``cursor`` and ``updated_at.gt`` /
``updated_at.lt``, newest first, answering ``{"_data": [...], "_meta": {"links": {"next":
{"href"}}}}``. ``PATCH /v2/recruiting/applications/{id}`` with ``{"attributes": {...}}`` stands
for the tenant's write-back endpoint (the public beta reference documents reads; see
docs/sources.md): unknown attributes are a 422. Rate limit and faults as every sandbox.
Seeded from :mod:`sandbox.seed`, ids as strings.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import secrets
import threading
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

from sandbox import seed as seeding
from sandbox.greenhouse import iso
from sandbox.server import RecordKinds, SandboxRequest, SandboxResponse, SandboxServer

DEFAULT_CLIENTS = {"papi-hrbridge-sandbox": "personio-sandbox-secret"}
KINDS = ("jobs", "candidates", "applications")
ATTRIBUTES = ("ai_interview_status", "ai_interview_link", "ai_overall_score")


def _when(text: str) -> datetime:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class PersonioSandbox(RecordKinds, SandboxServer):
    """Personio recruiting v2 on loopback."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, seed: int = 7, candidates: int = 60,
                 applications: int = 80, clients: dict[str, str] | None = None) -> None:
        super().__init__(host, port)
        self.clients = dict(clients or DEFAULT_CLIENTS)
        self.patch_log: list[dict[str, Any]] = []
        self.locked: set[str] = set()
        self._lock = threading.RLock()
        self._tokens: dict[str, float] = {}
        self._last_ms = 0
        self._data: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in KINDS}
        data = seeding.build_seed(seed, candidates, applications)
        for req in data["JobRequisition"]:
            self._data["jobs"][str(req["jobReqId"])] = {
                "id": str(req["jobReqId"]), "name": req["jobRole"], "status": "ACTIVE",
                "department": {"name": req["function"]}, "office": {"name": req["city"], "country": req["country"]},
                "language": req["defaultLanguage"], "created_at": iso(req["createdDateTime"]),
                "updated_at": iso(req["lastModifiedDateTime"])}
        for cand in data["Candidate"]:
            self._data["candidates"][str(cand["candidateId"])] = {
                "id": str(cand["candidateId"]), "first_name": cand["firstName"], "last_name": cand["lastName"],
                "email": cand["primaryEmail"], "phone": cand["cellPhone"], "location": cand["city"],
                "language": cand["candidateLocale"], "created_at": iso(cand["creationDateTime"]),
                "updated_at": iso(cand["lastModifiedDateTime"])}
        for app in data["JobApplication"]:
            self._data["applications"][str(app["applicationId"])] = {
                "id": str(app["applicationId"]), "candidate": {"id": str(app["candidateId"])},
                "job": {"id": str(app["jobReqId"])}, "stage": {"name": app["status"]},
                "channel": app["source"], "attributes": dict.fromkeys(ATTRIBUTES),
                "created_at": iso(app["snapShotDate"]), "updated_at": iso(app["lastModifiedDateTime"])}
        self.route("POST", r"/v2/auth/token", self._token)
        self.route("GET", r"/v2/recruiting/(?P<kind>jobs|candidates|applications)", self._list)
        self.route("PATCH", r"/v2/recruiting/applications/(?P<id>[\w-]+)", self._patch)

    # -- in-process API ------------------------------------------------------------------------------

    def touch(self, kind: str, record_id: str, **fields: Any) -> datetime:
        """Change fields of a record and stamp ``updated_at``; returns the stamp."""
        with self._lock:
            self._last_ms = max(int(time.time() * 1000), self._last_ms)
            stamp = datetime.fromtimestamp(self._last_ms / 1000, UTC)
            self._data[kind][record_id].update(fields, updated_at=iso(stamp))
            return stamp

    def move(self, application_id: str, stage: str) -> datetime:
        """Move an application to ``stage``."""
        return self.touch("applications", application_id, stage={"name": stage})

    def delete(self, kind: str, record_id: str) -> None:
        """Remove one record (KeyError when absent)."""
        with self._lock:
            del self._data[kind][record_id]

    # -- HTTP ----------------------------------------------------------------------------------------

    def _token(self, request: SandboxRequest) -> SandboxResponse:
        form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
        client, secret = form.get("client_id", ""), form.get("client_secret", "")
        if not secrets.compare_digest(self.clients.get(client, "\0"), secret):
            return SandboxResponse(401, {"error": "invalid_client", "error_description": "unknown client or secret"})
        if form.get("grant_type") != "client_credentials":
            return SandboxResponse(400, {"error": "unsupported_grant_type"})
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = time.monotonic() + 86400
        return SandboxResponse(200, {"access_token": token, "token_type": "Bearer", "expires_in": 86400,
                                     "scope": "personio:recruiting:read personio:recruiting:write"})

    def _guard(self, request: SandboxRequest) -> SandboxResponse | None:
        scheme, _, token = (request.header("authorization") or "").partition(" ")
        with self._lock:
            expires = self._tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if expires is None or expires <= time.monotonic():
            return SandboxResponse(401, {"errors": [{"title": "Unauthorized", "detail": "invalid access token"}]},
                                   {"Content-Type": "application/problem+json"})
        if request.header("beta") != "true":
            return SandboxResponse(400, {"errors": [{"title": "Bad Request",
                                                     "detail": "the Beta: true header is required"}]})
        return None

    def _list(self, request: SandboxRequest) -> SandboxResponse:
        if (denied := self._guard(request)) is not None:
            return denied
        kind = request.path_params["kind"]
        query = {k: v[0] for k, v in request.query.items()}
        if "cursor" in query:
            try:
                state = json.loads(base64.urlsafe_b64decode(query["cursor"]))
            except (binascii.Error, ValueError):
                return SandboxResponse(400, {"errors": [{"title": "Bad Request", "detail": "invalid cursor"}]})
        else:
            state = {"offset": 0, **{k: v for k, v in query.items() if k in ("limit", "updated_at.gt", "updated_at.lt")}}
        limit = int(state.get("limit", 100))
        if not 1 <= limit <= 200:
            return SandboxResponse(400, {"errors": [{"title": "Bad Request", "detail": "limit must be 1-200"}]})
        with self._lock:
            rows = [copy.deepcopy(r) for r in self._data[kind].values()]
        if "updated_at.gt" in state:
            rows = [r for r in rows if _when(r["updated_at"]) > _when(state["updated_at.gt"])]
        if "updated_at.lt" in state:
            rows = [r for r in rows if _when(r["updated_at"]) < _when(state["updated_at.lt"])]
        rows.sort(key=lambda r: (r["updated_at"], r["id"]), reverse=True)  # newest first
        start = int(state["offset"])
        page = rows[start:start + limit]
        meta: dict[str, Any] = {"links": {"self": {"href": f"{self._base(request)}{request.path}"}}}
        if start + limit < len(rows):
            cursor = base64.urlsafe_b64encode(json.dumps({**state, "offset": start + limit}).encode()).decode()
            meta["links"]["next"] = {"href": f"{self._base(request)}{request.path}?{urlencode({'cursor': cursor})}"}
        return SandboxResponse(200, {"_data": page, "_meta": meta})

    def _patch(self, request: SandboxRequest) -> SandboxResponse:
        if (denied := self._guard(request)) is not None:
            return denied
        app_id = request.path_params["id"]
        try:
            attributes = (request.json() or {}).get("attributes") or {}
        except (ValueError, AttributeError):
            return SandboxResponse(400, {"errors": [{"title": "Bad Request", "detail": "body is not JSON"}]})
        unknown = sorted(set(attributes) - set(ATTRIBUTES))
        with self._lock:
            if app_id not in self._data["applications"]:
                return SandboxResponse(404, {"errors": [{"title": "Not Found", "detail": f"application {app_id}"}]})
            if unknown or app_id in self.locked:
                detail = f"unknown attributes {unknown}" if unknown else f"application {app_id} is archived"
                return SandboxResponse(422, {"errors": [{"title": "Unprocessable Entity", "detail": detail}]})
            self._data["applications"][app_id]["attributes"].update(attributes)
            self.touch("applications", app_id)
            self.patch_log.append({"id": app_id, **attributes})
            answer = copy.deepcopy(self._data["applications"][app_id])
        return SandboxResponse(200, {"_data": answer})

    def _base(self, request: SandboxRequest) -> str:
        return f"http://{request.header('host') or f'{self.host}:{self.port}'}"
