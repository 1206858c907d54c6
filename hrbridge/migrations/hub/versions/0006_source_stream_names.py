"""Stream positions keyed by source and the stream's one name (``successfactors:applications``).

Revision ID: hub_0006
Revises: hub_0005
Create Date: 2026-12-07

Until now ``sync_cursors`` and ``sync_key_checks`` were keyed by SuccessFactors' entity names
(``JobApplication``); a stream now has one name everywhere and its position is qualified by the
source that owns it, so several sources can feed one hub. Existing rows are renamed, so an
upgraded hub keeps reading deltas from where it was (no full re-read).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "hub_0006"
down_revision = "hub_0005"
branch_labels = None
depends_on = None

RENAMES = {
    "JobRequisition": "successfactors:requisitions", "Candidate": "successfactors:candidates",
    "JobApplication": "successfactors:applications", "Resume": "successfactors:resumes",
}


def _rename(pairs: dict[str, str]) -> None:
    for table in ("sync_cursors", "sync_key_checks"):
        for old, new in pairs.items():
            op.execute(sa.text(f"UPDATE {table} SET stream = :new WHERE stream = :old").bindparams(old=old, new=new))  # noqa: S608 - table names are constants


def upgrade() -> None:
    """Rename SuccessFactors entity-keyed stream positions to ``successfactors:<stream>``."""
    _rename(RENAMES)


def downgrade() -> None:
    """Back to entity names."""
    _rename({new: old for old, new in RENAMES.items()})
