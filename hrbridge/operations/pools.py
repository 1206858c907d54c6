"""Airflow pools for the rate-limited systems, shared by every DAG, created idempotently.

A pool caps how many tasks call one system at once across all DAGs; each task's client keeps its
own requests-per-second limit (the Connection's ``rate_limit``), so the most a system sees is
slots × rate limit. Names are fixed (the DAGs refer to them); slots come from
``configs/operations.yaml``. :func:`sync_pools` creates missing pools and corrects slots
(``hrbridge airflow pools``, the embedded Airflow's set-up, a compose init service);
:func:`pool_drift` only reads. Both need the Airflow metadata database (Airflow's own CLI and
``airflow db migrate`` have the same requirement).
"""

from __future__ import annotations

from dataclasses import dataclass

from hrbridge.operations.config import (
    INTERVIEW_POOL,
    POOL_DESCRIPTIONS,
    SUCCESSFACTORS_POOL,
    OperationsConfig,
    load_operations_config,
)
from hrbridge.settings import Settings

__all__ = ["INTERVIEW_POOL", "SUCCESSFACTORS_POOL", "PoolChange", "pool_drift", "sync_pools"]


@dataclass(frozen=True)
class PoolChange:
    """A pool that is missing or has other slots than configured."""

    name: str
    slots: int
    current: int | None  # None: the pool does not exist

    def __str__(self) -> str:
        if self.current is None:
            return f"{self.name}: missing (wants {self.slots} slots)"
        return f"{self.name}: {self.current} slots, configured {self.slots}"


def _existing() -> dict[str, int]:
    from airflow.models.pool import Pool
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return {pool.pool: pool.slots for pool in session.scalars(select(Pool))}


def pool_drift(config: OperationsConfig | None = None, settings: Settings | None = None) -> list[PoolChange]:
    """Pools that ``sync_pools`` would create or change (reads only)."""
    config = config or load_operations_config(settings)
    existing = _existing()
    return [PoolChange(name, slots, existing.get(name)) for name, slots in sorted(config.pools.items())
            if existing.get(name) != slots]


def sync_pools(config: OperationsConfig | None = None, settings: Settings | None = None) -> list[PoolChange]:
    """Create missing pools and set configured slots; returns what changed (empty when all was right)."""
    from airflow.models.pool import Pool

    config = config or load_operations_config(settings)
    changes = pool_drift(config)
    for change in changes:
        Pool.create_or_update_pool(change.name, slots=change.slots, description=POOL_DESCRIPTIONS[change.name],
                                   include_deferred=False)
    return changes
