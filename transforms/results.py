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
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

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


def _allowed_dimension_pairs(params: CheckParameters, families: pd.Series) -> pd.DataFrame:
    """(job_family, name) pairs accepted: each family's own list, else the ``default`` list."""
    pairs: list[tuple[str, str]] = []
    default = tuple(params.dimensions.get("default", ()))
    for family in families.dropna().unique().tolist():
        for name in params.dimensions.get(family, default):
            pairs.append((family, name))
    return pd.DataFrame(pairs, columns=["job_family", "name"]).drop_duplicates()


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
    results["dimension_count"] = by_row.size().reindex(range(n), fill_value=0).to_numpy()
    results["dimension_score_min"] = by_row.min().reindex(range(n)).to_numpy()
    results["dimension_score_max"] = by_row.max().reindex(range(n)).to_numpy()

    families = results["job_family"].iloc[dims["row"].to_numpy()].to_numpy()
    dim_keys = pd.DataFrame({"row": dims["row"].to_numpy(), "job_family": families, "name": dims["name"].to_numpy()})
    allowed = _allowed_dimension_pairs(params, results["job_family"]).assign(known=True)
    known = dim_keys.merge(allowed, on=["job_family", "name"], how="left")["known"].eq(True)
    all_known = known.groupby(dim_keys["row"].to_numpy()).all().reindex(range(n), fill_value=False)
    results["dimensions_known"] = all_known.to_numpy() & (results["dimension_count"].to_numpy() > 0)

    kws = frames.keywords
    lengths = kws["keyword"].str.len()
    keyword_bad = (lengths.isna() | (lengths == 0) | (lengths > params.max_keyword_chars)).groupby(kws["row"]).any()
    keyword_count = kws.groupby("row").size()
    keyword_bad = keyword_bad.reindex(range(n), fill_value=False).to_numpy()
    keyword_count = keyword_count.reindex(range(n), fill_value=0).to_numpy()
    results["keywords_ok"] = (
        results["keywords_well_typed"].to_numpy() & ~keyword_bad & (keyword_count <= params.max_keywords)
    )

    clips = frames.clips
    clip_good = (
        clips["clip_id"].str.match(params.clip_id_pattern).eq(True)
        & clips["url"].str.match(params.clip_url_pattern).eq(True)
        & clips["expires_at"].gt(pd.Timestamp(now).tz_convert("UTC") if pd.Timestamp(now).tzinfo else pd.Timestamp(now, tz="UTC"))
    )
    clips_ok = clip_good.groupby(clips["row"].to_numpy()).all().reindex(range(n), fill_value=True)
    results["clips_ok"] = clips_ok.to_numpy(dtype=bool)

    known_ids = known_invitations if isinstance(known_invitations, pd.Series) else pd.Series(list(known_invitations), dtype=object)
    results["belongs_to_known_invitation"] = results["invitation_id"].isin(known_ids).to_numpy()
    lag = (results["completed_at"] - results["invited_at"]).dt.total_seconds()
    results["completion_lag_seconds"] = lag.astype("float64")
    return results
