"""dedupe: exact copies, same ID number, same e-mail or phone plus name; survivorship; the merge log."""

from __future__ import annotations

import pandas as pd
import pytest

from transforms.cleaning import CleaningRules, load_rules
from transforms.dedupe import MERGE_COLUMNS, dedupe

RECENT = CleaningRules()
COMPLETE = load_rules({"dedupe": {"survivorship": "most_complete"}})


def person(row: int, **fields: object) -> dict[str, object]:
    """A cleaned record at source ``row``; every key field unique unless overridden."""
    base: dict[str, object] = {
        "_row": row, "employee_id": f"{row:06d}", "name": f"Person {row}", "id_number": f"ID{row:016d}",
        "phone": f"+86138{row:08d}", "email": f"p{row}@example.com", "department": "Sales",
        "updated_at": pd.Timestamp("2024-01-01"),
    }
    base.update(fields)
    return base


def cleaned(*people: dict[str, object]) -> pd.DataFrame:
    """A frame shaped like ``clean_frame(...).frame``: indexed by source row."""
    return pd.DataFrame(list(people)).set_index("_row").rename_axis(None)


def merges(result_merges: pd.DataFrame) -> list[tuple[object, ...]]:
    return [tuple(x) for x in result_merges[MERGE_COLUMNS].itertuples(index=False)]


def test_exact_duplicates_keep_the_first_row() -> None:
    a = person(1)
    df = cleaned(a, person(2), {**a, "_row": 3}, {**a, "_row": 4})
    result = dedupe(df, RECENT)
    assert result.frame.index.tolist() == [1, 2]
    assert merges(result.merges) == [(1, 3, "exact", "most_recent"), (1, 4, "exact", "most_recent")]


def test_same_id_number_keeps_the_most_recent() -> None:
    df = cleaned(person(1, id_number="X1", updated_at=pd.Timestamp("2020-01-01")),
                 person(2, id_number="X1", updated_at=pd.Timestamp("2023-06-01")),
                 person(3, id_number="X1", updated_at=pd.NaT), person(4))
    result = dedupe(df, RECENT)
    assert result.frame.index.tolist() == [2, 4]
    assert sorted(merges(result.merges)) == [(2, 1, "id_number", "most_recent"), (2, 3, "id_number", "most_recent")]


def test_most_complete_survivorship_prefers_fewer_nulls() -> None:
    df = cleaned(person(1, id_number="X1", department=None, updated_at=pd.Timestamp("2024-06-01")),
                 person(2, id_number="X1", updated_at=pd.Timestamp("2020-01-01")))
    assert merges(dedupe(df, COMPLETE).merges) == [(2, 1, "id_number", "most_complete")]
    assert merges(dedupe(df, RECENT).merges) == [(1, 2, "id_number", "most_recent")]


def test_most_recent_falls_back_to_hire_date_and_then_completeness() -> None:
    df = cleaned(person(1, id_number="X1", hire_date=pd.Timestamp("2019-01-01")),
                 person(2, id_number="X1", hire_date=pd.Timestamp("2021-01-01"))).drop(columns="updated_at")
    assert merges(dedupe(df, RECENT).merges) == [(2, 1, "id_number", "most_recent")]
    tie = cleaned(person(1, id_number="X1", title=None), person(2, id_number="X1", title="Rep"))
    assert merges(dedupe(tie, RECENT).merges) == [(2, 1, "id_number", "most_recent")]


def test_email_plus_name_ignores_case_and_spaces_in_the_name() -> None:
    df = cleaned(person(1, name="Li Lei", email="li@example.com"), person(2, name="li  lei", email="li@example.com"),
                 person(3, name="Han Meimei", email="li@example.com"))
    result = dedupe(df, RECENT)
    assert merges(result.merges) == [(1, 2, "email+name", "most_recent")]
    assert result.frame.index.tolist() == [1, 3]


def test_phone_plus_name() -> None:
    df = cleaned(person(1, name="张伟", phone="+8613800000000"), person(2, name="张伟", phone="+8613800000000"),
                 person(3, name="王芳", phone="+8613800000000"))
    assert merges(dedupe(df, RECENT).merges) == [(1, 2, "phone+name", "most_recent")]


def test_null_keys_never_match() -> None:
    df = cleaned(person(1, id_number=None, email=None, phone=None, name="张伟"),
                 person(2, id_number=None, email=None, phone=None, name="张伟", employee_id="x"))
    assert dedupe(df, RECENT).merges.empty


def test_rules_run_in_order_on_the_records_still_standing() -> None:
    df = cleaned(person(1, id_number="X1"), person(2, id_number="X1", name="Person 1", email="p1@example.com"))
    assert merges(dedupe(df, RECENT).merges) == [(1, 2, "id_number", "most_recent")]
    only_email = load_rules({"dedupe": {"rules": ["email+name"]}})
    assert merges(dedupe(df, only_email).merges) == [(1, 2, "email+name", "most_recent")]


def test_rules_whose_columns_are_absent_are_skipped() -> None:
    df = cleaned(person(1), person(2)).drop(columns=["id_number", "phone"])
    assert dedupe(df, RECENT).merges.empty


@pytest.mark.parametrize("survivorship", ["most_recent", "most_complete"])
def test_counts_reconcile(survivorship: str) -> None:
    rules = load_rules({"dedupe": {"survivorship": survivorship}})
    a = person(1)
    df = cleaned(a, {**a, "_row": 2}, person(3, id_number=a["id_number"]), person(4, email="p5@example.com",
                                                                                 name="Person 5"), person(5), person(6))
    result = dedupe(df, rules)
    assert len(result.frame) + len(result.merges) == len(df)
    assert result.summary() == {"duplicates_merged": 3, "merges_by_rule": {"email+name": 1, "exact": 1,
                                                                           "id_number": 1}}
    assert set(result.merges["merged_row"]).isdisjoint(result.frame.index)
    assert set(result.merges["survivor_row"]) <= set(result.frame.index)


def test_exact_means_exact_names_differing_in_case_are_not_exact_copies() -> None:
    a = person(1, name="Li Lei", id_number=None, email=None, phone=None)
    df = cleaned(a, {**a, "_row": 2, "name": "li lei"})
    assert dedupe(df, RECENT).merges.empty


def test_email_keys_ignore_case_and_surrounding_spaces() -> None:
    df = cleaned(person(1, name="Li Lei", email="Li.Lei@Example.com "), person(2, name="LI LEI", email="li.lei@example.com"))
    assert merges(dedupe(df, RECENT).merges) == [(1, 2, "email+name", "most_recent")]
