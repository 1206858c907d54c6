"""Interview results → columnar frames with the helper columns the validation suite checks.

A raw result is a nested JSON object (dimensions, keywords, clips). :func:`flatten_results` turns
a batch of them into a :class:`ResultFrames` (one scalar row per result plus long frames for the
nested lists, joined by ``row``); :func:`derive_check_columns` then adds simple per-result columns
(lowest/highest dimension score, all-dimensions-known flag, keywords_ok, clips_ok,
belongs_to_known_invitation, completion lag) with vectorised pandas, so that standard Great
Expectations column expectations can evaluate every rule column-wise.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

SCALAR_FIELDS = (
    "result_id", "invitation_id", "candidate_id", "application_id", "job_id", "job_family",
    "completed_at", "invited_at", "overall_score", "report_url", "model_version",
    "interviewer_comments", "transcript_ref",
)
ID_FIELDS = ("result_id", "invitation_id", "candidate_id", "application_id", "job_id", "job_family")


@dataclass(frozen=True)
class CheckParameters:
    """Parameters of the row-level checks, read from ``configs/interview_results.yaml``."""

    scale_min: float = 0.0
    scale_max: float = 100.0
    dimensions: Mapping[str, Sequence[str]] = field(default_factory=dict)
    max_keywords: int = 20
    max_keyword_chars: int = 40
    clip_url_pattern: str = r"^https?://[^\s/]+/\S+$"
    clip_id_pattern: str = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{2,63}$"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> CheckParameters:
        """Build from the parsed results config (missing keys keep their defaults)."""
        scale = config.get("scale") or {}
        keywords = config.get("keywords") or {}
        clips = config.get("clips") or {}
        defaults = cls()
        return cls(
            scale_min=float(scale.get("min", defaults.scale_min)),
            scale_max=float(scale.get("max", defaults.scale_max)),
            dimensions={str(k): tuple(v) for k, v in (config.get("dimensions") or {}).items()},
            max_keywords=int(keywords.get("max_items", defaults.max_keywords)),
            max_keyword_chars=int(keywords.get("max_chars", defaults.max_keyword_chars)),
            clip_url_pattern=str(clips.get("url_pattern", defaults.clip_url_pattern)),
            clip_id_pattern=str(clips.get("id_pattern", defaults.clip_id_pattern)),
        )


@dataclass
class ResultFrames:
    """A batch of results in columnar form; ``row`` (0..n-1) links the long frames to ``results``."""

    results: pd.DataFrame
    dimensions: pd.DataFrame
    keywords: pd.DataFrame
    clips: pd.DataFrame

    def __len__(self) -> int:
        return len(self.results)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    text = str(value).strip()
    return text or None


def _number(value: Any) -> float:
    if isinstance(value, bool):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def flatten_results(raw: Sequence[Mapping[str, Any]]) -> ResultFrames:
    """Flatten raw result payloads into a :class:`ResultFrames` without dropping any of them.

    Malformed parts become values the checks reject (empty ids → null, non-numeric scores → NaN,
    keywords that are not a list of strings → ``keywords_well_typed`` False, clips that are not
    objects → a clip with no id), so every problem surfaces as a failed rule, never an exception.
    """
    scalars: dict[str, list[Any]] = {name: [] for name in SCALAR_FIELDS}
    scale_min: list[float] = []
    scale_max: list[float] = []
    keywords_typed: list[bool] = []
    dims: dict[str, list[Any]] = {"row": [], "name": [], "score": [], "weight": [], "comment": []}
    kws: dict[str, list[Any]] = {"row": [], "keyword": []}
    clips: dict[str, list[Any]] = {"row": [], "clip_id": [], "url": [], "dimension": [], "expires_at": []}
    for row, item in enumerate(raw):
        item = item if isinstance(item, Mapping) else {}
        for name in SCALAR_FIELDS:
            value = item.get(name)
            scalars[name].append(_number(value) if name == "overall_score" else _text(value))
        scale = item.get("scale") if isinstance(item.get("scale"), Mapping) else {}
        scale_min.append(_number(scale.get("min")))
        scale_max.append(_number(scale.get("max")))
        for dim in item.get("dimensions") or []:
            dim = dim if isinstance(dim, Mapping) else {}
            dims["row"].append(row)
            dims["name"].append(_text(dim.get("name")))
            dims["score"].append(_number(dim.get("score")))
            dims["weight"].append(_number(dim.get("weight")))
            dims["comment"].append(_text(dim.get("comment")))
        keywords = item.get("keywords", [])
        typed = isinstance(keywords, list) and all(isinstance(k, str) for k in keywords)
        keywords_typed.append(typed)
        if isinstance(keywords, list):
            for keyword in keywords:
                kws["row"].append(row)
                kws["keyword"].append(keyword if isinstance(keyword, str) else None)
        for clip in item.get("clips") or []:
            clip = clip if isinstance(clip, Mapping) else {}
            clips["row"].append(row)
            clips["clip_id"].append(_text(clip.get("clip_id")))
            clips["url"].append(_text(clip.get("url")))
            clips["dimension"].append(_text(clip.get("dimension")))
            clips["expires_at"].append(_text(clip.get("expires_at")))
    results = pd.DataFrame(scalars)
    results["scale_min"] = np.asarray(scale_min, dtype="float64")
    results["scale_max"] = np.asarray(scale_max, dtype="float64")
    results["keywords_well_typed"] = np.asarray(keywords_typed, dtype=bool)
    results["overall_score"] = results["overall_score"].astype("float64")
    for name in ("completed_at", "invited_at"):
        results[name] = parse_times(results[name])
    clip_frame = pd.DataFrame(clips)
    clip_frame["expires_at"] = parse_times(clip_frame["expires_at"])
    dim_frame = pd.DataFrame(dims)
    dim_frame = dim_frame.astype(
        {"row": "int64", "name": "str", "score": "float64", "weight": "float64", "comment": "str"}
    )
    return ResultFrames(
        results=results,
        dimensions=dim_frame,
        keywords=pd.DataFrame(kws).astype({"row": "int64", "keyword": "str"}),
        clips=clip_frame.astype({"row": "int64", "clip_id": "str", "url": "str", "dimension": "str"}),
    )


def parse_times(values: pd.Series) -> pd.Series:
    """RFC 3339 strings → aware UTC timestamps; unparseable values become NaT (checked as missing)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.tz_localize("UTC") if values.dt.tz is None else values.dt.tz_convert("UTC")
    return pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")


def _rescale(scores: pd.Series, src_min: pd.Series, src_max: pd.Series, params: CheckParameters) -> pd.Series:
    """Rescale scores from a result's declared scale to the configured one (same scale: unchanged)."""
    declared = src_min.notna() & src_max.notna() & (src_max > src_min)
    differs = declared & ((src_min != params.scale_min) | (src_max != params.scale_max))
    if not differs.any():
        return scores
    span = params.scale_max - params.scale_min
    rescaled = (scores - src_min) / (src_max - src_min) * span + params.scale_min
    return scores.where(~differs, rescaled)


def _arrow_strings(values: pd.Series | Iterable[str]) -> pa.Array:
    if isinstance(values, pd.Series):
        return pa.array(values.astype("str"), type=pa.string())
    return pa.array([str(v) for v in values], type=pa.string())


def _regex_ok(values: pa.Array, pattern: str) -> np.ndarray:
    """Vectorised (RE2, in Arrow) regex match; missing values do not match."""
    return pc.fill_null(pc.match_substring_regex(values, pattern), False).to_numpy(zero_copy_only=False)


def _is_in(values: pa.Array, known: pa.Array) -> np.ndarray:
    """Vectorised membership test in Arrow; missing values are not members."""
    return pc.fill_null(pc.is_in(values, value_set=known, skip_nulls=True), False).to_numpy(zero_copy_only=False)


def _start_string_checks(
    pool: ThreadPoolExecutor, clip_ids: pd.Series, urls: pd.Series, invitation_ids: pd.Series,
    known: Iterable[str] | pd.Series, params: CheckParameters,
) -> list[Future[np.ndarray]]:
    """Start the three string-heavy checks in threads (Arrow kernels release the GIL)."""
    return [
        pool.submit(lambda: _regex_ok(_arrow_strings(clip_ids), params.clip_id_pattern)),
        pool.submit(lambda: _regex_ok(_arrow_strings(urls), params.clip_url_pattern)),
        pool.submit(lambda: _is_in(
            _arrow_strings(invitation_ids),
            _arrow_strings(known.dropna() if isinstance(known, pd.Series) else known),
        )),
    ]


def _known_dimensions(params: CheckParameters, families: pd.Series, names: pd.Series, rows: np.ndarray) -> np.ndarray:
    """Per dimension row: is its name allowed for its result's job family (else the default list)?

    Families and names are factorised once and looked up in a small allowed[family, name] table,
    so the cost is a few array indexings whatever the number of rows.
    """
    family_codes, family_values = pd.factorize(families)
    name_codes, name_values = pd.factorize(names)
    default = set(params.dimensions.get("default", ()))
    # The extra last row/column stands for a missing family/name (code -1): never allowed.
    allowed = np.zeros((len(family_values) + 1, len(name_values) + 1), dtype=bool)
    for i, family in enumerate(family_values):
        accepted = set(params.dimensions.get(family, default))
        allowed[i, : len(name_values)] = [name in accepted for name in name_values]
    return allowed[family_codes[rows], name_codes]


def derive_check_columns(
    frames: ResultFrames,
    params: CheckParameters,
    known_invitations: Iterable[str] | pd.Series,
    now: datetime,
) -> pd.DataFrame:
    """Return ``frames.results`` with scores rescaled and the helper columns the suite checks.

    Added columns: ``dimension_count``, ``dimension_score_min``, ``dimension_score_max`` (a
    non-numeric dimension score counts as +inf so it fails the scale check), ``dimensions_known``,
    ``keywords_ok``, ``clips_ok``, ``belongs_to_known_invitation``, ``completion_lag_seconds``.
    """
    with ThreadPoolExecutor(max_workers=3) as pool:
        pending = _start_string_checks(pool, frames.clips["clip_id"], frames.clips["url"],
                                       frames.results["invitation_id"], known_invitations, params)
        return _derive(frames, params, now, pending)


def _derive(frames: ResultFrames, params: CheckParameters, now: datetime, pending: list[Future[np.ndarray]]) -> pd.DataFrame:
    results = frames.results.copy()
    n = len(results)
    results["overall_score"] = _rescale(
        results["overall_score"], results["scale_min"], results["scale_max"], params
    )
    dims = frames.dimensions
    row_scale = results[["scale_min", "scale_max"]].iloc[dims["row"].to_numpy()]
    scores = _rescale(
        dims["score"].reset_index(drop=True),
        row_scale["scale_min"].reset_index(drop=True),
        row_scale["scale_max"].reset_index(drop=True),
        params,
    ).fillna(np.inf)
    by_row = pd.DataFrame({"row": dims["row"].to_numpy(), "score": scores.to_numpy()}).groupby("row")["score"]
    results["dimension_count"] = np.bincount(dims["row"].to_numpy(), minlength=n)[:n]
    results["dimension_score_min"] = by_row.min().reindex(range(n)).to_numpy()
    results["dimension_score_max"] = by_row.max().reindex(range(n)).to_numpy()

    dim_rows = dims["row"].to_numpy()
    known = _known_dimensions(params, results["job_family"], dims["name"], dim_rows)
    unknown_rows = np.unique(dim_rows[~known])
    dimensions_known = results["dimension_count"].to_numpy() > 0
    dimensions_known[unknown_rows] = False
    results["dimensions_known"] = dimensions_known

    kws = frames.keywords
    lengths = kws["keyword"].str.len()
    kw_rows = kws["row"].to_numpy()
    too_long = (lengths.isna() | (lengths == 0) | (lengths > params.max_keyword_chars)).to_numpy(dtype=bool)
    keywords_ok = results["keywords_well_typed"].to_numpy(dtype=bool) & (
        np.bincount(kw_rows, minlength=n)[:n] <= params.max_keywords
    )
    keywords_ok[np.unique(kw_rows[too_long])] = False
    results["keywords_ok"] = keywords_ok

    clips = frames.clips
    moment = pd.Timestamp(now)
    moment = moment.tz_convert("UTC") if moment.tzinfo else moment.tz_localize("UTC")
    ids_ok, urls_ok, in_hub = (future.result() for future in pending)
    clip_good = ids_ok & urls_ok & clips["expires_at"].gt(moment).to_numpy(dtype=bool)
    clip_bad_rows = np.unique(clips["row"].to_numpy()[~clip_good])
    clips_ok = np.ones(n, dtype=bool)
    clips_ok[clip_bad_rows] = False
    results["clips_ok"] = clips_ok

    results["belongs_to_known_invitation"] = in_hub
    lag = (results["completed_at"] - results["invited_at"]).dt.total_seconds()
    results["completion_lag_seconds"] = lag.astype("float64")
    return results
