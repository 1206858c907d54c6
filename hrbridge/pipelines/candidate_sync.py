"""candidate_sync: changed SuccessFactors applications → personalised AI-interview invitations.

Steps, each a plain function (the DAG runs one per task, the CLI and tests run them all through
:func:`run_candidate_sync`):

1. :func:`extract_and_load` — read every stream changed since its cursor minus the look-back window,
   map it through the YAML mapping (custom fields kept), upsert into the hub by natural key, put
   unmappable records in ``sync_quarantine``, and only then advance the cursor (max
   ``lastModifiedDateTime`` seen).
2. :func:`plan_invitations` — applications at their job family's trigger status without an
   invitation get a personalised question plan and an invitation row in state ``planned``, with a
   deterministic idempotency key and the exact request body, BEFORE anything is sent.
3. :func:`post_invitations` — every ``planned`` row is POSTed concurrently (thread pool, the
   client's rate limit applies) and marked ``posted`` with the interview URL. A repost after a crash
   reuses the key, so the platform returns the same invitation; so does a re-plan after the hub lost
   its rows (restored or moved): the key is the same and ``deadline`` is not part of the idempotent
   body, so the platform answers with the original invitation, whose deadline the hub then keeps.
4. :func:`write_back` — status and link go back to JobApplication through ``/upsert``; each record's
   status is checked; failures stay ``posted`` with ``last_error`` and are retried on the next run.
   In :func:`run_candidate_sync` each posted batch is written back while the next one is sent.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connectors.errors import AuthenticationError, ConnectorError
from connectors.interview import (
    IdempotencyConflict,
    InterviewPlatform,
    InvalidInvitation,
    InvitationRequest,
    idempotency_key,
    to_rfc3339,
)
from connectors.source import CANONICAL_STREAMS, SourceKeys, SourceStream, SourceSystem
from connectors.sql import upsert
from hrbridge.consent.config import load_consent_config
from hrbridge.pipelines import hub_load
from hrbridge.pipelines.hub_load import DeletionCheck, HubState, StreamCounts, load_stream
from hrbridge.pipelines.pii import (
    HUB_ENCRYPTED,
    default_vault,
    open_rows,
    shredded_subjects,
)
from hrbridge.settings import ConfigError, Settings, load_config
from hrbridge.store import recruiting as store
from transforms.canonical import ResumeSignals
from transforms.field_mapping import MappingError, SourceMapping, parse_mapping
from transforms.masking import mask_pii
from transforms.question_plan import PlanInputs, QuestionPlanner, QuestionRulesError

if TYPE_CHECKING:
    from governance.crypto import Vault

log = logging.getLogger(__name__)

# loading lives in hub_load; these stay importable from the loop's module
read_quarantine = hub_load.read_quarantine
quarantine_record_id = hub_load.quarantine_record_id
_TABLES = hub_load.TABLES
_chunks = hub_load.chunks


PIPELINE = "candidate_sync"
# read order: requisitions first (job family), resumes last (signals for plans)
STREAMS = tuple(CANONICAL_STREAMS)
SUPPORTED_LOCALES = ("zh-CN", "en-US")
# Personal data encrypted at rest with the candidate's data key: table -> (columns, subject, record id)
ENCRYPTED = HUB_ENCRYPTED
# The stored request keeps the e-mail as the hub's token (a copy of candidates.email or
# applications.email, sealed for that location) and names where it came from under this key.
EMAIL_SEALED_IN = "_email_sealed_in"


# ------------------------------------------------------------------------------------ config


@dataclass(frozen=True)
class SyncConfig:
    """``configs/candidate_sync.yaml`` resolved: mapping, rules, triggers, write-back, throughput."""

    mapping: SourceMapping
    rules: Mapping[str, Any]
    trigger_status: Mapping[str, str]
    lookback: timedelta = timedelta(minutes=15)
    page_size: int = 1000
    deadline_days: int = 7
    default_locale: str = "en-US"
    callback_url: str | None = None
    not_before: datetime | None = None
    invite_batch_size: int = 500
    max_attempts: int = 3  # platform refusals (422/409) before an invitation becomes ``refused``
    write_back_entity: str = "JobApplication"
    write_back_key: str = "applicationId"
    write_back_fields: Mapping[str, Any] = field(default_factory=dict)
    write_back_batch_size: int = 200
    concurrency: int = 16
    sf_rate_limit: float | None = None
    interview_rate_limit: float | None = None
    deletion_every_runs: int = 0  # 0: never; 1: every run; N: every Nth run per stream
    deletion_streams: tuple[str, ...] = ()  # mapping stream names (e.g. "applications")
    deletion_max_fraction: float = 0.5  # refuse to mark more than this share of a stream deleted
    document: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)  # the YAML it came from

    def for_source(self, source_doc: Mapping[str, Any], settings: Settings | None = None) -> SyncConfig:
        """This config with a source's own ``mapping``, ``write_back``, ``lookback_minutes``, ``page_size``
        and ``deletion_check`` (``configs/sources/<name>.yaml``) in place of the defaults."""
        own = ("mapping", "write_back", "lookback_minutes", "page_size", "deletion_check")
        return SyncConfig.from_document({**self.document, **{k: source_doc[k] for k in own if k in source_doc}},
                                        settings)

    def trigger_for(self, job_family: str | None) -> str | None:
        """The status that triggers an invitation for ``job_family`` (case-insensitive, else default)."""
        wanted = (job_family or "").lower()
        for family, status in self.trigger_status.items():
            if family.lower() == wanted:
                return status
        return self.trigger_status.get("default")

    @classmethod
    def from_document(cls, doc: Mapping[str, Any], settings: Settings | None = None) -> SyncConfig:
        """Build from the parsed YAML; ConfigError names the key at fault."""
        where = "candidate_sync.yaml"
        if not isinstance(doc, Mapping):
            raise ConfigError(f"{where}: expected a mapping")
        try:
            mapping = parse_mapping(load_config(doc.get("mapping", "mappings/successfactors"), settings),
                                    str(doc.get("mapping")))
            rules = load_config(doc.get("question_rules", "question_rules"), settings)
            QuestionPlanner(rules)
        except (MappingError, QuestionRulesError) as exc:
            raise ConfigError(str(exc)) from exc
        triggers = doc.get("trigger_status")
        if isinstance(triggers, str):
            triggers = {"default": triggers}
        if not isinstance(triggers, Mapping) or not triggers:
            raise ConfigError(f"{where}: trigger_status must map job families to a status")
        invitation = doc.get("invitation") or {}
        back = doc.get("write_back") or {}
        fields = back.get("fields") or {}
        if not isinstance(fields, Mapping) or not fields:
            raise ConfigError(f"{where}: write_back.fields must map target fields to invitation values")
        for target, source in fields.items():
            if isinstance(source, str) and source not in WRITE_BACK_VALUES:
                raise ConfigError(
                    f"{where}: write_back.fields.{target}: unknown value {source!r}; "
                    f"use one of {sorted(WRITE_BACK_VALUES)} or {{const: ...}}"
                )
        limits = doc.get("rate_limit") or {}
        every_runs, deletion_streams, max_fraction = _deletion_check(doc.get("deletion_check"), mapping, where)
        try:
            return cls(
                mapping=mapping,
                rules=rules,
                trigger_status={str(k): str(v) for k, v in triggers.items()},
                lookback=timedelta(minutes=float(doc.get("lookback_minutes", 15))),
                page_size=int(doc.get("page_size", 1000)),
                deadline_days=int(invitation.get("deadline_days", 7)),
                default_locale=_locale(invitation.get("default_locale"), "en-US"),
                callback_url=invitation.get("callback_url"),
                not_before=_not_before(invitation.get("not_before")),
                invite_batch_size=int(invitation.get("batch_size", 500)),
                max_attempts=max(1, int(invitation.get("max_attempts", 3))),
                write_back_entity=str(back.get("entity", "JobApplication")),
                write_back_key=str(back.get("key_field", "applicationId")),
                write_back_fields=dict(fields),
                write_back_batch_size=int(back.get("batch_size", 200)),
                concurrency=max(1, int(doc.get("concurrency", 16))),
                sf_rate_limit=_optional_float(limits.get("successfactors")),
                interview_rate_limit=_optional_float(limits.get("interview")),
                deletion_every_runs=every_runs,
                deletion_streams=deletion_streams,
                deletion_max_fraction=max_fraction,
                document=dict(doc),
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: {exc}") from exc


def _deletion_check(
    spec: Any, mapping: SourceMapping, where: str
) -> tuple[int, tuple[str, ...], float]:
    """Parse ``deletion_check: {every_runs, streams, max_fraction}``; streams by their one (canonical) name."""
    if spec in (None, False):
        return 0, (), 0.5
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where}: deletion_check must be a mapping with every_runs and streams")
    try:
        every_runs = int(spec.get("every_runs", 1) or 0)
        max_fraction = float(spec.get("max_fraction", 0.5))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: deletion_check: {exc}") from exc
    if every_runs < 0 or not 0 < max_fraction <= 1:
        raise ConfigError(f"{where}: deletion_check: every_runs must be ≥ 0 and max_fraction in (0, 1]")
    streams = []
    for item in spec.get("streams") or ["applications", "candidates"]:
        name = str(item)
        if name not in mapping.streams or name not in _TABLES:
            raise ConfigError(
                f"{where}: deletion_check.streams: {item!r} is not a checkable stream; "
                f"use one of {sorted(n for n in mapping.streams if n in _TABLES)}"
            )
        streams.append(name)
    return every_runs, tuple(dict.fromkeys(streams)), max_fraction


def _not_before(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _optional_float(value: Any) -> float | None:
    return None if value in (None, "", 0) else float(value)


def load_sync_config(settings: Settings | None = None, name: str = "candidate_sync") -> SyncConfig:
    """Read ``configs/<name>.yaml`` (and the mapping and rules it names) into a :class:`SyncConfig`."""
    return SyncConfig.from_document(load_config(name, settings), settings)


# ----------------------------------------------------------------------------------- summary


@dataclass
class SyncSummary:
    """What one candidate_sync run did; every count reconciles."""

    run_id: str
    streams: dict[str, StreamCounts] = field(default_factory=dict)  # totals over the run's sources
    sources: dict[str, dict[str, StreamCounts]] = field(default_factory=dict)  # per source, when several
    triggered: int = 0
    erased: int = 0  # at the trigger status but not invited: the candidate's data key was shredded
    planned: int = 0
    invited: int = 0
    invite_failed: int = 0
    refused: int = 0  # invitations the platform refused max_attempts times (now state refused)
    rearmed: int = 0  # refused invitations given another chance (record fixed or config changed)
    written_back: int = 0
    write_back_failed: int = 0
    started_at: str | None = None
    finished_at: str | None = None

    def _apps(self) -> StreamCounts:
        return self.streams.get("applications", StreamCounts())

    @property
    def applications_read(self) -> int:
        """Application records read from the source this run."""
        return self._apps().read

    @property
    def quarantined(self) -> int:
        """Records of every stream put in quarantine this run."""
        return sum(s.quarantined for s in self.streams.values())

    @property
    def deleted_detected(self) -> int:
        """Hub records (every stream) found deleted at the source this run."""
        return sum(s.deleted for s in self.streams.values())

    @property
    def restored(self) -> int:
        """Records marked deleted earlier that reappeared at the source this run."""
        return sum(s.restored for s in self.streams.values())

    def to_dict(self) -> dict[str, Any]:
        """Flat JSON-ready counts (the ``--json`` output and the ``sync_runs.counts`` column)."""
        apps = self._apps()
        return {
            "run_id": self.run_id,
            "applications_read": apps.read,
            "applications_loaded": apps.loaded,
            "applications_quarantined": apps.quarantined,
            "applications_deduplicated": apps.deduplicated,
            "quarantined": self.quarantined,
            "triggered": self.triggered,
            "erased": self.erased,
            "planned": self.planned,
            "invited": self.invited,
            "invite_failed": self.invite_failed,
            "refused": self.refused,
            "rearmed": self.rearmed,
            "written_back": self.written_back,
            "write_back_failed": self.write_back_failed,
            "deleted_detected": self.deleted_detected,
            "restored": self.restored,
            "streams": {name: asdict(counts) for name, counts in self.streams.items()},
            **({"sources": {source: {name: asdict(c) for name, c in streams.items()}
                            for source, streams in self.sources.items()}} if self.sources else {}),
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }


def new_run_id(now: datetime | None = None) -> str:
    """A sortable, unique run id such as ``cs-20260301T080000-1a2b3c``."""
    now = now or store.utcnow()
    return f"cs-{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


# ----------------------------------------------------------------------------- 1. extract/load


def source_streams(source: SourceSystem, config: SyncConfig, streams: Sequence[str] = STREAMS) -> list[str]:
    """The canonical streams of this run: those the source declares and the mapping maps, in read order."""
    return [name for name in streams if name in source.streams and name in config.mapping.streams]


def extract_and_load(
    sf: SourceSystem, engine: Engine, config: SyncConfig, *, run_id: str, now: datetime | None = None,
    streams: Sequence[str] = STREAMS, vault: Vault | None = None, keys: SourceKeys | None = None,
) -> dict[str, StreamCounts]:
    """Ask the source for each stream's changes (the stream applies its cursor and look-back), load the hub.

    ``sf`` is any :class:`connectors.source.SourceSystem` (SuccessFactors, SAP HCM, Greenhouse, a
    YAML REST source); ``keys`` qualifies its keys when several sources share the hub. E-mail and
    phone are encrypted with each candidate's data key before they are written; the key provider is
    checked first, so nothing is stored in plaintext when it is unavailable.
    """
    now = now or store.utcnow()
    vault = vault or default_vault(engine)
    vault.require_available()
    state = HubState(engine, now)
    deletion = DeletionCheck(config.deletion_every_runs, config.deletion_streams, config.deletion_max_fraction)
    return {
        name: load_stream(SourceStream(sf, name, state, lookback=config.lookback), config.mapping[name], engine,
                          run_id=run_id, now=now, vault=vault, keys=keys, deletion=deletion)
        for name in source_streams(sf, config, streams)
    }


# --------------------------------------------------------------------------------- 2. planning


def _locale(value: str | None, default: str) -> str:
    if not value:
        return default
    text = str(value).replace("_", "-")
    for supported in SUPPORTED_LOCALES:
        if text.lower() == supported.lower() or text.lower().split("-")[0] == supported.split("-")[0].lower():
            return supported
    return default


def _display_name(first: str | None, last: str | None) -> str:
    first, last = (first or "").strip(), (last or "").strip()
    if any("\u4e00" <= ch <= "\u9fff" for ch in first + last):
        return f"{last}{first}"
    return " ".join(part for part in (first, last) if part)


def _pending_applications(
    conn: sa.Connection, statuses: Iterable[str], not_before: datetime | None = None
) -> list[sa.Row[Any]]:
    a, r, c, s, i = (store.applications, store.requisitions, store.candidates, store.resume_signals,
                     store.invitations)
    query = (
        sa.select(
            a.c.application_id, a.c.candidate_id, a.c.requisition_id, a.c.status, a.c.locale,
            sa.func.coalesce(c.c.first_name, a.c.first_name).label("first_name"),
            sa.func.coalesce(c.c.last_name, a.c.last_name).label("last_name"),
            c.c.email.label("candidate_email"), a.c.email.label("application_email"),
            c.c.locale.label("candidate_locale"), r.c.job_family, r.c.locale.label("requisition_locale"),
            a.c.last_modified.label("application_modified"), c.c.last_modified.label("candidate_modified"),
            s.c.years_experience, s.c.skills, s.c.languages, s.c.education,
        )
        .select_from(a)
        .outerjoin(i, i.c.application_id == a.c.application_id)
        .outerjoin(r, r.c.requisition_id == a.c.requisition_id)
        .outerjoin(c, c.c.candidate_id == a.c.candidate_id)
        .outerjoin(s, s.c.candidate_id == a.c.candidate_id)
        .where(i.c.application_id.is_(None), a.c.status.in_(sorted(set(statuses))),
               a.c.deleted_at.is_(None), c.c.deleted_at.is_(None))
        .order_by(a.c.application_id)
    )
    if not_before is not None:
        query = query.where(a.c.last_modified >= not_before)
    return list(conn.execute(query))


def plan_invitations(
    engine: Engine, config: SyncConfig, *, run_id: str, now: datetime | None = None,
    planner: QuestionPlanner | None = None, vault: Vault | None = None,
) -> dict[str, int]:
    """Record a ``planned`` invitation (plan, key, exact request) for each newly triggered application.

    The stored request carries the e-mail as the hub's token (decrypted only when it is sent).
    Applications of candidates whose data key was shredded are not invited and are counted as
    ``erased``.
    """
    now = now or store.utcnow()
    from hrbridge.feedback.rules import active_planner  # the published rules version, else the file

    planner = planner or active_planner(engine, config.rules)
    vault = vault or default_vault(engine)
    deadline = now + timedelta(days=config.deadline_days)
    notice_for = load_consent_config().notice_for  # consent: the notice version + language each invitation carries
    rearmed = rearm_refused(engine, config, vault)
    with engine.connect() as conn:
        pending = _pending_applications(conn, config.trigger_status.values(), config.not_before)
    triggered = [row for row in pending if row.status == config.trigger_for(row.job_family)]
    shredded = shredded_subjects(vault, (app.candidate_id for app in triggered))
    invitable = [app for app in triggered if str(app.candidate_id) not in shredded]
    rows = []
    for app in invitable:
        signals = ResumeSignals(
            years_experience=app.years_experience,
            skills=tuple(app.skills or ()), languages=tuple(app.languages or ()), education=app.education,
        )
        locale = _locale(app.locale or app.candidate_locale or app.requisition_locale, config.default_locale)
        plan = planner.plan(PlanInputs(app.job_family, signals, locale))
        request = {
            "candidate_id": app.candidate_id, "application_id": app.application_id,
            "job_id": app.requisition_id, "job_family": app.job_family or plan["job_family"],
            "candidate_name": _display_name(app.first_name, app.last_name),
            "candidate_email": app.candidate_email or app.application_email or "",
            EMAIL_SEALED_IN: "candidates" if app.candidate_email else "applications" if app.application_email else None,
            "locale": locale, "deadline": to_rfc3339(deadline),
            "question_plan": {k: plan[k] for k in ("plan_id", "version", "questions")},
        }
        if config.callback_url:
            request["callback_url"] = config.callback_url
        if notice := notice_for(locale):
            request["notice"] = notice
        rows.append({
            "application_id": app.application_id, "candidate_id": app.candidate_id,
            "requisition_id": app.requisition_id, "job_family": request["job_family"],
            "idempotency_key": idempotency_key(app.application_id, plan["version"]),
            "state": store.PLANNED, "plan_id": plan["plan_id"], "plan_version": plan["version"],
            "rules_version": getattr(planner, "rules_version", None),
            "plan": {k: plan[k] for k in ("job_family", "level", "weights")},
            "request": request, "deadline": deadline, "planned_at": now, "attempts": 0, "run_id": run_id,
            "source_modified": _newest(app.application_modified, app.candidate_modified),
        })
    for chunk in _chunks(rows, config.invite_batch_size):
        with engine.begin() as conn:
            upsert(conn, store.invitations, chunk, key=["application_id"], update=[])
    erased = len(triggered) - len(invitable)
    if erased:
        log.info("%s: %d applications at trigger status not invited: their candidate's data was erased", PIPELINE,
                 erased)
    log.info("%s: %d applications at trigger status, %d invitations planned", PIPELINE, len(triggered), len(rows))
    return {"triggered": len(triggered), "erased": erased, "planned": len(rows), "rearmed": rearmed}


def _contact_emails(vault: Vault, apps: Sequence[Any]) -> tuple[dict[str, str | None], set[str]]:
    """Decrypted contact e-mail per application (the candidate's, else the application's) and the
    candidates among ``apps`` whose data key was shredded (their e-mail reads as None)."""
    if not apps:
        return {}, set()
    shredded = shredded_subjects(vault, (app.candidate_id for app in apps))
    by_candidate = {app.candidate_id: app.candidate_email for app in apps}
    opened, lost = open_rows(vault, [{"candidate_id": k, "email": v} for k, v in by_candidate.items()], ["email"],
                             table="candidates", subject_key="candidate_id", record_key="candidate_id")
    shredded |= lost
    candidate_email = {row["candidate_id"]: row["email"] for row in opened}
    fallback = [{"candidate_id": app.candidate_id, "application_id": app.application_id, "email": app.application_email}
                for app in apps if not candidate_email.get(app.candidate_id) and app.application_email
                and str(app.candidate_id) not in shredded]
    opened, lost = open_rows(vault, fallback, ["email"], table="applications", subject_key="candidate_id",
                             record_key="application_id")
    application_email = {row["application_id"]: row["email"] for row in opened}
    emails = {app.application_id: candidate_email.get(app.candidate_id) or application_email.get(app.application_id)
              for app in apps}
    return emails, shredded | lost


def _open_request_emails(vault: Vault, rows: Sequence[Any]) -> tuple[dict[str, str], set[str]]:
    """Decrypted request e-mail per application id, and shredded candidates among ``rows``.

    Each request holds the token of the hub location it was copied from (``EMAIL_SEALED_IN``).
    """
    emails: dict[str, str] = {}
    shredded: set[str] = set()
    for table, (_, subject, record) in ENCRYPTED.items():
        plain = [{"candidate_id": row.candidate_id, "application_id": row.application_id,
                  "email": (row.request or {}).get("candidate_email") or None}
                 for row in rows if (row.request or {}).get(EMAIL_SEALED_IN) == table]
        opened, lost = open_rows(vault, plain, ["email"], table=table, subject_key=subject, record_key=record)
        emails.update({row["application_id"]: row["email"] or "" for row in opened})
        shredded |= lost
    for row in rows:  # no e-mail at all, or a request planned before encryption (plaintext)
        if (row.request or {}).get(EMAIL_SEALED_IN) not in ENCRYPTED:
            emails[row.application_id] = (row.request or {}).get("candidate_email") or ""
    return emails, shredded


def _newest(*stamps: datetime | None) -> datetime | None:
    return max((s for s in stamps if s is not None), default=None)


def rearm_refused(engine: Engine, config: SyncConfig, vault: Vault | None = None) -> int:
    """Give refused invitations another chance when something changed; returns how many.

    * config: ``invitation.max_attempts`` now allows more refusals than a refused row had → it is
      ``planned`` again (same request, remaining attempts);
    * record fixed: the application or candidate changed at the source since the plan and the
      e-mail differs from the refused request → the row is dropped and planned afresh (new
      request, attempts from zero) — this also covers rows still ``planned`` after a refusal.
    """
    inv, a, c = store.invitations, store.applications, store.candidates
    vault = vault or default_vault(engine)
    with engine.begin() as conn:
        more = conn.execute(
            sa.update(inv).where(inv.c.state == store.REFUSED, inv.c.refusals < config.max_attempts)
            .values(state=store.PLANNED, refused_at=None)
        ).rowcount or 0
        candidates = conn.execute(
            sa.select(inv.c.application_id, inv.c.candidate_id, inv.c.request, inv.c.source_modified,
                      a.c.last_modified.label("application_modified"), c.c.last_modified.label("candidate_modified"),
                      c.c.email.label("candidate_email"), a.c.email.label("application_email"))
            .select_from(inv.join(a, a.c.application_id == inv.c.application_id)
                         .outerjoin(c, c.c.candidate_id == a.c.candidate_id))
            .where(sa.or_(inv.c.state == store.REFUSED, sa.and_(inv.c.state == store.PLANNED, inv.c.refusals > 0)))
        ).all()
        changed = [
            row for row in candidates
            if row.source_modified is not None
            and (_newest(row.application_modified, row.candidate_modified) or row.source_modified) > row.source_modified
        ]
        current, _ = _contact_emails(vault, changed)
        refused_with, _ = _open_request_emails(vault, changed)
        fixed = [row.application_id for row in changed
                 if (current.get(row.application_id) or "") != refused_with.get(row.application_id, "")]
        for chunk in _chunks(fixed, 500):
            conn.execute(sa.delete(inv).where(inv.c.application_id.in_(list(chunk))))
    if more or fixed:
        log.info("%s: %d refused invitations re-armed (%d by config, %d by a fixed record)", PIPELINE,
                 more + len(fixed), more, len(fixed))
    return more + len(fixed)


# ---------------------------------------------------------------------------------- 3. posting


def _deleted_application(application_id: Any) -> sa.ColumnElement[bool]:
    """True for applications (or their candidates) found deleted at the source: never sent."""
    a, c = store.applications, store.candidates
    return sa.exists().where(
        a.c.application_id == application_id,
        sa.or_(a.c.deleted_at.is_not(None),
               sa.exists().where(c.c.candidate_id == a.c.candidate_id, c.c.deleted_at.is_not(None))),
    )


def post_invitations(
    platform: InterviewPlatform, engine: Engine, config: SyncConfig, *, run_id: str,
    now: datetime | None = None, on_posted: Callable[[list[str]], None] | None = None,
    vault: Vault | None = None,
) -> dict[str, int]:
    """POST every ``planned`` invitation concurrently and mark the successes ``posted``.

    ``on_posted`` is called with the application ids of each batch once it is recorded as posted
    (the full loop starts their write-back while the next batch is being sent). The request's
    e-mail is decrypted just before sending; a planned invitation whose candidate was erased
    since (data key shredded) is dropped unsent.
    """
    inv = store.invitations
    vault = vault or default_vault(engine)
    with engine.connect() as conn:
        planned = list(conn.execute(
            sa.select(inv.c.application_id, inv.c.candidate_id, inv.c.idempotency_key, inv.c.request, inv.c.refusals)
            .where(inv.c.state == store.PLANNED, ~_deleted_application(inv.c.application_id))
            .order_by(inv.c.application_id)
        ))
    posted = failed = refused = 0
    by_app = {row.application_id: row for row in planned}

    def send(item: tuple[sa.Row[Any], str]) -> tuple[str, Any, str | None, Refusal | None]:
        row, email = item
        try:
            body = {k: v for k, v in row.request.items() if k != EMAIL_SEALED_IN}
            request = InvitationRequest.from_dict({**body, "candidate_email": email})
            invitation = platform.create_invitation(request, row.idempotency_key)
            return row.application_id, invitation, None, None
        except AuthenticationError:  # the API key itself is refused: every other invitation fails too
            raise
        except (InvalidInvitation, IdempotencyConflict) as exc:  # the platform said no: counts to the limit
            error = mask_pii(f"{type(exc).__name__}: {exc}")[:1000]
            fields = [str(f.get("field")) for f in getattr(exc, "fields", []) if isinstance(f, Mapping)]
            return row.application_id, None, error, Refusal(error, fields)
        except (ConnectorError, ValueError, KeyError) as exc:
            return row.application_id, None, mask_pii(f"{type(exc).__name__}: {exc}")[:1000], None

    with ThreadPoolExecutor(max_workers=config.concurrency, thread_name_prefix="invite") as pool:
        for chunk in _chunks(planned, config.invite_batch_size):
            emails, erased = _open_request_emails(vault, chunk)
            if erased:
                _drop_erased(engine, [r.application_id for r in chunk if str(r.candidate_id) in erased])
            outcomes = list(pool.map(send, [(r, emails[r.application_id]) for r in chunk
                                            if str(r.candidate_id) not in erased]))
            stamp = now or store.utcnow()
            ok = [  # the platform's deadline stands (a replayed invitation keeps its original one)
                {"b_app": app_id, "platform_invitation_id": invitation.id, "platform_status": invitation.status,
                 "interview_url": invitation.interview_url, "posted_at": stamp, "b_deadline": invitation.deadline}
                for app_id, invitation, _, _ in outcomes if invitation is not None
            ]
            errors = [{"b_app": app_id, "last_error": error, "b_refusal": int(refusal is not None)}
                      for app_id, _, error, refusal in outcomes if error]
            final = [(by_app[app_id], refusal) for app_id, _, _, refusal in outcomes
                     if refusal is not None and by_app[app_id].refusals + 1 >= config.max_attempts]
            with engine.begin() as conn:
                if ok:
                    conn.execute(
                        sa.update(inv)
                        .where(inv.c.application_id == sa.bindparam("b_app"), inv.c.state == store.PLANNED)
                        .values(state=store.POSTED, platform_invitation_id=sa.bindparam("platform_invitation_id"),
                                platform_status=sa.bindparam("platform_status"),
                                interview_url=sa.bindparam("interview_url"), posted_at=sa.bindparam("posted_at"),
                                deadline=sa.func.coalesce(sa.bindparam("b_deadline", type_=inv.c.deadline.type),
                                                          inv.c.deadline),
                                attempts=inv.c.attempts + 1, last_error=None),
                        ok,
                    )
                if errors:
                    conn.execute(
                        sa.update(inv).where(inv.c.application_id == sa.bindparam("b_app"))
                        .values(last_error=sa.bindparam("last_error"), attempts=inv.c.attempts + 1,
                                refusals=inv.c.refusals + sa.bindparam("b_refusal")),
                        errors,
                    )
                if final:
                    _refuse(conn, final, run_id, stamp)
            posted += len(ok)
            failed += len(errors) - len(final)
            refused += len(final)
            if on_posted and ok:
                on_posted([row["b_app"] for row in ok])
            for app_id, _, error, _ in outcomes:
                if error:
                    log.warning("invitation for application %s not posted: %s", app_id, error)
    log.info("%s: %d invitations posted, %d failed (left planned), %d refused for good", PIPELINE, posted, failed,
             refused)
    return {"invited": posted, "invite_failed": failed, "refused": refused}


def _drop_erased(engine: Engine, application_ids: list[str]) -> None:
    """Delete planned (never sent) invitations of candidates erased since they were planned."""
    inv = store.invitations
    with engine.begin() as conn:
        conn.execute(sa.delete(inv).where(inv.c.application_id.in_(application_ids), inv.c.state == store.PLANNED))
    log.info("%s: %d planned invitations dropped unsent: their candidate's data was erased", PIPELINE,
             len(application_ids))


@dataclass(frozen=True)
class Refusal:
    """The platform refused an invitation: its (masked) reason and the fields it named."""

    reason: str
    fields: list[str]


def _refuse(conn: sa.Connection, final: list[tuple[sa.Row[Any], Refusal]], run_id: str, now: datetime) -> None:
    """Move invitations refused ``max_attempts`` times to ``refused`` and list them in sync_quarantine."""
    inv = store.invitations
    conn.execute(
        sa.update(inv).where(inv.c.application_id == sa.bindparam("b_app"), inv.c.state == store.PLANNED)
        .values(state=store.REFUSED, refused_at=now),
        [{"b_app": row.application_id} for row, _ in final],
    )
    conn.execute(sa.insert(store.sync_quarantine), [
        {"run_id": run_id, "stream": "invitations", "record_key": row.application_id, "rule": "invitation_refused",
         "field": ",".join(refusal.fields) or None,
         "message": f"invitation for application {row.application_id} refused {row.refusals + 1} times: "
                    f"{refusal.reason}"[:2000],
         "raw": {"application_id": row.application_id, "candidate_id": row.candidate_id,
                 "refusals": row.refusals + 1, "fields": refusal.fields},
         "created_at": now}
        for row, refusal in final
    ])
    for row, refusal in final:
        log.warning("invitation for application %s refused %d times, not retried until the record or config "
                    "changes: %s", row.application_id, row.refusals + 1, refusal.reason)


# ------------------------------------------------------------------------------- 4. write-back

WRITE_BACK_VALUES = {
    "status": "platform_status", "interview_url": "interview_url", "invitation_id": "platform_invitation_id",
    "deadline": "deadline", "plan_id": "plan_id", "plan_version": "plan_version",
}


def _write_back_value(row: sa.Row[Any], source: Any) -> Any:
    if isinstance(source, Mapping):
        return source.get("const")
    value = getattr(row, WRITE_BACK_VALUES[source])
    return to_rfc3339(value) if isinstance(value, datetime) else value


def _source_key(application_id: str) -> Any:
    return int(application_id) if application_id.isdigit() else application_id


def _owned_by(keys: SourceKeys, column: Any) -> sa.ColumnElement[bool]:
    """SQL: hub keys in ``column`` that came from the source of ``keys``."""
    if keys.prefix:
        return column.startswith(keys.prefix, autoescape=True)
    return sa.and_(sa.true(), *(~column.startswith(other, autoescape=True) for other in keys.others if other))


def write_back(
    sf: SourceSystem, engine: Engine, config: SyncConfig, *, run_id: str, now: datetime | None = None,
    application_ids: Sequence[str] | None = None, keys: SourceKeys | None = None,
) -> dict[str, int]:
    """Write status and link of ``posted`` invitations back to the HR system, checking each record.

    Every posted invitation of this source (``keys`` tells which hub keys are its own) by default,
    or only those of ``application_ids``. The source sees its own keys, never the hub's qualifier.
    """
    keys = keys or SourceKeys()
    inv = store.invitations
    query = (
        sa.select(inv.c.application_id, inv.c.platform_status, inv.c.interview_url,
                  inv.c.platform_invitation_id, inv.c.deadline, inv.c.plan_id, inv.c.plan_version)
        .where(inv.c.state == store.POSTED, _owned_by(keys, inv.c.application_id)).order_by(inv.c.application_id)
    )
    with engine.connect() as conn:
        if application_ids is None:
            posted = list(conn.execute(query))
        else:
            posted = [row for chunk in _chunks(list(application_ids), 500)
                      for row in conn.execute(query.where(inv.c.application_id.in_(list(chunk))))]
    done = failed = 0
    for chunk in _chunks(posted, config.write_back_batch_size):
        records = [
            {config.write_back_key: _source_key(keys.local(row.application_id)),
             **{target: _write_back_value(row, source) for target, source in config.write_back_fields.items()}}
            for row in chunk
        ]
        try:
            result = sf.upsert(config.write_back_entity, records, config.write_back_key)
            ok_keys = {str(keys.qualify(key)) for key in result.ok}
            errors = {str(keys.qualify(key)): str(message) for key, message in result.failed}
        except AuthenticationError:  # refused credentials fail every batch: stop, rows stay posted
            raise
        except ConnectorError as exc:
            ok_keys, errors = set(), {row.application_id: f"{type(exc).__name__}: {exc}" for row in chunk}
        stamp = now or store.utcnow()
        ok_rows = [{"b_app": r.application_id, "written_back_at": stamp} for r in chunk if r.application_id in ok_keys]
        bad_rows = [
            {"b_app": r.application_id,
             "last_error": mask_pii("write-back: " + errors.get(r.application_id, "no per-record status returned"))[:1000]}
            for r in chunk if r.application_id not in ok_keys
        ]
        with engine.begin() as conn:
            if ok_rows:
                conn.execute(
                    sa.update(inv).where(inv.c.application_id == sa.bindparam("b_app"), inv.c.state == store.POSTED)
                    .values(state=store.WRITTEN_BACK, written_back_at=sa.bindparam("written_back_at"), last_error=None),
                    ok_rows,
                )
            if bad_rows:
                conn.execute(
                    sa.update(inv).where(inv.c.application_id == sa.bindparam("b_app"))
                    .values(last_error=sa.bindparam("last_error")),
                    bad_rows,
                )
        done += len(ok_rows)
        failed += len(bad_rows)
        for row in bad_rows:
            log.warning("write-back of application %s failed: %s", row["b_app"], row["last_error"])
    log.info("%s: %d written back, %d failed (left posted, retried next run)", PIPELINE, done, failed)
    return {"written_back": done, "write_back_failed": failed}


# ---------------------------------------------------------------------------------- the loop


def start_run(engine: Engine, run_id: str, now: datetime | None = None) -> None:
    """Record that run ``run_id`` started (idempotent: a retried task keeps the first start time)."""
    with engine.begin() as conn:
        upsert(conn, store.sync_runs, [{"run_id": run_id, "pipeline": PIPELINE, "status": "running",
                                        "started_at": now or store.utcnow()}], key=["run_id"], update=[])


def finish_run(engine: Engine, summary: SyncSummary, status: str = "succeeded", error: str | None = None) -> None:
    """Store the run's final status and counts."""
    finished = store.utcnow()
    summary.finished_at = finished.isoformat()
    with engine.begin() as conn:
        started = conn.execute(
            sa.select(store.sync_runs.c.started_at).where(store.sync_runs.c.run_id == summary.run_id)
        ).scalar()
        summary.started_at = (started or finished).isoformat()
        upsert(conn, store.sync_runs, [{
            "run_id": summary.run_id, "pipeline": PIPELINE, "status": status, "started_at": started or finished,
            "finished_at": finished, "counts": summary.to_dict(), "error": error,
        }], key=["run_id"])


def mark_failed(engine: Engine, run_id: str, error: str) -> None:
    """Record that run ``run_id`` failed (a DAG task gave up); the error text is PII-masked."""
    now = store.utcnow()
    runs = store.sync_runs
    with engine.begin() as conn:
        upsert(conn, runs, [{"run_id": run_id, "pipeline": PIPELINE, "status": "running", "started_at": now}],
               key=["run_id"], update=[])
        conn.execute(sa.update(runs).where(runs.c.run_id == run_id)
                     .values(status="failed", finished_at=now, error=mask_pii(error)[:2000]))


COUNT_FIELDS = ("triggered", "erased", "planned", "rearmed", "invited", "invite_failed", "refused", "written_back",
                "write_back_failed")


def record_summary(
    engine: Engine, run_id: str, streams: Mapping[str, Mapping[str, Any]], counts: Mapping[str, int],
) -> SyncSummary:
    """Assemble the summary of a run whose steps ran separately (the DAG's tasks) and store it."""
    summary = SyncSummary(run_id=run_id, streams={name: StreamCounts(**c) for name, c in streams.items()})
    for name in COUNT_FIELDS:
        setattr(summary, name, int(counts.get(name, 0)))
    finish_run(engine, summary)
    return summary


@dataclass(frozen=True)
class SyncSource:
    """One source of a run: the system, the sync config with its mapping and write-back, its key qualifier."""

    system: SourceSystem
    config: SyncConfig
    keys: SourceKeys = field(default_factory=SourceKeys)

    @property
    def name(self) -> str:
        """The source's name (``successfactors``, ``greenhouse``, …)."""
        return self.system.name


def merge_counts(into: dict[str, StreamCounts], more: Mapping[str, StreamCounts]) -> dict[str, StreamCounts]:
    """Add the stream counts of another source to ``into`` (one total per stream name)."""
    for name, counts in more.items():
        total = into.setdefault(name, StreamCounts())
        for attr in ("read", "loaded", "quarantined", "deduplicated", "deleted", "restored", "erased"):
            setattr(total, attr, getattr(total, attr) + getattr(counts, attr))
        total.cursor = counts.cursor or total.cursor
        total.key_check = counts.key_check or total.key_check
    return into


def run_candidate_sync(
    sf: SourceSystem | Sequence[SyncSource], platform: InterviewPlatform, engine: Engine, config: SyncConfig, *,
    now: datetime | None = None, run_id: str | None = None, vault: Vault | None = None,
) -> SyncSummary:
    """Run the whole loop once: extract/load → plan → post → write back. Safe to rerun at any point.

    ``sf`` is one source (read with ``config``) or several :class:`SyncSource` feeding one hub,
    each written back with its own config. ``vault`` holds the candidates' data keys (default: the
    local keyring under HRBRIDGE_HOME with the keys in ``engine``).
    """
    sources = list(sf) if isinstance(sf, Sequence) else [SyncSource(sf, config)]
    run_id = run_id or new_run_id(now)
    start_run(engine, run_id, now)
    summary = SyncSummary(run_id=run_id)
    try:
        vault = vault or default_vault(engine)
        for source in sources:
            loaded = extract_and_load(source.system, engine, source.config, run_id=run_id, now=now, vault=vault,
                                      keys=source.keys)
            if len(sources) > 1:
                summary.sources[source.name] = loaded
            merge_counts(summary.streams, loaded)
        planned = plan_invitations(engine, config, run_id=run_id, now=now, vault=vault)
        # invitations posted by earlier runs whose write-back failed: retried first, once
        written = {"written_back": 0, "write_back_failed": 0}
        for source in sources:
            _add(written, write_back(source.system, engine, source.config, run_id=run_id, now=now, keys=source.keys))
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="write-back") as writer:
            pending: list[Future[dict[str, int]]] = []

            def write_back_batch(ids: list[str]) -> None:
                for source in sources:
                    mine = [i for i in ids if source.keys.owns(i)]
                    if mine:
                        pending.append(writer.submit(write_back, source.system, engine, source.config, run_id=run_id,
                                                     now=now, application_ids=mine, keys=source.keys))

            posted = post_invitations(platform, engine, config, run_id=run_id, now=now, on_posted=write_back_batch,
                                      vault=vault)
            for future in pending:
                _add(written, future.result())
    except Exception as exc:
        finish_run(engine, summary, "failed", mask_pii(f"{type(exc).__name__}: {exc}")[:2000])
        raise
    summary.triggered, summary.planned, summary.rearmed = planned["triggered"], planned["planned"], planned["rearmed"]
    summary.erased = planned["erased"]
    summary.invited, summary.invite_failed, summary.refused = posted["invited"], posted["invite_failed"], posted["refused"]
    summary.written_back, summary.write_back_failed = written["written_back"], written["write_back_failed"]
    finish_run(engine, summary)
    return summary


def _add(total: dict[str, int], more: Mapping[str, int]) -> None:
    for key, value in more.items():
        total[key] = total.get(key, 0) + value
