"""Which interview dimensions predicted later outcomes: effect sizes, intervals, corrected p-values.

Pure functions over columnar data (pandas). Two steps:

1. :func:`outcome_flags` turns hires and their later outcomes into two yes/no columns per hire:
   ``top_performer`` (a top rating within ``top_within_months`` of the hire) and ``early_leaver``
   (a separation of the counted kinds within ``attrition_within_months``). A hire whose window has
   not closed yet and who has no event is *unknown* (``<NA>``), never counted as "no".
2. :func:`analyse` relates each dimension score to each outcome per job family with a logistic
   regression (statsmodels; a binomial GLM on counts per score value, equal to ``Logit`` per person):
   the odds ratio per score point with its 95 % confidence
   interval, the Wald p-value, then Holm (or Benjamini–Hochberg) correction across the dimensions of
   one family and outcome (statsmodels ``multipletests``). Below ``min_sample`` people, or fewer than
   ``min_events`` people on either side of the outcome, it declines and says why.

Protected attributes are never an input here: the only regressor is the dimension score.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

OUTCOMES = ("top_performer", "early_leaver")
DAYS_PER_MONTH = 30.4375


@dataclass(frozen=True)
class AnalysisSettings:
    """Definitions and thresholds of one analysis (``configs/feedback.yaml`` → ``analysis``)."""

    top_rating: float = 0.9  # a rating at or above this share of its scale's maximum is "top" (5 of 5, 9 of 10)
    top_within_months: int = 24
    attrition_within_months: int = 12
    attrition_kinds: tuple[str, ...] = ("voluntary", "involuntary")
    min_sample: int = 200
    min_events: int = 20
    alpha: float = 0.05
    correction: str = "holm"  # statsmodels multipletests method: holm, fdr_bh, bonferroni, ...
    high_score: float = 8.0  # "scored N or more" in the plain-words shares

    @classmethod
    def from_dict(cls, doc: dict[str, Any] | None) -> AnalysisSettings:
        """Build from the YAML mapping; unknown keys are an error naming them."""
        doc = dict(doc or {})
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(doc) - known)
        if unknown:
            raise ValueError(f"feedback analysis: unknown settings {unknown}; known: {sorted(known)}")
        if "attrition_kinds" in doc:
            doc["attrition_kinds"] = tuple(doc["attrition_kinds"])
        settings = cls(**doc)
        if settings.min_sample < 10 or settings.min_events < 1 or not 0 < settings.alpha < 1:
            raise ValueError("feedback analysis: min_sample ≥ 10, min_events ≥ 1 and 0 < alpha < 1 are required")
        return settings


@dataclass
class Finding:
    """One job family × dimension × outcome: the effect, its interval, the sample and the verdict."""

    job_family: str
    dimension: str
    outcome: str
    status: str  # found | no_effect | declined
    people: int
    events: int
    odds_ratio: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    p_adjusted: float | None = None
    share_high_with: float | None = None  # of people with the outcome, share scoring ≥ high_score
    share_high_without: float | None = None
    reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def supports_more_weight(self) -> bool:
        """A found effect in the good direction: more top performers, or fewer early leavers, per point."""
        if self.status != "found" or self.odds_ratio is None:
            return False
        return self.odds_ratio > 1 if self.outcome == "top_performer" else self.odds_ratio < 1

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record (stored with the analysis and quoted as evidence in proposals)."""
        return asdict(self)


def _days(values: pd.Series) -> np.ndarray:
    """Dates (or datetimes) as whole days since the epoch, ``NaN`` where missing."""
    stamps = pd.to_datetime(values, errors="coerce")
    days = (stamps - pd.Timestamp("1970-01-01")).dt.days
    return days.to_numpy(dtype="float64", na_value=np.nan)


def _positions(values: pd.Series, keys: pd.Series) -> np.ndarray:
    """Position of each value in ``keys`` (-1 when absent), hashed by Arrow (no Python strings)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    found = pc.index_in(pa.array(values.astype("string"), type=pa.large_string()),
                        value_set=pa.array(keys.astype("string"), type=pa.large_string()))
    return pc.fill_null(found, -1).to_numpy().astype(np.int64)


def outcome_flags(hires: pd.DataFrame, outcomes: pd.DataFrame, as_of: date,
                  settings: AnalysisSettings) -> pd.DataFrame:
    """Per hire (``application_id``): ``top_performer`` and ``early_leaver`` as nullable booleans.

    ``hires`` needs ``application_id`` (unique: the employment's key) and ``hire_date``; ``outcomes``
    needs ``application_id, kind, effective_date, rating_norm, separation_type``. Outcomes before
    the hire date are ignored.
    """
    ids = pd.Index(hires["application_id"])
    hire_days = _days(hires["hire_date"])
    today = float((pd.Timestamp(as_of) - pd.Timestamp("1970-01-01")).days)
    top_window = settings.top_within_months * DAYS_PER_MONTH
    leave_window = settings.attrition_within_months * DAYS_PER_MONTH
    position = _positions(outcomes["application_id"], hires["application_id"])
    linked = position >= 0
    position = position[linked]
    since = _days(outcomes["effective_date"])[linked] - hire_days[position]
    is_rating = outcomes["kind"].eq("rating").to_numpy(dtype=bool, na_value=False)[linked]
    is_separation = outcomes["kind"].eq("separation").to_numpy(dtype=bool, na_value=False)[linked]
    after = since >= 0
    rating = pd.to_numeric(outcomes["rating_norm"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)[linked]
    rated = is_rating & after & (since <= top_window) & ~np.isnan(rating)
    top = rated & (rating >= settings.top_rating)
    counted = outcomes["separation_type"].isin(settings.attrition_kinds).to_numpy(dtype=bool, na_value=False)
    left = is_separation & after & (since <= leave_window) & counted[linked]
    count = len(ids)
    any_rated = np.bincount(position[rated], minlength=count) > 0
    any_top = np.bincount(position[top], minlength=count) > 0
    any_left = np.bincount(position[left], minlength=count) > 0
    top_closed = hire_days + top_window <= today
    leave_closed = hire_days + leave_window <= today
    top_flag = pd.array(any_top, dtype="boolean")
    top_flag[~any_top & ~(any_rated & top_closed)] = pd.NA
    leave_flag = pd.array(any_left, dtype="boolean")
    leave_flag[~any_left & ~leave_closed] = pd.NA
    return pd.DataFrame({"top_performer": top_flag, "early_leaver": leave_flag}, index=ids)


MAX_GROUPED_VALUES = 5000


def _fit(scores: np.ndarray, outcome: np.ndarray) -> tuple[float, float, float, float]:
    """Logistic regression of ``outcome`` on one score: (odds ratio per point, CI low, CI high, p-value).

    Interview scores take few distinct values (0-10 in tenths), so the people are grouped by score
    and a binomial GLM is fitted to (with outcome, without) counts per value — the same likelihood,
    estimates and Wald intervals as ``Logit`` on every person, in a fraction of the time. Scores
    with more distinct values than :data:`MAX_GROUPED_VALUES` are fitted person by person.
    """
    import statsmodels.api as sm

    values, inverse = np.unique(scores, return_inverse=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if len(values) <= MAX_GROUPED_VALUES:
            people = np.bincount(inverse)
            events = np.bincount(inverse, weights=outcome)
            result = sm.GLM(np.column_stack([events, people - events]), sm.add_constant(values, has_constant="add"),
                            family=sm.families.Binomial()).fit()
        else:
            result = sm.Logit(outcome, sm.add_constant(scores, has_constant="add")).fit(disp=0, method="newton",
                                                                                          maxiter=50)
    low, high = np.asarray(result.conf_int(alpha=0.05))[1]
    params, pvalues = np.asarray(result.params), np.asarray(result.pvalues)
    return float(np.exp(params[1])), float(np.exp(low)), float(np.exp(high)), float(pvalues[1])


def _test_one(family: str, dimension: str, outcome: str, scores: np.ndarray, flags: np.ndarray,
              settings: AnalysisSettings) -> Finding:
    people, events = len(scores), int(flags.sum())
    finding = Finding(family, dimension, outcome, "declined", people, events)
    if people < settings.min_sample:
        finding.reason = f"only {people} people with a score and a known outcome; at least {settings.min_sample} are needed"
        finding.extra["why"] = {"key": "min_sample", "count": people, "needed": settings.min_sample}
        return finding
    if min(events, people - events) < settings.min_events:
        finding.reason = (f"only {min(events, people - events)} people on one side of the outcome "
                          f"({events} of {people}); at least {settings.min_events} on each side are needed")
        finding.extra["why"] = {"key": "min_events", "count": min(events, people - events), "needed": settings.min_events}
        return finding
    if np.nanstd(scores) == 0:
        finding.reason = "every person has the same score: nothing to compare"
        finding.extra["why"] = {"key": "same_score"}
        return finding
    high = scores >= settings.high_score
    finding.share_high_with = float(high[flags].mean())
    finding.share_high_without = float(high[~flags].mean())
    try:
        finding.odds_ratio, finding.ci_low, finding.ci_high, finding.p_value = _fit(scores, flags.astype("float64"))
    except Exception as exc:  # perfect separation, singular matrix: the model cannot say
        finding.reason = f"the model could not be fitted ({type(exc).__name__}); the scores separate the outcome perfectly or nearly"
        finding.extra["why"] = {"key": "separation"}
        return finding
    if not np.isfinite([finding.odds_ratio, finding.ci_low, finding.ci_high, finding.p_value]).all():
        finding.reason = "the model gave no finite estimate; the scores separate the outcome perfectly or nearly"
        finding.extra["why"] = {"key": "separation"}
        finding.odds_ratio = finding.ci_low = finding.ci_high = finding.p_value = None
        return finding
    finding.status = "tested"
    return finding


def analyse(frame: pd.DataFrame, dimensions: Sequence[str], settings: AnalysisSettings) -> list[Finding]:
    """Findings per job family × dimension × outcome, corrected for multiple comparisons.

    ``frame`` has one row per hire: ``job_family``, one float column per dimension (``NaN`` when
    the interview did not score it) and the nullable boolean outcome columns of
    :func:`outcome_flags`. Only the dimension score is ever a model input.
    """
    from statsmodels.stats.multitest import multipletests

    findings: list[Finding] = []
    for family, rows in frame.groupby("job_family", sort=True):
        for outcome in OUTCOMES:
            known = rows[outcome].notna().to_numpy()
            flags_all = rows[outcome].to_numpy(dtype="bool", na_value=False)
            batch = []
            for dimension in dimensions:
                if dimension not in rows.columns:
                    continue
                scores = rows[dimension].to_numpy(dtype="float64", na_value=np.nan)
                usable = known & ~np.isnan(scores)
                if not usable.any():
                    continue
                batch.append(_test_one(str(family), dimension, outcome, scores[usable], flags_all[usable], settings))
            tested = [f for f in batch if f.status == "tested"]
            if tested:
                reject, adjusted, _, _ = multipletests([f.p_value for f in tested], alpha=settings.alpha,
                                                       method=settings.correction)
                for finding, significant, p_adj in zip(tested, reject, adjusted, strict=True):
                    finding.p_adjusted = float(p_adj)
                    finding.status = "found" if significant else "no_effect"
                    finding.extra["correction"] = settings.correction
                    finding.extra["tests_in_family"] = len(tested)
            findings.extend(batch)
    return findings
