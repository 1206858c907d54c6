"""clean_frame: every rule's repair (with its exact log line) and quarantine case."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest

from transforms.cleaning import CleaningRules, as_text, clean_frame, load_rules
from transforms.cleaning_dates import strict_iso_dates
from transforms.cleaning_ids import check_chars

RULES = CleaningRules()


def record(**overrides: object) -> dict[str, object]:
    """A clean legacy employee record (canonical columns) with ``overrides`` applied."""
    base: dict[str, object] = {
        "employee_id": "000123", "name": "张伟", "id_number": "11010519491231002X", "phone": "13812345678",
        "email": "wei.zhang@example.com", "department": "销售部", "title": "销售经理", "hire_date": "2020-03-01",
        "gender": "男", "birth_date": "1949-12-31", "employment_status": "在职", "salary": "12000.00",
        "updated_at": "2024-05-06 07:08:09",
    }
    base.update(overrides)
    return base


def frame(*records: dict[str, object]) -> pd.DataFrame:
    """A string frame (as read from a legacy file) of the given records."""
    return pd.DataFrame(list(records)).astype("str")


def one_column(column: str, values: list[object], rules: CleaningRules = RULES) -> tuple[pd.DataFrame, ...]:
    """Clean records that differ only in ``column``; returns (frame, repairs, quarantine)."""
    result = clean_frame(frame(*(record(**{column: v}) for v in values)), rules)
    return result.frame, result.repairs, result.quarantine


def log_lines(repairs: pd.DataFrame) -> list[tuple[object, ...]]:
    return [tuple(x) for x in repairs[["row", "column", "original", "new", "rule"]].itertuples(index=False)]


def quarantine_lines(quarantine: pd.DataFrame) -> list[tuple[object, ...]]:
    return [tuple(x) for x in quarantine[["row", "column", "value", "rule"]].itertuples(index=False)]


def test_clean_record_passes_unchanged_with_proper_dtypes() -> None:
    result = clean_frame(frame(record()), RULES)
    assert result.repairs.empty and result.quarantine.empty
    row = result.frame.iloc[0]
    assert row["employee_id"] == "000123" and row["id_number"] == "11010519491231002X"
    assert row["phone"] == "+8613812345678" and row["gender"] == "M" and row["employment_status"] == "active"
    assert row["hire_date"] == pd.Timestamp("2020-03-01") and row["updated_at"] == pd.Timestamp("2024-05-06 07:08:09")
    assert row["salary"] == 12000.0
    assert pd.api.types.is_datetime64_any_dtype(result.frame["birth_date"].dtype)
    assert result.summary() == {"read": 1, "clean": 1, "quarantined_rows": 0, "repairs_by_rule": {},
                                "quarantine_by_rule": {}}


def test_fullwidth_and_trim_are_folded_and_logged_cjk_kept() -> None:
    _, repairs, _ = one_column("name", ["Ｌｉ　Ｌｅｉ", "  张伟 ", "（张伟）"])
    assert log_lines(repairs) == [
        (0, "name", "Ｌｉ　Ｌｅｉ", "Li Lei", "fullwidth"),
        (1, "name", "  张伟 ", "张伟", "trim"),
        (2, "name", "（张伟）", "(张伟)", "fullwidth"),
    ]


def test_null_sentinels_become_null_and_are_logged() -> None:
    cleaned, repairs, quarantine = one_column("department", ["NULL", "n/a", "无", " - ", "", "Sales"])
    assert quarantine.empty
    assert cleaned["department"].isna().tolist() == [True] * 5 + [False]
    assert repairs["original"].tolist() == ["NULL", "n/a", "无", " - ", ""]
    assert repairs["rule"].eq("null_sentinel").all() and repairs["new"].isna().all()


def test_null_sentinels_are_configurable() -> None:
    rules = load_rules({"null_sentinels": ["未知"]})
    cleaned, repairs, _ = one_column("department", ["未知", "NULL"], rules)
    assert cleaned["department"].isna().tolist() == [True, False]
    assert repairs["rule"].tolist() == ["null_sentinel"]


@pytest.mark.parametrize(("raw", "rule"), [
    ("2023/1/5", "date_slash"), ("2023年1月5日", "date_cn"), ("2023.1.5", "date_dot"), ("2023-1-5", "date_ymd"),
    ("20230105", "date_compact"), ("44931", "excel_serial"), ("44931.0", "excel_serial"),
    ("01/05/2023", "date_month_first"),
])
def test_date_forms_are_repaired_to_one_date(raw: str, rule: str) -> None:
    cleaned, repairs, quarantine = one_column("hire_date", [raw])
    assert quarantine.empty
    assert cleaned["hire_date"].iloc[0] == pd.Timestamp("2023-01-05")
    assert log_lines(repairs) == [(0, "hire_date", raw, "2023-01-05", rule)]


def test_day_first_is_configurable() -> None:
    cleaned, repairs, _ = one_column("hire_date", ["05/01/2023"], load_rules({"day_first": True}))
    assert cleaned["hire_date"].iloc[0] == pd.Timestamp("2023-01-05")
    assert repairs["rule"].tolist() == ["date_day_first"]
    cleaned, _, _ = one_column("hire_date", ["05/01/2023"])
    assert cleaned["hire_date"].iloc[0] == pd.Timestamp("2023-05-01")


def test_iso_dates_are_conversions_not_repairs() -> None:
    cleaned, repairs, _ = one_column("hire_date", ["2023-01-05", "2023-01-05 00:00:00"])
    assert repairs.empty and cleaned["hire_date"].tolist() == [pd.Timestamp("2023-01-05")] * 2


def test_time_on_a_date_column_is_dropped_and_logged() -> None:
    _, repairs, _ = one_column("hire_date", ["2023-01-05 13:30:00"])
    assert log_lines(repairs) == [(0, "hire_date", "2023-01-05 13:30:00", "2023-01-05", "date_time_dropped")]


@pytest.mark.parametrize(("raw", "rule", "reason"), [
    ("2023-02-30", "date", "not a calendar date"), ("2023/13/01", "date", "not a calendar date"),
    ("someday", "date", "unrecognised date format"), ("2023", "date", "Excel serial range"),
    ("1850-01-01", "date_range", "date outside"),
])
def test_unrepairable_dates_are_quarantined(raw: str, rule: str, reason: str) -> None:
    cleaned, repairs, quarantine = one_column("hire_date", [raw])
    assert cleaned.empty and repairs.empty
    assert quarantine_lines(quarantine) == [(0, "hire_date", raw, rule)]
    assert reason in quarantine["reason"].iloc[0]


def test_datetime_columns_from_excel_or_parquet_are_taken_as_is() -> None:
    df = frame(record()).drop(columns="hire_date").assign(hire_date=pd.to_datetime(["2021-07-01"]))
    result = clean_frame(df, RULES)
    assert result.frame["hire_date"].iloc[0] == pd.Timestamp("2021-07-01") and result.repairs.empty


@pytest.mark.parametrize(("raw", "e164", "logged"), [
    ("13812345678", "+8613812345678", False), ("+8613812345678", "+8613812345678", False),
    ("138 1234 5678", "+8613812345678", True), ("+86-138-1234-5678", "+8613812345678", True),
    ("0086 13812345678", "+8613812345678", True), ("010-12345678", "+861012345678", True),
    ("0755-1234567", "+867551234567", True), ("+44 20 7946 0958", "+442079460958", True),
    ("１３８１２３４５６７８", "+8613812345678", True),
])
def test_phones_become_e164(raw: str, e164: str, logged: bool) -> None:
    cleaned, repairs, quarantine = one_column("phone", [raw])
    assert quarantine.empty and cleaned["phone"].iloc[0] == e164
    assert len(repairs) == int(logged)


def test_phone_repair_log_line() -> None:
    _, repairs, _ = one_column("phone", ["+86-138-1234-5678"])
    assert log_lines(repairs) == [(0, "phone", "+86-138-1234-5678", "+8613812345678", "phone_format")]


def test_mobile_conversions_logged_on_request() -> None:
    _, repairs, _ = one_column("phone", ["13812345678"], load_rules({"log_conversions": True}))
    assert log_lines(repairs[repairs["column"] == "phone"]) == [
        (0, "phone", "13812345678", "+8613812345678", "phone_e164")]


@pytest.mark.parametrize("raw", ["1381234567", "138123456789", "12345", "call me", "+86 138"])
def test_bad_phones_are_quarantined(raw: str) -> None:
    cleaned, _, quarantine = one_column("phone", [raw])
    assert cleaned.empty and quarantine_lines(quarantine) == [(0, "phone", raw, "phone")]


def test_emails_are_lowercased_and_checked() -> None:
    cleaned, repairs, quarantine = one_column("email", ["Wei.Zhang@Example.COM", "wei@@example.com", "wei",
                                                        "a@b"])
    assert log_lines(repairs) == [(0, "email", "Wei.Zhang@Example.COM", "wei.zhang@example.com",
                                   "email_lowercase")]
    assert quarantine_lines(quarantine) == [(1, "email", "wei@@example.com", "email"), (2, "email", "wei", "email"),
                                            (3, "email", "a@b", "email")]
    assert cleaned.index.tolist() == [0]


def test_email_check_can_be_switched_off() -> None:
    cleaned, _, quarantine = one_column("email", ["not-an-email"], load_rules({"email_check": False}))
    assert quarantine.empty and cleaned["email"].iloc[0] == "not-an-email"


def test_id_number_lowercase_x_is_repaired() -> None:
    _, repairs, quarantine = one_column("id_number", ["11010519491231002x"])
    assert quarantine.empty
    assert log_lines(repairs) == [(0, "id_number", "11010519491231002x", "11010519491231002X", "id_uppercase_x")]


def test_id_number_bad_check_digit_is_quarantined_without_naming_digits() -> None:
    _, _, quarantine = one_column("id_number", ["110105194912310021"])
    assert quarantine_lines(quarantine) == [(0, "id_number", "110105194912310021", "id_checksum")]
    assert quarantine["reason"].iloc[0] == "check digit does not match the first 17 digits (ISO 7064 MOD 11-2)"


def with_check_digit(body: str) -> str:
    """Complete a 17-digit ID body with its correct MOD 11-2 check character."""
    return body + str(check_chars(pd.Series([body], dtype="str"))[0])


@pytest.mark.parametrize(("raw", "rule"), [
    ("1101051949123100", "id_number"), ("11010519491231002Y", "id_number"),
    (with_check_digit("11010519491331002"), "id_birth_date"), (with_check_digit("11010521990101002"), "id_birth_date"),
])
def test_malformed_id_numbers_are_quarantined(raw: str, rule: str) -> None:
    _, _, quarantine = one_column("id_number", [raw])
    assert quarantine_lines(quarantine)[0] == (0, "id_number", raw, rule)


def test_id_birth_date_must_match_birth_date_column() -> None:
    df = frame(record(birth_date="1950-01-01"))
    result = clean_frame(df, RULES)
    assert quarantine_lines(result.quarantine) == [(0, "id_number", "11010519491231002X", "id_birth_mismatch")]
    assert result.quarantine["reason"].iloc[0] == "birth date in the ID number differs from the birth_date column"
    relaxed = clean_frame(df, load_rules({"id_birth_consistency": False}))
    assert relaxed.quarantine.empty


def test_fifteen_digit_ids_are_upgraded() -> None:
    result = clean_frame(frame(record(id_number="110105491231002", birth_date="1949-12-31")), RULES)
    assert result.quarantine.empty
    assert log_lines(result.repairs) == [(0, "id_number", "110105491231002", "11010519491231002X", "id_upgrade_15")]


def test_employee_ids_get_leading_zeros_back() -> None:
    cleaned, repairs, quarantine = one_column("employee_id", ["123", "000124", "E-77", "1234567", "12.5"])
    assert cleaned["employee_id"].tolist() == ["000123", "000124", "E-77", "1234567"]
    assert log_lines(repairs) == [(0, "employee_id", "123", "000123", "employee_id_zero_pad")]
    assert quarantine_lines(quarantine) == [(4, "employee_id", "12.5", "employee_id")]


def test_numeric_columns_keep_no_float_tail() -> None:
    assert as_text(pd.Series([123.0, np.nan])).tolist()[0] == "123"
    result = clean_frame(frame(record()).assign(employee_id=[123.0]), RULES)
    assert result.frame["employee_id"].iloc[0] == "000123"


def test_enums_map_codes_and_quarantine_unknown_values() -> None:
    cleaned, repairs, quarantine = one_column("gender", ["男", "female", "F", "1", "2", "MALE", "未知"])
    assert cleaned["gender"].tolist() == ["M", "F", "F", "M", "F", "M"]
    assert repairs.empty
    assert quarantine_lines(quarantine) == [(6, "gender", "未知", "enum:gender")]
    assert "expected one of F, M" in quarantine["reason"].iloc[0]
    cleaned, _, _ = one_column("employment_status", ["离职", "Active", "试用期", "退休"])
    assert cleaned["employment_status"].tolist() == ["terminated", "active", "probation", "retired"]


def test_enum_conversions_logged_on_request() -> None:
    _, repairs, _ = one_column("gender", ["男", "M"], load_rules({"log_conversions": True}))
    assert log_lines(repairs[repairs["column"] == "gender"]) == [(0, "gender", "男", "M", "enum_gender")]


def test_numbers_strip_separators_and_currency() -> None:
    cleaned, repairs, quarantine = one_column("salary", ["12,000", "¥8000.50", "9000", "lots", "1,234,567"])
    assert cleaned["salary"].tolist() == [12000.0, 8000.5, 9000.0, 1234567.0]
    assert log_lines(repairs) == [(0, "salary", "12,000", "12000", "number_format"),
                                  (1, "salary", "¥8000.50", "8000.5", "number_format"),
                                  (4, "salary", "1,234,567", "1234567", "number_format")]
    assert quarantine_lines(quarantine) == [(3, "salary", "lots", "number")]


def test_required_values_missing_are_quarantined_and_their_repairs_not_logged() -> None:
    result = clean_frame(frame(record(name="NULL", email="A@B.COM")), RULES)
    assert quarantine_lines(result.quarantine) == [(0, "name", "NULL", "required")]
    assert result.repairs.empty and result.frame.empty


def test_missing_required_column_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="required column.*employee_id"):
        clean_frame(frame(record()).drop(columns="employee_id"), RULES)


def test_every_broken_value_gets_its_own_line_and_row_offset_applies() -> None:
    df = frame(record(), record(phone="12345", email="bad", hire_date="never"))
    result = clean_frame(df, RULES, row_offset=1000)
    assert sorted(quarantine_lines(result.quarantine)) == [
        (1001, "email", "bad", "email"), (1001, "hire_date", "never", "date"), (1001, "phone", "12345", "phone")]
    assert result.frame.index.tolist() == [1000]
    assert result.summary()["quarantined_rows"] == 1


def test_column_types_can_be_overridden_and_unknown_columns_are_text() -> None:
    df = frame(record()).assign(remark=" 备注 ", start="2023/1/5")
    result = clean_frame(df, RULES, columns={"start": "date"})
    assert result.frame["start"].iloc[0] == pd.Timestamp("2023-01-05")
    assert result.frame["remark"].iloc[0] == "备注"
    assert sorted(result.repairs["rule"]) == ["date_slash", "trim"]
    with pytest.raises(ValueError, match="unknown column type"):
        clean_frame(df, RULES, columns={"start": "colour"})


def test_counts_reconcile_on_a_mixed_frame() -> None:
    records = [record(employee_id=str(i).zfill(6), email=f"u{i}@example.com") for i in range(50)]
    records[3]["phone"] = "bad"
    records[7]["hire_date"] = "2020-02-31"
    records[9]["salary"] = "NULL"
    result = clean_frame(frame(*records), RULES)
    assert len(result.frame) + result.quarantine["row"].nunique() == 50
    assert result.repairs["rule"].tolist() == ["null_sentinel"]


def test_date_range_is_configurable() -> None:
    rules = load_rules({"date_min": dt.date(2000, 1, 1), "date_max": "2030-12-31"})
    _, _, quarantine = one_column("hire_date", ["1999-12-31", "2031-01-01", "2000-01-01"], rules)
    assert quarantine.loc[quarantine["column"] == "hire_date", "row"].tolist() == [0, 1]


def test_large_low_cardinality_columns_take_the_dictionary_path_with_the_same_log() -> None:
    departments = ["销售部", "ＨＲ", " 财务部", "NULL", None]
    rows = 60_000
    df = pd.DataFrame({"employee_id": [f"{i:06d}" for i in range(rows)], "name": "张伟",
                       "department": [departments[i % 5] for i in range(rows)]}).astype("str")
    result = clean_frame(df, RULES)
    assert result.quarantine.empty
    assert result.repairs["rule"].value_counts().to_dict() == {"fullwidth": 12_000, "trim": 12_000,
                                                               "null_sentinel": 12_000}
    assert log_lines(result.repairs.iloc[:2]) == [(1, "department", "ＨＲ", "HR", "fullwidth"),
                                                  (2, "department", " 财务部", "财务部", "trim")]
    third = result.repairs.iloc[2]
    assert (third["row"], third["original"], third["rule"]) == (3, "NULL", "null_sentinel") and pd.isna(third["new"])
    assert result.frame["department"].iloc[:5].tolist()[:3] == ["销售部", "HR", "财务部"]
    assert result.frame["department"].iloc[3:5].isna().all()


def test_byte_level_iso_decoding_agrees_with_the_calendar() -> None:
    days = np.arange(np.datetime64("1600-01-01"), np.datetime64("2200-12-31"))
    decoded = strict_iso_dates(pd.Series(np.datetime_as_string(days), dtype="str"))
    assert (decoded == days.astype("datetime64[us]")).all()
    odd = strict_iso_dates(pd.Series(["2024-02-29", "2023-02-29", "1900-02-29", "2023-04-31", "2023-00-10",
                                      "2023-12-31 23:59:59", "2023-12-31 24:00:00", "２０２３-01-01"], dtype="str"))
    assert odd[0] == np.datetime64("2024-02-29") and np.isnat(odd[1:5]).all()
    assert odd[5] == np.datetime64("2023-12-31T23:59:59") and np.isnat(odd[6:]).all()


def test_mixed_object_columns_from_excel_are_read_per_value() -> None:
    raw = pd.Series([123.0, "000124", pd.Timestamp("2023-01-05"), None, 5], dtype=object)
    assert as_text(raw).tolist()[:3] == ["123", "000124", "2023-01-05 00:00:00"]
    assert pd.isna(as_text(raw).iloc[3]) and as_text(raw).iloc[4] == "5"
    df = frame(record()).astype(object)
    df.loc[0, "employee_id"], df.loc[0, "hire_date"] = 123.0, pd.Timestamp("2020-03-01")
    result = clean_frame(df, RULES)
    assert result.frame["employee_id"].iloc[0] == "000123"
    assert result.frame["hire_date"].iloc[0] == pd.Timestamp("2020-03-01")


def test_empty_frames_give_empty_results() -> None:
    empty = frame(record()).iloc[:0]
    result = clean_frame(empty, RULES)
    assert result.frame.empty and result.repairs.empty and result.quarantine.empty
    assert result.summary()["read"] == 0


def test_id_sex_digit_against_gender_is_checked_on_request() -> None:
    df = frame(record(gender="女"), record(gender="男"))  # 11010519491231002X: sex digit 2 → F
    assert clean_frame(df, RULES).quarantine.empty
    result = clean_frame(df, load_rules({"id_gender_consistency": True}))
    assert quarantine_lines(result.quarantine) == [(1, "id_number", "11010519491231002X", "id_gender_mismatch")]
    assert result.quarantine["reason"].iloc[0] == "sex digit in the ID number differs from the gender column"


def test_quarantine_reasons_carry_no_personal_values() -> None:
    """A reason says which columns disagree and how, never a value: one fixed text per rule."""
    bad = [
        record(id_number=with_check_digit("11010519491231002"), birth_date="1950-01-01", gender="男"),
        record(id_number=with_check_digit("32058419830715004"), birth_date="1983-07-16", gender="女"),
        record(id_number="110105194912310021"), record(id_number="320584198307150041"),
        record(id_number=with_check_digit("11010519491231001"), gender="女"),
        record(id_number=with_check_digit("32058419830715004"), birth_date="1983-07-15", gender="男"),
        record(id_number="1101051949"), record(id_number="3205841983071500"),
        record(phone="12345"), record(phone="99887766554433"), record(email="zhang.at.example"),
        record(email="li@@example.org"), record(birth_date="1949-13-45"), record(birth_date="31/02/1983"),
        record(hire_date="1850-01-01"), record(employee_id="E-9.5"), record(gender="未知"), record(gender="X9"),
        record(salary="twelve"), record(salary="12k"),
    ]
    result = clean_frame(frame(*bad), load_rules({"id_gender_consistency": True}))
    q = result.quarantine
    assert {"id_birth_mismatch", "id_gender_mismatch", "id_checksum", "id_number", "phone", "email",
            "date"} <= set(q["rule"])
    assert (q.groupby("rule")["reason"].nunique() == 1).all(), q[["rule", "reason"]].drop_duplicates()
    values = {str(v) for r in bad for k, v in r.items() if k not in ("gender",)} | {"1949-12-31", "1983-07-15", "1950-01-01"}
    for reason in q["reason"]:
        leaked = [v for v in values if len(v) >= 4 and v in reason]
        assert not leaked, (reason, leaked)
        assert not re.search(r"\d{4}-\d{2}-\d{2}|\d{6,}", reason.replace("1900-01-01..2100-12-31", "")), reason
