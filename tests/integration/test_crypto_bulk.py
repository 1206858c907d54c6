"""The vault's bulk sealing path: same tokens as the per-value API, one key lookup per batch of subjects."""

from __future__ import annotations

import math

import pytest
import sqlalchemy as sa

from governance.crypto import SubjectKeyShredded, TamperedCiphertext, Vault, data_keys
from governance.crypto.bulk import BULK_LOOKUP


@pytest.fixture
def vault(tmp_path) -> Vault:
    return Vault.local(sa.create_engine(f"sqlite:///{tmp_path / 'hub.db'}"), tmp_path)


def _rows(n: int) -> tuple[dict[str, list], list[str], list[str]]:
    subjects = [f"employee:{i // 2:05d}" for i in range(n)]  # two rows per subject
    records = [str(i) for i in range(n)]
    columns = {"phone": [None if i % 7 == 0 else f"+86 138 {i:08d}" for i in range(n)],
               "salary": [f"{1000.5 + i}" for i in range(n)], "photo": [b"\x00\xff" * (i % 3) for i in range(n)]}
    return columns, subjects, records


def test_bulk_tokens_open_with_the_per_value_api_and_cost_one_lookup_per_batch(vault: Vault) -> None:
    columns, subjects, records = _rows(5000)
    vault.stats.lookups = 0
    sealed = vault.seal_columns(columns, subjects, records, table="employees")
    assert vault.stats.keys_created == 2500 and vault.stats.unwraps == 0  # new keys are used as generated
    assert vault.stats.lookups == math.ceil(2500 / BULK_LOOKUP)  # no per-row round trip
    assert sealed["phone"][0] is None and sealed["phone"][1].startswith("hrb1:1:s:")
    assert sealed["photo"][1].startswith("hrb1:1:b:")
    rows = [{"s": s, "r": r, **{c: sealed[c][i] for c in columns}} for i, (s, r) in enumerate(zip(subjects, records, strict=True))]
    opened = vault.decrypt_rows(rows, list(columns), table="employees", subject_key="s", record_key="r")
    assert [[row[c] for c in columns] for row in opened] == [[columns[c][i] for c in columns] for i in range(5000)]
    with pytest.raises(TamperedCiphertext):  # bound to its row like any token
        vault.decrypt(subjects[3], sealed["salary"][3], table="employees", column="salary", record_id=records[2])


def test_existing_keys_are_reused_and_shredded_subjects_refused(vault: Vault) -> None:
    columns, subjects, records = _rows(10)
    vault.seal_columns(columns, subjects, records, table="employees")
    with vault.engine.connect() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(data_keys)).scalar_one()
    again = vault.seal_columns(columns, subjects, records, table="employees")
    with vault.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(data_keys)).scalar_one() == before == 5
    assert vault.decrypt(subjects[5], again["phone"][5], table="employees", column="phone",
                         record_id=records[5]) == columns["phone"][5]
    vault.shred(subjects[4])
    with pytest.raises(SubjectKeyShredded):
        vault.seal_columns(columns, subjects, records, table="employees")


def test_a_value_without_subject_is_named(vault: Vault) -> None:
    with pytest.raises(ValueError, match="column 'phone', row 1: a value needs both"):
        vault.seal_columns({"phone": [None, "1"]}, ["a", None], ["1", "2"], table="employees")
    with pytest.raises(TypeError, match="row 0: cannot encrypt a int"):
        vault.seal_columns({"phone": [5]}, ["a"], ["1"], table="employees")
