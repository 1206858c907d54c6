"""A loopback AI-interview platform that speaks hrbridge's contract (``interview_openapi.yaml``).

In memory and thread-safe. Besides the ``/v1`` API it offers simulation controls, in process and
over HTTP (``POST /sandbox/start|complete|expire``, ``GET /sandbox/state``):

* ``start(ids)`` moves invitations to ``in_progress``;
* ``complete(ids=None, n=None, bad_fraction=0.0)`` produces realistic results from each plan
  (0-100 per dimension, plan weights, weighted overall, bilingual keywords, expiring clip links,
  report URL) and, with ``bad_fraction``, makes some deliberately invalid in varied ways, recorded
  in ``bad_results`` (result id → kind, see ``BAD_KINDS``);
* ``expire(ids)`` expires open invitations;
* ``answer(id, kind, scopes, declined)`` records a candidate's answer to the invitation's notice
  (consent, alternative process, withdrawal, explanation or human-review request), served at
  ``GET /v1/consent-events``. An invitation with a notice and no answer gets a consent to every
  scope when it starts. Without video consent a result has no clips and no transcript, unless
  ``ignore_consent`` is set (a platform that records anyway, to prove hrbridge drops them).

Completed invitations with a ``callback_url`` get a signed ``interview.completed`` webhook;
failed deliveries are recorded in ``webhook_deliveries`` and otherwise ignored.
With ``rate_limit`` (requests/s per sandbox) the ``/v1`` API throttles like a real platform:
429 with ``Retry-After``, counted in ``throttled``.
Run standalone with ``python -m sandbox.interview --port 8766``.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import html
import json
import math
import random
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors.http import RateLimiter
from connectors.interview import CONSENT_KINDS, CONSENT_SCOPES, parse_rfc3339, to_rfc3339
from connectors.webhooks import sign
from sandbox.interview_rules import decode_cursor, encode_cursor, fingerprint, validate_invitation
from sandbox.interview_sim import (
    BAD_KINDS,
    CLIP_LIFETIME,
    MODEL_VERSION,
    keywords,
    overall_comment,
    score_dimensions,
    spoil,
)
from sandbox.server import SandboxRequest, SandboxResponse, SandboxServer

__all__ = ["BAD_KINDS", "InterviewPlatformSandbox", "main", "validate_invitation"]

OPENAPI_PATH = Path(__file__).with_name("interview_openapi.yaml")
OPEN_STATUSES = ("not_started", "in_progress")


def _problem(status: int, title: str, detail: str, **extra: Any) -> SandboxResponse:
    body = {"type": f"https://hrbridge.dev/problems/{title.lower().replace(' ', '-')}",
            "title": title, "status": status, "detail": detail, **extra}
    return SandboxResponse(status, body, {"Content-Type": "application/problem+json"})


class InterviewPlatformSandbox(SandboxServer):
    """The hrbridge interview-platform contract, in memory, with simulation controls."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str = "sandbox-interview-key",
        webhook_secret: str = "sandbox-webhook-secret",
        seed: int = 11,
        rate_limit: float | None = None,
    ) -> None:
        super().__init__(host, port)
        self.rate_limit = rate_limit
        self.throttled = 0
        self._budget = RateLimiter(rate_limit) if rate_limit else None
        self.api_key = api_key
        self.webhook_secret = webhook_secret
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self.webhook_timeout = 2.0
        self.invitations: dict[str, dict[str, Any]] = {}
        self.results: list[dict[str, Any]] = []
        self.bad_results: dict[str, str] = {}
        self.media: dict[str, dict[str, set[str]]] = {}
        self.invitation_posts: list[dict[str, Any]] = []
        self.webhook_deliveries: list[dict[str, Any]] = []
        self.consent_events: list[dict[str, Any]] = []
        self.ignore_consent = False
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self._by_key: dict[str, tuple[str, str]] = {}
        self._clip_owner: dict[str, str] = {}
        self._result_index: dict[str, dict[str, Any]] = {}
        self._link_key = hashlib.sha256(f"hrbridge-sandbox-links-{seed}".encode()).digest()
        self._bad_turn = 0
        for method, pattern, handler in (
            ("POST", r"/v1/invitations", self._http_create),
            ("GET", r"/v1/invitations/(?P<id>[^/]+)", self._http_get),
            ("GET", r"/v1/results", self._http_results),
            ("DELETE", r"/v1/candidates/(?P<candidate_id>[^/]+)/media", self._http_delete_media),
            ("GET", r"/v1/consent-events", self._http_consent_events),
            ("POST", r"/sandbox/answer", self._http_answer),
            ("GET", r"/openapi\.yaml", self._http_openapi_yaml),
            ("GET", r"/openapi\.json", self._http_openapi_json),
            ("POST", r"/sandbox/start", self._http_start),
            ("POST", r"/sandbox/complete", self._http_complete),
            ("POST", r"/sandbox/expire", self._http_expire),
            ("GET", r"/sandbox/state", self._http_state),
            ("GET", r"/media/clips/(?P<clip_id>[^/]+)\.mp4", self._http_clip),
            ("GET", r"/reports/(?P<result_id>[^/]+)", self._http_report),
            ("GET", r"/interview/(?P<id>[^/]+)", self._http_interview_page),
        ):
            self.route(method, pattern, handler)

    # ------------------------------------------------------------------ in-process inspection

    @property
    def creations(self) -> int:
        """How many invitation POSTs created a new invitation (replays and conflicts excluded)."""
        with self._lock:
            return sum(1 for post in self.invitation_posts if post["outcome"] == "created")

    def state(self) -> dict[str, Any]:
        """Counters: invitations by status, results, bad results, media, webhook deliveries."""
        with self._lock:
            by_status: dict[str, int] = {}
            for invitation in self.invitations.values():
                self._refresh(invitation)
                by_status[invitation["status"]] = by_status.get(invitation["status"], 0) + 1
            return {
                "invitations": len(self.invitations), "by_status": by_status,
                "results": len(self.results), "bad_results": len(self.bad_results),
                "creations": self.creations, "posts": len(self.invitation_posts),
                "media_clips": sum(len(m["clips"]) for m in self.media.values()),
                "media_transcripts": sum(len(m["transcripts"]) for m in self.media.values()),
                "webhook_deliveries": len(self.webhook_deliveries), "throttled": self.throttled,
            }

    # -------------------------------------------------------------------- simulation controls

    def start(self, invitation_ids: Iterable[str] | None = None) -> Any:  # type: ignore[override]
        """Without ids: start the server (returns self). With ids: mark them ``in_progress``.

        Raises KeyError for an unknown id and ValueError for an invitation that is not open.
        """
        if invitation_ids is None:
            super().start()
            # Answer headers and body without Nagle's delay: keep-alive clients otherwise wait
            # ~40 ms per request for the delayed ACK (23 vs 700 sequential requests/s).
            handler = getattr(self._httpd, "RequestHandlerClass", None)
            if handler is not None:
                handler.disable_nagle_algorithm = True
            return self
        return self.start_interviews(invitation_ids)

    def start_interviews(self, invitation_ids: Iterable[str]) -> list[dict[str, Any]]:
        """Mark invitations ``in_progress`` (KeyError unknown id, ValueError not open)."""
        now = self.clock()
        with self._lock:
            invitations = [self._open_invitation(i) for i in invitation_ids]
            for invitation in invitations:
                invitation["status"] = "in_progress"
                invitation["started_at"] = invitation["started_at"] or now
                self._default_consent(invitation)
            return [self._public(invitation) for invitation in invitations]

    def expire(self, invitation_ids: Iterable[str]) -> list[dict[str, Any]]:
        """Expire open invitations (KeyError unknown id, ValueError not open)."""
        now = self.clock()
        with self._lock:
            invitations = [self._open_invitation(i) for i in invitation_ids]
            for invitation in invitations:
                invitation["status"], invitation["expired_at"] = "expired", now
            return [self._public(invitation) for invitation in invitations]

    def complete(
        self,
        invitation_ids: Iterable[str] | None = None,
        n: int | None = None,
        bad_fraction: float = 0.0,
    ) -> list[dict[str, Any]]:
        """Complete invitations and return their results (in completion order).

        ``invitation_ids`` names them; otherwise the ``n`` oldest open ones (all when ``n`` is
        None). ``round(count * bad_fraction)`` results are made invalid, cycling through
        ``BAD_KINDS`` so a batch shows several kinds; each is recorded in ``bad_results``.
        """
        if not 0.0 <= bad_fraction <= 1.0:
            raise ValueError(f"bad_fraction must be within 0..1, got {bad_fraction}")
        with self._lock:
            now = self.clock()
            if invitation_ids is not None:
                chosen = [self._open_invitation(i) for i in invitation_ids]
            else:
                for invitation in self.invitations.values():
                    self._refresh(invitation)
                chosen = [i for i in self.invitations.values() if i["status"] in OPEN_STATUSES]
                chosen = chosen if n is None else chosen[: max(n, 0)]
            bad_count = round(len(chosen) * bad_fraction)
            bad_positions = set(self._rng.sample(range(len(chosen)), bad_count))
            produced = []
            for position, invitation in enumerate(chosen):
                self._default_consent(invitation)
                finished = max(now, invitation["created_at"])  # never before the invitation
                result = self._make_result(invitation, finished)
                if position in bad_positions:
                    kind = list(BAD_KINDS)[self._bad_turn % len(BAD_KINDS)]
                    self._bad_turn += 1
                    spoil(result, kind, self._rng, self._bad_turn, self._new_id)
                    self.bad_results[result["result_id"]] = kind
                invitation["status"], invitation["completed_at"] = "completed", finished
                invitation["started_at"] = invitation["started_at"] or finished
                invitation["result_id"] = result["result_id"]
                self.results.append(result)
                self._result_index[result["result_id"]] = result
                produced.append((invitation, result, self._new_id("evt")))
        for invitation, result, event_id in produced:
            if invitation["request"].get("callback_url"):
                self._deliver(invitation, result, event_id)
        return [result for _, result, _ in produced]

    def answer(self, invitation_id: str, kind: str = "consent", scopes: Iterable[str] | None = None,
               declined: Iterable[str] = (), given_at: datetime | None = None) -> dict[str, Any]:
        """Record a candidate's answer to the notice of an invitation; returns the consent event.

        ``scopes`` are granted (consent), withdrawn (withdrawal) or absent (requests); ``declined``
        are refused. KeyError for an unknown invitation, ValueError for an unknown kind or scope.
        """
        if kind not in CONSENT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(CONSENT_KINDS)}, got {kind!r}")
        scopes, declined = list(scopes or ()), list(declined)
        unknown = sorted(set(scopes + declined) - set(CONSENT_SCOPES))
        if unknown:
            raise ValueError(f"unknown scope(s) {', '.join(unknown)}; known: {', '.join(CONSENT_SCOPES)}")
        with self._lock:
            invitation = self.invitations.get(invitation_id)
            if invitation is None:
                raise KeyError(f"no invitation {invitation_id!r}")
            request = invitation["request"]
            notice = request.get("notice") or {}
            event = {
                "event_id": self._new_id("cns"), "kind": kind, "invitation_id": invitation_id,
                "candidate_id": request["candidate_id"], "application_id": request["application_id"],
                "notice_version": notice.get("version"), "language": notice.get("language") or request["locale"],
                "scopes": scopes, "declined": declined, "given_at": to_rfc3339(given_at or self.clock()),
            }
            self.consent_events.append(event)
            return event

    def consent_of(self, invitation: dict[str, Any]) -> set[str]:
        """Scopes the candidate of ``invitation`` granted and has not withdrawn (latest answer wins)."""
        granted: set[str] = set()
        for event in self.consent_events:
            if event["invitation_id"] != invitation["id"]:
                continue
            if event["kind"] == "consent":
                granted = set(event["scopes"])
            elif event["kind"] == "withdrawal":
                granted -= set(event["scopes"])
        return granted

    def _default_consent(self, invitation: dict[str, Any]) -> None:
        """An invitation with a notice and no answer yet: the candidate consents to every scope."""
        if not invitation["request"].get("notice"):
            return
        if not any(e["invitation_id"] == invitation["id"] for e in self.consent_events):
            self.answer(invitation["id"], "consent", CONSENT_SCOPES)

    def delete_media(self, candidate_id: str) -> dict[str, Any]:
        """Delete a candidate's clips and transcripts; a second call deletes nothing."""
        with self._lock:
            stored = self.media.get(candidate_id, {"clips": set(), "transcripts": set()})
            deleted = {"candidate_id": candidate_id, "deleted_clips": len(stored["clips"]),
                       "deleted_transcripts": len(stored["transcripts"])}
            stored["clips"], stored["transcripts"] = set(), set()
            return deleted

    # --------------------------------------------------------------------------- internals

    def _open_invitation(self, invitation_id: str) -> dict[str, Any]:
        invitation = self.invitations.get(invitation_id)
        if invitation is None:
            raise KeyError(f"no invitation {invitation_id!r}")
        self._refresh(invitation)
        if invitation["status"] not in OPEN_STATUSES:
            raise ValueError(f"invitation {invitation_id} is {invitation['status']}, not open")
        return invitation

    def _refresh(self, invitation: dict[str, Any]) -> None:
        """Expire an open invitation whose deadline has passed."""
        if invitation["status"] in OPEN_STATUSES and invitation["deadline"] <= self.clock():
            invitation["status"], invitation["expired_at"] = "expired", invitation["deadline"]

    def _public(self, invitation: dict[str, Any]) -> dict[str, Any]:
        def fmt(value: datetime | None) -> str | None:
            return None if value is None else to_rfc3339(value)

        plan = invitation["request"]["question_plan"]
        return {
            "id": invitation["id"], "status": invitation["status"],
            "interview_url": invitation["interview_url"],
            "created_at": fmt(invitation["created_at"]), "deadline": fmt(invitation["deadline"]),
            "started_at": fmt(invitation["started_at"]), "completed_at": fmt(invitation["completed_at"]),
            "expired_at": fmt(invitation["expired_at"]),
            "candidate_id": invitation["request"]["candidate_id"],
            "application_id": invitation["request"]["application_id"],
            "job_id": invitation["request"]["job_id"],
            "plan_id": plan["plan_id"], "plan_version": plan["version"],
        }

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_{self._rng.getrandbits(64):016x}"

    def _create(self, body: dict[str, Any], key: str) -> tuple[int, dict[str, Any]]:
        body_hash = fingerprint(body)
        with self._lock:
            known = self._by_key.get(key)
            if known is not None:
                outcome = "replayed" if known[0] == body_hash else "conflict"
                self.invitation_posts.append({"key": key, "invitation_id": known[1], "outcome": outcome})
                if outcome == "conflict":
                    return 409, {}
                invitation = self.invitations[known[1]]
                self._refresh(invitation)
                return 200, self._public(invitation)
            invitation_id = self._new_id("inv")
            token = self._new_id("t")[2:]
            invitation = {
                "id": invitation_id, "status": "not_started",
                "interview_url": f"{self.url}/interview/{invitation_id}?t={token}",
                "created_at": self.clock(), "deadline": parse_rfc3339(body["deadline"]),
                "started_at": None, "completed_at": None, "expired_at": None,
                "request": body, "idempotency_key": key, "result_id": None,
            }
            self.invitations[invitation_id] = invitation
            self._by_key[key] = (body_hash, invitation_id)
            self.invitation_posts.append({"key": key, "invitation_id": invitation_id, "outcome": "created"})
            return 201, self._public(invitation)

    def _make_result(self, invitation: dict[str, Any], now: datetime) -> dict[str, Any]:
        request = invitation["request"]
        plan = request["question_plan"]
        rng = self._rng
        dimensions, overall = score_dimensions(plan, request["locale"], rng)
        result_id = self._new_id("res")
        clips = []
        recorded = (self.ignore_consent or not request.get("notice")
                    or "video_recording" in self.consent_of(invitation))
        for question in plan["questions"] if recorded else ():
            clip_id = self._new_id("clip")
            expires = now + CLIP_LIFETIME
            clips.append({
                "clip_id": clip_id, "dimension": question["dimension"],
                "url": f"{self.url}/media/clips/{clip_id}.mp4?expires={int(expires.timestamp())}"
                       f"&sig={self._link_signature(clip_id, int(expires.timestamp()))}",
                "expires_at": to_rfc3339(expires),
                "duration_seconds": round(question["time_limit_seconds"] * rng.uniform(0.4, 1.0), 1),
            })
        transcript_ref = f"transcripts/{result_id}.json" if recorded else None
        stored = self.media.setdefault(request["candidate_id"], {"clips": set(), "transcripts": set()})
        stored["clips"].update(clip["clip_id"] for clip in clips)
        self._clip_owner.update((clip["clip_id"], request["candidate_id"]) for clip in clips)
        if transcript_ref:
            stored["transcripts"].add(transcript_ref)
        return {
            "result_id": result_id, "invitation_id": invitation["id"],
            "candidate_id": request["candidate_id"], "application_id": request["application_id"],
            "job_id": request["job_id"], "job_family": request["job_family"],
            "completed_at": to_rfc3339(now), "invited_at": to_rfc3339(invitation["created_at"]),
            "overall_score": overall, "scale": {"min": 0, "max": 100},
            "dimensions": dimensions, "keywords": keywords(plan, request["locale"]), "clips": clips,
            "report_url": f"{self.url}/reports/{result_id}", "model_version": MODEL_VERSION,
            "interviewer_comments": overall_comment(overall, request["locale"]),
            "transcript_ref": transcript_ref,
        }

    def _deliver(self, invitation: dict[str, Any], result: dict[str, Any], event_id: str) -> None:
        """POST the signed completion event; any failure is recorded, never raised."""
        request = invitation["request"]
        event = {
            "event": "interview.completed", "event_id": event_id,
            "created_at": to_rfc3339(self.clock()), "invitation_id": invitation["id"],
            "candidate_id": request["candidate_id"], "application_id": request["application_id"],
            "result": result,
        }
        body = json.dumps(event, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json", **sign(body, self.webhook_secret)}
        delivery: dict[str, Any] = {"invitation_id": invitation["id"], "url": request["callback_url"],
                                    "event_id": event["event_id"]}
        try:
            outgoing = urllib.request.Request(request["callback_url"], data=body, headers=headers, method="POST")
            with urllib.request.urlopen(outgoing, timeout=self.webhook_timeout) as response:  # noqa: S310
                delivery["status"] = response.status
        except urllib.error.HTTPError as exc:
            delivery["status"], delivery["error"] = exc.code, f"HTTP {exc.code}"
        except (OSError, ValueError) as exc:
            delivery["status"], delivery["error"] = None, f"{type(exc).__name__}: {exc}"
        with self._lock:
            self.webhook_deliveries.append(delivery)

    def _link_signature(self, clip_id: str, expires: int) -> str:
        message = f"{clip_id}.{expires}".encode()
        return hmac.new(self._link_key, message, hashlib.sha256).hexdigest()[:32]

    # ------------------------------------------------------------------------ HTTP handlers

    def _throttle(self) -> SandboxResponse | None:
        """With ``rate_limit`` set, answer 429 + Retry-After once the per-second budget is spent."""
        wait = self._budget.try_acquire() if self._budget else None
        if wait is None:
            return None
        with self._lock:
            self.throttled += 1
        response = _problem(429, "Too Many Requests", f"rate limit of {self.rate_limit:g} requests/s exceeded")
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response

    def _admit(self, request: SandboxRequest) -> SandboxResponse | None:
        """None when the request may proceed; otherwise the 401 or 429 answer."""
        return self._authorised(request) or self._throttle()

    def _authorised(self, request: SandboxRequest) -> SandboxResponse | None:
        given = request.header("authorization") or ""
        expected = f"Bearer {self.api_key}"
        if hmac.compare_digest(given.encode(), expected.encode()):
            return None
        response = _problem(401, "Unauthorized",
                            "missing bearer token" if not given else "the API key is not valid")
        response.headers["WWW-Authenticate"] = 'Bearer realm="interview"'
        return response

    def _http_create(self, request: SandboxRequest) -> SandboxResponse:
        if denied := self._admit(request):
            return denied
        key = (request.header("idempotency-key") or "").strip()
        if not key or len(key) > 200:
            return _problem(400, "Bad Request", "the Idempotency-Key header is required (1-200 characters)")
        try:
            body = request.json()
        except ValueError:
            return _problem(400, "Bad Request", "the body is not valid JSON")
        if not isinstance(body, dict):
            return _problem(400, "Bad Request", "the body must be a JSON object")
        errors = validate_invitation(body, self.clock())
        if errors:
            listed = ", ".join(error["field"] for error in errors)
            return _problem(422, "Unprocessable Content", f"invalid fields: {listed}", errors=errors)
        status, public = self._create(body, key)
        if status == 409:
            return _problem(409, "Conflict", f"Idempotency-Key {key!r} was already used with a different body")
        return SandboxResponse(status, public)

    def _http_get(self, request: SandboxRequest) -> SandboxResponse:
        if denied := self._admit(request):
            return denied
        invitation_id = request.path_params["id"]
        with self._lock:
            invitation = self.invitations.get(invitation_id)
            if invitation is None:
                return _problem(404, "Not Found", f"no invitation {invitation_id!r}")
            self._refresh(invitation)
            return SandboxResponse(200, self._public(invitation))

    def _http_results(self, request: SandboxRequest) -> SandboxResponse:
        return self._cursor_page(request, self.results, "results")

    def _http_delete_media(self, request: SandboxRequest) -> SandboxResponse:
        if denied := self._admit(request):
            return denied
        return SandboxResponse(200, self.delete_media(request.path_params["candidate_id"]))

    def _http_consent_events(self, request: SandboxRequest) -> SandboxResponse:
        return self._cursor_page(request, self.consent_events, "events")

    def _cursor_page(self, request: SandboxRequest, items: list[dict[str, Any]], name: str) -> SandboxResponse:
        """One page of an append-only feed: ``?limit=`` (1..1000) records after the opaque ``?after=`` cursor."""
        if denied := self._admit(request):
            return denied
        raw_limit = request.param("limit", "100") or "100"
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 1000:
            return _problem(400, "Bad Request", f"limit must be an integer 1..1000, got {raw_limit!r}")
        after = request.param("after")
        with self._lock:
            position = 0
            if after:
                position = decode_cursor(after)
                if position is None or position > len(items):
                    return _problem(400, "Bad Request", f"cursor {after!r} is not one this platform issued")
            page = items[position: position + int(raw_limit)]
            end = position + len(page)
            body = {name: page, "next_cursor": encode_cursor(end) if page else None, "has_more": end < len(items)}
        return SandboxResponse(200, body)

    def invitation_for(self, application_id: str) -> str:
        """The id of the newest invitation of an application (KeyError when there is none)."""
        with self._lock:
            found = [i["id"] for i in self.invitations.values() if i["request"]["application_id"] == application_id]
        if not found:
            raise KeyError(f"no invitation for application {application_id!r}")
        return found[-1]

    def _http_answer(self, request: SandboxRequest) -> SandboxResponse:
        def action(spec: dict[str, Any]) -> dict[str, Any]:
            invitation = spec.get("invitation_id") or self.invitation_for(str(spec["application_id"]))
            return self.answer(str(invitation), str(spec.get("kind", "consent")), spec.get("scopes"),
                               spec.get("declined") or ())

        return self._control(request, action)

    def _http_openapi_yaml(self, request: SandboxRequest) -> SandboxResponse:
        return SandboxResponse(200, OPENAPI_PATH.read_bytes(), {"Content-Type": "application/yaml"})

    def _http_openapi_json(self, request: SandboxRequest) -> SandboxResponse:
        import yaml

        return SandboxResponse(200, yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8")))

    def _control(self, request: SandboxRequest, action: Callable[[dict[str, Any]], Any]) -> SandboxResponse:
        try:
            spec = request.json() or {}
            if not isinstance(spec, dict):
                raise TypeError("body must be a JSON object")
            return SandboxResponse(200, action(spec))
        except KeyError as exc:
            return _problem(404, "Not Found", str(exc.args[0]))
        except ValueError as exc:
            return _problem(409, "Conflict", str(exc))
        except TypeError as exc:
            return _problem(400, "Bad Request", str(exc))

    def _http_start(self, request: SandboxRequest) -> SandboxResponse:
        return self._control(request, lambda spec: {"invitations": self.start(list(spec["invitation_ids"]))})

    def _http_expire(self, request: SandboxRequest) -> SandboxResponse:
        return self._control(request, lambda spec: {"invitations": self.expire(list(spec["invitation_ids"]))})

    def _http_complete(self, request: SandboxRequest) -> SandboxResponse:
        def action(spec: dict[str, Any]) -> dict[str, Any]:
            ids = spec.get("invitation_ids")
            results = self.complete(None if ids is None else list(ids), spec.get("n"),
                                    float(spec.get("bad_fraction", 0.0)))
            made_bad = {r["result_id"]: self.bad_results[r["result_id"]]
                        for r in results if r["result_id"] in self.bad_results}
            return {"results": results, "bad_results": made_bad}

        return self._control(request, action)

    def _http_state(self, request: SandboxRequest) -> SandboxResponse:
        return SandboxResponse(200, self.state())

    def _http_clip(self, request: SandboxRequest) -> SandboxResponse:
        """A signed, expiring clip link: 200 with stand-in bytes, 403 bad/expired link, 404 deleted."""
        clip_id = request.path_params["clip_id"]
        raw_expires = request.param("expires") or ""
        expected = self._link_signature(clip_id, int(raw_expires)) if raw_expires.isdigit() else ""
        if not expected or not hmac.compare_digest(expected, request.param("sig") or ""):
            return _problem(403, "Forbidden", "the clip link signature is not valid")
        if int(raw_expires) < self.clock().timestamp():
            return _problem(403, "Forbidden", "the clip link has expired")
        with self._lock:
            owner = self._clip_owner.get(clip_id)
            present = owner is not None and clip_id in self.media.get(owner, {}).get("clips", set())
        if not present:
            return _problem(404, "Not Found", f"clip {clip_id} does not exist or was deleted")
        return SandboxResponse(200, b"\x00\x00\x00\x18ftypmp42" + clip_id.encode(), {"Content-Type": "video/mp4"})

    def _http_report(self, request: SandboxRequest) -> SandboxResponse:
        """A small HTML report of one result (what ``report_url`` points at)."""
        with self._lock:
            result = self._result_index.get(request.path_params["result_id"])
        if result is None:
            return _problem(404, "Not Found", f"no result {request.path_params['result_id']!r}")
        rows = "".join(
            f"<tr><td>{html.escape(str(d.get('name')))}</td><td>{d.get('score')}</td>"
            f"<td>{d.get('weight')}</td><td>{html.escape(str(d.get('comment') or ''))}</td></tr>"
            for d in result.get("dimensions") or []
        )
        page = (f"<!doctype html><meta charset=utf-8><title>Interview report</title>"
                f"<h1>Interview report {html.escape(result['result_id'])}</h1>"
                f"<p>Overall {result.get('overall_score')} / 100 · model {html.escape(result['model_version'])}</p>"
                f"<table><tr><th>Dimension<th>Score<th>Weight<th>Comment</tr>{rows}</table>")
        return SandboxResponse(200, page, {"Content-Type": "text/html; charset=utf-8"})

    def _http_interview_page(self, request: SandboxRequest) -> SandboxResponse:
        """The candidate's landing page behind ``interview_url`` (token-checked)."""
        with self._lock:
            invitation = self.invitations.get(request.path_params["id"])
            if invitation is not None:
                self._refresh(invitation)
        token = request.param("t") or ""
        if invitation is None or not hmac.compare_digest(invitation["interview_url"].rsplit("t=", 1)[1], token):
            return _problem(404, "Not Found", "no interview behind this link")
        plan = invitation["request"]["question_plan"]
        page = (f"<!doctype html><meta charset=utf-8><title>AI interview</title>"
                f"<h1>AI interview</h1><p>Status: {invitation['status']} · "
                f"{len(plan['questions'])} questions · deadline {to_rfc3339(invitation['deadline'])}</p>")
        return SandboxResponse(200, page, {"Content-Type": "text/html; charset=utf-8"})

    def not_found(self, request: SandboxRequest) -> SandboxResponse:
        """Unknown paths answer with a problem document, like the rest of the API."""
        return _problem(404, "Not Found", f"no such path {request.path}")


def main(argv: list[str] | None = None) -> int:
    """Serve the sandbox until interrupted: ``python -m sandbox.interview --port 8766``."""
    parser = argparse.ArgumentParser(description="hrbridge AI-interview platform sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--rate-limit", type=float, default=None, help="requests/s before 429")
    args = parser.parse_args(argv)
    server = InterviewPlatformSandbox(args.host, args.port, seed=args.seed, rate_limit=args.rate_limit).start()
    print(f"interview platform sandbox on {server.url} (OpenAPI at {server.url}/openapi.yaml)")
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
