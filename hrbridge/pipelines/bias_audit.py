"""The bias audit loop: scored applications of a period × sealed categories → rates, ratios, summary, notice.

Callable from the CLI (``hrbridge audit bias``), the monthly ``bias_audit`` DAG and tests. Categories
are read through :class:`governance.access.SecureReader` as the configured audit role (decrypted only
for a role granted ``audit.categories``); scores come from ``interview_results`` (the latest result
per application completed in the period), without the applications of candidates who asked for
another process (their AI score is not used). The computation is :mod:`transforms.bias_audit`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from connectors.sql import upsert
from hrbridge.consent.scores import ai_score_usable
from hrbridge.settings import ConfigError, Settings, load_config, load_settings
from hrbridge.store.consent import audit_categories
from hrbridge.store.results import interview_results
from transforms.bias_audit import AuditResult, audit_population, summary

log = logging.getLogger("hrbridge.pipelines.bias_audit")
MAX_VALUE = 64


class BiasBelowFloor(Exception):
    """An impact ratio of the audit is below the floor: the run fails and the notice goes out."""


@dataclass(frozen=True)
class BiasConfig:
    """``configs/bias_audit.yaml`` resolved."""

    categories: tuple[str, ...]
    intersections: int
    floor: float
    min_share: float
    pass_marks: Mapping[str, Any]
    role: str

    @classmethod
    def load(cls, settings: Settings | None = None) -> BiasConfig:
        """Read and check the file; ConfigError names the key at fault."""
        doc = load_config("bias_audit", settings) or {}
        try:
            config = cls(tuple(str(c) for c in doc.get("categories") or ()), int(doc.get("intersections", 2)),
                         float(doc.get("floor", 0.8)), float(doc.get("min_share", 0.02)),
                         dict(doc.get("pass_marks") or {}), str(doc.get("role") or "auditor"))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"bias_audit.yaml: {exc}") from exc
        if not config.categories or not 0 < config.floor <= 1 or not 0 <= config.min_share < 1:
            raise ConfigError("bias_audit.yaml: needs categories, a floor in (0, 1] and min_share in [0, 1)")
        return config


def _access(engine: Engine, settings: Settings, role: str) -> tuple[Any, Any]:
    from governance.access import Policy
    from hrbridge.pipelines.pii import default_vault

    # The installation's vault: the configured key provider (local keyring or the hub's sealed
    # master keys, so any worker reads the categories) and the erased-person pseudonyms.
    return Policy.from_yaml(settings.configs_dir / "roles.yaml"), default_vault(engine, settings.home, settings=settings)


def store_categories(engine: Engine, rows: Iterable[Mapping[str, Any]], *, role: str, source: str,
                     settings: Settings | None = None, now: datetime | None = None) -> int:
    """Seal and store candidates' categories (only the configured ones); ``role`` must be granted writing them.

    Each row has ``candidate_id`` and category values; an empty value is stored as unknown. Values
    are bounded; the whole set is one vault token under the candidate's key.
    """
    settings = settings or load_settings()
    config = BiasConfig.load(settings)
    policy, vault = _access(engine, settings, role)
    policy.require(role, "audit.categories", "write")
    now = now or datetime.now(UTC)
    prepared = []
    for number, row in enumerate(rows, 1):
        candidate = str(row.get("candidate_id") or "").strip()
        if not candidate or len(candidate) > 128:
            raise ConfigError(f"categories row {number}: candidate_id missing or longer than 128 characters")
        values = {c: str(row.get(c) or "").strip()[:MAX_VALUE] or "unknown" for c in config.categories}
        prepared.append({"candidate_id": candidate, "categories": json.dumps(values, ensure_ascii=False),
                         "source": source[:64], "recorded_at": now})
    sealed = vault.encrypt_rows(prepared, ["categories"], table="audit_categories", subject_key="candidate_id",
                                record_key="candidate_id")
    with engine.begin() as conn:
        for start in range(0, len(sealed), 500):
            upsert(conn, audit_categories, sealed[start:start + 500], key=["candidate_id"])
    return len(sealed)


def month_bounds(period: str) -> tuple[datetime, datetime]:
    """``YYYY-MM`` → [first instant of the month, first instant of the next) in UTC."""
    try:
        first = date.fromisoformat(f"{period}-01")
    except ValueError as exc:
        raise ConfigError(f"period {period!r} is not a month (YYYY-MM)") from exc
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return (datetime(first.year, first.month, 1, tzinfo=UTC),
            datetime(following.year, following.month, 1, tzinfo=UTC))


def load_population(engine: Engine, start: datetime, end: datetime, config: BiasConfig,
                    settings: Settings | None = None) -> pd.DataFrame:
    """One row per scored application of [start, end): job family, score and the categories (as the audit role)."""
    from governance.access import Principal, SecureReader

    settings = settings or load_settings()
    with engine.connect() as conn:
        scores = pd.DataFrame(conn.execute(
            sa.select(interview_results.c.application_id, interview_results.c.candidate_id,
                      interview_results.c.job_family, interview_results.c.overall_score,
                      interview_results.c.completed_at)
            .where(interview_results.c.completed_at >= start, interview_results.c.completed_at < end)
            .where(ai_score_usable(interview_results.c.application_id))
            .order_by(interview_results.c.completed_at)).mappings().all(),
            columns=["application_id", "candidate_id", "job_family", "overall_score", "completed_at"])
    scores = scores.drop_duplicates("application_id", keep="last")
    policy, vault = _access(engine, settings, config.role)
    reader = SecureReader(engine, policy, vault, Principal(config.role))
    sealed = reader.read("audit_categories", resources=["audit.categories"],
                         subjects=sorted(set(scores["candidate_id"])) or None)
    values = pd.DataFrame([{"candidate_id": c, **json.loads(v)} for c, v in zip(
        sealed.get("candidate_id", []), sealed.get("categories", []), strict=True) if v],
        columns=["candidate_id", *config.categories])
    return scores.merge(values[["candidate_id", *config.categories]], on="candidate_id", how="left")


def run_bias_audit(period: str, *, settings: Settings | None = None, engine: Engine | None = None,
                   store: bool = True) -> dict[str, Any]:
    """Audit one month: the result (JSON-ready), the summaries' artefact keys and the flags."""
    from hrbridge.store import hub_engine

    settings = settings or load_settings()
    config = BiasConfig.load(settings)
    engine = engine or hub_engine(settings)
    start, end = month_bounds(period)
    population = load_population(engine, start, end, config, settings)
    result = audit_population(population, config.categories, period=period, pass_marks=config.pass_marks,
                              floor=config.floor, min_share=config.min_share, max_order=config.intersections)
    out: dict[str, Any] = {"period": period, "people": len(population), "flags": result.flags(), "artefacts": []}
    if store:
        out["artefacts"] = store_report(result, settings, engine)
    log.info("bias audit %s: %d scored applications, %d impact ratios below %g", period, len(population),
             len(out["flags"]), config.floor)
    return {**out, "result": result.to_dict()}


def store_report(result: AuditResult, settings: Settings, engine: Engine) -> list[str]:
    """Keep the JSON record and the Chinese and English summaries in the artefact store; returns their keys."""
    from hrbridge.artefacts import artefact_store, safe_name

    store = artefact_store(settings, engine)
    name = safe_name(result.period)
    return [
        store.put("bias-audit", f"{name}/audit.json", json.dumps(result.to_dict(), ensure_ascii=False,
                                                                  indent=2).encode(), "application/json"),
        store.put("bias-audit", f"{name}/summary.zh-CN.md", summary(result, "zh-CN").encode(), "text/markdown"),
        store.put("bias-audit", f"{name}/summary.en-US.md", summary(result, "en-US").encode(), "text/markdown"),
    ]


def disparity_notice(period: str, flags: list[dict[str, Any]]) -> Any:
    """The notice that impact ratios are below the floor (groups and ratios only, never a person)."""
    from hrbridge.operations.notify import Notice

    listed = "; ".join(f"{f['job_family']} {f['measure']} {' × '.join(f['group'])}: {f['impact_ratio']:.3f}"
                       for f in flags[:20])
    return Notice(event="bias_audit_below_floor",
                  title=f"hrbridge: bias audit {period}: {len(flags)} impact ratio(s) below the floor",
                  fields={"Period": period, "Flags": listed, "Report": f"bias-audit/{period}/"})


def announce(period: str, flags: list[dict[str, Any]], settings: Settings | None = None) -> dict[str, str]:
    """Send the disparity notice on every channel of ``configs/notifications.yaml``; returns each outcome."""
    from hrbridge.operations.notify import broadcast, channel_notifiers

    notice = disparity_notice(period, flags)
    return broadcast(notice, channel_notifiers(settings, build=lambda _context: notice))
