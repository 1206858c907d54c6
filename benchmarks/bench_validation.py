"""Validate N interview-result rows with the full GX suite, beside plain pandas doing the same checks.

Data is generated directly in columnar form (one row per result plus long frames of dimensions,
keywords and clips, as :func:`transforms.results.flatten_results` produces) with ~1 % bad rows
of every kind. Timed, each best of ``--repeat``:

* derive   — the vectorised helper columns (:func:`derive_check_columns`), shared by both paths;
* GX suite — the YAML suite through a Great Expectations ``ValidationDefinition``, result_format
  COMPLETE (failing row indexes for every rule);
* pandas   — the same rules as boolean masks on the same columns (the baseline);
* GX Checkpoint + Data Docs — the suite as the pipeline runs it: a GX ``Checkpoint`` whose
  ``UpdateDataDocsAction`` renders the run's Data Docs site into the artefact store (here the
  ``artefacts`` table of a SQLite hub in a temporary folder); its cost over the GX suite is what
  building Data Docs adds to a batch.

Usage: ``python benchmarks/bench_validation.py [--rows 1000000] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from transforms.results import CheckParameters, ResultFrames, derive_check_columns  # noqa: E402
from validation.results_suite import SuiteRunner, load_rules  # noqa: E402

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def generate(rows: int, bad_share: float = 0.01, seed: int = 7) -> tuple[ResultFrames, pd.Series]:
    """Columnar results with ``bad_share`` of rows broken, spread over every rule."""
    rng = np.random.default_rng(seed)
    ids = np.arange(rows)
    result_ids = pd.Series([f"res-{i:08d}" for i in ids], dtype="str")
    invitation_ids = pd.Series([f"inv-{i:08d}" for i in ids], dtype="str")
    families = np.array(["Sales", "Engineering", "Customer Service", "Finance"])[ids % 4]
    completed = pd.Timestamp(NOW) - pd.to_timedelta(rng.integers(60, 86_400 * 5, rows), unit="s")
    invited = completed - pd.to_timedelta(rng.integers(3_600, 86_400 * 7, rows), unit="s")
    results = pd.DataFrame({
        "result_id": result_ids, "invitation_id": invitation_ids,
        "candidate_id": pd.Series([f"C{i}" for i in ids], dtype="str"),
        "application_id": pd.Series([str(100_000 + i) for i in ids], dtype="str"),
        "job_id": "REQ-1", "job_family": pd.Series(families, dtype="str"),
        "completed_at": completed, "invited_at": invited,
        "overall_score": rng.uniform(20, 95, rows).round(1),
        "scale_min": 0.0, "scale_max": 100.0, "keywords_well_typed": True,
    })
    dims_per_family = {"Sales": ["communication", "customer_negotiation", "resilience", "problem_solving"],
                       "Engineering": ["technical_depth", "problem_solving", "collaboration", "communication"],
                       "Customer Service": ["empathy", "communication", "resilience", "problem_solving"],
                       "Finance": ["communication", "problem_solving", "collaboration", "motivation"]}
    dim_rows = np.repeat(ids, 4)
    dim_names = np.array([dims_per_family[f] for f in families]).reshape(-1)
    dimensions = pd.DataFrame({"row": dim_rows, "name": pd.Series(dim_names, dtype="str"),
                               "score": rng.uniform(10, 100, rows * 4).round(1), "weight": 0.25, "comment": None})
    kw_rows = np.repeat(ids, 3)
    keywords = pd.DataFrame({"row": kw_rows, "keyword": pd.Series(
        np.array(["pipeline", "客户关系", "negotiation", "teamwork", "root cause"])[kw_rows % 5], dtype="str")})
    clip_rows = np.repeat(ids, 2)
    clips = pd.DataFrame({
        "row": clip_rows,
        "clip_id": pd.Series([f"clip_{i:010x}" for i in range(rows * 2)], dtype="str"),
        "url": pd.Series([f"https://media.example.test/c/{i}.mp4" for i in range(rows * 2)], dtype="str"),
        "dimension": "communication",
        "expires_at": pd.Timestamp(NOW + timedelta(days=7)),
    })
    # Break ~bad_share of the rows, cycling through the kinds of bad result.
    bad = rng.choice(rows, size=int(rows * bad_share), replace=False)
    kinds = np.array_split(bad, 7)
    results.loc[kinds[0], "candidate_id"] = None
    results.loc[kinds[1], "overall_score"] = 140.0
    dimensions.loc[dimensions["row"].isin(kinds[2]), "score"] = -5.0
    dimensions.loc[dimensions["row"].isin(kinds[3]), "name"] = "telepathy"
    keywords.loc[keywords["row"].isin(kinds[4]), "keyword"] = "x" * 80
    clips.loc[clips["row"].isin(kinds[5]), "expires_at"] = pd.Timestamp(NOW - timedelta(days=1))
    results.loc[kinds[6], "completed_at"] = results.loc[kinds[6], "invited_at"] - pd.Timedelta(hours=1)
    known = invitation_ids
    return ResultFrames(results, dimensions, keywords, clips), known


def pandas_checks(frame: pd.DataFrame, params: CheckParameters, required: list[str]) -> dict[str, np.ndarray]:
    """The suite's rules as plain pandas masks: rule name → failing row positions."""
    lo, hi = params.scale_min, params.scale_max

    def outside(column: str) -> pd.Series:
        values = frame[column]
        return values.notna() & ((values < lo) | (values > hi))

    masks = {
        "required_fields": frame[required].isna().any(axis=1),
        "overall_score_in_scale": outside("overall_score"),
        "dimension_scores_in_scale": outside("dimension_score_min") | outside("dimension_score_max"),
        "dimensions_known": ~frame["dimensions_known"],
        "known_invitation": ~frame["belongs_to_known_invitation"],
        "keywords_well_formed": ~frame["keywords_ok"],
        "clips_valid": ~frame["clips_ok"],
        "completed_after_invited": frame["completion_lag_seconds"].notna() & (frame["completion_lag_seconds"] <= 0),
    }
    return {name: np.flatnonzero(mask.to_numpy()) for name, mask in masks.items()}


def best_of(repeat: int, func, *args):  # noqa: ANN001, ANN202 - tiny timing helper
    """Run ``func(*args)`` ``repeat`` times; return (best seconds, last value)."""
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        value = func(*args)
        best = min(best, time.perf_counter() - start)
    return best, value


class DocsStore:
    """A fresh artefact store (the ``artefacts`` table of a SQLite hub in a temporary folder)."""

    def __init__(self) -> None:
        import tempfile

        import sqlalchemy as sa

        from hrbridge.artefacts import DatabaseArtefactStore
        from hrbridge.store import metadata
        from hrbridge.store.artefacts import artefacts

        self.folder = tempfile.TemporaryDirectory(prefix="bench-docs-")
        self.engine = sa.create_engine(f"sqlite:///{self.folder.name}/hub.db")
        metadata.create_all(self.engine, tables=[artefacts])
        self.store = DatabaseArtefactStore(self.engine)
        self.runs = 0

    def validate(self, runner: SuiteRunner, checked: pd.DataFrame):  # noqa: ANN201 - the suite's outcome
        """The pipeline's path: the suite as a Checkpoint whose UpdateDataDocsAction fills the store."""
        from hrbridge.data_docs import site_config

        self.runs += 1
        run = f"bench-{self.runs}"
        return runner.validate(checked, run_name=run, docs_site=site_config(self.store, run))

    def site_bytes(self, run: str) -> int:
        """Bytes of one run's site pages."""
        return sum(i.size for i in self.store.list("validation", f"{run}/"))


def main() -> int:
    """Generate, validate both ways, check they agree, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    config = yaml.safe_load((REPO / "configs" / "interview_results.yaml").read_text(encoding="utf-8"))
    params = CheckParameters.from_config(config)
    name, rules = load_rules(REPO / "configs" / "expectations" / "interview_results.yaml",
                             {"scale": {"min": params.scale_min, "max": params.scale_max},
                              "keywords": {"max_items": params.max_keywords,
                                           "max_chars": params.max_keyword_chars}})
    required = list(next(r for r in rules if r.name == "required_fields").columns)
    print(f"generating {args.rows:,} results (+ {args.rows * 9:,} dimension/keyword/clip rows) ...", flush=True)
    frames, known = generate(args.rows)
    start = time.perf_counter()
    runner = SuiteRunner(name, rules)
    setup = time.perf_counter() - start

    derive_s, checked = best_of(args.repeat, derive_check_columns, frames, params, known, NOW)
    gx_s, outcome = best_of(args.repeat, runner.validate, checked)
    pandas_s, masks = best_of(args.repeat, pandas_checks, checked, params, required)

    docs = DocsStore()
    start = time.perf_counter()
    docs.validate(runner, checked)  # the first run of a store also stores GX's static assets (about 4 MB)
    first_docs_s = time.perf_counter() - start
    docs_s, _ = best_of(args.repeat, docs.validate, runner, checked)
    site_bytes = docs.site_bytes("bench-1")

    for rule in rules:  # both paths must agree row for row
        if not np.array_equal(outcome.failures[rule.name], masks[rule.name]):
            print(f"MISMATCH on rule {rule.name}: GX {len(outcome.failures[rule.name])} vs "
                  f"pandas {len(masks[rule.name])}")
            return 1
    rows = args.rows
    failed = len(outcome.failed_rows)
    print(f"\nrows {rows:,}, failing {failed:,} ({100 * failed / rows:.2f} %), {len(rules)} rules, "
          f"{sum(len(r.columns) for r in rules)} expectations; GX context + suite build {setup:.2f} s (once)")
    print(f"{'step':<34}{'seconds':>10}{'rows/s':>14}")
    table = [
        ("derive helper columns (shared)", derive_s),
        ("GX suite (COMPLETE, row indexes)", gx_s),
        ("plain pandas, same checks", pandas_s),
        ("derive + GX suite", derive_s + gx_s),
        ("derive + plain pandas", derive_s + pandas_s),
        ("GX Checkpoint + Data Docs, 1st run", first_docs_s),
        ("GX Checkpoint + Data Docs", docs_s),
    ]
    for label, seconds in table:
        print(f"{label:<34}{seconds:>10.2f}{rows / seconds:>14,.0f}")
    ratio = (derive_s + gx_s) / (derive_s + pandas_s)
    print(f"\nfull validation with GX: {derive_s + gx_s:.2f} s (target ≤ 5 s); "
          f"{ratio:.2f}× the plain-pandas time (target ≤ 2×); GX step alone {gx_s / pandas_s:.1f}× pandas masks")
    print(f"Data Docs add {docs_s - gx_s:.2f} s to the batch ({docs_s / gx_s:.1f}× the GX suite alone); the run's "
          f"site pages are {site_bytes / 1024:,.0f} KiB (+ static assets, stored once per store)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
