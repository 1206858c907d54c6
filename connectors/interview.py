"""The AI-interview platform: models, the protocol pipelines depend on, and the vendor registry.

hrbridge defines its own REST contract for interview platforms (``sandbox/interview_openapi.yaml``)
because there is no industry standard. Pipelines only see :class:`InterviewPlatform`; each vendor
gets one adapter implementing it. The adapter for hrbridge's own contract is
:class:`connectors.interview_rest.HrbridgeInterviewClient`. To add a vendor, write a class with the
four protocol methods (mapping the vendor's payloads to these models and the raw result dict layout
documented in the OpenAPI ``Result`` schema) and call :func:`register_platform`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from connectors.errors import ConnectorError, MalformedResponseError

LOCALES = ("zh-CN", "en-US")
STATUSES = ("not_started", "in_progress", "completed", "expired")
# What a candidate answered on the platform (GET /v1/consent-events) and the scopes an answer names.
CONSENT_KINDS = ("consent", "alternative_process", "withdrawal", "explanation_request", "human_review_request")
CONSENT_SCOPES = ("ai_scoring", "video_recording", "voice_recording")
RESULT_REQUIRED_FIELDS = (
    "result_id", "invitation_id", "candidate_id", "application_id", "job_id", "job_family",
    "completed_at", "invited_at", "overall_score", "scale", "dimensions", "keywords", "clips",
    "report_url", "model_version",
)


class IdempotencyConflict(ConnectorError):
    """An ``Idempotency-Key`` was reused with a different request body (HTTP 409)."""


class InvalidInvitation(ConnectorError):
    """The platform rejected an invitation's fields (HTTP 422); ``fields`` lists each problem."""

    def __init__(self, message: str, fields: list[dict[str, str]]) -> None:
        super().__init__(message)
        self.fields = fields


class UnknownPlatformError(ConnectorError, ValueError):
    """``build_platform`` was asked for a platform kind nobody registered."""


# ---------------------------------------------------------------------------------------- time


def to_rfc3339(value: datetime) -> str:
    """Format a datetime as RFC 3339 UTC with a ``Z`` suffix; naive values are taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    text = value.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def parse_rfc3339(value: Any, what: str = "timestamp") -> datetime:
    """Parse an RFC 3339 timestamp into an aware UTC datetime; ValueError names ``what``."""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be an RFC 3339 string, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{what} is not an RFC 3339 timestamp: {value!r}") from None
    if parsed.tzinfo is None:
        raise ValueError(f"{what} has no UTC offset: {value!r}")
    return parsed.astimezone(UTC)


def _optional_time(data: Mapping[str, Any], key: str, what: str) -> datetime | None:
    value = data.get(key)
    return None if value is None else parse_rfc3339(value, f"{what}.{key}")


# -------------------------------------------------------------------------------------- models


@dataclass(frozen=True)
class Question:
    """One interview question: what it probes (dimension), in which scenario, and its weight."""

    id: str
    dimension: str
    scenario: str
    prompt: str
    weight: float
    time_limit_seconds: int

    def to_dict(self) -> dict[str, Any]:
        """The wire form used in the invitation body."""
        return {
            "id": self.id, "dimension": self.dimension, "scenario": self.scenario,
            "prompt": self.prompt, "weight": self.weight, "time_limit_seconds": self.time_limit_seconds,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Question:
        """Build from the wire form; KeyError/ValueError name the missing or bad field."""
        return cls(
            id=str(data["id"]), dimension=str(data["dimension"]), scenario=str(data["scenario"]),
            prompt=str(data["prompt"]), weight=float(data["weight"]),
            time_limit_seconds=int(data["time_limit_seconds"]),
        )


@dataclass(frozen=True)
class QuestionPlan:
    """A personalised, versioned list of questions sent with an invitation."""

    plan_id: str
    version: str
    questions: tuple[Question, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """The wire form used in the invitation body."""
        return {
            "plan_id": self.plan_id, "version": self.version,
            "questions": [question.to_dict() for question in self.questions],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QuestionPlan:
        """Build from the wire form."""
        return cls(
            plan_id=str(data["plan_id"]), version=str(data["version"]),
            questions=tuple(Question.from_dict(item) for item in data["questions"]),
        )

    def dimension_weights(self) -> dict[str, float]:
        """Total question weight per dimension, in first-seen order."""
        weights: dict[str, float] = {}
        for question in self.questions:
            weights[question.dimension] = weights.get(question.dimension, 0.0) + question.weight
        return weights


@dataclass(frozen=True)
class InvitationRequest:
    """Everything the platform needs to invite one candidate for one application."""

    candidate_id: str
    application_id: str
    job_id: str
    job_family: str
    candidate_name: str
    candidate_email: str
    locale: str
    deadline: datetime
    question_plan: QuestionPlan
    callback_url: str | None = None
    notice: Mapping[str, str] | None = None  # {"version", "language"} of the notice the candidate sees

    def to_dict(self) -> dict[str, Any]:
        """The JSON body of ``POST /v1/invitations`` (``callback_url`` and ``notice`` only when set)."""
        body: dict[str, Any] = {
            "candidate_id": self.candidate_id, "application_id": self.application_id,
            "job_id": self.job_id, "job_family": self.job_family,
            "candidate_name": self.candidate_name, "candidate_email": self.candidate_email,
            "locale": self.locale, "deadline": to_rfc3339(self.deadline),
            "question_plan": self.question_plan.to_dict(),
        }
        if self.callback_url:
            body["callback_url"] = self.callback_url
        if self.notice:
            body["notice"] = {"version": str(self.notice["version"]), "language": str(self.notice["language"])}
        return body

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InvitationRequest:
        """Build from the wire form (used by tests and by adapters that echo requests)."""
        return cls(
            candidate_id=str(data["candidate_id"]), application_id=str(data["application_id"]),
            job_id=str(data["job_id"]), job_family=str(data["job_family"]),
            candidate_name=str(data["candidate_name"]), candidate_email=str(data["candidate_email"]),
            locale=str(data["locale"]), deadline=parse_rfc3339(data["deadline"], "deadline"),
            question_plan=QuestionPlan.from_dict(data["question_plan"]),
            callback_url=data.get("callback_url"),
            notice=dict(data["notice"]) if isinstance(data.get("notice"), Mapping) else None,
        )

    def __repr__(self) -> str:
        # Keep PII out of logs and tracebacks.
        return (
            f"InvitationRequest(application_id={self.application_id!r}, job_id={self.job_id!r}, "
            f"plan={self.question_plan.plan_id!r}@{self.question_plan.version!r}, locale={self.locale!r})"
        )


@dataclass(frozen=True)
class Invitation:
    """The platform's view of an invitation: its id, status, candidate link and timestamps."""

    id: str
    status: str
    interview_url: str
    created_at: datetime
    deadline: datetime | None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    expired_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """The wire form (timestamps as RFC 3339, absent ones as null)."""
        def fmt(value: datetime | None) -> str | None:
            return None if value is None else to_rfc3339(value)

        return {
            "id": self.id, "status": self.status, "interview_url": self.interview_url,
            "created_at": fmt(self.created_at), "deadline": fmt(self.deadline),
            "started_at": fmt(self.started_at), "completed_at": fmt(self.completed_at),
            "expired_at": fmt(self.expired_at),
        }

    @classmethod
    def from_dict(cls, data: Any) -> Invitation:
        """Parse the platform's invitation body; MalformedResponseError names the bad field."""
        if not isinstance(data, Mapping):
            raise MalformedResponseError(f"invitation body is not a JSON object: {str(data)[:80]!r}")
        try:
            status = data["status"]
            if status not in STATUSES:
                raise ValueError(f"invitation.status {status!r} is not one of {', '.join(STATUSES)}")
            return cls(
                id=str(data["id"]), status=status, interview_url=str(data["interview_url"]),
                created_at=parse_rfc3339(data["created_at"], "invitation.created_at"),
                deadline=_optional_time(data, "deadline", "invitation"),
                started_at=_optional_time(data, "started_at", "invitation"),
                completed_at=_optional_time(data, "completed_at", "invitation"),
                expired_at=_optional_time(data, "expired_at", "invitation"),
            )
        except KeyError as exc:
            raise MalformedResponseError(f"invitation body lacks field {exc.args[0]!r}") from None
        except ValueError as exc:
            raise MalformedResponseError(str(exc)) from None


# ------------------------------------------------------------------------------------ protocol


@runtime_checkable
class InterviewPlatform(Protocol):
    """What pipelines depend on; one adapter per vendor implements it."""

    def create_invitation(self, request: InvitationRequest, idempotency_key: str) -> Invitation:
        """Create (or, for a repeated key, return) the invitation; safe to call from threads."""
        ...

    def get_invitation(self, invitation_id: str) -> Invitation:
        """Current status and timestamps of one invitation."""
        ...

    def iter_results(
        self, after: str | None = None, limit: int = 500
    ) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
        """Yield (page of raw result dicts, cursor to store after this page), oldest first."""
        ...

    def delete_candidate_media(self, candidate_id: str) -> dict[str, Any]:
        """Delete a candidate's clips and transcripts; idempotent."""
        ...


@runtime_checkable
class ConsentSource(Protocol):
    """A platform that reports candidates' answers to the notice (consent, withdrawal, requests)."""

    def iter_consent_events(
        self, after: str | None = None, limit: int = 500
    ) -> Iterator[tuple[list[dict[str, Any]], str | None]]:
        """Yield (page of raw consent events, cursor to store after this page), oldest first."""
        ...


def idempotency_key(application_id: str, plan_version: str) -> str:
    """A deterministic key for one application and plan version, so a rerun reuses it.

    The same application invited with the same plan version always maps to the same key; the
    platform then returns the existing invitation instead of creating a second one.
    """
    if not application_id or not plan_version:
        raise ValueError("idempotency_key needs a non-empty application_id and plan_version")
    digest = hashlib.sha256(f"{application_id}\x1f{plan_version}".encode()).hexdigest()
    return f"hrb-inv-{digest[:40]}"


# ------------------------------------------------------------------------------------ registry

PlatformFactory = Callable[..., InterviewPlatform]
_REGISTRY: dict[str, PlatformFactory] = {}


def register_platform(kind: str, factory: PlatformFactory) -> None:
    """Make ``build_platform(kind, **options)`` call ``factory(**options)``."""
    _REGISTRY[kind.lower()] = factory


def _builtin(kind: str) -> PlatformFactory | None:
    if kind == "hrbridge":
        from connectors.interview_rest import HrbridgeInterviewClient

        return HrbridgeInterviewClient
    return None


def build_platform(kind: str, **options: Any) -> InterviewPlatform:
    """Build the adapter registered for ``kind`` (``"hrbridge"`` is built in) with ``options``.

    Options are the adapter's constructor arguments, e.g. ``base_url`` and ``api_key``.
    """
    key = (kind or "").lower()
    factory = _REGISTRY.get(key) or _builtin(key)
    if factory is None:
        known = sorted({*_REGISTRY, "hrbridge"})
        raise UnknownPlatformError(f"unknown interview platform {kind!r}; known: {', '.join(known)}")
    return factory(**options)


def __getattr__(name: str) -> Any:
    # ``from connectors.interview import HrbridgeInterviewClient`` works without an import cycle.
    if name == "HrbridgeInterviewClient":
        from connectors.interview_rest import HrbridgeInterviewClient

        return HrbridgeInterviewClient
    raise AttributeError(name)
