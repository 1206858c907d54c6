"""Hub table of the artefact store's default backend: reports, exports and Data Docs as rows.

One row per artefact key (``kind/name``); the bytes live in ``data`` so every worker and every
api-server replica that reaches the hub reads the same files. :mod:`hrbridge.artefacts` is the
only module that reads or writes this table.
"""

from __future__ import annotations

import sqlalchemy as sa

from hrbridge.store import metadata
from hrbridge.store.recruiting import UTCDateTime

artefacts = sa.Table(
    "artefacts", metadata,
    sa.Column("key", sa.String(512), primary_key=True),  # "<kind>/<name>"
    sa.Column("kind", sa.String(64), nullable=False, index=True),
    sa.Column("name", sa.String(448), nullable=False),
    sa.Column("content_type", sa.String(200), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("meta", sa.JSON, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)
