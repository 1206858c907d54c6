"""The key tables of the hub, declared once: ``data_keys`` (wrapped per-subject data keys),
``master_keys`` (master keys wrapped by the key-encryption key, for ``HRBRIDGE_KEY_PROVIDER=hub``)
and ``shared_secrets`` (the deletion-log keys and peppers, sealed by the same KEK).

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

# Small installation secrets that every worker must share (``HRBRIDGE_KEY_PROVIDER=hub``): the
# deletion log's signing key and public key, its pepper, the archive pepper. ``sealed`` is the value
# sealed (AES-256-GCM, bound to ``name``) by the KEK named by ``kek_id``; the local default keeps
# these as files under ``HRBRIDGE_HOME/keys`` instead and leaves this table empty.
shared_secrets = sa.Table(
    "shared_secrets",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("kek_id", sa.String(32), nullable=False),
    sa.Column("sealed", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
)
