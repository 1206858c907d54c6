"""The vault on real databases (SQLite file and Postgres): batches, rotation, shredding, outages."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from connectors.sql import make_engine
from governance.crypto import (
    KeyProviderUnavailable,
    KmsKeyProvider,
    SubjectKeyShredded,
    TamperedCiphertext,
    Vault,
    data_keys,
)
from tests.factories.governance import LoopbackKms, candidate_frame

COLUMNS = {"table": "candidates", "subject_col": "candidate_id", "record_col": "record_id"}


@pytest.fixture
def engine(db_url: str) -> sa.Engine:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def vault(engine: sa.Engine, tmp_path: Path) -> Vault:
    return Vault.local(engine, tmp_path)


def _encrypted(vault: Vault, frame: pd.DataFrame) -> pd.DataFrame:
    for column in ("name", "email", "resume_pdf"):
        frame = vault.encrypt_column(frame, column, **COLUMNS)
    return frame


def _decrypted(vault: Vault, frame: pd.DataFrame) -> pd.DataFrame:
    for column in ("name", "email", "resume_pdf"):
        frame = vault.decrypt_column(frame, column, **COLUMNS)
    return frame


def test_column_round_trip_uses_one_key_per_subject(vault: Vault) -> None:
    plain = candidate_frame(count=60, subjects=7)
    secret = vault.encrypt_column(plain, "email", **COLUMNS)
    assert vault.stats.keys_created == 7 and vault.stats.unwraps == 0  # new keys are used as generated
    assert secret["email"].iloc[-1] is None and secret["email"].iloc[0].startswith("hrb1:")
    assert not secret["email"].dropna().str.contains("@example.com").any()
    vault.stats.unwraps = 0
    back = vault.decrypt_column(secret, "email", **COLUMNS)
    assert vault.stats.unwraps == 7
    pd.testing.assert_frame_equal(back, plain)


def test_all_column_kinds_round_trip(vault: Vault) -> None:
    plain = candidate_frame(count=9, subjects=3)
    secret = _encrypted(vault, plain)
    back = _decrypted(vault, secret)
    pd.testing.assert_frame_equal(back, plain)
    assert isinstance(back["resume_pdf"].iloc[0], bytes) and back["name"].iloc[0] == "李雷"


def test_row_swap_inside_a_frame_is_detected(vault: Vault) -> None:
    secret = vault.encrypt_column(candidate_frame(), "email", **COLUMNS)
    swapped = secret.copy()
    swapped.loc[0, "email"], swapped.loc[3, "email"] = secret.loc[3, "email"], secret.loc[0, "email"]
    with pytest.raises(TamperedCiphertext, match="column 'email' in record 'app-0'"):
        vault.decrypt_column(swapped, "email", **COLUMNS)


def test_value_without_subject_is_refused_naming_row(vault: Vault) -> None:
    frame = candidate_frame()
    frame.loc[2, "candidate_id"] = None
    with pytest.raises(ValueError, match="column 'email', row 2"):
        vault.encrypt_column(frame, "email", **COLUMNS)


def _data_keys(engine: sa.Engine) -> list[sa.Row]:
    with engine.connect() as conn:
        return conn.execute(sa.select(data_keys).order_by(data_keys.c.subject_id)).all()


def test_rotation_rewraps_every_key_and_leaves_data_untouched(vault: Vault, engine: sa.Engine) -> None:
    plain = candidate_frame(count=12, subjects=5)
    secret = _encrypted(vault, plain)
    before = _data_keys(engine)
    old_master = before[0].master_key_id
    seen: list[tuple[int, int]] = []
    result = vault.rotate_master(lambda done, total: seen.append((done, total)))
    after = _data_keys(engine)
    assert result.total == result.rewrapped == 5 and result.old_master_ids == [old_master]
    assert seen[0] == (0, 5) and seen[-1] == (5, 5)
    assert {r.master_key_id for r in after} == {result.new_master_id}
    assert all(a.wrapped_key != b.wrapped_key for a, b in zip(after, before, strict=True))
    pd.testing.assert_frame_equal(_decrypted(vault, secret), plain)  # same ciphertext, still readable
    again = vault.rotate_master()
    assert again.old_master_ids == [result.new_master_id] and again.rewrapped == 5


def test_shredding_makes_every_copy_unreadable(vault: Vault, engine: sa.Engine) -> None:
    secret = _encrypted(vault, candidate_frame(count=6, subjects=3))
    backup = secret.copy(deep=True)  # e.g. last night's export
    assert vault.shred("cand-1") is True
    assert vault.shred("cand-1") is False  # idempotent
    assert vault.is_shredded("cand-1") and not vault.is_shredded("cand-0") and not vault.is_shredded("nobody")
    for frame in (secret, backup):
        with pytest.raises(SubjectKeyShredded, match="cand-1"):
            vault.decrypt_column(frame, "email", **COLUMNS)
        others = frame[frame["candidate_id"] != "cand-1"]
        assert vault.decrypt_column(others, "email", **COLUMNS)["email"].notna().sum() == len(others) - 1
    row = [r for r in _data_keys(engine) if r.subject_id == "cand-1"][0]
    assert row.wrapped_key is None and row.master_key_id is None and row.destroyed_at is not None


def test_restored_key_table_backup_is_useless_after_rotation_destroys_old_master(
    vault: Vault, engine: sa.Engine
) -> None:
    token = vault.encrypt("cand-9", "110105199001011234", table="candidates", column="id_number", record_id="c9")
    key_backup = [r._asdict() for r in _data_keys(engine)]  # a database backup taken before shredding
    vault.shred("cand-9")
    result = vault.rotate_master(destroy_old=True)
    assert result.destroyed_master_ids == [key_backup[0]["master_key_id"]]
    with engine.begin() as conn:  # an attacker restores the old data_keys row from the backup
        conn.execute(sa.delete(data_keys))
        conn.execute(sa.insert(data_keys), key_backup)
    with pytest.raises(KeyProviderUnavailable, match="was destroyed"):
        vault.decrypt("cand-9", token, table="candidates", column="id_number", record_id="c9")


def test_provider_outage_writes_nothing(engine: sa.Engine) -> None:
    meta = sa.MetaData()
    target = sa.Table("secure_candidates", meta, sa.Column("record_id", sa.String(40), primary_key=True),
                      sa.Column("candidate_id", sa.String(40)), sa.Column("email", sa.Text))
    meta.create_all(engine)
    kms = LoopbackKms(available=False)
    vault = Vault(engine, KmsKeyProvider(kms))

    def load(frame: pd.DataFrame) -> None:
        vault.require_available()
        frame = vault.encrypt_column(frame, "email", **COLUMNS)
        with engine.begin() as conn:
            conn.execute(sa.insert(target), frame[["record_id", "candidate_id", "email"]].to_dict("records"))

    frame = candidate_frame()
    with pytest.raises(KeyProviderUnavailable, match="refused"):
        load(frame)
    with pytest.raises(KeyProviderUnavailable):  # even without the pre-check, nothing is encrypted
        vault.encrypt_column(frame, "email", **COLUMNS)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(target)).scalar_one() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(data_keys)).scalar_one() == 0
    kms.available = True
    load(frame)
    with engine.connect() as conn:
        stored = conn.execute(sa.select(target.c.email)).scalars().all()
    assert len(stored) == len(frame) and all(v is None or v.startswith("hrb1:") for v in stored)


def test_two_vaults_share_keys_through_the_table(engine: sa.Engine, tmp_path: Path) -> None:
    first, second = Vault.local(engine, tmp_path), Vault.local(engine, tmp_path)
    token = first.encrypt("cand-1", "x", table="t", column="c", record_id="1")
    assert second.decrypt("cand-1", token, table="t", column="c", record_id="1") == "x"
    assert second.encrypt("cand-1", "y", table="t", column="c", record_id="2") is not None
    assert len(_data_keys(engine)) == 1


def test_concurrent_first_use_creates_exactly_one_key(engine: sa.Engine, tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    vault = Vault.local(engine, tmp_path)
    vault.require_available()  # create the keyring once, before the race on the data key

    def encrypt(i: int) -> str:
        return Vault.local(engine, tmp_path).encrypt("cand-new", f"v{i}", table="t", column="c", record_id=str(i))

    with ThreadPoolExecutor(max_workers=8) as pool:
        tokens = list(pool.map(encrypt, range(16)))
    assert len(_data_keys(engine)) == 1
    assert [vault.decrypt("cand-new", t, table="t", column="c", record_id=str(i)) for i, t in enumerate(tokens)] \
        == [f"v{i}" for i in range(16)]


def test_rows_round_trip_with_one_key_lookup_for_all_columns(vault: Vault) -> None:
    rows = candidate_frame(count=8, subjects=4).to_dict("records")
    rows[-1]["email"] = None  # pandas gave NaN; plain rows carry None
    secret = vault.encrypt_rows(rows, ["name", "email", "resume_pdf"], table="candidates",
                                subject_key="candidate_id", record_key="record_id")
    assert vault.stats.unwraps == 0 and vault.stats.keys_created == 4
    assert secret[0]["record_id"] == "app-0" and secret[0]["email"].startswith("hrb1:")
    assert secret[-1]["email"] is None and rows[0]["email"] == "person0@example.com"  # input untouched
    vault.stats.unwraps = 0
    back = vault.decrypt_rows(secret, ["name", "email", "resume_pdf"], table="candidates",
                              subject_key="candidate_id", record_key="record_id")
    assert back == rows and vault.stats.unwraps == 4


def test_vault_on_an_external_kms_rotates_and_shreds(engine: sa.Engine) -> None:
    kms = LoopbackKms()
    vault = Vault(engine, KmsKeyProvider(kms, name="corp-kms"))
    secret = vault.encrypt_column(candidate_frame(), "email", **COLUMNS)
    result = vault.rotate_master()
    assert result.old_master_ids == ["kms-1"] and result.new_master_id == "kms-2" and result.rewrapped == 3
    assert vault.decrypt_column(secret, "email", **COLUMNS)["email"].iloc[0] == "person0@example.com"
    assert vault.shred("cand-0") and vault.key_status()["provider"] == {"provider": "corp-kms", "current": "kms-2"}
