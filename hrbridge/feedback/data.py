"""The employee archive as columnar frames for the feedback analysis (read-only).

* :func:`load_hires` — one row per hire: person, job family, hire date and the dimension scores of
  the interview at hire (the latest completed portrait of that application), one column each.
* :func:`load_outcomes` — every later outcome, long format, with ``rating_norm`` = rating / scale.
* :func:`load_protected` — protected attributes, decrypted, only for a role that holds
  ``archive.protected_attributes: read``; used by the four-fifths check and nothing else.

Frames are read in chunks (``chunksize`` rows) so a large archive is never one giant result set.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hrbridge.archive import employments, outcomes, portraits, protected_attributes

CHUNK = 200_000
PROTECTED_RESOURCE = "archive.protected_attributes"


def _read(engine: Engine, query: Any, chunksize: int = CHUNK) -> pd.DataFrame:
    with engine.connect() as conn:
        parts = list(pd.read_sql_query(query, conn, chunksize=chunksize))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _scores(values: pd.Series) -> pd.DataFrame:
    records = [v if isinstance(v, dict) else json.loads(v) if isinstance(v, str) else {} for v in values]
    frame = pd.DataFrame.from_records(records, index=values.index)
    return frame.apply(pd.to_numeric, errors="coerce").astype("float64")


def load_hires(engine: Engine) -> tuple[pd.DataFrame, list[str]]:
    """Hires with their interview scores at hire; returns the frame and the dimension columns."""
    hires = _read(engine, sa.select(employments.c.application_id, employments.c.person_key, employments.c.candidate_id,
                                    employments.c.job_family, employments.c.hire_date))
    scored = _read(engine, sa.select(portraits.c.application_id, portraits.c.completed_at,
                                     portraits.c.dimension_scores, portraits.c.job_family.label("portrait_family")))
    if hires.empty:
        return pd.DataFrame(columns=["application_id", "person_key", "candidate_id", "job_family", "hire_date"]), []
    if scored.empty:
        return hires, []
    scored = scored.sort_values(["application_id", "completed_at"]).drop_duplicates("application_id", keep="last")
    dims = _scores(scored["dimension_scores"])
    scored = pd.concat([scored[["application_id", "portrait_family"]].reset_index(drop=True),
                        dims.reset_index(drop=True)], axis=1)
    frame = hires.merge(scored, on="application_id", how="left")
    frame["job_family"] = frame["job_family"].fillna(frame.pop("portrait_family"))
    return frame, sorted(dims.columns)


def load_outcomes(engine: Engine) -> pd.DataFrame:
    """Every outcome (no notes): ``application_id, person_key, kind, effective_date, rating_norm, ...``."""
    frame = _read(engine, sa.select(outcomes.c.outcome_id, outcomes.c.person_key, outcomes.c.application_id,
                                    outcomes.c.kind, outcomes.c.effective_date, outcomes.c.rating,
                                    outcomes.c.rating_scale_max, outcomes.c.separation_type))
    if frame.empty:
        frame = pd.DataFrame(columns=["outcome_id", "person_key", "application_id", "kind", "effective_date", "rating",
                                      "rating_scale_max", "separation_type"])
    frame["rating_norm"] = pd.to_numeric(frame["rating"], errors="coerce") / pd.to_numeric(
        frame["rating_scale_max"], errors="coerce")
    return frame


def load_protected(engine: Engine, vault: Any, policy: Any, role: str, attributes: Sequence[str]) -> pd.DataFrame:
    """``person_key`` + the configured attribute columns, decrypted; AccessDenied unless ``role`` may read them."""
    from hrbridge.pipelines.pii import open_rows

    policy.require(role, PROTECTED_RESOURCE, "read")
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(sa.select(protected_attributes.c.person_key,
                                                        protected_attributes.c.candidate_id,
                                                        protected_attributes.c.attributes)).mappings()]
    opened, _ = open_rows(vault, rows, ["attributes"], table="archive_protected", subject_key="candidate_id",
                          record_key="person_key") if rows else ([], set())
    records = []
    for row in opened:
        values = json.loads(row["attributes"]) if row.get("attributes") else {}
        records.append({"person_key": row["person_key"], **{a: values.get(a) for a in attributes}})
    return pd.DataFrame.from_records(records, columns=["person_key", *attributes])
