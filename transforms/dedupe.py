"""Merge duplicate legacy records: exact copies first, then the same person found by rule.

Rules run in the configured order on the records still standing: ``exact`` (every column equal),
``id_number`` (same resident ID), ``email+name`` and ``phone+name`` (same e-mail or phone and the
same name, compared case- and space-insensitively). In each group one record survives, chosen by
``survivorship``: ``most_recent`` (latest timestamp, then most complete) or ``most_complete``
(most non-null fields, then latest); remaining ties go to the earliest source row. Every merged
record is logged with its survivor, so ``read = loaded + quarantined + deduplicated`` reconciles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from transforms.cleaning_rules import CleaningRules

MERGE_COLUMNS = ["survivor_row", "merged_row", "rule", "survivorship"]
RULE_KEYS: dict[str, tuple[str, ...]] = {
    "id_number": ("id_number",),
    "email+name": ("email", "name"),
    "phone+name": ("phone", "name"),
}


@dataclass
class DedupeResult:
    """The surviving records (source-row index kept) and one merge line per removed record."""

    frame: pd.DataFrame
    merges: pd.DataFrame

    def summary(self) -> dict[str, object]:
        """Counts for a report: duplicates merged in total and by rule."""
        by_rule = self.merges["rule"].value_counts().sort_index()
        return {"duplicates_merged": len(self.merges), "merges_by_rule": {str(k): int(v) for k, v in by_rule.items()}}


def _timestamp(df: pd.DataFrame, columns: tuple[str, ...]) -> np.ndarray:
    """Latest-first sort key from the first configured timestamp column present (NaT sorts last)."""
    for column in columns:
        if column in df.columns:
            stamps = pd.to_datetime(df[column], errors="coerce")
            values = stamps.to_numpy(dtype="datetime64[us]").astype("int64").astype("float64")
            values[stamps.isna().to_numpy()] = -np.inf
            return -values
    return np.zeros(len(df))


def survivor_order(df: pd.DataFrame, rules: CleaningRules) -> np.ndarray:
    """Positions of ``df`` best-first under the configured survivorship (stable on source order)."""
    recent = _timestamp(df, rules.dedupe.timestamp_columns)
    complete = -df.notna().sum(axis=1).to_numpy()
    position = np.arange(len(df))
    if rules.dedupe.survivorship == "most_recent":
        return np.lexsort((position, complete, recent))
    return np.lexsort((position, recent, complete))


def _match_keys(df: pd.DataFrame, rule: str) -> pd.DataFrame | None:
    if rule == "exact":
        return df
    columns = RULE_KEYS[rule]
    if any(c not in df.columns for c in columns):
        return None
    keys = pd.DataFrame(index=df.index)
    for column in columns:
        values = df[column].astype("str")
        if column == "name":
            values = values.str.lower().str.replace(r"[ \t]+", "", regex=True)
        elif column == "email":
            values = values.str.strip().str.lower()
        keys[column] = values
    return keys.dropna()


def _merge_by(keys: pd.DataFrame, rule: str, rank: pd.Series, survivorship: str) -> pd.DataFrame:
    keys = keys[keys.duplicated(keep=False).to_numpy()]
    ordered = keys.loc[rank.loc[keys.index].sort_values(kind="stable").index]
    group = ordered.groupby(list(ordered.columns), sort=False, dropna=False).ngroup().to_numpy()
    labels = pd.Series(ordered.index.to_numpy())
    survivors = labels.groupby(group).transform("first").to_numpy()
    merged = survivors != labels.to_numpy()
    return pd.DataFrame({"survivor_row": survivors[merged], "merged_row": labels.to_numpy()[merged],
                         "rule": rule, "survivorship": survivorship}, columns=MERGE_COLUMNS)


def dedupe(df: pd.DataFrame, rules: CleaningRules) -> DedupeResult:
    """Merge duplicates in a cleaned frame by ``rules.dedupe`` (see the module docstring).

    ``df`` is normally ``clean_frame(...).frame``; its index (the source row) identifies records
    in the merge log. Rules whose columns are absent are skipped.
    """
    rank = pd.Series(np.empty(len(df), dtype="int64"), index=df.index)
    rank.iloc[survivor_order(df, rules)] = np.arange(len(df))
    standing = df
    merges: list[pd.DataFrame] = []
    for rule in rules.dedupe.rules:
        keys = _match_keys(standing, rule)
        if keys is None or len(keys) < 2:
            continue
        merged = _merge_by(keys, rule, rank, rules.dedupe.survivorship)
        if len(merged):
            merges.append(merged)
            standing = standing[~standing.index.isin(merged["merged_row"])]
    log = pd.concat(merges, ignore_index=True) if merges else pd.DataFrame(columns=MERGE_COLUMNS)
    log = log.astype({"survivor_row": "int64", "merged_row": "int64"})
    return DedupeResult(frame=standing, merges=log)
