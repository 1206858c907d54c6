"""The retention_purge loop: plan, run and verify deletions with the settings of this installation.

Wires :mod:`governance.retention` and :mod:`governance.audit` to hrbridge: the hub and archive
engines from ``HRBRIDGE_DB_URL`` / ``HRBRIDGE_ARCHIVE_URL``, ``configs/retention.yaml``, the
deletion-log keys under ``$HRBRIDGE_HOME/keys`` (pepper overridable with
``HRBRIDGE_AUDIT_PEPPER``), the key vault for crypto-shredding and the interview platform client
from ``HRBRIDGE_INTERVIEW_*`` for media deletion. Every function is callable without Airflow.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from connectors.sql import make_engine
from governance.audit import (
    AuditKeyError,
    AuditKeys,
    DeletionLog,
    VerifyReport,
    load_public_key,
    verify_chain,
)
from governance.audit.anchor import (
    ANCHOR_ENV,
    AnchorError,
    AnchorTarget,
    FileAnchor,
    anchor_head,
    anchor_target,
)
from governance.audit.export import export_log
from governance.retention import (
    CRYPTO_SYSTEM,
    ExternalEraser,
    RetentionConfig,
    RetentionExecutor,
    Shredder,
    parse_config,
    platform_eraser,
)
from hrbridge.settings import Settings, load_config, load_settings

log = logging.getLogger(__name__)
PUBLIC_KEY_ENV = "HRBRIDGE_AUDIT_PUBLIC_KEY"


def key_dir(settings: Settings) -> Path:
    """Where the deletion-log signing key, its public key and the pepper live with the local provider
    (``HRBRIDGE_KEY_PROVIDER=hub`` keeps them in the hub: :mod:`hrbridge.shared_secrets`)."""
    return settings.home / "keys"


def audit_keys(settings: Settings | None = None) -> AuditKeys:
    """The deletion-log keys of this installation, for commands that write (created 0600 on first use).

    A signing key is created only for a log nobody has signed yet. When the log has signed heads
    and the key file is gone, this refuses and says which key the log trusts: a silently created
    key would sign heads that no single public key verifies. A rollover interrupted after its
    commit is finished first.
    """
    from governance.audit.keys import SIGNING_KEY_FILE
    from governance.audit.log import trusted_signer
    from governance.audit.rollover import finish_pending
    from hrbridge.shared_secrets import default_secret_store

    settings = (settings or load_settings()).ensure_dirs()
    store = default_secret_store(settings)
    hub = _hub(settings)
    finish_pending(hub, store)
    if store.get(SIGNING_KEY_FILE) is None:
        with hub.connect() as conn:
            trusted = trusted_signer(conn)
        if trusted is not None:
            raise AuditKeyError(
                f"no signing key in {store.where(SIGNING_KEY_FILE)}, but the deletion log is signed with key {trusted}: "
                "restore that key from your backup of the keys folder; hrbridge never creates a new key for a log "
                "that already has signed heads")
    return AuditKeys.load_or_create(store)


def trusted_public_key(settings: Settings, public_key_path: Path | None = None) -> Ed25519PublicKey:
    """The key ``audit verify`` trusts: ``public_key_path``, else ``HRBRIDGE_AUDIT_PUBLIC_KEY``, else the
    installation's exported ``audit-signing.pub`` (``keys/`` under home, or the hub sealed by the KEK
    with ``HRBRIDGE_KEY_PROVIDER=hub``). Never creates one: none of these is an error."""
    from governance.audit.keys import PUBLIC_KEY_FILE, load_public_key_from
    from hrbridge.shared_secrets import default_secret_store

    env_path = os.environ.get(PUBLIC_KEY_ENV)
    path = public_key_path or (Path(env_path) if env_path else None)
    if path is not None:
        return load_public_key(path)
    store = default_secret_store(settings, read_only=True)
    key = load_public_key_from(store)
    if key is None:
        raise AuditKeyError(
            f"no trusted public key: pass --public-key FILE (the key the auditor keeps) or set {PUBLIC_KEY_ENV}; "
            f"{store.where(PUBLIC_KEY_FILE)} does not exist and verify never creates a key")
    return key


def retention_config(settings: Settings | None = None) -> RetentionConfig:
    """The parsed and validated ``configs/retention.yaml``."""
    settings = settings or load_settings()
    return parse_config(load_config("retention", settings), str(settings.configs_dir / "retention.yaml"))


def _hub(settings: Settings) -> Any:
    from hrbridge.store import hub_engine

    return hub_engine(settings)


def _archive(settings: Settings, hub: Any) -> Any:
    if settings.archive_url == settings.db_url:
        return hub
    return make_engine(settings.archive_url)


def default_shredder(settings: Settings, hub: Any) -> Shredder | None:
    """The key vault of this installation, or None when it cannot be opened (shreds stay pending)."""
    try:
        from hrbridge.pipelines.pii import default_vault

        return default_vault(hub, settings.home, settings=settings)
    except Exception as exc:  # noqa: BLE001 - no vault means crypto-shreds wait, not a crash
        log.warning("key vault unavailable, crypto-shreds stay pending: %s", exc)
        return None


def default_erasers(env: Mapping[str, str] | None = None) -> dict[str, ExternalEraser]:
    """External erasers from the environment: the interview platform when HRBRIDGE_INTERVIEW_* are set."""
    env = os.environ if env is None else env
    erasers: dict[str, ExternalEraser] = {}
    if env.get("HRBRIDGE_INTERVIEW_URL") and env.get("HRBRIDGE_INTERVIEW_API_KEY"):
        from connectors.http import RetryPolicy
        from hrbridge.connections import interview_platform_from_env

        platform = interview_platform_from_env(env, retry=RetryPolicy(max_attempts=3, total_budget=30))
        erasers["interview_platform"] = platform_eraser(platform)
    return erasers


def build_executor(settings: Settings | None = None, *, erasers: Mapping[str, ExternalEraser] | None = None,
                   shredder: Shredder | None = None, use_defaults: bool = True) -> RetentionExecutor:
    """A retention executor over this installation's hub and archive databases.

    ``erasers`` and ``shredder`` override the defaults (vault, interview platform from env);
    ``use_defaults=False`` uses only what is passed.
    """
    settings = (settings or load_settings()).ensure_dirs()
    hub = _hub(settings)
    archive = _archive(settings, hub)
    config = retention_config(settings)
    deletion_log = DeletionLog(hub, audit_keys(settings))
    with hub.connect() as conn:
        deletion_log.check_signer(conn)  # a replaced key is refused before anything is deleted
    if use_defaults:
        shredder = shredder if shredder is not None else default_shredder(settings, hub)
        erasers = {**default_erasers(), **(erasers or {})}
    from hrbridge.artefacts import artefact_store

    return RetentionExecutor(hub, archive, config, deletion_log, shredder=shredder, erasers=erasers,
                             artefacts=artefact_store(settings, engine=hub))


def plan_retention(settings: Settings | None = None, now: datetime | None = None, **options: Any) -> dict[str, Any]:
    """Dry run: counts per store and category of what a run would delete now, subjects pseudonymised.

    A plan calls no other system, so the vault and the platform client are not opened by default.
    """
    options.setdefault("use_defaults", False)
    return build_executor(settings, **options).plan(now)


def anchor_config(settings: Settings | None = None) -> AnchorTarget | None:
    """The anchor target the operator configured (``HRBRIDGE_AUDIT_ANCHOR``: a file path), or None."""
    spec = os.environ.get(ANCHOR_ENV, "").strip()
    return anchor_target(spec) if spec else None


def anchor_log(settings: Settings | None = None, context: str = "") -> dict[str, Any] | None:
    """Append the deletion log's latest signed head to the configured anchor target.

    Without a target nothing is written and a warning says that entries cut from the end cannot be
    detected. A target that cannot be written raises :class:`AnchorError` naming ``context`` (what
    already happened) and how to anchor again.
    """
    settings = settings or load_settings()
    target = anchor_config(settings)
    if target is None:
        log.warning("no audit anchor configured (%s): entries cut from the end of the deletion log cannot be "
                    "detected; see docs/security.md", ANCHOR_ENV)
        return None
    try:
        record = anchor_head(_hub(settings), target)
    except AnchorError as exc:
        raise AnchorError(f"{context}{exc}; fix it and run `hrbridge audit anchor`") from exc
    return None if record is None else {"target": target.name, "head_seq": record["head_seq"],
                                         "run_id": record["run_id"]}


def run_retention(settings: Settings | None = None, now: datetime | None = None,
                  on_batch: Callable[[str, int], None] | None = None, **options: Any) -> dict[str, Any]:
    """Execute retention (resuming an interrupted run), then anchor the log's head; returns counts and the run id."""
    settings = settings or load_settings()
    result = build_executor(settings, **options).run(now, on_batch=on_batch)
    result["anchor"] = anchor_log(settings, f"retention run {result['run_id']} completed "
                                            f"({result['log_entries']} log entries) but its head was not anchored: ")
    return result


def verify_deletion_log(settings: Settings | None = None, public_key_path: Path | None = None,
                        anchor_path: Path | None = None) -> VerifyReport:
    """Recompute the deletion log's chain and signed heads; reads only (no key, file or table is created).

    The trusted public key is ``public_key_path``, else ``HRBRIDGE_AUDIT_PUBLIC_KEY``, else the
    installation's own exported key (see :func:`trusted_public_key`). The anchored heads checked
    are those in ``anchor_path`` (the auditor's copy), else in the configured ``HRBRIDGE_AUDIT_ANCHOR``
    when that file exists.
    """
    from hrbridge.store import hub_engine

    settings = settings or load_settings()
    public_key = trusted_public_key(settings, public_key_path)
    anchor = FileAnchor(anchor_path) if anchor_path is not None else anchor_config(settings)
    if anchor_path is None and isinstance(anchor, FileAnchor) and not anchor.path.exists():
        anchor = None  # configured, nothing anchored yet
    return verify_chain(hub_engine(settings, create=False), public_key, anchor=anchor)


def export_deletion_log(date_from: date, date_to: date, fmt: str, out: Path | None,
                        settings: Settings | None = None, lang: str | None = None) -> dict[str, Any]:
    """Write the auditor's view of a date range (csv, json or html) with the chain status on top.

    To the file ``out``; without one, into the artefact store as ``audit-export/deletion-log_<from>_<to>_<time>.<fmt>``
    (``key`` in the result), where any api-server can serve it. Texts are in ``lang`` (default
    ``HRBRIDGE_LANG``, else the locale) from the pages' catalogue, times in ``HRBRIDGE_TZ``.
    """
    from hrbridge.i18n import report_translator

    settings = (settings or load_settings()).ensure_dirs()
    t = report_translator(lang, settings)
    report = verify_deletion_log(settings)
    if out is not None:
        entries = export_log(_hub(settings), report, date_from, date_to, fmt, out, t)
        return {"entries": entries, "out": str(out), "key": None, "format": fmt, "chain_ok": report.ok}
    import tempfile
    from datetime import UTC, datetime

    from hrbridge.artefacts import ArtefactError, artefact_store

    types = {"csv": "text/csv; charset=utf-8", "json": "application/json", "html": "text/html; charset=utf-8"}
    with tempfile.TemporaryDirectory(prefix="hrbridge-export-") as folder:
        path = Path(folder) / f"export.{fmt}"
        entries = export_log(_hub(settings), report, date_from, date_to, fmt, path, t)
        if path.stat().st_size > settings.artefact_max_bytes:
            raise ArtefactError(f"the export is {path.stat().st_size:,} bytes, more than the artefact limit of "
                                f"{settings.artefact_max_bytes:,} (HRBRIDGE_ARTEFACT_MAX_BYTES): write it to a file "
                                "with --out, or export a shorter date range")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        key = artefact_store(settings, engine=_hub(settings)).put(
            "audit-export", f"deletion-log_{date_from}_{date_to}_{stamp}.{fmt}", path.read_bytes(), types[fmt],
            {"from": str(date_from), "to": str(date_to), "entries": entries, "chain_ok": report.ok, "lang": t.lang})
    return {"entries": entries, "out": None, "key": key, "format": fmt, "chain_ok": report.ok}


__all__ = [
    "CRYPTO_SYSTEM", "anchor_log", "audit_keys", "build_executor", "export_deletion_log", "plan_retention",
    "retention_config", "run_retention", "verify_deletion_log",
]
