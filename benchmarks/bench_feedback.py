"""The feedback analysis over a large archive: N people, ~10 N later assessments, time and peak memory.

The archive is generated with the test generator's planted effects (``tests/factories/feedback.py``:
reviews every ``--review-days``, separations, promotions, protected attributes) and written as
Parquet — the columnar form the analysis works on — by a child process (not measured). A second,
fresh child process then runs and times each stage, and reports its own peak resident memory
(``ru_maxrss``), so generation never counts:

* read      — Parquet → pandas (pyarrow), hires, outcomes, attributes;
* flags     — :func:`transforms.feedback_stats.outcome_flags` (top rating within 24 months, leaving
              within 12, per hire; vectorised);
* analyse   — :func:`transforms.feedback_stats.analyse`: statsmodels Logit per family × dimension ×
              outcome, Holm correction;
* propose   — :func:`transforms.feedback_proposal.propose_rules` + the four-fifths check of every
              changed family (:func:`transforms.fairness.impact_ratios`) on all historical candidates.

Baseline, in the same invocation: the outcome flags computed the way a row-by-row script would
(a Python loop over each hire's outcomes, dicts per hire) on a slice of ``--baseline-people``,
extrapolated linearly to N.

    python benchmarks/bench_feedback.py                        # 1,000,000 people, ~10,000,000 assessments
    python benchmarks/bench_feedback.py --people 100000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def generate(people: int, review_days: int, folder: Path) -> dict[str, float]:
    """Write hires, outcomes and attributes as Parquet (child process)."""
    from tests.factories.feedback import planted_archive

    start = time.perf_counter()
    archive = planted_archive(people, seed=11, small_family=150,
                              ratings_per_person=40, review_every_days=review_days, python_dates=False)
    archive.hires.to_parquet(folder / "hires.parquet", index=False)
    archive.outcomes.to_parquet(folder / "outcomes.parquet", index=False)
    archive.attributes.to_parquet(folder / "attributes.parquet", index=False)
    return {"seconds": time.perf_counter() - start, "hires": len(archive.hires), "outcomes": len(archive.outcomes)}


def analyse(folder: Path) -> dict[str, float]:
    """Run and time each stage (child process); returns timings and peak RSS in MiB."""
    import pandas as pd
    import yaml

    from tests.factories.feedback import AS_OF, DIMENSIONS
    from transforms.feedback_proposal import fairness_of_change, propose_rules
    from transforms.feedback_stats import AnalysisSettings, outcome_flags
    from transforms.feedback_stats import analyse as run_analysis

    timings: dict[str, float] = {}
    start = time.perf_counter()
    hires = pd.read_parquet(folder / "hires.parquet")
    outcomes = pd.read_parquet(folder / "outcomes.parquet")
    attributes = pd.read_parquet(folder / "attributes.parquet")
    timings["read"] = time.perf_counter() - start
    settings = AnalysisSettings()
    start = time.perf_counter()
    flags = outcome_flags(hires, outcomes, AS_OF, settings)
    frame = hires.set_index("application_id").join(flags)
    timings["flags"] = time.perf_counter() - start
    start = time.perf_counter()
    findings = run_analysis(frame, DIMENSIONS, settings)
    timings["analyse"] = time.perf_counter() - start
    start = time.perf_counter()
    rules = yaml.safe_load((REPO / "configs" / "question_rules.yaml").read_text("utf-8"))
    draft = propose_rules(rules, findings)
    people = hires.merge(attributes, on="person_key")
    flagged = []
    for family in draft.families:
        check = fairness_of_change(people[people["job_family"] == family], rules["job_families"][family]["weights"],
                                   draft.rules["job_families"][family]["weights"], ["gender"])
        flagged += [family for _ in check["flags"]]
    timings["propose"] = time.perf_counter() - start
    timings["total"] = sum(timings.values())
    found = sorted(f"{f.job_family}/{f.dimension}/{f.outcome} OR {f.odds_ratio:.3f} [{f.ci_low:.3f}, {f.ci_high:.3f}]"
                   for f in findings if f.status == "found")
    return {**timings, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "hires": len(hires), "outcomes": len(outcomes), "found": found, "flagged": sorted(set(flagged)),
            "changes": len(draft.changes)}


def baseline(folder: Path, people: int) -> dict[str, float]:
    """Outcome flags per hire with Python loops over a slice of ``people`` hires (child process)."""
    import pandas as pd

    from tests.factories.feedback import AS_OF

    hires = pd.read_parquet(folder / "hires.parquet").head(people)
    outcomes = pd.read_parquet(folder / "outcomes.parquet")
    outcomes = outcomes[outcomes["application_id"].isin(set(hires["application_id"]))]
    start = time.perf_counter()
    by_hire: dict[str, list[dict]] = {}
    for row in outcomes.to_dict("records"):
        by_hire.setdefault(row["application_id"], []).append(row)
    today = pd.Timestamp(AS_OF)
    flags = {}
    for hire in hires.to_dict("records"):
        top = left = rated = False
        for row in by_hire.get(hire["application_id"], []):
            days = (row["effective_date"] - hire["hire_date"]).days
            if row["kind"] == "rating" and 0 <= days <= 730:
                rated = True
                top = top or row["rating"] / row["rating_scale_max"] >= 0.9
            if row["kind"] == "separation" and 0 <= days <= 365:
                left = True
        closed = (today - hire["hire_date"]).days >= 730
        flags[hire["application_id"]] = (top if (top or (rated and closed)) else None, left)
    return {"seconds": time.perf_counter() - start, "hires": len(hires), "outcomes": len(outcomes)}


def _child(stage: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--stage", stage, *args], check=True, capture_output=True,
                         text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    """Generate, then time the analysis and the baseline, each in a fresh process."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--review-days", type=int, default=90, help="days between reviews (90: ~10 per person)")
    parser.add_argument("--baseline-people", type=int, default=20_000)
    parser.add_argument("--stage", choices=["generate", "analyse", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage == "generate":
        print(json.dumps(generate(args.people, args.review_days, args.folder)))
        return
    if args.stage == "analyse":
        print(json.dumps(analyse(args.folder)))
        return
    if args.stage == "baseline":
        print(json.dumps(baseline(args.folder, args.baseline_people)))
        return
    with tempfile.TemporaryDirectory(prefix="bench-feedback-") as tmp:
        folder = Path(tmp)
        made = _child("generate", "--people", str(args.people), "--review-days", str(args.review_days),
                      "--folder", str(folder))
        print(f"generated {made['hires']:,} hires and {made['outcomes']:,} later assessments "
              f"in {made['seconds']:.1f} s (not measured)")
        result = _child("analyse", "--folder", str(folder))
        slow = _child("baseline", "--folder", str(folder), "--baseline-people", str(args.baseline_people))
    per_hire = slow["seconds"] / slow["hires"]
    print(f"{'stage':<10} {'seconds':>9}")
    for stage in ("read", "flags", "analyse", "propose", "total"):
        print(f"{stage:<10} {result[stage]:>9.2f}")
    print(f"peak memory (analysis process): {result['peak_mib']:,.0f} MiB")
    print(f"found: {', '.join(result['found'])}; {result['changes']} proposed changes; flagged: {result['flagged']}")
    print(f"baseline, row-by-row flags: {slow['seconds']:.2f} s for {slow['hires']:,} hires → "
          f"{per_hire * result['hires']:.0f} s for {result['hires']:,} (extrapolated) vs {result['flags']:.2f} s vectorised")


if __name__ == "__main__":
    main()
