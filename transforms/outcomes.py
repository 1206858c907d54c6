"""Later outcomes from a file (CSV/Excel export) into canonical rows: ratings, promotions, separations.

Pure and vectorised. A row names the employee by the first of ``application_id``, ``candidate_id``,
``person_key`` or ``email`` that it has; ``kind`` is rating, promotion or separation; ``date`` (or
``effective_date``) is when it happened. Ratings need ``rating`` (and ``rating_scale_max``, default
5); separations need ``separation_type`` (voluntary / involuntary, or a common synonym). Columns
``assess_<dimension>`` carry later assessments of interview dimensions ("communication 9.0 now").

Rows that break a rule are returned apart with the rule, never dropped: ``read = valid + rejected``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

KINDS = {"rating": "rating", "performance": "rating", "review": "rating", "promotion": "promotion",
         "promoted": "promotion", "separation": "separation", "termination": "separation", "exit": "separation"}
SEPARATIONS = {"voluntary": "voluntary", "resignation": "voluntary", "resigned": "voluntary", "quit": "voluntary",
               "involuntary": "involuntary", "dismissal": "involuntary", "dismissed": "involuntary",
               "terminated": "involuntary", "layoff": "involuntary", "redundancy": "involuntary"}
IDENTIFIERS = ("application_id", "candidate_id", "person_key", "email")
ASSESS_PREFIXES = ("assess_", "assessment_")
ATTRIBUTE_IGNORED = frozenset({*IDENTIFIERS, "source"})


@dataclass
class NormalisedOutcomes:
    """Valid canonical rows and rejected rows (``row``, ``rule``); ``read`` is every input row."""

    valid: pd.DataFrame
    rejected: pd.DataFrame
    read: int


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(pd.NA, index=frame.index, dtype="string")
    text = frame[column].astype("string").str.strip()
    return text.mask(text == "")


def normalise_headers(frame: pd.DataFrame) -> pd.DataFrame:
    """Lower-cased, underscore-joined headers (``Effective Date`` → ``effective_date``)."""
    renamed = frame.copy()
    renamed.columns = [str(c).strip().lower().replace(" ", "_").replace("-", "_") for c in frame.columns]
    return renamed


def identifier_columns(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Per row: which identifier it gives (``id_kind``) and its value (first present of :data:`IDENTIFIERS`)."""
    kind = pd.Series(pd.NA, index=frame.index, dtype="string")
    value = pd.Series(pd.NA, index=frame.index, dtype="string")
    for name in IDENTIFIERS:
        text = _text(frame, name)
        take = value.isna() & text.notna()
        kind[take] = name
        value[take] = text[take]
    return kind, value


def normalise_outcomes(frame: pd.DataFrame, source: str, first_row: int = 2) -> NormalisedOutcomes:
    """Canonical outcome rows from a file's frame (``first_row``: the file row of ``frame``'s first row)."""
    data = normalise_headers(frame)
    rows = pd.Series(np.arange(first_row, first_row + len(data)), index=data.index)
    id_kind, id_value = identifier_columns(data)
    kind = _text(data, "kind").str.lower().map(KINDS)
    date_text = _text(data, "effective_date").fillna(_text(data, "date"))
    when = pd.to_datetime(date_text, errors="coerce", format="mixed")
    rating = pd.to_numeric(_text(data, "rating"), errors="coerce")
    scale = pd.to_numeric(_text(data, "rating_scale_max"), errors="coerce").fillna(5.0)
    separation = _text(data, "separation_type").str.lower().map(SEPARATIONS)
    rules = pd.Series(pd.NA, index=data.index, dtype="string")

    def reject(mask: pd.Series, rule: str) -> None:
        rules[mask.fillna(False).astype(bool) & rules.isna()] = rule

    reject(id_value.isna(), f"no employee identifier (one of {', '.join(IDENTIFIERS)})")
    reject(kind.isna(), "kind is not one of rating, promotion, separation")
    reject(when.isna(), "date is missing or not a date")
    reject((kind == "rating") & (rating.isna() | (rating < 0) | (scale <= 0) | (rating > scale)),
           "a rating needs a number between 0 and rating_scale_max")
    reject((kind == "separation") & separation.isna(), "a separation needs separation_type voluntary or involuntary")
    assess_columns = [c for c in data.columns if c.startswith(ASSESS_PREFIXES)]
    assessments = pd.Series([{} for _ in range(len(data))], index=data.index, dtype="object")
    for column in assess_columns:
        dimension = column.split("_", 1)[1]
        values = pd.to_numeric(_text(data, column), errors="coerce")
        bad = _text(data, column).notna() & (values.isna() | (values < 0) | (values > 10))
        reject(bad, f"{column} must be a score from 0 to 10")
        for index in values.index[values.notna()]:
            assessments[index] = {**assessments[index], dimension: float(values[index])}
    ok = rules.isna()
    given_id = _text(data, "outcome_id")
    natural = (f"{source}:" + id_kind.fillna("") + ":" + id_value.fillna("") + ":" + kind.fillna("")
               + ":" + when.dt.strftime("%Y-%m-%d").fillna(""))
    digest = natural.map(lambda text: hashlib.sha256(str(text).encode("utf-8")).hexdigest()[:32])
    valid = pd.DataFrame({
        "row": rows, "id_kind": id_kind, "id_value": id_value,
        "outcome_id": (f"{source}:" + given_id).where(given_id.notna(), f"{source}:" + digest),
        "kind": kind, "effective_date": when.dt.date,
        "rating": rating.where(kind == "rating"), "rating_scale_max": scale.where(kind == "rating"),
        "separation_type": separation.where(kind == "separation"),
        "assessments": assessments, "note": _text(data, "note"),
    })[ok]
    rejected = pd.DataFrame({"row": rows[~ok], "rule": rules[~ok]})
    return NormalisedOutcomes(valid.reset_index(drop=True), rejected.reset_index(drop=True), len(data))


def normalise_attributes(frame: pd.DataFrame, attributes: list[str], first_row: int = 2) -> NormalisedOutcomes:
    """Protected attributes per employee: identifier plus the configured ``attributes`` columns only."""
    data = normalise_headers(frame)
    rows = pd.Series(np.arange(first_row, first_row + len(data)), index=data.index)
    id_kind, id_value = identifier_columns(data)
    present = [a for a in attributes if a in data.columns]
    ok = id_value.notna()
    if not present:
        ok &= False
    values = pd.DataFrame({a: _text(data, a) for a in present}, index=data.index)
    valid = pd.DataFrame({"row": rows, "id_kind": id_kind, "id_value": id_value})
    valid["attributes"] = [{k: v for k, v in rec.items() if not pd.isna(v)} for rec in values.to_dict("records")] \
        if present else [{} for _ in range(len(data))]
    rule = (f"no employee identifier (one of {', '.join(IDENTIFIERS)})" if present
            else f"none of the configured attributes {attributes} is a column")
    rejected = pd.DataFrame({"row": rows[~ok], "rule": rule})
    return NormalisedOutcomes(valid[ok].reset_index(drop=True), rejected.reset_index(drop=True), len(data))
