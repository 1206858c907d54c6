"""Small tables and a retention configuration for retention and audit tests.

The tables are the tests' own (``t_*``), declared through the same YAML-shaped configuration the
real stores use, so the executor is exercised exactly as in production.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.engine import Engine

from connectors.sql import make_engine
from governance.audit import AuditKeys, DeletionLog
from governance.retention import RetentionExecutor, parse_config

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

hub_meta = sa.MetaData()
t_candidates = sa.Table(
    "t_candidates", hub_meta,
    sa.Column("candidate_id", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(100)),
    sa.Column("updated_at", sa.DateTime(timezone=True)),
)
t_applications = sa.Table(
    "t_applications", hub_meta,
    sa.Column("application_id", sa.String(40), primary_key=True),
    sa.Column("candidate_id", sa.String(40), nullable=False, index=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("decided_at", sa.DateTime(timezone=True)),
)
t_results = sa.Table(
    "t_results", hub_meta,
    sa.Column("result_id", sa.String(40), primary_key=True),
    sa.Column("candidate_id", sa.String(40), nullable=False, index=True),
    sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("video_ref", sa.String(200)),
    sa.Column("clips", sa.JSON, nullable=False),
)
archive_meta = sa.MetaData()
t_portraits = sa.Table(
    "t_portraits", archive_meta,
    sa.Column("candidate_id", sa.String(40), primary_key=True),
    sa.Column("summary", sa.String(200)),
    sa.Column("hired_at", sa.DateTime(timezone=True)),
)

BASIS_EXPIRED = "PIPL Art. 47(1)(2) retention period expired"
CONFIG: dict[str, Any] = {
    "batch_size": 3,
    "after_check": True,
    "stores": [
        {"category": "interview_media", "store": "hub", "table": "t_results", "subject_column": "candidate_id",
         "timestamp_column": "completed_at", "columns": {"video_ref": None, "clips": []}},
        {"category": "candidate_profile", "store": "hub", "table": "t_candidates",
         "subject_column": "candidate_id", "timestamp_column": "updated_at"},
        {"category": "applications", "store": "hub", "table": "t_applications",
         "subject_column": "candidate_id", "timestamp_column": "decided_at"},
        {"category": "interview_results", "store": "hub", "table": "t_results", "subject_column": "candidate_id",
         "timestamp_column": "completed_at"},
        {"category": "interview_portrait", "store": "archive", "table": "t_portraits",
         "subject_column": "candidate_id", "timestamp_column": "hired_at", "on_request": "keep"},
    ],
    "external": [{"system": "interview_platform", "categories": ["interview_media"]}],
    "policies": [
        {"name": "interview-media-30d", "categories": ["interview_media"], "retention_days": 30,
         "action": "anonymise", "legal_basis": BASIS_EXPIRED},
        {"name": "not-hired-180d", "categories": ["candidate_profile", "applications", "interview_results"],
         "retention_days": 180, "action": "delete", "legal_basis": BASIS_EXPIRED,
         "clock": {"store": "hub", "table": "t_applications", "subject_column": "candidate_id",
                   "timestamp_column": "decided_at", "exclude": {"column": "status", "in": ["hired"]}}},
    ],
    "requests": {"due_days": 15, "external": ["interview_platform"], "crypto_shred": False,
                 "legal_basis": "GDPR Art. 17(1)(b) consent withdrawn"},
}


def create_tables(hub: Engine, archive: Engine) -> None:
    """Create the test tables (hub and archive may be the same database)."""
    hub_meta.create_all(hub)
    archive_meta.create_all(archive)


def add_candidate(hub: Engine, archive: Engine | None, candidate_id: str, *, status: str = "rejected",
                  decided_days_ago: int = 200, interview_days_ago: int = 200, results: int = 1,
                  portrait: bool = False) -> None:
    """One candidate with an application, ``results`` interview results and optionally a portrait."""
    decided = NOW - timedelta(days=decided_days_ago)
    done = NOW - timedelta(days=interview_days_ago)
    with hub.begin() as conn:
        conn.execute(t_candidates.insert().values(candidate_id=candidate_id, name=f"Name {candidate_id}",
                                                  updated_at=decided))
        conn.execute(t_applications.insert().values(application_id=f"A-{candidate_id}", candidate_id=candidate_id,
                                                    status=status, decided_at=decided))
        for n in range(results):
            conn.execute(t_results.insert().values(
                result_id=f"R-{candidate_id}-{n}", candidate_id=candidate_id, completed_at=done, score=3.5,
                video_ref=f"video/{candidate_id}/{n}.mp4", clips=[f"clip-{n}"]))
    if portrait and archive is not None:
        with archive.begin() as conn:
            conn.execute(t_portraits.insert().values(candidate_id=candidate_id, summary="strong", hired_at=decided))


def count(engine: Engine, table: sa.Table, **where: Any) -> int:
    """Rows of ``table`` matching equality conditions."""
    query = sa.select(sa.func.count()).select_from(table)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def make_executor(hub: Engine, archive: Engine, key_dir: Path, config: dict[str, Any] | None = None,
                  **kwargs: Any) -> RetentionExecutor:
    """An executor over the test tables with a deletion log whose keys live in ``key_dir``."""
    keys = AuditKeys.load_or_create(key_dir, env={"HRBRIDGE_AUDIT_PEPPER": "test-pepper"})
    return RetentionExecutor(hub, archive, parse_config(config or CONFIG, "test-retention.yaml"),
                             DeletionLog(hub, keys), **kwargs)


class RecordingEraser:
    """An external system double that records calls and fails while ``failing`` is set."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.failing = False

    def __call__(self, subject_id: str) -> None:
        self.calls.append(subject_id)
        if self.failing:
            raise ConnectionError(f"platform unreachable for {subject_id}")


def expired_home(config_dir: Path, monkeypatch: pytest.MonkeyPatch, candidate_ids: list[str]) -> tuple[Engine, Engine]:
    """Point hrbridge at a retention.yaml for the factory tables and add ``candidate_ids``, all expired.

    Returns the hub and archive engines of the current HRBRIDGE_HOME.
    """
    from hrbridge.settings import load_settings

    config_dir.mkdir()
    (config_dir / "retention.yaml").write_text(yaml.safe_dump(CONFIG), encoding="utf-8")
    monkeypatch.setenv("HRBRIDGE_CONFIG_DIR", str(config_dir))
    monkeypatch.delenv("HRBRIDGE_INTERVIEW_URL", raising=False)
    settings = load_settings().ensure_dirs()
    hub, archive = make_engine(settings.db_url), make_engine(settings.archive_url)
    create_tables(hub, archive)
    for cid in candidate_ids:
        add_candidate(hub, archive, cid, decided_days_ago=400, interview_days_ago=400)
    return hub, archive


def tamper_log(engine: Engine, *statements: str | tuple[str, dict[str, object]]) -> None:
    """Bypass the append-only guard the way a database superuser could, then restore it."""
    tables = ("deletion_log", "deletion_log_heads")
    with engine.begin() as conn:
        for table in tables:
            if engine.dialect.name == "postgresql":
                conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only")
            else:
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_update")
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        for statement in statements:
            sql, params = statement if isinstance(statement, tuple) else (statement, {})
            conn.execute(sa.text(sql), params)
        if engine.dialect.name == "postgresql":
            for table in tables:
                conn.exec_driver_sql(f"ALTER TABLE {table} ENABLE TRIGGER {table}_append_only")
