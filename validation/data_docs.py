"""Great Expectations Data Docs for a saved validation run, built outside the hot path.

The pipeline keeps each run's GX validation results as JSON (one result per validated batch);
:func:`build_data_docs` reloads them as ``ExpectationSuiteValidationResult`` objects and renders
them with GX's own Data Docs renderer into static HTML pages plus a small index.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any


def load_results(path: Path) -> list[Any]:
    """Saved JSON (a list of GX result dicts) → ``ExpectationSuiteValidationResult`` objects."""
    from great_expectations.core.expectation_validation_result import expectationSuiteValidationResultSchema

    documents = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(documents, dict):
        documents = [documents]
    return [expectationSuiteValidationResultSchema.load(doc) for doc in documents]


def build_data_docs(results_path: Path, out_dir: Path, title: str) -> Path:
    """Render every batch's GX result at ``results_path`` into ``out_dir``; returns the index page."""
    from great_expectations.render.renderer import ValidationResultsPageRenderer
    from great_expectations.render.view import DefaultJinjaPageView

    out_dir.mkdir(parents=True, exist_ok=True)
    renderer, view = ValidationResultsPageRenderer(), DefaultJinjaPageView()
    links = []
    for number, result in enumerate(load_results(results_path), start=1):
        page = out_dir / f"batch-{number:03d}.html"
        page.write_text(view.render(renderer.render(result)), encoding="utf-8")
        stats = result.statistics or {}
        links.append(
            f'<li><a href="{page.name}">Batch {number}</a>: {stats.get("successful_expectations", 0)} of '
            f'{stats.get("evaluated_expectations", 0)} expectations met</li>'
        )
    index = out_dir / "index.html"
    index.write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head><body>"
        f"<h1>{html.escape(title)}</h1><ul>{''.join(links) or '<li>No batches were validated.</li>'}</ul>"
        "</body></html>",
        encoding="utf-8",
    )
    return index
