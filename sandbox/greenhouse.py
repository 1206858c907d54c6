"""A loopback Greenhouse Harvest v3 server, following Greenhouse's published v3 guides.

* ``POST /token``: OAuth 2.0 client credentials — HTTP Basic ``client_id:client_secret``, form
  ``grant_type=client_credentials`` and ``sub`` (the user id acted for); answers
  ``{"access_token", "token_type": "Bearer", "expires_in"}`` (Greenhouse serves it at
  ``https://auth.greenhouse.io/token``).
* ``GET /v3/{jobs,candidates,applications,attachments,custom_fields}``: lists ordered by id,
  ``per_page`` (1-500, default 100) and filters ``ids``, ``candidate_ids``, ``created_at``,
  ``updated_at``, ``last_activity_at`` as ``<op>|<ISO 8601>`` (``gte``, ``gt``, ``lte``, ``lt``) on the
  first request only; the next page is the ``Link: <…?cursor=…>; rel="next"`` header, and a cursor
  combined with any other parameter is a 422 (as Harvest v3 answers).
* ``PATCH /v3/applications/{id}`` with ``{"custom_fields": [{"name_key", "value"}]}``: an unknown
  field key or a value of the wrong type is a 422 naming it; success bumps ``updated_at``.
* Rate limit (requests per ``window`` seconds): ``X-RateLimit-Limit`` / ``-Remaining`` on every
  answer, 429 with ``Retry-After`` beyond it. Faults as in every sandbox (:mod:`sandbox.server`).

Seeded from the same deterministic recruiting data as the SuccessFactors sandbox
(:mod:`sandbox.seed`), reshaped: requisitions → jobs, statuses → the application's current stage.
In-process API: :meth:`add_applications`, :meth:`move`, :meth:`delete_candidate`, :meth:`records`,
:meth:`count`, ``patch_log``, ``locked`` (applications whose PATCH answers 422).
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import random
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from sandbox import seed as seeding
from sandbox.server import RecordKinds, SandboxRequest, SandboxResponse, SandboxServer

DEFAULT_CLIENTS = {"hrbridge-gh-client": "gh-sandbox-secret"}
DEFAULT_USER_ID = "4080"
KINDS = ("jobs", "candidates", "applications", "attachments")
MAX_PER_PAGE = 500
CUSTOM_FIELDS = (  # application custom fields an admin created for the AI interview
    {"id": 9001, "name": "AI interview status", "name_key": "ai_interview_status", "field_type": "application",
     "value_type": "short_text"},
    {"id": 9002, "name": "AI interview link", "name_key": "ai_interview_link", "field_type": "application",
     "value_type": "url"},
    {"id": 9003, "name": "AI overall score", "name_key": "ai_overall_score", "field_type": "application",
     "value_type": "number"},
    {"id": 9004, "name": "Preferred language", "name_key": "preferred_language", "field_type": "candidate",
     "value_type": "short_text"},
)
FILTERS = ("created_at", "updated_at", "last_activity_at")


def iso(value: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and ``Z``, as Harvest writes timestamps."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _when(text: str) -> datetime:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _value_ok(value_type: str, value: Any) -> bool:
    if value is None:
        return True
    if value_type == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, str) and len(value) <= 2000


class GreenhouseSandbox(RecordKinds, SandboxServer):
    """Greenhouse Harvest v3 on loopback, seeded with bilingual recruiting data."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, seed: int = 7, candidates: int = 60,
                 applications: int = 80, clients: dict[str, str] | None = None, rate_limit: int | None = None,
                 window: float = 10.0, token_lifetime: float = 3600.0) -> None:
        super().__init__(host, port)
        self.clients = dict(clients or DEFAULT_CLIENTS)
        self.rate_limit, self.window, self.token_lifetime = rate_limit, window, token_lifetime
        self.patch_log: list[dict[str, Any]] = []
        self.locked: set[int] = set()  # fault injection: PATCHes of these applications answer 422
        self.tokens_issued = 0
        self._lock = threading.RLock()
        self._tokens: dict[str, float] = {}
        self._hits: list[float] = []
        self._last_ms = 0
        self._rng = random.Random(seed + 3)  # noqa: S311 - test data
        self._data: dict[str, dict[int, dict[str, Any]]] = {kind: {} for kind in KINDS}
        self._files: dict[int, bytes] = {}
        self._load(seeding.build_seed(seed, candidates, applications))
        self.route("POST", r"/token", self._token)
        self.route("GET", r"/v3/(?P<kind>jobs|candidates|applications|attachments|custom_fields)", self._list)
        self.route("PATCH", r"/v3/applications/(?P<id>\d+)", self._patch)
        self.route("GET", r"/files/(?P<id>\d+)", self._file)

    # -- seed ----------------------------------------------------------------------------------------

    def _load(self, data: dict[str, list[dict[str, Any]]]) -> None:
        for req in data["JobRequisition"]:
            self._data["jobs"][req["jobReqId"]] = self._job(req)
        for cand in data["Candidate"]:
            self._data["candidates"][cand["candidateId"]] = self._candidate(cand)
        for att in data["Attachment"]:
            self._add_attachment(att)
        for app in data["JobApplication"]:
            self._data["applications"][app["applicationId"]] = self._application(app)

    @staticmethod
    def _job(req: dict[str, Any]) -> dict[str, Any]:
        return {"id": req["jobReqId"], "name": req["jobRole"], "requisition_id": req["jobReqGUId"], "status": "open",
                "departments": [{"id": 100 + len(req["function"]), "name": req["function"]}],
                "offices": [{"name": req["city"], "location": req["country"]}],
                "custom_fields": {"job_code": req["jobCode"], "language": req["defaultLanguage"]},
                "created_at": iso(req["createdDateTime"]), "updated_at": iso(req["lastModifiedDateTime"])}

    @staticmethod
    def _candidate(cand: dict[str, Any]) -> dict[str, Any]:
        return {"id": cand["candidateId"], "first_name": cand["firstName"], "last_name": cand["lastName"],
                "title": cand["currentTitle"], "company": None,
                "emails": [{"value": cand["primaryEmail"], "type": "personal"}],
                "phone_numbers": [{"value": cand["cellPhone"], "type": "mobile"}] if cand["cellPhone"] else [],
                "addresses": [{"value": f"{cand['city']}, {cand['country']}", "type": "home"}],
                "custom_fields": {"preferred_language": cand["candidateLocale"]},
                "created_at": iso(cand["creationDateTime"]), "updated_at": iso(cand["lastModifiedDateTime"]),
                "last_activity_at": iso(cand["lastModifiedDateTime"])}

    @staticmethod
    def _application(app: dict[str, Any]) -> dict[str, Any]:
        status = {"Hired": "hired", "Rejected": "rejected"}.get(app["status"], "active")
        return {"id": app["applicationId"], "candidate_id": app["candidateId"], "job_id": app["jobReqId"],
                "status": status, "current_stage": {"id": seeding.STATUSES[app["status"]], "name": app["status"]},
                "source": {"public_name": app["source"]}, "applied_at": iso(app["snapShotDate"]),
                "custom_fields": {f["name_key"]: None for f in CUSTOM_FIELDS if f["field_type"] == "application"},
                "created_at": iso(app["snapShotDate"]), "updated_at": iso(app["lastModifiedDateTime"]),
                "last_activity_at": iso(app["lastModifiedDateTime"])}

    def _add_attachment(self, att: dict[str, Any]) -> None:
        self._files[att["attachmentId"]] = base64.b64decode(att["fileContent"])
        self._data["attachments"][att["attachmentId"]] = {
            "id": att["attachmentId"], "candidate_id": int(att["documentEntityId"]), "type": "resume",
            "filename": att["fileName"], "content_type": att["mimeType"], "url": f"/files/{att['attachmentId']}",
            "created_at": iso(att["createdDateTime"]), "updated_at": iso(att["lastModifiedDateTime"])}

    # -- in-process API ------------------------------------------------------------------------------

    def now(self) -> datetime:
        """Wall-clock now with ms precision, never before the previous stamp."""
        with self._lock:
            self._last_ms = max(int(time.time() * 1000), self._last_ms)
            return datetime.fromtimestamp(self._last_ms / 1000, UTC)

    def touch(self, kind: str, record_id: int, **fields: Any) -> datetime:
        """Change fields of a record and stamp ``updated_at`` (and ``last_activity_at``); returns the stamp."""
        with self._lock:
            record = self._data[kind][record_id]
            record.update(fields)
            stamp = self.now()
            record["updated_at"] = iso(stamp)
            if "last_activity_at" in record:
                record["last_activity_at"] = iso(stamp)
            return stamp

    def move(self, application_id: int, stage: str) -> datetime:
        """Move an application to ``stage`` (one of :data:`sandbox.seed.STATUSES`)."""
        if stage not in seeding.STATUSES:
            raise ValueError(f"unknown stage {stage!r}; known: {', '.join(seeding.STATUSES)}")
        return self.touch("applications", application_id, current_stage={"id": seeding.STATUSES[stage], "name": stage})

    def delete(self, kind: str, record_id: int) -> None:
        """Remove one record of ``kind`` (KeyError when absent)."""
        with self._lock:
            del self._data[kind][record_id]

    def delete_candidate(self, candidate_id: int) -> None:
        """Remove a candidate with its applications and attachments (a GDPR erasure in Greenhouse)."""
        with self._lock:
            del self._data["candidates"][candidate_id]
            for kind in ("applications", "attachments"):
                for key in [k for k, r in self._data[kind].items() if r["candidate_id"] == candidate_id]:
                    del self._data[kind][key]

    def add_applications(self, n: int, stage: str = "Applied") -> list[int]:
        """Create ``n`` candidates, each with a resume and one application at ``stage``."""
        ids = []
        with self._lock:
            jobs = list(self._data["jobs"].values())
            for _ in range(n):
                cand_id = max(self._data["candidates"], default=10000) + 1
                cand = seeding.candidate(self._rng, cand_id)
                now = self.now()
                cand["creationDateTime"] = cand["lastModifiedDateTime"] = cand["privacyAcceptDateTime"] = now
                job = self._rng.choice(jobs)
                title = (job["name"], job["name"], ["communication", "teamwork"])
                att_id = max(self._data["attachments"], default=50000) + 1
                app_id = max(self._data["applications"], default=700000) + 1
                self._data["candidates"][cand_id] = self._candidate(cand)
                self._add_attachment(seeding.resume(self._rng, att_id, cand, title))
                req = {"jobReqId": job["id"]}
                app = seeding.application(self._rng, app_id, cand, {**self._req_like(job), **req}, stage, when=now)
                self._data["applications"][app_id] = self._application(app)
                ids.append(app_id)
        return ids

    @staticmethod
    def _req_like(job: dict[str, Any]) -> dict[str, Any]:
        return {"jobCode": job["custom_fields"]["job_code"], "jobRole": job["name"], "city": job["offices"][0]["name"],
                "country": job["offices"][0]["location"], "defaultLanguage": job["custom_fields"]["language"],
                "function": job["departments"][0]["name"]}

    def issue_token(self, lifetime: float | None = None) -> str:
        """An access token accepted on /v3 requests."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = time.monotonic() + (self.token_lifetime if lifetime is None else lifetime)
            self.tokens_issued += 1
        return token

    def expire_tokens(self) -> None:
        """Make every issued token expired (the next call answers 401 and the client fetches a new one)."""
        with self._lock:
            self._tokens = {t: 0.0 for t in self._tokens}

    # -- HTTP ----------------------------------------------------------------------------------------

    def not_found(self, request: SandboxRequest) -> SandboxResponse:
        """Unknown paths answer as Harvest does."""
        return SandboxResponse(404, {"message": f"Resource not found: {request.path}"})

    def _throttle(self) -> tuple[SandboxResponse | None, dict[str, str]]:
        if not self.rate_limit:
            return None, {}
        now = time.monotonic()
        with self._lock:
            self._hits = [t for t in self._hits if t > now - self.window]
            headers = {"X-RateLimit-Limit": str(self.rate_limit)}
            if len(self._hits) >= self.rate_limit:
                wait = max(1, int(self._hits[0] + self.window - now + 0.999))
                return SandboxResponse(429, {"message": "Too Many Requests"},
                                       {**headers, "Retry-After": str(wait), "X-RateLimit-Remaining": "0"}), headers
            self._hits.append(now)
            headers["X-RateLimit-Remaining"] = str(self.rate_limit - len(self._hits))
        return None, headers

    def _guard(self, request: SandboxRequest) -> tuple[SandboxResponse | None, dict[str, str]]:
        throttled, headers = self._throttle()
        if throttled is not None:
            return throttled, headers
        scheme, _, token = (request.header("authorization") or "").partition(" ")
        with self._lock:
            expires = self._tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if expires is None or expires <= time.monotonic():
            return SandboxResponse(401, {"message": "Invalid or expired access token"}, headers), headers
        return None, headers

    def _token(self, request: SandboxRequest) -> SandboxResponse:
        scheme, _, value = (request.header("authorization") or "").partition(" ")
        try:
            client, _, secret = base64.b64decode(value).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            client = secret = ""
        from urllib.parse import parse_qs

        form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
        if scheme.lower() != "basic" or not secrets.compare_digest(self.clients.get(client, "\0"), secret):
            return SandboxResponse(401, {"error": "invalid_client", "error_description": "client authentication failed"})
        if form.get("grant_type") != "client_credentials":
            return SandboxResponse(400, {"error": "unsupported_grant_type",
                                         "error_description": "grant_type must be client_credentials"})
        if not form.get("sub", "").isdigit():
            return SandboxResponse(400, {"error": "invalid_request",
                                         "error_description": "sub must be the numeric user_id acted for"})
        return SandboxResponse(200, {"access_token": self.issue_token(), "token_type": "Bearer",
                                     "expires_in": int(self.token_lifetime)})

    def _list(self, request: SandboxRequest) -> SandboxResponse:
        denied, headers = self._guard(request)
        if denied is not None:
            return denied
        kind = request.path_params["kind"]
        if "cursor" in request.query:
            if len(request.query) > 1:
                return SandboxResponse(422, {"errors": [{"message": "cursor must be the only query parameter"}]},
                                       headers)
            try:
                state = json.loads(base64.urlsafe_b64decode(request.query["cursor"][0]))
            except (binascii.Error, ValueError):
                return SandboxResponse(422, {"errors": [{"message": "invalid cursor"}]}, headers)
        else:
            state = {"after": 0, **{k: v[0] for k, v in request.query.items()}}
        try:
            records, per_page = self._select(kind, state)
        except ValueError as exc:
            return SandboxResponse(422, {"errors": [{"message": str(exc)}]}, headers)
        page = records[:per_page]
        if len(records) > per_page:
            following = base64.urlsafe_b64encode(json.dumps({**state, "after": page[-1]["id"]}).encode()).decode()
            headers["Link"] = f'<{self._base(request)}{request.path}?{urlencode({"cursor": following})}>; rel="next"'
        return SandboxResponse(200, page, headers)

    def _select(self, kind: str, state: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
        per_page = int(state.get("per_page", 100))
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise ValueError(f"per_page must be between 1 and {MAX_PER_PAGE}")
        if kind == "custom_fields":
            return [dict(f) for f in CUSTOM_FIELDS], per_page
        tests: list[Callable[[dict[str, Any]], bool]] = []
        for name in FILTERS:
            if name in state:
                op, _, when = str(state[name]).partition("|")
                if op not in ("gte", "gt", "lte", "lt") or not when:
                    raise ValueError(f"{name} must be <gte|gt|lte|lt>|<ISO 8601>, got {state[name]!r}")
                bound = _when(when)
                compare = {"gte": lambda a, b: a >= b, "gt": lambda a, b: a > b, "lte": lambda a, b: a <= b,
                           "lt": lambda a, b: a < b}[op]
                tests.append(lambda r, n=name, c=compare, b=bound: n in r and c(_when(r[n]), b))
        for name in ("ids", "candidate_ids"):
            if name in state:
                wanted = {int(x) for x in str(state[name]).split(",") if x.strip().isdigit()}
                field = "id" if name == "ids" else "candidate_id"
                tests.append(lambda r, f=field, w=wanted: r.get(f) in w)
        after = int(state.get("after", 0))
        rows: list[dict[str, Any]] = []
        with self._lock:  # only one page (and one record past it, to know there is more) is copied
            for key in sorted(self._data[kind]):
                record = self._data[kind][key]
                if key > after and all(test(record) for test in tests):
                    rows.append(copy.deepcopy(record))
                    if len(rows) > per_page:
                        break
        return rows, per_page

    def _patch(self, request: SandboxRequest) -> SandboxResponse:
        denied, headers = self._guard(request)
        if denied is not None:
            return denied
        app_id = int(request.path_params["id"])
        try:
            body = request.json()
        except ValueError:
            return SandboxResponse(400, {"errors": [{"message": "body is not JSON"}]}, headers)
        known = {f["name_key"]: f for f in CUSTOM_FIELDS if f["field_type"] == "application"}
        with self._lock:
            if app_id not in self._data["applications"]:
                return SandboxResponse(404, {"message": f"Application {app_id} not found"}, headers)
            if app_id in self.locked:
                return SandboxResponse(422, {"errors": [{"message": f"Application {app_id} is locked by a "
                                                                    "pending approval and cannot be edited"}]}, headers)
            changes = {}
            for item in (body or {}).get("custom_fields") or []:
                key = item.get("name_key") if isinstance(item, dict) else None
                if key not in known:
                    return SandboxResponse(422, {"errors": [{"message": f"custom field {key!r} does not exist",
                                                             "field": "custom_fields"}]}, headers)
                if not _value_ok(known[key]["value_type"], item.get("value")):
                    return SandboxResponse(422, {"errors": [{
                        "message": f"custom field {key!r} expects a {known[key]['value_type']} value",
                        "field": "custom_fields"}]}, headers)
                changes[key] = item.get("value")
            record = self._data["applications"][app_id]
            record["custom_fields"] = {**record["custom_fields"], **changes}
            self.touch("applications", app_id)
            self.patch_log.append({"id": app_id, **changes})
            answer = copy.deepcopy(record)
        return SandboxResponse(200, answer, headers)

    def _file(self, request: SandboxRequest) -> SandboxResponse:
        content = self._files.get(int(request.path_params["id"]))
        if content is None:
            return self.not_found(request)
        return SandboxResponse(200, content, {"Content-Type": "application/octet-stream"})

    def _base(self, request: SandboxRequest) -> str:
        return f"http://{request.header('host') or f'{self.host}:{self.port}'}"
