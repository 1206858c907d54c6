"""Migrated personal data is sealed on load and verified by keyed digests, never kept in plaintext."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from connectors.sql import make_engine
from hrbridge.cli import main
from hrbridge.pipelines.migration import unpack_state
from hrbridge.pipelines.pii import default_vault
from hrbridge.settings import load_settings
from tests.factories.legacy import legacy_rows, write_csv
from validation.reconcile import hash_strings

TOKEN = re.compile(r"hrb1:\d+:s:[A-Za-z0-9_-]+")


def _source(tmp_path: Path) -> tuple[Path, object]:
    frame = legacy_rows(40)
    frame.loc[3, "手机"] = "12345"  # quarantined: its evidence must be sealed too
    frame.loc[7, "手机"] = "138-0000-0007"  # repaired: original and new sealed
    frame = pd.concat([frame, frame.iloc[[10]]], ignore_index=True)  # an exact duplicate in a later batch
    path = tmp_path / "legacy.csv"
    write_csv(frame, str(path))
    return path, frame


def _every_text(url: str) -> list[tuple[str, str]]:
    """Every stored value as (kind, text): ``str``, ``bytes`` (its repr) or ``number``."""
    engine = make_engine(url)
    values = []
    with engine.connect() as conn:
        for name in sa.inspect(conn).get_table_names():
            for row in conn.execute(sa.text(f'SELECT * FROM "{name}"')):  # noqa: S608 - names from the database
                values += [("str", v) if isinstance(v, str) else ("bytes", repr(bytes(v))) if isinstance(v, bytes)
                           else ("number", str(v)) for v in row if isinstance(v, str | bytes | float | int)]
    engine.dispose()
    return values


def _holds(stored: tuple[str, str], value: str) -> bool:
    """``value`` in clear in a stored value: inside a string, a number equal to it, or inside binary
    data (checkpoints) when it is long enough not to occur there by chance; a 5-digit value does
    turn up in the digits of compressed keys about once in fifteen runs."""
    kind, text = stored
    if kind == "number":
        return text == value
    return value in text and (kind == "str" or len(value) >= 8)


def test_personal_columns_are_sealed_and_verified_by_digest(tmp_path: Path, db_url: str, hrbridge_home: Path,
                                                            capsys) -> None:
    source, frame = _source(tmp_path)
    code = main(["migrate", "--source", str(source), "--mapping", "auto", "--target", db_url, "--batch-size", "15",
                 "--report-dir", str(tmp_path / "r"), "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    report = json.loads(out.out)
    assert (report["loaded_rows"], report["quarantined_rows"], report["duplicates_merged"]) == (39, 1, 1)

    stored = _every_text(db_url)
    for column in ("身份证号", "手机", "邮箱", "薪资"):
        for value in frame[column]:
            assert not any(_holds(text, value) for text in stored), (column, value)
    assert not any(_holds(text, "13800000007") or _holds(text, "12345") for text in stored)

    engine = make_engine(db_url)
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT employee_id, phone, phone_digest, salary, email FROM employees "
                                   "WHERE employee_id = '000008'")).one()
        quarantined = conn.execute(sa.text("SELECT value FROM migration_quarantine WHERE column_name = 'phone'")
                                   ).scalar_one()
        repair = conn.execute(sa.text("SELECT original, new FROM migration_repairs WHERE column_name = 'phone' "
                                      "AND source_row = 7")).one()
        blobs = [bytes(b) for b in conn.execute(sa.text("SELECT state FROM migration_checkpoints")).scalars()]
    engine.dispose()
    assert TOKEN.fullmatch(row.phone) and TOKEN.fullmatch(row.salary) and TOKEN.fullmatch(row.email)
    assert re.fullmatch(r"[0-9a-f]{32}", row.phone_digest)
    assert TOKEN.fullmatch(quarantined) and TOKEN.fullmatch(repair.original) and TOKEN.fullmatch(repair.new)

    settings = load_settings()
    vault = default_vault(make_engine(settings.db_url), settings.home)
    where = {"table": "employees", "record_id": "000008"}
    assert vault.decrypt("employee:000008", row.phone, column="phone", **where) == "+8613800000007"
    assert vault.decrypt("employee:000008", row.salary, column="salary", **where) == "8008.5"
    assert vault.decrypt("employee:000008", repair.original, table="migration_repairs", column="original",
                         record_id=f"{report['run_id']}#7#phone") == "138-0000-0007"

    plain_hashes = set(hash_strings(frame["手机"]).tolist()) | set(hash_strings(["+8613800000008"]).tolist())
    for blob in blobs:  # checkpoints (and so the spill files made from them) hold no plain hash of a phone
        arrays, _ = unpack_state(blob)
        assert "e:n:salary" not in arrays and "e:p:phone" not in arrays and "e:p:phone_digest" in arrays
        for name, values in arrays.items():
            if values.dtype == np.uint64:
                assert not plain_hashes & set(values.tolist()), name

    assert main(["verify", "--source", str(source), "--target", db_url, "--report-dir", str(tmp_path / "v")]) == 0
    engine = make_engine(db_url)
    with engine.begin() as conn:  # a changed phone is caught through its digest alone
        conn.execute(sa.text("UPDATE employees SET phone_digest = 'ffffffffffffffffffffffffffffffff' "
                             "WHERE employee_id = '000008'"))
    engine.dispose()
    assert main(["verify", "--source", str(source), "--target", db_url, "--report-dir", str(tmp_path / "v2")]) == 3
    checked = json.loads((tmp_path / "v2" / "report.json").read_text(encoding="utf-8"))
    assert checked["mismatched_keys_sample"] == ["000008"]
