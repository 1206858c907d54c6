"""A synthetic employee archive with planted effects, for the feedback analysis (tests and benchmark).

Vectorised (numpy), so the benchmark can make a million people. What is planted:

* **Sales**: each point of ``customer_negotiation`` multiplies the odds of a top rating within two
  years by ``exp(NEGOTIATION_LOG_ODDS)``; each point of ``collaboration`` (teamwork) multiplies
  the odds of leaving within a year by ``exp(TEAMWORK_LOG_ODDS)``; ``communication`` predicts
  nothing (the null dimension).
* **Engineering**: ``technical_depth`` predicts top ratings, and people of group ``B`` of the
  ``gender`` attribute score lower on it — weighting it more would lower their pass rate below the
  four-fifths floor (the unfair proposal).
* **Customer Service**: too few people to conclude anything (the small family).

Ratings are on a 1–5 scale (5 = top, normalised 1.0); separations are voluntary or involuntary.
Protected attributes come back in their own frame and never touch the outcomes' model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

AS_OF = date(2026, 6, 30)
NEGOTIATION_LOG_ODDS = 0.55
TEAMWORK_LOG_ODDS = -0.6
TECHNICAL_LOG_ODDS = 0.5
GROUP_B_SHIFT = 0.55  # group B scores this much lower on technical_depth (Engineering)
FAMILIES = {  # family -> (share of people, dimensions scored)
    "Sales": (0.5, ("customer_negotiation", "communication", "resilience", "problem_solving", "collaboration")),
    "Engineering": (0.48, ("technical_depth", "problem_solving", "collaboration", "communication")),
    "Customer Service": (0.02, ("empathy", "communication", "problem_solving", "resilience")),
}
DIMENSIONS = sorted({d for _, dims in FAMILIES.values() for d in dims})


@dataclass
class PlantedArchive:
    """Hires (one row per hire, wide dimension scores), outcomes (long) and protected attributes."""

    hires: pd.DataFrame
    outcomes: pd.DataFrame
    attributes: pd.DataFrame
    as_of: date = AS_OF


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def planted_archive(people: int = 6000, *, seed: int = 7, small_family: int | None = 60,
                    ratings_per_person: int = 2, review_every_days: int = 365,
                    python_dates: bool = True) -> PlantedArchive:
    """Make ``people`` hires with the planted effects (``small_family`` fixes Customer Service's size).

    Reviews come every ``review_every_days`` (the first ~11 months after the hire), at most
    ``ratings_per_person`` of them; ``python_dates=False`` keeps dates as ``datetime64`` columns (as
    read from Parquet), which the benchmark uses at a million people.
    """
    rng = np.random.default_rng(seed)
    shares = np.array([s for s, _ in FAMILIES.values()])
    names = np.array(list(FAMILIES))
    family = rng.choice(names, size=people, p=shares / shares.sum())
    if small_family is not None:
        service = np.flatnonzero(family == "Customer Service")
        others = np.array([n for n in names if n != "Customer Service"])
        if len(service) > small_family:
            family[service[small_family:]] = rng.choice(others, size=len(service) - small_family)
    gender = rng.choice(np.array(["A", "B"]), size=people)
    hires = pd.DataFrame({
        "application_id": np.char.add("app-", np.arange(people).astype(str)),
        "person_key": np.char.add("p-", np.arange(people).astype(str)),
        "job_family": family,
    })
    hires["candidate_id"] = hires["person_key"].str.slice(2)
    start = (pd.Timestamp(AS_OF) - pd.Timestamp("1970-01-01")).days - 6 * 365
    hire_day = start + rng.integers(0, 5 * 365, size=people)  # 1-6 years ago: most windows closed
    hires["hire_date"] = pd.to_datetime(hire_day, unit="D")
    if python_dates:
        hires["hire_date"] = hires["hire_date"].dt.date
    for dim in DIMENSIONS:
        hires[dim] = np.nan
    for name, (_, dims) in FAMILIES.items():
        rows = family == name
        for dim in dims:
            hires.loc[rows, dim] = np.clip(rng.normal(6.5, 1.5, size=int(rows.sum())), 0, 10).round(1)
    eng_b = (family == "Engineering") & (gender == "B")
    hires.loc[eng_b, "technical_depth"] = (hires.loc[eng_b, "technical_depth"] - GROUP_B_SHIFT).clip(0, 10)

    centred = {d: (hires[d].to_numpy() - 6.5) for d in DIMENSIONS}
    top_logit = np.full(people, -1.2)
    leave_logit = np.full(people, -1.6)
    sales, eng = family == "Sales", family == "Engineering"
    top_logit[sales] += NEGOTIATION_LOG_ODDS * centred["customer_negotiation"][sales]
    leave_logit[sales] += TEAMWORK_LOG_ODDS * centred["collaboration"][sales]
    top_logit[eng] += TECHNICAL_LOG_ODDS * centred["technical_depth"][eng]
    top = rng.random(people) < _logistic(top_logit)
    early = rng.random(people) < _logistic(leave_logit)
    later = ~early & (rng.random(people) < 0.15)

    frames = []
    leave_after = np.where(early, rng.integers(30, 330, size=people), rng.integers(400, 1500, size=people))
    leaving = early | later
    frames.append(pd.DataFrame({
        "application_id": hires["application_id"][leaving].to_numpy(),
        "kind": "separation",
        "effective_day": hire_day[leaving] + leave_after[leaving],
        "rating": np.nan, "rating_scale_max": np.nan,
        "separation_type": rng.choice(np.array(["voluntary", "involuntary"]), size=int(leaving.sum()), p=[0.7, 0.3]),
    }))
    rating = np.where(top, 5.0, rng.choice(np.array([2.0, 3.0, 4.0]), size=people, p=[0.2, 0.6, 0.2]))
    today = (pd.Timestamp(AS_OF) - pd.Timestamp("1970-01-01")).days
    for review in range(ratings_per_person):
        day = hire_day + 335 + review_every_days * review + rng.integers(0, 20, size=people)
        present = ~(leaving & (hire_day + leave_after <= day)) & (day <= today)
        if not present.any():
            break
        if review_every_days * review > 380:  # past the two-year window ratings drift; within it, "top" is planted
            rating = np.where(rng.random(people) < 0.8, rating, rng.choice(np.array([3.0, 4.0, 5.0]), size=people))
        frames.append(pd.DataFrame({
            "application_id": hires["application_id"][present].to_numpy(), "kind": "rating",
            "effective_day": day[present], "rating": rating[present], "rating_scale_max": 5.0,
            "separation_type": None,
        }))
    promoted = top & (rng.random(people) < 0.4)
    frames.append(pd.DataFrame({
        "application_id": hires["application_id"][promoted].to_numpy(), "kind": "promotion",
        "effective_day": hire_day[promoted] + 500, "rating": np.nan, "rating_scale_max": np.nan,
        "separation_type": None,
    }))
    outcomes = pd.concat(frames, ignore_index=True)
    outcomes = outcomes[outcomes["effective_day"] <= today].reset_index(drop=True)
    outcomes["effective_date"] = pd.to_datetime(outcomes.pop("effective_day"), unit="D")
    if python_dates:
        outcomes["effective_date"] = outcomes["effective_date"].dt.date
    outcomes["rating_norm"] = outcomes["rating"] / outcomes["rating_scale_max"]
    outcomes["person_key"] = outcomes["application_id"].str.replace("app-", "p-", regex=False)
    attributes = pd.DataFrame({"person_key": hires["person_key"], "gender": gender})
    return PlantedArchive(hires, outcomes, attributes)


def write_archive(engine: object, archive: PlantedArchive) -> None:
    """Insert the planted hires into an archive database: persons, employments, portraits at hire."""
    from datetime import UTC, datetime

    from hrbridge.archive import employments, persons, portraits

    now = datetime.now(UTC)
    stamp = {"content_hash": "planted", "archived_at": now, "updated_at": now}
    hires = archive.hires
    dims = [d for d in DIMENSIONS if d in hires.columns]
    scores = hires[dims].to_dict("records")
    with engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(persons.insert(), [{"person_key": p, "candidate_id": c, **stamp}
                                        for p, c in zip(hires["person_key"], hires["candidate_id"], strict=True)])
        conn.execute(employments.insert(), [
            {"application_id": a, "person_key": p, "candidate_id": c, "job_family": f, "hire_date": d, **stamp}
            for a, p, c, f, d in zip(hires["application_id"], hires["person_key"], hires["candidate_id"],
                                     hires["job_family"], hires["hire_date"], strict=True)])
        conn.execute(portraits.insert(), [
            {"result_id": f"res-{a}", "person_key": p, "application_id": a, "candidate_id": c, "job_family": f,
             "completed_at": str(d), "dimension_scores": {k: v for k, v in s.items() if v == v},
             "dimension_comments": {}, "keywords": [], "clip_refs": [], **stamp}
            for a, p, c, f, d, s in zip(hires["application_id"], hires["person_key"], hires["candidate_id"],
                                        hires["job_family"], hires["hire_date"], scores, strict=True)])


def outcomes_csv(archive: PlantedArchive, path: object) -> int:
    """The planted outcomes as an HR system's CSV export (employee by application id); returns the rows."""
    frame = archive.outcomes.rename(columns={"effective_date": "date"})
    columns = ["application_id", "kind", "date", "rating", "rating_scale_max", "separation_type"]
    frame[columns].to_csv(path, index=False)
    return len(frame)


def attributes_csv(archive: PlantedArchive, path: object) -> int:
    """The planted protected attributes as a CSV (employee by candidate id); returns the rows."""
    frame = archive.hires[["candidate_id"]].assign(gender=archive.attributes["gender"].to_numpy())
    frame.to_csv(path, index=False)
    return len(frame)
