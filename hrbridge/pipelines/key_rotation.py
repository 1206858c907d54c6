"""Scheduled master-key epochs: what makes crypto-shredding reach copies of the hub, within a window.

A copy of the hub (a backup, a dump, a replica) holds each subject's data key wrapped by the master
key of its epoch. Shredding destroys the live wrapped key only; the copy's still opens while that
epoch's master key exists. :func:`run_key_rotation` starts a new epoch (every live data key
re-wrapped, nothing re-encrypted) and destroys the master keys of epochs that ended more than
``keep_epochs`` epochs ago, so a copy taken at time *t* opens nothing after ``keep_epochs + 1``
rotations following *t* (:func:`shred_window`). Configuration: ``configs/keys.yaml``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from hrbridge.settings import ConfigError, Settings, load_config, load_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RotationConfig:
    """``rotation`` of configs/keys.yaml: the epoch length and how many ended epochs are kept."""

    interval: timedelta
    keep_epochs: int

    @property
    def window(self) -> timedelta:
        """Longest time a copy of the hub can still decrypt anything: (keep_epochs + 1) epochs."""
        return self.interval * (self.keep_epochs + 1)


def load_rotation_config(settings: Settings | None = None) -> RotationConfig:
    """Read and check ``configs/keys.yaml``; :class:`ConfigError` naming the bad entry."""
    raw = (load_config("keys", settings) or {}).get("rotation") or {}
    hours, keep = raw.get("interval_hours", 24), raw.get("keep_epochs", 6)
    if isinstance(hours, bool) or not isinstance(hours, int | float) or hours <= 0:
        raise ConfigError(f"configs/keys.yaml: rotation.interval_hours must be a positive number, not {hours!r}")
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
        raise ConfigError(f"configs/keys.yaml: rotation.keep_epochs must be a whole number 0 or more, not {keep!r}")
    return RotationConfig(timedelta(hours=hours), keep)


def shred_window(config: RotationConfig) -> str:
    """The guarantee in words, for logs and the rotation's summary."""
    return (f"a copy of the hub decrypts nothing after {config.keep_epochs + 1} rotations "
            f"({config.window}) following the moment it was taken")


def _vacuum(engine: sa.Engine) -> None:
    """Postgres: reclaim dead row versions that still hold destroyed wrapped keys (best effort)."""
    if engine.dialect.name != "postgresql":
        return
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM data_keys")
            conn.exec_driver_sql("VACUUM master_keys")
    except sa.exc.DBAPIError as exc:  # a missing privilege must not undo the rotation
        log.warning("VACUUM of the key tables failed (run it as the table owner): %s", exc.orig)


def run_key_rotation(vault: Any = None, config: RotationConfig | None = None, *,
                     settings: Settings | None = None) -> dict[str, Any]:
    """Start a new master-key epoch and destroy the epochs past the window; a JSON-ready summary."""
    settings = settings or load_settings()
    config = config or load_rotation_config(settings)
    if vault is None:
        from hrbridge.pipelines.pii import default_vault
        from hrbridge.store import hub_engine

        vault = default_vault(hub_engine(settings), settings=settings)
    result = vault.rotate_master(destroy_old=True, keep_epochs=config.keep_epochs)
    _vacuum(vault.engine)
    summary = {**result.as_dict(), "keep_epochs": config.keep_epochs,
               "interval_hours": config.interval.total_seconds() / 3600,
               "window_hours": config.window.total_seconds() / 3600, "guarantee": shred_window(config)}
    log.info("master key epoch %s: re-wrapped %d data keys, destroyed %s; %s", result.new_master_id,
             result.rewrapped, result.destroyed_master_ids or "none", summary["guarantee"])
    return summary
