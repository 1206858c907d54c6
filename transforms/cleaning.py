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

from transforms.cleaning_parsers import Parsed, id_birth_dates, parser_for
from transforms.cleaning_rules import CANONICAL_COLUMNS, CleaningRules, DedupeRules, load_rules

__all__ = ["CANONICAL_COLUMNS", "CleanResult", "CleaningRules", "DedupeRules", "clean_frame", "load_rules"]

FULLWIDTH_CHARS = "[\uff01-\uff5e\u3000]"
FULLWIDTH = str.maketrans({**{chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)}, "\u3000": " "})
REPAIR_COLUMNS = ["row", "column", "original", "new", "rule"]
QUARANTINE_COLUMNS = ["row", "column", "value", "rule", "reason"]


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


def as_text(raw: pd.Series) -> pd.Series:
    """Any column → ``str`` dtype with NaN for missing; integral floats lose their ``.0``."""
    if pd.api.types.is_float_dtype(raw.dtype):
        finite = raw.dropna()
        if len(finite) and bool((finite == np.floor(finite)).all()):
            raw = raw.astype("Int64")
    return raw.astype("str")


def normalise(text: pd.Series, rules: CleaningRules) -> tuple[pd.Series, dict[str, pd.Series]]:
    """Fold full-width ASCII, trim, and null the sentinels; returns values and the mask per rule."""
    present = text.notna()
    wide = pd.Series(False, index=text.index)
    foreign = present & ~text.str.isascii().fillna(True).astype(bool)
    if foreign.any():
        wide[foreign] = text[foreign].str.contains(FULLWIDTH_CHARS, regex=True).fillna(False).astype(bool)
    folded = text.copy()
    if wide.any():
        folded[wide] = text[wide].str.translate(FULLWIDTH)
    stripped = folded.str.strip()
    sentinels = {s.strip().upper() for s in rules.null_sentinels}
    sentinel = present & stripped.str.upper().isin(sentinels)
    trimmed = present & ~wide & (stripped != text).fillna(False)
    values = stripped.mask(sentinel) if sentinel.any() else stripped
    return values, {"null_sentinel": sentinel, "fullwidth": wide & ~sentinel, "trim": trimmed & ~sentinel}


def _display(values: pd.Series, kind: str) -> pd.Series:
    """Typed values → the text written to the repair log (only called on the repaired subset)."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        fmt = "%Y-%m-%d" if kind == "date" else "%Y-%m-%d %H:%M:%S"
        return values.dt.strftime(fmt).astype("str")
    if pd.api.types.is_float_dtype(values.dtype):
        return pd.Series([f"{v:g}" if pd.notna(v) else None for v in values], index=values.index, dtype="str")
    return values.astype("str")


def _repair_lines(column: str, rule: str, mask: pd.Series, before: pd.Series, after: pd.Series) -> pd.DataFrame:
    return pd.DataFrame({"row": mask.index[mask.to_numpy()].to_numpy(dtype="int64"), "column": column,
                         "original": before[mask].to_numpy(), "new": after.reindex(mask.index[mask.to_numpy()]).to_numpy(),
                         "rule": rule},
                        columns=REPAIR_COLUMNS)


def _quarantine_lines(column: str, rule: str, mask: pd.Series, raw: pd.Series,
                      reason: pd.Series | str) -> pd.DataFrame:
    reasons = reason[mask].to_numpy() if isinstance(reason, pd.Series) else reason
    return pd.DataFrame({"row": mask.index[mask.to_numpy()].to_numpy(dtype="int64"), "column": column,
                         "value": raw[mask].to_numpy(), "rule": rule, "reason": reasons},
                        columns=QUARANTINE_COLUMNS)


def _parse_column(raw: pd.Series, kind: str, rules: CleaningRules) -> tuple[Parsed, pd.Series, dict[str, pd.Series]]:
    if kind in ("date", "datetime") and pd.api.types.is_datetime64_any_dtype(raw.dtype):
        values = raw.astype("datetime64[us]")
        return Parsed(values=values.dt.floor("D") if kind == "date" else values), raw.astype("str"), {}
    text = as_text(raw)
    normal, steps = normalise(text, rules)
    return parser_for(kind)(normal, rules), text, {"normal": normal, **steps}


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
    source = df.set_axis(pd.RangeIndex(row_offset, row_offset + len(df)))
    typed: dict[str, pd.Series] = {}
    repairs: list[pd.DataFrame] = []
    quarantine: list[pd.DataFrame] = []
    kinds: dict[str, str] = {}
    failures: dict[str, pd.Series] = {}
    for column in source.columns:
        kind = overrides.get(column) or rules.column_types.get(column, "text")
        kinds[column] = kind
        parsed, text, steps = _parse_column(source[column], kind, rules)
        failed = pd.Series(False, index=source.index)
        for rule, mask, reason in parsed.errors:
            mask = mask & ~failed
            if mask.any():
                quarantine.append(_quarantine_lines(column, rule, mask, text, reason))
                failed |= mask
        if column in rules.required:
            absent = parsed.values.isna() & ~failed
            if absent.any():
                quarantine.append(_quarantine_lines(column, "required", absent, text, "required value is missing"))
        normal = steps.pop("normal", text)
        for rule, mask in steps.items():
            mask = mask & ~failed
            if mask.any():
                after = normal if rule != "null_sentinel" else pd.Series(np.nan, index=text.index, dtype="str")
                repairs.append(_repair_lines(column, rule, mask, text, after))
        for rule, mask in parsed.repairs:
            mask = mask & ~failed
            if mask.any():
                repairs.append(_repair_lines(column, rule, mask, normal, _display(parsed.values[mask], kind)))
        typed[column] = parsed.values
        failures[column] = failed
    quarantine.extend(_cross_checks(source, typed, kinds, rules, failures))
    bad = pd.concat(quarantine, ignore_index=True) if quarantine else pd.DataFrame(columns=QUARANTINE_COLUMNS)
    bad = bad.astype({"row": "int64"}).sort_values(["row", "column"], kind="stable").reset_index(drop=True)
    log = pd.concat(repairs, ignore_index=True) if repairs else pd.DataFrame(columns=REPAIR_COLUMNS)
    log = log.astype({"row": "int64"})
    log = log[~log["row"].isin(bad["row"])].sort_values(["row", "column"], kind="stable").reset_index(drop=True)
    frame = pd.DataFrame(typed, index=source.index)
    frame = frame[~frame.index.isin(bad["row"])]
    return CleanResult(frame=frame, repairs=log, quarantine=bad, read=len(df))


def _cross_checks(source: pd.DataFrame, typed: dict[str, pd.Series], kinds: dict[str, str],
                  rules: CleaningRules, failures: dict[str, pd.Series]) -> list[pd.DataFrame]:
    """Checks that span columns: the birth date inside the ID number must equal ``birth_date``."""
    id_cols = [c for c, k in kinds.items() if k == "id_number"]
    if not rules.id_birth_consistency or not id_cols or kinds.get("birth_date") != "date":
        return []
    column = id_cols[0]
    ids, births = typed[column], typed["birth_date"]
    both = ids.notna() & births.notna() & ~failures[column] & ~failures["birth_date"]
    if not both.any():
        return []
    embedded = id_birth_dates(ids[both])
    differs = embedded != births[both]
    mask = pd.Series(False, index=ids.index)
    mask[both] = differs
    if not mask.any():
        return []
    reason = ("embedded birth date " + embedded[differs].dt.strftime("%Y-%m-%d") + " differs from birth_date "
              + births[both][differs].dt.strftime("%Y-%m-%d"))
    full_reason = pd.Series("", index=ids.index, dtype="str")
    full_reason[mask] = reason
    return [_quarantine_lines(column, "id_birth_mismatch", mask, as_text(source[column]), full_reason)]
