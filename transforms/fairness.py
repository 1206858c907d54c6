"""Impact ratios: does an outcome reach every group of people at a comparable rate?

One implementation for every fairness check hrbridge makes — the bias audit of interview scores and
the four-fifths check on proposed question-weight changes — so both report the same numbers.

Definitions follow the bias-audit rules for automated employment decision tools (New York City
Local Law 144) and the four-fifths rule of the US Uniform Guidelines:

* **selection rate** of a group: the share of its people with a positive outcome (selected, passed);
* **scoring rate** of a group: the share of its people scoring above the median score of everyone
  in the sample (:func:`above_median`) — a selection rate whose outcome is "above the median";
* **impact ratio** of a group: its rate divided by the rate of the group with the highest rate;
* groups holding less than ``min_share`` (default 2 %) of the people in the sample are excluded
  from the ratios and listed; people whose category is unknown are counted, never guessed.

Category data is only ever an input to this check, never to scoring. The functions are pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import pandas as pd

DEFAULT_FLOOR = 0.8
DEFAULT_MIN_SHARE = 0.02
UNKNOWN_VALUES = frozenset({"", "unknown", "undisclosed", "declined", "prefer_not_to_say"})


@dataclass(frozen=True)
class GroupRate:
    """One group's outcome rate and its impact ratio (``None`` when the group is excluded)."""

    group: tuple[str, ...]
    people: int
    positive: int
    rate: float
    impact_ratio: float | None
    excluded: bool = False

    @property
    def label(self) -> str:
        """The group's categories joined for display, e.g. ``female × 25-34``."""
        return " × ".join(self.group)


@dataclass(frozen=True)
class ImpactReport:
    """Rates and impact ratios of the groups formed by ``attributes`` (one or an intersection)."""

    attributes: tuple[str, ...]
    groups: list[GroupRate]
    unknown: int
    floor: float
    min_share: float
    reference: tuple[str, ...] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def included(self) -> list[GroupRate]:
        """Groups that take part in the ratios."""
        return [g for g in self.groups if not g.excluded]

    @property
    def excluded(self) -> list[GroupRate]:
        """Groups left out because they hold less than ``min_share`` of the known people."""
        return [g for g in self.groups if g.excluded]

    @property
    def below_floor(self) -> list[GroupRate]:
        """Included groups whose impact ratio is below the floor (the adverse-impact flags)."""
        return [g for g in self.included if g.impact_ratio is not None and g.impact_ratio < self.floor]

    @property
    def min_ratio(self) -> float | None:
        """The lowest impact ratio among included groups (``None`` when none can be computed)."""
        ratios = [g.impact_ratio for g in self.included if g.impact_ratio is not None]
        return min(ratios) if ratios else None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (reports, audit records, proposals)."""
        return {
            "attributes": list(self.attributes),
            "reference": list(self.reference) if self.reference else None,
            "floor": self.floor,
            "min_share": self.min_share,
            "unknown": self.unknown,
            "min_ratio": self.min_ratio,
            "groups": [
                {"group": list(g.group), "people": g.people, "positive": g.positive, "rate": g.rate,
                 "impact_ratio": g.impact_ratio, "excluded": g.excluded}
                for g in self.groups
            ],
            "below_floor": [list(g.group) for g in self.below_floor],
            "notes": list(self.notes),
        }


def above_median(scores: pd.Series) -> pd.Series:
    """``True`` where a score is strictly above the median of all known scores (the scoring rate's outcome).

    Missing scores stay missing (``pd.NA``), so they are not counted as "not above".
    """
    numeric = pd.to_numeric(scores, errors="coerce")
    median = numeric.median()
    outcome = (numeric > median).astype("boolean")
    outcome[numeric.isna()] = pd.NA
    return outcome


def _known(values: pd.Series, unknown_values: frozenset[str]) -> pd.Series:
    text = values.astype("string").str.strip()
    return text.notna() & ~text.str.lower().isin(unknown_values)


def impact_ratios(
    frame: pd.DataFrame,
    attributes: Sequence[str],
    outcome: str,
    *,
    floor: float = DEFAULT_FLOOR,
    min_share: float = DEFAULT_MIN_SHARE,
    unknown_values: Iterable[str] = UNKNOWN_VALUES,
) -> ImpactReport:
    """Rate of ``outcome`` (boolean column) per group of ``attributes`` and each group's impact ratio.

    People with an unknown value in any of ``attributes`` are counted in ``unknown`` and take no part
    in the rates; people whose outcome is missing take no part at all. Groups under ``min_share`` of
    the people with an outcome (known category or not) are excluded from the ratios but still listed
    with their counts.
    """
    attributes = tuple(attributes)
    if not attributes:
        raise ValueError("impact_ratios needs at least one attribute")
    missing = [c for c in (*attributes, outcome) if c not in frame.columns]
    if missing:
        raise KeyError(f"columns not in the data: {', '.join(missing)}")
    unknown_set = frozenset(v.lower() for v in unknown_values)
    known = pd.Series(True, index=frame.index)
    for column in attributes:
        known &= _known(frame[column], unknown_set)
    result = frame[outcome].astype("boolean")
    usable = known & result.notna()
    unknown = int((~known).sum())
    data = pd.DataFrame({c: frame.loc[usable, c].astype("string").str.strip() for c in attributes})
    data["_positive"] = result[usable].astype(bool)
    notes: list[str] = []
    if (known & result.isna()).any():
        notes.append(f"{int((known & result.isna()).sum())} people with a known category have no outcome")
    if data.empty:
        return ImpactReport(attributes, [], unknown, floor, min_share, notes=[*notes, "no people with a known category"])
    counts = data.groupby(list(attributes), sort=True)["_positive"].agg(["size", "sum"])
    total = int(result.notna().sum())
    rows = []
    for key, row in counts.iterrows():
        group = key if isinstance(key, tuple) else (key,)
        people, positive = int(row["size"]), int(row["sum"])
        rows.append((tuple(str(v) for v in group), people, positive, positive / people, people / total < min_share))
    best = max((r for r in rows if not r[4]), key=lambda r: r[3], default=None)
    reference = best[0] if best else None
    if best is not None and best[3] == 0:
        notes.append("no included group has a positive outcome: impact ratios are undefined")
    groups = [
        GroupRate(group, people, positive, rate,
                  None if excluded or best is None or best[3] == 0 else rate / best[3], excluded)
        for group, people, positive, rate, excluded in rows
    ]
    return ImpactReport(attributes, groups, unknown, floor, min_share, reference, notes)


def intersections(attributes: Sequence[str], max_order: int = 2) -> list[tuple[str, ...]]:
    """Every single attribute and every combination up to ``max_order`` (e.g. sex, race, sex × race)."""
    found: list[tuple[str, ...]] = []
    for order in range(1, min(max_order, len(attributes)) + 1):
        found.extend(combinations(attributes, order))
    return found
