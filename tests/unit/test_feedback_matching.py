"""Outcomes find the archive person across rehires, and the hire they follow."""

from __future__ import annotations

import pandas as pd

from hrbridge.feedback.outcomes import match_people

HIRES = pd.DataFrame({  # one person hired twice, under two candidate ids (a rehire); another person once
    "application_id": ["A1", "A2", "B1"], "person_key": ["p-ann", "p-ann", "p-bob"],
    "candidate_id": ["C-ann-2019", "C-ann-2023", "C-bob"],
    "hire_date": pd.to_datetime(["2019-03-01", "2023-05-01", "2022-01-10"]),
})


def _rows(*rows: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame([{"row": n + 2, "id_kind": kind, "id_value": value, "effective_date": pd.Timestamp(day).date()}
                         for n, (kind, value, day) in enumerate(rows)])


def test_a_rehire_keeps_one_person_and_each_outcome_follows_its_own_hire() -> None:
    matched, rejected = match_people(_rows(("candidate_id", "C-ann-2019", "2024-02-01"),
                                           ("candidate_id", "C-ann-2023", "2020-06-01"),
                                           ("person_key", "p-ann", "2019-12-01"),
                                           ("application_id", "A1", "2024-03-01")), HIRES, {"p-ann", "p-bob"}, None)
    assert rejected.empty
    assert matched["person_key"].tolist() == ["p-ann"] * 4
    # by date: the latest hire on or before the outcome, whichever candidate id named the person
    assert matched["application_id"].tolist() == ["A2", "A1", "A1", "A1"]  # an explicit application id wins
    assert matched["candidate_id"].tolist() == ["C-ann-2023", "C-ann-2019", "C-ann-2019", "C-ann-2019"]


def test_unknown_people_and_outcomes_before_any_hire_are_rejected_with_the_rule() -> None:
    matched, rejected = match_people(_rows(("candidate_id", "C-nobody", "2024-01-01"),
                                           ("person_key", "p-bob", "2021-01-01"),
                                           ("email", "bob@example.com", "2024-01-01")), HIRES, {"p-ann", "p-bob"}, None)
    assert matched.empty
    assert dict(zip(rejected["row"], rejected["rule"], strict=True)) == {
        2: "no archive person for candidate_id", 4: "no archive person for email",
        3: "the person has no hire on or before this date"}
