"""A generated population with known rates for the bias audit (hand-computed values in the tests).

Sales, 100 people (median score 50: 50 score 80 or 90, 50 score 20; pass mark 85 selects the 90s):

=========  ====  ===  ===  ===   scoring (>50)  selection (>=85)
sex        race  n90  n80  n20
=========  ====  ===  ===  ===
female     A     12   6    7     18 / 25        12 / 25
female     B     8    4    13    12 / 25        8 / 25
male       A     5    5    13    10 / 23        5 / 23
male       B     4    4    14    8 / 22         4 / 22
nonbinary  A     1    0    0     1 / 1  (1 %: excluded)
(unknown)  A     0    1    3     1 / 4  (counted as unknown sex)
=========  ====  ===  ===  ===

Engineering, 40 people: female and male 20 each, 10 of each at 80 and 10 at 20 (no disparity).
"""

from __future__ import annotations

from typing import Any

SALES = [("female", "A", 12, 6, 7), ("female", "B", 8, 4, 13), ("male", "A", 5, 5, 13), ("male", "B", 4, 4, 14),
         ("nonbinary", "A", 1, 0, 0), ("", "A", 0, 1, 3)]
ENGINEERING = [("female", "A", 0, 10, 10), ("male", "B", 0, 10, 10)]


def population() -> list[dict[str, Any]]:
    """One row per scored application: ids, job family, score, sex and race_ethnicity ("" = unknown)."""
    rows = []
    for family, table in (("Sales", SALES), ("Engineering", ENGINEERING)):
        for sex, race, *counts in table:
            for score, n in zip((90.0, 80.0, 20.0), counts, strict=True):
                for _ in range(n):
                    number = len(rows) + 1
                    rows.append({"application_id": f"A{number:04d}", "candidate_id": f"P{number:04d}",
                                 "job_family": family, "overall_score": score, "sex": sex, "race_ethnicity": race})
    return rows
