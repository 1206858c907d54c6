"""Outcome rows from an HR export: synonyms, later assessments, and every rule a row can break."""

from __future__ import annotations

import pandas as pd

from transforms.outcomes import normalise_attributes, normalise_outcomes


def test_valid_rows_and_rejected_rows_reconcile() -> None:
    frame = pd.DataFrame({
        "Candidate ID": ["C1", "C2", "C3", "", "C5", "C6", "C7"],
        "Kind": ["Review", "termination", "promotion", "rating", "rating", "separation", "bonus"],
        "Date": ["2025-03-01", "2025-04-02", "2025-05-03", "2025-01-01", "not a date", "2025-06-01", "2025-06-01"],
        "Rating": ["4.5", "", "", "3", "4", "", ""],
        "Separation Type": ["", "Resigned", "", "", "", "sabbatical", ""],
        "assess_communication": ["9", "", "", "", "", "", ""],
        "note": ["great year", "", "", "", "", "", ""],
    })
    result = normalise_outcomes(frame, "file")
    assert result.read == 7 and len(result.valid) + len(result.rejected) == 7
    valid = result.valid.set_index("id_value")
    assert valid.loc["C1", "kind"] == "rating" and valid.loc["C1", "assessments"] == {"communication": 9.0}
    assert valid.loc["C1", "rating_scale_max"] == 5.0 and valid.loc["C1", "note"] == "great year"
    assert valid.loc["C2", "separation_type"] == "voluntary" and valid.loc["C3", "kind"] == "promotion"
    rules = dict(zip(result.rejected["row"], result.rejected["rule"], strict=True))
    assert rules == {5: "no employee identifier (one of application_id, candidate_id, person_key, email)",
                     6: "date is missing or not a date",
                     7: "a separation needs separation_type voluntary or involuntary",
                     8: "kind is not one of rating, promotion, separation"}
    again = normalise_outcomes(frame, "file")
    assert list(again.valid["outcome_id"]) == list(result.valid["outcome_id"])  # stable ids: reruns change nothing


def test_rating_outside_its_scale_and_bad_assessment_are_rejected() -> None:
    frame = pd.DataFrame({"application_id": ["A1", "A2"], "kind": ["rating", "rating"],
                          "date": ["2025-01-01", "2025-01-01"], "rating": ["6", "3"],
                          "rating_scale_max": ["5", "5"], "assess_teamwork": ["", "11"]})
    rules = set(normalise_outcomes(frame, "file").rejected["rule"])
    assert rules == {"a rating needs a number between 0 and rating_scale_max", "assess_teamwork must be a score from 0 to 10"}


def test_attributes_keep_only_the_configured_columns() -> None:
    frame = pd.DataFrame({"candidate_id": ["C1", ""], "gender": ["F", "M"], "religion": ["x", "y"]})
    result = normalise_attributes(frame, ["gender", "age_band"])
    assert result.valid["attributes"].tolist() == [{"gender": "F"}]
    assert result.rejected["row"].tolist() == [3]
