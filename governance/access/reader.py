"""The enforced data-access layer: every read of candidate data goes through :class:`SecureReader`.

For each read the reader works out which resources of the table the principal's role may read,
selects only those columns (plus the record/subject identifiers) — forbidden columns are never
selected, so never fetched and never decrypted — and decrypts the encrypted ones with the vault.
Columns that no resource lists (e.g. free-form ``extras``) are never returned to anyone.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import pandas as pd
import sqlalchemy as sa

from governance.access.policy import AccessDenied, Policy, Resource

log = logging.getLogger(__name__)
_IN_BATCH = 1000


class ColumnDecrypter(Protocol):
    """What the reader needs from the vault."""

    def decrypt_column(
        self, frame: pd.DataFrame, column: str, *, table: str, subject_col: str, record_col: str
    ) -> pd.DataFrame:
        """Decrypt one column of a frame."""
        ...


@dataclass(frozen=True)
class Principal:
    """Who is reading: a role, and for candidates their own subject id."""

    role: str
    subject_id: str | None = None
    name: str = ""


class SecureReader:
    """Role-checked, column-minimal, decrypting reads of the hub tables named in the policy."""

    def __init__(self, engine: sa.Engine, policy: Policy, vault: ColumnDecrypter | None, principal: Principal):
        self.engine = engine
        self.policy = policy
        self.vault = vault
        self.principal = principal
        self._tables: dict[str, sa.Table] = {}

    # -- public reads ------------------------------------------------------------------------------
    def read_candidates(self, candidate_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Candidates with the columns of every candidate resource the role may read."""
        return self.read("candidates", subjects=candidate_ids)

    def read_scores(self, candidate_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Interview scores (resource ``interview.scores``)."""
        return self.read("interview_results", resources=["interview.scores"], subjects=candidate_ids)

    def read_media_refs(self, candidate_ids: Sequence[str] | None = None) -> pd.DataFrame:
        """Video clip and transcript references the role may read (decrypted)."""
        return self.read(
            "interview_results", resources=["interview.video", "interview.transcript"], subjects=candidate_ids
        )

    def read_deletion_log(self) -> pd.DataFrame:
        """The deletion log (resource ``deletion_log``)."""
        return self.read("deletion_log", resources=["deletion_log"])

    def read_own_deletion_requests(self) -> pd.DataFrame:
        """A candidate's own deletion requests (resource ``deletion_request.own``; rows of their subject)."""
        return self.read("deletion_requests", resources=["deletion_request.own"],
                         subjects=[self.principal.subject_id] if self.principal.subject_id else [])

    # -- the general read -----------------------------------------------------------------------------
    def allowed_resources(self, table: str, resources: Sequence[str] | None = None) -> list[Resource]:
        """Resources of ``table`` (optionally restricted to ``resources``) the principal may read."""
        candidates = [r for r in self.policy.resources_on(table) if resources is None or r.name in resources]
        return [r for r in candidates if self._may_read(r)]

    def _may_read(self, resource: Resource) -> bool:
        if resource.scope == "own":
            own = self.principal.subject_id
            return own is not None and self.policy.allows(
                self.principal.role, resource.name, "read", subject_id=own, principal_subject=own
            )
        return self.policy.allows(self.principal.role, resource.name, "read")

    def read(
        self, table: str, *, resources: Sequence[str] | None = None, subjects: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Read ``table`` through the policy; raises :class:`AccessDenied` if no resource is readable."""
        spec = self.policy.tables.get(table)
        wanted = list(resources) if resources else [r.name for r in self.policy.resources_on(table)]
        allowed = self.allowed_resources(table, wanted)
        if spec is None or not allowed:
            self.policy.require(self.principal.role, wanted[0] if wanted else table, "read")
            raise AccessDenied(self.principal.role, ", ".join(wanted) or table, "read", "not granted")
        own_only = any(r.scope == "own" for r in allowed)
        if own_only:
            subjects = [self.principal.subject_id] if self.principal.subject_id else []
        base = self._table(table)
        present = set(base.c.keys())
        columns = list(dict.fromkeys(c for c in spec.identity if c in present))
        encrypted: list[str] = []
        for resource in allowed:
            listed = list(base.c.keys()) if resource.all_columns else list(resource.columns)
            missing = [c for c in listed if c not in present]
            if missing:
                log.warning("%s: columns %s of resource %s are not in table %s; skipped",
                            self.policy.source, missing, resource.name, table)
            columns.extend(c for c in listed if c in present and c not in columns)
            encrypted.extend(c for c in resource.encrypted if c in present)
        stmt = sa.select(*(base.c[c] for c in columns))
        if spec.record_column in present:
            stmt = stmt.order_by(base.c[spec.record_column])
        frame = self._fetch(stmt, base, spec.subject_column, subjects, columns)
        log.info("role %s read %d rows of %s (resources %s)", self.principal.role, len(frame), table,
                 ", ".join(r.name for r in allowed))
        if encrypted and len(frame):
            if self.vault is None:
                raise AccessDenied(self.principal.role, table, "read", "encrypted columns need a vault")
            for column in dict.fromkeys(encrypted):
                frame = self.vault.decrypt_column(
                    frame, column, table=table, subject_col=spec.subject_column or "",
                    record_col=spec.record_column,
                )
        return frame

    # -- helpers -------------------------------------------------------------------------------------
    def _table(self, name: str) -> sa.Table:
        if name not in self._tables:
            try:
                self._tables[name] = sa.Table(name, sa.MetaData(), autoload_with=self.engine)
            except sa.exc.NoSuchTableError as exc:
                raise LookupError(f"table {name!r} named in {self.policy.source} does not exist") from exc
        return self._tables[name]

    def _fetch(
        self, stmt: sa.Select, base: sa.Table, subject_col: str | None, subjects: Sequence[str] | None,
        columns: list[str],
    ) -> pd.DataFrame:
        rows: list[Any] = []
        with self.engine.connect() as conn:
            if subjects is None:
                rows = conn.execute(stmt).all()
            else:
                if subject_col is None:
                    raise ValueError(f"table {base.name!r} has no subject column to filter on")
                ids = [str(s) for s in subjects]
                for start in range(0, len(ids), _IN_BATCH):
                    batch = ids[start : start + _IN_BATCH]
                    rows.extend(conn.execute(stmt.where(base.c[subject_col].in_(batch))).all())
        return pd.DataFrame([tuple(r) for r in rows], columns=columns)
