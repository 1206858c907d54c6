"""The dirty legacy-record generator: realistic, deterministic, and its counts are what cleaning reports."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from benchmarks.generate_legacy import FAULTS, HEADERS, Injected, generate, main, write
from transforms.cleaning import CleaningRules, clean_frame
from transforms.cleaning_ids import check_chars
from transforms.dedupe import dedupe
from transforms.header_mapping import suggest_mapping

RULES = CleaningRules()


def canonical(df: pd.DataFrame) -> pd.DataFrame:
    """Rename generated headers the way the migration engine does: through the suggested mapping."""
    mapping = suggest_mapping(list(df.columns))
    assert mapping["unmapped"] == []
    return df.rename(columns=mapping["columns"])


def reported(df: pd.DataFrame) -> dict[str, object]:
    """What clean_frame + dedupe report for a generated frame, shaped like the expectations."""
    cleaned = clean_frame(canonical(df), RULES)
    deduped = dedupe(cleaned.frame, RULES)
    summary, merged = cleaned.summary(), deduped.summary()
    return {"repairs_by_rule": summary["repairs_by_rule"], "quarantine_by_rule": summary["quarantine_by_rule"],
            "quarantined_rows": summary["quarantined_rows"], "merges_by_rule": merged["merges_by_rule"],
            "duplicates_merged": merged["duplicates_merged"], "expected_clean_rows": len(deduped.frame)}


def expected(injected: Injected) -> dict[str, object]:
    data = injected.to_dict()
    return {key: data[key] for key in ("repairs_by_rule", "quarantine_by_rule", "quarantined_rows",
                                       "merges_by_rule", "duplicates_merged", "expected_clean_rows")}


@pytest.mark.slow
def test_injected_counts_equal_what_cleaning_and_dedupe_report() -> None:
    df, injected = generate(20_000, seed=11)
    assert len(df) == injected.rows == 20_000
    assert all(injected.counts[kind] > 0 for kind in FAULTS)
    assert reported(df) == expected(injected)
    assert injected.expected_clean_rows + injected.quarantined_rows + injected.duplicates_merged == 20_000


def test_english_headers_and_other_rates_reconcile_too() -> None:
    df, injected = generate(3_000, seed=5, fault_rate=0.1, headers="en")
    assert list(df.columns) == list(HEADERS["en"].values())
    assert reported(df) == expected(injected)


def test_same_seed_same_data_other_seed_other_data() -> None:
    first, injected = generate(800, seed=3)
    again, injected_again = generate(800, seed=3)
    pd.testing.assert_frame_equal(first, again)
    assert injected == injected_again
    assert not first.equals(generate(800, seed=4)[0])


def test_clean_rows_are_realistic() -> None:
    df, _ = generate(2_000, seed=1, fault_rate=0.0)
    df = canonical(df)
    ids = df["id_number"]
    assert ids.str.fullmatch(r"[0-9]{17}[0-9X]").all()
    assert (pd.Series(check_chars(ids.str.slice(0, 17))) == ids.str.slice(17).reset_index(drop=True)).all()
    assert (ids.str.slice(6, 10) + "-" + ids.str.slice(10, 12) + "-" + ids.str.slice(12, 14)).equals(df["birth_date"])
    male = ids.str.slice(16, 17).astype(int) % 2 == 1
    assert (df["gender"] == male.map({True: "男", False: "女"})).all()
    assert df["phone"].str.fullmatch(r"1[3-9][0-9]{9}").all() and df["phone"].is_unique
    assert df["email"].is_unique and df["employee_id"].is_unique and ids.is_unique
    assert df["employee_id"].str.len().min() >= 6
    assert df["name"].str.contains(r"^[\u4e00-\u9fff]{2,3}$").any() and df["name"].str.contains(" ").any()
    assert {"销售部", "研发部"} <= set(df["department"])
    assert (pd.to_datetime(df["hire_date"]) > pd.to_datetime(df["birth_date"])).all()
    result = clean_frame(df, RULES)
    assert result.repairs.empty and result.quarantine.empty and dedupe(result.frame, RULES).merges.empty


def test_every_fault_sits_in_its_own_row() -> None:
    df, injected = generate(5_000, seed=9)
    result = clean_frame(canonical(df), RULES)
    assert result.quarantine["row"].is_unique
    assert result.repairs["row"].is_unique
    assert set(result.repairs["row"]).isdisjoint(result.quarantine["row"])
    assert len(result.repairs) == sum(injected.repairs_by_rule.values())


def test_invalid_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="headers must be one of"):
        generate(10, headers="fr")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="fault_rate"):
        generate(10, fault_rate=0.9)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_round_trip_in_each_encoding_keeps_the_counts(tmp_path: Path, encoding: str) -> None:
    df, injected = generate(1_500, seed=2)
    path = write(df, tmp_path / "legacy.csv", encoding=encoding)
    back = pd.read_csv(path, encoding=encoding, dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(back, df, check_dtype=False)
    assert reported(back) == expected(injected)


@pytest.mark.parametrize("suffix", [".xlsx", ".parquet"])
def test_excel_and_parquet_round_trip(tmp_path: Path, suffix: str) -> None:
    df, _ = generate(200, seed=2)
    path = write(df, tmp_path / f"legacy{suffix}")
    back = pd.read_excel(path, dtype=str, keep_default_na=False) if suffix == ".xlsx" else pd.read_parquet(path)
    pd.testing.assert_frame_equal(back.astype("str"), df, check_dtype=False)


def test_unknown_output_format_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unsupported output format"):
        write(pd.DataFrame(), tmp_path / "legacy.json")


def test_cli_writes_data_and_expectations(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, expected_path = tmp_path / "legacy.csv", tmp_path / "expected.json"
    code = main(["--rows", "400", "--out", str(out), "--encoding", "gbk", "--seed", "8", "--expected",
                 str(expected_path)])
    assert code == 0 and "wrote 400 rows" in capsys.readouterr().out
    saved = json.loads(expected_path.read_text(encoding="utf-8"))
    assert saved == generate(400, seed=8)[1].to_dict()
    assert len(pd.read_csv(out, encoding="gbk", dtype=str, keep_default_na=False)) == 400


def test_cli_bench_reports_timings_and_matching_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--rows", "600", "--out", str(tmp_path / "l.parquet"), "--bench"]) == 0
    assert "counts match the injected faults: True" in capsys.readouterr().out


@pytest.mark.slow
def test_chunked_columns_clean_exactly_like_contiguous_ones() -> None:
    df, injected = generate(60_000, seed=21)
    chunked = pd.concat([df.iloc[:25_000], df.iloc[25_000:]], ignore_index=True)
    assert chunked["姓名"].array._pa_array.num_chunks == 2
    assert reported(chunked) == expected(injected)


def test_cleaning_in_batches_with_offsets_equals_cleaning_at_once() -> None:
    df, _ = generate(3_000, seed=13)
    df = canonical(df)
    whole = clean_frame(df, RULES)
    parts = [clean_frame(df.iloc[start:start + 1_000], RULES, row_offset=start) for start in (0, 1_000, 2_000)]
    for name in ("repairs", "quarantine"):
        joined = pd.concat([getattr(p, name) for p in parts], ignore_index=True)
        pd.testing.assert_frame_equal(joined, getattr(whole, name), check_dtype=False)
    pd.testing.assert_frame_equal(pd.concat([p.frame for p in parts]), whole.frame, check_dtype=False)
