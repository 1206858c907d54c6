"""Clean legacy HR records: one vectorised pass per column, every change logged, nothing dropped.

:func:`clean_frame` takes a frame whose columns already carry canonical names and returns a
:class:`CleanResult`:

* ``frame`` — rows with no unrepairable value, typed (dates as ``datetime64``, IDs as strings,
  salary as float), indexed by source row position;
* ``repairs`` — one line per changed value of a loaded row: ``row, column, original, new, rule``;
* ``quarantine`` — one line per value that cannot be repaired: ``row, column, value, rule, reason``.

Every value is first normalised (full-width ASCII folded, trimmed, null sentinels → null) and
then parsed by its column type (:mod:`transforms.cleaning_parsers`). Values already in their
canonical source form (ISO dates, bare 11-digit mobiles, the canonical enum codes) are type
conversions, not repairs; set ``log_conversions: true`` to log enum and mobile conversions too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from transforms.cleaning_ids import arrow_strings
from transforms.cleaning_parsers import Parsed, id_birth_dates, parser_for
from transforms.cleaning_rules import CANONICAL_COLUMNS, CleaningRules, DedupeRules, load_rules

__all__ = ["CANONICAL_COLUMNS", "CleanResult", "CleaningRules", "DedupeRules", "clean_frame", "load_rules"]

FULLWIDTH_CHARS = "[\uff01-\uff5e\u3000]"
FULLWIDTH = str.maketrans({**{chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)}, "\u3000": " "})
DICTIONARY_MIN_ROWS = 50_000
DICTIONARY_PROBE = 20_000
REPAIR_COLUMNS = ["row", "column", "original", "new", "rule"]
NUL_REASON = "holds a NUL character (U+0000), which cannot be stored as text; the log shows it as \\x00"
QUARANTINE_COLUMNS = ["row", "column", "value", "rule", "reason"]
# Quarantine reasons say which columns disagree and how, never a value: the value itself is kept
# (sealed, for personal columns) in the ``value`` column, while reasons are shown, grouped and
# exported in plain text. One fixed text per rule (only the configured bounds may vary).
ID_BIRTH_REASON = "birth date in the ID number differs from the birth_date column"
ID_GENDER_REASON = "sex digit in the ID number differs from the gender column"


@dataclass
class CleanResult:
    """Cleaned rows, the repair log and the quarantine of one :func:`clean_frame` call."""

    frame: pd.DataFrame
    repairs: pd.DataFrame
    quarantine: pd.DataFrame
    read: int = 0

    def summary(self) -> dict[str, Any]:
        """Counts for a report: rows read / clean / quarantined, repairs and quarantine lines by rule."""
        return {
            "read": self.read,
            "clean": len(self.frame),
            "quarantined_rows": int(self.quarantine["row"].nunique()),
            "repairs_by_rule": {str(k): int(v) for k, v in self.repairs["rule"].value_counts().sort_index().items()},
            "quarantine_by_rule": {
                str(k): int(v) for k, v in self.quarantine["rule"].value_counts().sort_index().items()
            },
        }


def _scalar_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def as_text(raw: pd.Series) -> pd.Series:
    """Any column → ``str`` dtype with NaN for missing; integral floats lose their ``.0``.

    Mixed object columns (an Excel sheet read without ``dtype=str``) are converted once per
    distinct value, so ``123.0`` becomes ``123`` and a datetime cell its ISO text.
    """
    if raw.dtype == object:
        codes, uniques = pd.factorize(raw)
        texts = np.array([_scalar_text(u) for u in uniques] + [np.nan], dtype=object)
        return pd.Series(texts[codes], index=raw.index, dtype="str")
    if pd.api.types.is_float_dtype(raw.dtype):
        finite = raw.dropna()
        if len(finite) and bool((finite == np.floor(finite)).all()):
            raw = raw.astype("Int64")
    return raw.astype("str")


def normalise(text: pd.Series, rules: CleaningRules) -> tuple[pd.Series, dict[str, np.ndarray]]:
    """Fold full-width ASCII, trim, and null the sentinels; returns values and the mask per rule.

    Low-cardinality columns (departments, titles, codes, names) are normalised once per distinct
    value through an Arrow dictionary encoding and expanded back by index.
    """
    if len(text) >= DICTIONARY_MIN_ROWS:
        arr = arrow_strings(text)
        if len(pc.unique(arr.slice(0, DICTIONARY_PROBE))) <= DICTIONARY_PROBE // 10:
            encoded = pc.dictionary_encode(arr)
            distinct = pd.Series(encoded.dictionary.to_numpy(zero_copy_only=False), dtype="str")
            values, steps = _normalise_values(distinct, rules)
            codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
            known = codes >= 0
            expanded = {rule: known & mask[np.maximum(codes, 0)] for rule, mask in steps.items()}
            dictionary = pa.array(values.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True)
            decoded = pa.DictionaryArray.from_arrays(encoded.indices, dictionary).cast(pa.large_string())
            return pd.Series(decoded.to_pandas(), dtype="str").set_axis(text.index), expanded
    return _normalise_values(text, rules)


def _normalise_values(text: pd.Series, rules: CleaningRules) -> tuple[pd.Series, dict[str, np.ndarray]]:
    present = text.notna().to_numpy()
    wide = np.zeros(len(text), dtype=bool)
    foreign = present & ~text.str.isascii().fillna(True).to_numpy(dtype=bool)
    if foreign.any():
        wide[foreign] = text[foreign].str.contains(FULLWIDTH_CHARS, regex=True).fillna(False).to_numpy(dtype=bool)
    folded = text
    if wide.any():
        folded = text.copy()
        folded[wide] = text[wide].str.translate(FULLWIDTH)
    stripped = folded.str.strip()
    sentinels = {s.strip().upper() for s in rules.null_sentinels}
    short = present & (stripped.str.len() <= max(map(len, sentinels), default=0)).fillna(False).to_numpy(dtype=bool)
    sentinel = np.zeros(len(text), dtype=bool)
    if short.any():
        sentinel[short] = stripped[short].str.upper().isin(sentinels).to_numpy(dtype=bool)
    trimmed = present & ~wide & (stripped != text).fillna(False).to_numpy(dtype=bool)
    values = stripped.mask(sentinel) if sentinel.any() else stripped
    return values, {"null_sentinel": sentinel, "fullwidth": wide & ~sentinel, "trim": trimmed & ~sentinel}


def _display(values: pd.Series, kind: str) -> np.ndarray:
    """Typed values → the text written to the repair log (only called on the repaired subset)."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        fmt = "%Y-%m-%d" if kind == "date" else "%Y-%m-%d %H:%M:%S"
        return values.dt.strftime(fmt).to_numpy(dtype=object)
    if pd.api.types.is_float_dtype(values.dtype):
        return np.array([f"{v:.15g}" if pd.notna(v) else None for v in values], dtype=object)
    return values.to_numpy(dtype=object)


def _repair_lines(column: str, rule: str, rows: np.ndarray, mask: np.ndarray, before: pd.Series,
                  after: np.ndarray | None) -> pd.DataFrame:
    """Repair log lines for the ``mask`` rows; ``after`` holds the new values of exactly those rows."""
    new = np.full(int(mask.sum()), None, dtype=object) if after is None else after
    return pd.DataFrame({"row": rows[mask], "column": column, "original": before[mask].to_numpy(dtype=object),
                         "new": new, "rule": rule}, columns=REPAIR_COLUMNS)


def _quarantine_lines(column: str, rule: str, rows: np.ndarray, mask: np.ndarray, raw: pd.Series,
                      reason: str | np.ndarray) -> pd.DataFrame:
    reasons = reason[mask] if isinstance(reason, np.ndarray) else reason
    return pd.DataFrame({"row": rows[mask], "column": column, "value": raw[mask].to_numpy(dtype=object),
                         "rule": rule, "reason": reasons}, columns=QUARANTINE_COLUMNS)


def _nul_values(text: pd.Series) -> np.ndarray:
    """Which values hold a NUL character (no database stores one in text; Postgres refuses it)."""
    if not len(text) or not pd.api.types.is_string_dtype(text.dtype):
        return np.zeros(len(text), dtype=bool)
    found = pc.match_substring(arrow_strings(text), "\x00")
    return found.fill_null(False).to_numpy(zero_copy_only=False)


def _parse_column(raw: pd.Series, kind: str,
                  rules: CleaningRules) -> tuple[Parsed, pd.Series, pd.Series, dict[str, np.ndarray]]:
    if kind in ("date", "datetime") and pd.api.types.is_datetime64_any_dtype(raw.dtype):
        values = raw.astype("datetime64[us]")
        text = raw.astype("str")
        return Parsed(values=values.dt.floor("D") if kind == "date" else values), text, text, {}
    text = as_text(raw)
    normal, steps = normalise(text, rules)
    return parser_for(kind)(normal, rules), text, normal, steps


def clean_frame(df: pd.DataFrame, rules: CleaningRules, columns: Mapping[str, str] | None = None,
                row_offset: int = 0) -> CleanResult:
    """Clean ``df`` (canonical column names) by column type; see the module docstring for the result.

    ``columns`` overrides the type of a column (``text``, ``date``, ``datetime``, ``phone``, ``email``,
    ``id_number``, ``employee_id``, ``number``, ``enum:<name>``); other columns take their type from
    ``rules.column_types`` and unknown columns are text. ``row`` in the logs is ``row_offset`` plus
    the 0-based position in ``df``. Raises ``ValueError`` when a required column is absent.
    """
    missing = [c for c in rules.required if c not in df.columns]
    if missing:
        raise ValueError(f"required column(s) missing from the data: {', '.join(missing)}")
    overrides = dict(columns or {})
    index = pd.RangeIndex(row_offset, row_offset + len(df))
    rows = np.arange(row_offset, row_offset + len(df), dtype="int64")
    source = df.set_axis(index)
    typed: dict[str, pd.Series] = {}
    repairs: list[pd.DataFrame] = []
    quarantine: list[pd.DataFrame] = []
    kinds: dict[str, str] = {}
    failures: dict[str, np.ndarray] = {}
    for column in source.columns:
        kind = kinds[column] = overrides.get(column) or rules.column_types.get(column, "text")
        parsed, text, normal, steps = _parse_column(source[column], kind, rules)
        failed = _nul_values(text)
        if failed.any():
            quarantine.append(_quarantine_lines(column, "nul_byte", rows, failed, text, NUL_REASON))
        for rule, mask, reason in parsed.errors:
            mask = mask & ~failed
            if mask.any():
                quarantine.append(_quarantine_lines(column, rule, rows, mask, text, reason))
                failed |= mask
        if column in rules.required:
            absent = parsed.values.isna().to_numpy() & ~failed
            if absent.any():
                quarantine.append(_quarantine_lines(column, "required", rows, absent, text, "required value is missing"))
        for rule, mask in steps.items():
            mask = mask & ~failed
            if mask.any():
                after = None if rule == "null_sentinel" else normal[mask].to_numpy(dtype=object)
                repairs.append(_repair_lines(column, rule, rows, mask, text, after))
        for rule, mask in parsed.repairs:
            mask = mask & ~failed
            if mask.any():
                repairs.append(_repair_lines(column, rule, rows, mask, normal, _display(parsed.values[mask], kind)))
        typed[column] = parsed.values.set_axis(index)
        failures[column] = failed
    quarantine.extend(_cross_checks(source, typed, kinds, rules, rows, failures))
    bad = pd.concat(quarantine, ignore_index=True) if quarantine else pd.DataFrame(columns=QUARANTINE_COLUMNS)
    bad = bad.astype({"row": "int64"}).sort_values(["row", "column"], kind="stable").reset_index(drop=True)
    bad_rows = bad["row"].to_numpy()
    log = pd.concat(repairs, ignore_index=True) if repairs else pd.DataFrame(columns=REPAIR_COLUMNS)
    log = log.astype({"row": "int64"})
    log = log[~np.isin(log["row"].to_numpy(), bad_rows)].sort_values(["row", "column"], kind="stable")
    keep = ~np.isin(rows, bad_rows)
    frame = pd.DataFrame(typed, index=index)
    if not keep.all():
        frame = frame[keep]
    return CleanResult(frame=frame, repairs=log.reset_index(drop=True), quarantine=bad, read=len(df))


def _cross_checks(source: pd.DataFrame, typed: dict[str, pd.Series], kinds: dict[str, str], rules: CleaningRules,
                  rows: np.ndarray, failures: dict[str, np.ndarray]) -> list[pd.DataFrame]:
    """Checks that span columns: the ID number's birth date (and, optionally, sex digit) against the record."""
    id_cols = [c for c, k in kinds.items() if k == "id_number"]
    if not id_cols:
        return []
    column = id_cols[0]
    ids = typed[column]
    raw = as_text(source[column])
    lines: list[pd.DataFrame] = []
    if rules.id_birth_consistency and kinds.get("birth_date") == "date":
        births = typed["birth_date"]
        both = ids.notna().to_numpy() & births.notna().to_numpy() & ~failures[column] & ~failures["birth_date"]
        if both.any():
            embedded = id_birth_dates(ids[both])
            differs = (embedded != births[both]).to_numpy()
            mask = np.zeros(len(ids), dtype=bool)
            mask[both] = differs
            if mask.any():
                lines.append(_quarantine_lines(column, "id_birth_mismatch", rows, mask, raw, ID_BIRTH_REASON))
                failures[column] = failures[column] | mask
    if rules.id_gender_consistency and kinds.get("gender") == "enum:gender":
        genders = typed["gender"]
        both = ids.notna().to_numpy() & genders.isin(["M", "F"]).to_numpy() & ~failures[column] & ~failures["gender"]
        if both.any():
            male = ids[both].str.slice(16, 17).astype("int64").to_numpy() % 2 == 1
            differs = np.where(male, "M", "F") != genders[both].to_numpy(dtype=object)
            mask = np.zeros(len(ids), dtype=bool)
            mask[both] = differs
            if mask.any():
                lines.append(_quarantine_lines(column, "id_gender_mismatch", rows, mask, raw, ID_GENDER_REASON))
    return lines
