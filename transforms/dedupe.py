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


def survivor_rank(df: pd.DataFrame, rules: CleaningRules) -> tuple[np.ndarray, np.ndarray]:
    """Per row, its survivorship rank as two arrays, lower = better, in the configured order:
    (recency, completeness) for ``most_recent``, (completeness, recency) for ``most_complete``.
    Recency is the negated first timestamp column present; completeness the negated count of
    non-null fields. Ties go to the earlier source row."""
    recent = _timestamp(df, rules.dedupe.timestamp_columns)
    complete = -df.notna().sum(axis=1).to_numpy().astype(np.float64)
    return (recent, complete) if rules.dedupe.survivorship == "most_recent" else (complete, recent)


def survivor_order(df: pd.DataFrame, rules: CleaningRules) -> np.ndarray:
    """Positions of ``df`` best-first under the configured survivorship (stable on source order)."""
    first, second = survivor_rank(df, rules)
    return np.lexsort((np.arange(len(df)), second, first))


def _repeated(values: pd.Series, nulls_match: bool) -> np.ndarray:
    """Rows whose value occurs more than once (null never matches unless ``nulls_match``)."""
    codes, _ = pd.factorize(values, use_na_sentinel=not nulls_match)
    counts = np.bincount(codes[codes >= 0], minlength=1)
    return (codes >= 0) & (counts[np.maximum(codes, 0)] > 1)


def fold_name(values: pd.Series) -> pd.Series:
    """Names as rules compare them: case-folded, all whitespace removed.

    Computed once per distinct name (a batch has few: ~1,200 in 50,000 rows) and expanded back by
    code, since ``casefold`` runs in Python per value.
    """
    text = values.astype("str")
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    folded = pd.Series(uniques, dtype="str").str.casefold().str.replace(r"\s+", "", regex=True)
    return pd.Series(folded.array.take(codes, allow_fill=True), index=values.index, name=values.name)


def match_key(df: pd.DataFrame, column: str, exact: bool = False) -> pd.Series:
    """The value rule matching compares for ``column``: names ignore case and whitespace, e-mails
    surrounding spaces and case; ``exact`` compares values as they are."""
    values = df[column]
    if exact:
        return values
    if column == "name":
        return fold_name(values)
    if column == "email":
        return values.astype("str").str.strip().str.lower()
    return values


def _rule_columns(df: pd.DataFrame, rule: str) -> list[str] | None:
    if rule == "exact":
        selective = [c for c in ("employee_id", "id_number", "email", "phone") if c in df.columns]
        return selective + [c for c in df.columns if c not in selective]
    columns = list(RULE_KEYS[rule])
    return columns if all(c in df.columns for c in columns) else None


def _candidates(df: pd.DataFrame, positions: np.ndarray, columns: list[str], exact: bool) -> np.ndarray:
    """Positions that share their value with another row in every column (a superset of the duplicates).

    The first column is checked over the standing rows; every later one only over the survivors of
    the previous check, so a million rows cost one factorisation of one column in practice.
    """
    for column in columns:
        if len(positions) < 2:
            return positions[:0]
        part = df[[column]] if len(positions) == len(df) else df[[column]].iloc[positions]
        positions = positions[_repeated(match_key(part, column, exact), nulls_match=exact)]
    return positions


def _merge_group(df: pd.DataFrame, positions: np.ndarray, columns: list[str], rule: str, exact: bool,
                 rules: CleaningRules) -> pd.DataFrame:
    part = df.iloc[positions]
    ordered = part.iloc[survivor_order(part, rules)]
    keys = pd.DataFrame({c: match_key(ordered, c, exact) for c in columns}, index=ordered.index)
    group = keys.groupby(columns, sort=False, dropna=not exact).ngroup().to_numpy()
    labels = ordered.index.to_numpy()
    valid = group >= 0
    labels, group = labels[valid], group[valid]
    first = pd.Series(labels).groupby(group).transform("first").to_numpy()
    merged = first != labels
    return pd.DataFrame({"survivor_row": first[merged], "merged_row": labels[merged], "rule": rule,
                         "survivorship": rules.dedupe.survivorship}, columns=MERGE_COLUMNS)


def dedupe(df: pd.DataFrame, rules: CleaningRules) -> DedupeResult:
    """Merge duplicates in a cleaned frame by ``rules.dedupe`` (see the module docstring).

    ``df`` is normally ``clean_frame(...).frame``; its index (the source row) identifies records in
    the merge log. Rules whose columns are absent are skipped. Keys compare as :func:`match_key`.
    """
    standing = np.arange(len(df))
    merges: list[pd.DataFrame] = []
    for rule in rules.dedupe.rules:
        columns = _rule_columns(df, rule)
        if columns is None:
            continue
        exact = rule == "exact"
        candidates = _candidates(df, standing, columns, exact)
        if len(candidates) < 2:
            continue
        merged = _merge_group(df, candidates, columns if not exact else list(df.columns), rule, exact, rules)
        if len(merged):
            merges.append(merged)
            standing = standing[~np.isin(df.index.to_numpy()[standing], merged["merged_row"].to_numpy())]
    log = pd.concat(merges, ignore_index=True) if merges else pd.DataFrame(columns=MERGE_COLUMNS)
    log = log.astype({"survivor_row": "int64", "merged_row": "int64"})
    frame = df if len(standing) == len(df) else df.iloc[standing]
    return DedupeResult(frame=frame, merges=log)
