"""The key tables of the hub, declared once: ``data_keys`` (wrapped per-subject data keys) and
``master_keys`` (master keys wrapped by the key-encryption key, for ``HRBRIDGE_KEY_PROVIDER=hub``).

The Alembic environment of the hub migrates both (``hrbridge/migrations``); :class:`~governance.crypto.Vault`
and :class:`~governance.crypto.kek.HubKeyProvider` create them on a bare engine (tests, embedded use).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

data_keys = sa.Table(
    "data_keys",
    metadata,
    sa.Column("subject_id", sa.String(200), primary_key=True),
    sa.Column("key_version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("master_key_id", sa.String(100), nullable=True, index=True),
    sa.Column("wrapped_key", sa.LargeBinary, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("rewrapped_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("destroyed_at", sa.DateTime(timezone=True), nullable=True),
)

# One row per master key (an *epoch*): the newest live epoch is current. ``wrapped_key`` is the key
# sealed (AES-256-GCM) by the key-encryption key named by ``kek_id``; NULL once destroyed.
master_keys = sa.Table(
    "master_keys",
    metadata,
    sa.Column("key_id", sa.String(100), primary_key=True),
    sa.Column("epoch", sa.Integer, nullable=False, unique=True),
    sa.Column("kek_id", sa.String(32), nullable=True),
    sa.Column("wrapped_key", sa.LargeBinary, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("destroyed_at", sa.DateTime(timezone=True), nullable=True),
)
