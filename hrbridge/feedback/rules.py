"""Versions of the question rules: proposals, decisions by a person, publication and rollback.

Version 0 is ``configs/question_rules.yaml``. An analysis writes version N+1 as ``proposed``; a
person whose role holds ``feedback.proposals: write`` (``configs/roles.yaml``) approves or rejects
it. Approval publishes it: an activation row makes it the rules new invitations are planned with.
A flagged proposal (the four-fifths check failed) cannot be approved without a written
justification. A proposal built on a version that is no longer active cannot be approved (its diff
would undo the newer change): run the analysis again. Rollback restores the version that was
active before the current one. Nothing here runs on its own: every change names its person.
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from hrbridge.store.feedback import rules_activations, rules_versions
from transforms.question_plan import QuestionPlanner, rules_digest

RESOURCE = "feedback.proposals"


class ProposalStateError(ValueError):
    """The proposal cannot take this decision (unknown, already decided, built on an older version)."""


class JustificationRequired(PermissionError):
    """A flagged proposal was approved without a written justification."""


@dataclass(frozen=True)
class Decider:
    """Who decides, and in which role (from what the session cannot choose)."""

    name: str
    role: str


LOGINUID = Path("/proc/self/loginuid")
UNSET_LOGINUID = 4294967295


def login_account(loginuid: Path = LOGINUID) -> str | None:
    """The account the session logged in as: the kernel's audit login uid, set at login and kept across
    ``sudo``/``su`` (a session cannot change it); None where it is unset (containers) or unreadable."""
    try:
        uid = int(loginuid.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None
    if uid == UNSET_LOGINUID:
        return None
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def cli_decider(deciders: Mapping[str, str], *, loginuid: Path = LOGINUID) -> Decider:
    """The operating-system account this process runs as, and its role from ``feedback.yaml`` deciders.

    The account comes from the process's effective uid, not from an environment variable a caller
    could set. An account not listed gets no role (every decision is then refused). When the session
    logged in as another account (``sudo`` to a shared one such as root), the record names that login
    too — ``root (login alice)`` — so a decision made through a shared account still names its person.
    """
    name = pwd.getpwuid(os.geteuid()).pw_name
    login = login_account(loginuid)
    shown = name if login in (None, name) else f"{name} (login {login})"
    return Decider(shown, deciders.get(name, ""))


def _require(policy: Any, decider: Decider, action: str = "write") -> None:
    from governance.access import AccessDenied

    if not decider.role:
        raise AccessDenied("(none)", RESOURCE, action,
                           f"account {decider.name!r} has no role for feedback decisions (feedback.yaml deciders)")
    policy.require(decider.role, RESOURCE, action)


def active_stack(conn: Connection) -> list[int]:
    """Published versions in force, oldest first (publish pushes, rollback pops); [] = the file."""
    stack: list[int] = []
    for action, version in conn.execute(
            sa.select(rules_activations.c.action, rules_activations.c.version).order_by(rules_activations.c.seq)):
        if action == "publish":
            stack.append(int(version))
        elif stack:
            stack.pop()
    return stack


def active_version(engine: Engine) -> int:
    """The version new invitations are planned with (0: the configured file)."""
    with engine.connect() as conn:
        stack = active_stack(conn)
    return stack[-1] if stack else 0


def rules_of(engine: Engine, version: int, file_rules: Mapping[str, Any]) -> dict[str, Any]:
    """The rules document of ``version`` (0: ``file_rules``)."""
    if version == 0:
        return dict(file_rules)
    with engine.connect() as conn:
        rules = conn.execute(sa.select(rules_versions.c.rules).where(rules_versions.c.version == version)).scalar()
    if rules is None:
        raise ProposalStateError(f"question rules version {version} does not exist")
    return dict(rules)


class VersionedPlanner(QuestionPlanner):
    """A :class:`QuestionPlanner` that knows which rules version it plans with (``rules_version``)."""

    def __init__(self, rules: Mapping[str, Any], rules_version: int) -> None:
        super().__init__(rules)
        self.rules_version = rules_version


def active_planner(engine: Engine, file_rules: Mapping[str, Any]) -> VersionedPlanner:
    """The planner for new invitations: the active published version, else the file (version 0)."""
    version = active_version(engine)
    return VersionedPlanner(rules_of(engine, version, file_rules), version)


def save_proposal(engine: Engine, *, base_version: int, rules: Mapping[str, Any], changes: list[dict[str, Any]],
                  not_applied: list[dict[str, Any]], fairness: Mapping[str, Any], flagged: bool,
                  analysis_run_id: str, now: datetime | None = None) -> int:
    """Store a proposal as the next version in state ``proposed``; returns its number."""
    now = now or datetime.now(UTC)
    with engine.begin() as conn:
        version = int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(rules_versions.c.version), 0))).scalar()) + 1
        conn.execute(rules_versions.insert().values(
            version=version, status="proposed", base_version=base_version, rules=dict(rules),
            digest=rules_digest(rules), changes=changes, not_applied=not_applied, fairness=dict(fairness),
            flagged=flagged, analysis_run_id=analysis_run_id, created_at=now))
    return version


def get_version(engine: Engine, version: int) -> dict[str, Any]:
    """One stored version as a dict (ProposalStateError when absent)."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(rules_versions).where(rules_versions.c.version == version)).mappings().first()
    if row is None:
        raise ProposalStateError(f"question rules version {version} does not exist")
    return dict(row)


def list_versions(engine: Engine) -> list[dict[str, Any]]:
    """Every stored version, newest first, without the rules documents."""
    columns = [c for c in rules_versions.c if c.name != "rules"]
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(*columns).order_by(rules_versions.c.version.desc())).mappings()]


def decide(engine: Engine, version: int, *, approve: bool, decider: Decider, policy: Any,
           justification: str | None = None, note: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Approve (and publish) or reject a proposal; returns what was recorded."""
    _require(policy, decider)
    now = now or datetime.now(UTC)
    justification = (justification or "").strip() or None
    with engine.begin() as conn:
        row = conn.execute(sa.select(rules_versions).where(rules_versions.c.version == version)
                           .with_for_update()).mappings().first()
        if row is None:
            raise ProposalStateError(f"question rules version {version} does not exist")
        if row["status"] != "proposed":
            raise ProposalStateError(f"version {version} was already {row['status']} by {row['decided_by']}")
        if approve:
            stack = active_stack(conn)
            current = stack[-1] if stack else 0
            if row["base_version"] != current:
                raise ProposalStateError(
                    f"version {version} was built on version {row['base_version']}, but version {current} is active "
                    "now; run the analysis again for a proposal on the active rules")
            if row["flagged"] and not justification:
                raise JustificationRequired(
                    f"version {version} is flagged by the four-fifths check; approving it needs a written "
                    "justification (--justification)")
        status = "approved" if approve else "rejected"
        conn.execute(rules_versions.update().where(rules_versions.c.version == version).values(
            status=status, decided_by=decider.name, decided_role=decider.role, decided_at=now,
            justification=justification, decision_note=note))
        if approve:
            conn.execute(rules_activations.insert().values(version=version, action="publish", actor=decider.name,
                                                           role=decider.role, at=now))
    return {"version": version, "status": status, "decided_by": decider.name, "role": decider.role,
            "flagged": bool(row["flagged"]), "justification": justification, "active": version if approve else None}


def rollback(engine: Engine, *, decider: Decider, policy: Any, now: datetime | None = None) -> dict[str, int]:
    """Restore the version active before the current one; returns ``{from, to}``."""
    _require(policy, decider)
    now = now or datetime.now(UTC)
    with engine.begin() as conn:
        stack = active_stack(conn)
        if not stack:
            raise ProposalStateError("nothing to roll back: the configured file's rules (version 0) are active")
        current = stack.pop()
        target = stack[-1] if stack else 0
        conn.execute(rules_activations.insert().values(version=target, action="rollback", actor=decider.name,
                                                       role=decider.role, at=now))
    return {"from": current, "to": target}
