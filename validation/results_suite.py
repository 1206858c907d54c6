"""The interview-results suite: rules declared in YAML, checked by a real Great Expectations run.

``configs/expectations/interview_results.yaml`` lists named rules (plain-words title, GX
expectation type, columns, parameters). :class:`SuiteRunner` turns them into an
``ExpectationSuite`` inside an ephemeral GX context with a pandas data source, runs it through a
GX ``Checkpoint`` (one ``ValidationDefinition``, ``result_format`` COMPLETE) and maps every failed
expectation back to the row positions it rejected, so the caller can quarantine exactly those rows
with every rule each one broke. Given a Data Docs site, the Checkpoint's ``UpdateDataDocsAction``
renders the run's Data Docs into it (the caller's site decides where the pages go).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

log = logging.getLogger(__name__)

DOCS_SITE = "hrbridge"  # the Data Docs site a Checkpoint run updates (its config comes from the caller)
RESULT_FORMAT = {"result_format": "COMPLETE", "return_unexpected_index_query": False}
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\.([a-z_]+)\}")


class SuiteConfigError(ValueError):
    """The suite YAML is malformed; the message names the file and the rule."""


@dataclass(frozen=True)
class Rule:
    """One named check: a GX expectation applied to one or more columns."""

    name: str
    title: str
    description: str
    expectation: str
    columns: tuple[str, ...]
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    example_fields: tuple[str, ...] = ()

    @property
    def expectation_class(self) -> str:
        """``expect_column_values_to_be_between`` → ``ExpectColumnValuesToBeBetween``."""
        return "".join(part.capitalize() for part in self.expectation.split("_"))


def _fill(value: Any, params: Mapping[str, Mapping[str, Any]]) -> Any:
    """Replace ``{section.key}`` placeholders; a value that is only a placeholder keeps its type."""
    if isinstance(value, str):
        whole = _PLACEHOLDER.fullmatch(value)
        if whole:
            return params[whole.group(1)][whole.group(2)]
        return _PLACEHOLDER.sub(lambda m: _format_number(params[m.group(1)][m.group(2)]), value)
    if isinstance(value, list):
        return [_fill(v, params) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, params) for k, v in value.items()}
    return value


def _format_number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def load_rules(path: Path, params: Mapping[str, Mapping[str, Any]]) -> tuple[str, list[Rule]]:
    """Read the suite YAML at ``path``; fill placeholders from ``params`` (e.g. ``{"scale": {...}}``).

    Returns ``(suite_name, rules)``. Raises :class:`SuiteConfigError` naming the file and rule on
    missing keys, duplicate names or unknown placeholders.
    """
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SuiteConfigError(f"{path}: cannot read the suite: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("rules"), list):
        raise SuiteConfigError(f"{path}: expected a mapping with a 'rules' list")
    rules: list[Rule] = []
    for position, item in enumerate(doc["rules"], start=1):
        name = item.get("name") if isinstance(item, dict) else None
        where = f"{path}: rule #{position} ({name or 'unnamed'})"
        if not name or not item.get("expectation") or not item.get("columns"):
            raise SuiteConfigError(f"{where}: needs 'name', 'expectation' and 'columns'")
        if any(rule.name == name for rule in rules):
            raise SuiteConfigError(f"{where}: duplicate rule name")
        try:
            rule = Rule(
                name=str(name),
                title=str(_fill(item.get("title", name), params)),
                description=str(_fill(item.get("description", ""), params)),
                expectation=str(item["expectation"]),
                columns=tuple(item["columns"]),
                kwargs=_fill(dict(item.get("kwargs") or {}), params),
                example_fields=tuple(item.get("example_fields") or item["columns"]),
            )
        except KeyError as exc:
            raise SuiteConfigError(f"{where}: unknown placeholder {exc}") from None
        rules.append(rule)
    return str(doc.get("suite", path.stem)), rules


@dataclass
class SuiteOutcome:
    """What one validation run found: failing row positions per rule, and the raw GX result."""

    rows_checked: int
    rules: list[Rule]
    failures: dict[str, np.ndarray]
    gx_result: Any
    by_expectation: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def failed_rows(self) -> np.ndarray:
        """Sorted positions of rows that broke at least one rule."""
        parts = [rows for rows in self.failures.values() if len(rows)]
        return np.unique(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int64)

    @property
    def failure_counts(self) -> dict[str, int]:
        """Rule name → number of rows that broke it (every rule listed, zeros included)."""
        return {rule.name: int(len(self.failures.get(rule.name, ()))) for rule in self.rules}

    def rules_by_row(self) -> dict[int, list[str]]:
        """Row position → names of every rule that row broke."""
        broken: dict[int, list[str]] = {}
        for rule in self.rules:
            for row in self.failures.get(rule.name, ()):
                broken.setdefault(int(row), []).append(rule.name)
        return broken

    def expectations_by_row(self) -> dict[int, list[str]]:
        """Row position → every expectation it broke, as ``expectation(column)`` strings."""
        broken: dict[int, list[str]] = {}
        for label, rows in self.by_expectation.items():
            for row in rows:
                broken.setdefault(int(row), []).append(label)
        return broken

    def to_json_dict(self) -> dict[str, Any]:
        """The GX validation result as JSON (kept on disk to build Data Docs later)."""
        return self.gx_result.to_json_dict()


def share_compiled_templates() -> None:
    """Let every GX Data Docs view reuse compiled Jinja templates instead of compiling them again.

    GX creates a new Jinja environment for each page view it renders with, so building one batch's
    Data Docs compiled GX's ~50 templates afresh every time: 1.3 of the 1.8 s that the
    ``UpdateDataDocsAction`` took per batch (100,000 rows; benchmarks/bench_validation.py). One
    in-memory bytecode cache, Jinja's own mechanism, keyed by template name and source checksum,
    is shared by all of them; the pages rendered are the same.
    """
    import jinja2
    from great_expectations.render.view.view import DefaultJinjaView

    if getattr(DefaultJinjaView, "_hrbridge_bytecode_cache", None) is not None:
        return

    class MemoryBytecodeCache(jinja2.BytecodeCache):
        def __init__(self) -> None:
            self.code: dict[str, bytes] = {}

        def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            if bucket.key in self.code:
                bucket.bytecode_from_string(self.code[bucket.key])

        def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            self.code[bucket.key] = bucket.bytecode_to_string()

    cache = MemoryBytecodeCache()
    original = DefaultJinjaView.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.env.bytecode_cache = cache

    DefaultJinjaView.__init__ = init  # type: ignore[method-assign]
    DefaultJinjaView._hrbridge_bytecode_cache = cache  # type: ignore[attr-defined]


class SuiteRunner:
    """An ephemeral GX context holding the suite; :meth:`validate` runs it on a pandas frame."""

    def __init__(self, suite_name: str, rules: Sequence[Rule]) -> None:
        import great_expectations as gx
        import great_expectations.expectations as gxe
        from great_expectations.checkpoint import UpdateDataDocsAction
        from great_expectations.data_context.types.base import ProgressBarsConfig
        from great_expectations.execution_engine import pandas_execution_engine

        # GX fingerprints every in-memory frame under 1 GB by hashing all of its values (about
        # 3.5 s per million results, more than the checks themselves); the fingerprint is only a
        # batch marker, so it is skipped. Every expectation still runs on every row.
        pandas_execution_engine.HASH_THRESHOLD = 0
        share_compiled_templates()

        self.suite_name = suite_name
        self.rules = list(rules)
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        asset = self.context.data_sources.add_pandas("hrbridge_hub").add_dataframe_asset(suite_name)
        batch_definition = asset.add_batch_definition_whole_dataframe("batch")
        suite = gx.ExpectationSuite(name=suite_name)
        self._expectation_rule: dict[str, str] = {}
        for rule in self.rules:
            cls = getattr(gxe, rule.expectation_class, None)
            if cls is None:
                raise SuiteConfigError(f"rule {rule.name}: GX has no expectation {rule.expectation}")
            for column in rule.columns:
                expectation = cls(column=column, meta={"rule": rule.name, "title": rule.title}, **rule.kwargs)
                suite.add_expectation(expectation)
        self.suite = self.context.suites.add(suite)
        self.definition = self.context.validation_definitions.add(
            gx.ValidationDefinition(data=batch_definition, suite=self.suite, name=f"{suite_name}_run")
        )
        self.checkpoint = self.context.checkpoints.add(gx.Checkpoint(
            name=f"{suite_name}_checkpoint", validation_definitions=[self.definition], result_format=RESULT_FORMAT,
            actions=[UpdateDataDocsAction(name="update_data_docs", site_names=[DOCS_SITE])],
        ))
        self._docs_run: str | None = None
        self._lock = threading.Lock()

    def _use_site(self, run_name: str, site: Mapping[str, Any]) -> None:
        """Point the Data Docs site at ``run_name``'s place; forget GX results of earlier runs."""
        sites = self.context.list_data_docs_sites()
        if DOCS_SITE in sites:
            self.context.update_data_docs_site(DOCS_SITE, dict(site))
        else:
            self.context.add_data_docs_site(DOCS_SITE, dict(site))
        if self._docs_run != run_name:
            # The in-memory results store only feeds the site of the current run; without this a
            # long-lived worker would keep every run's COMPLETE results in memory.
            store = self.context.validation_results_store
            for key in store.list_keys():
                if key.run_id.run_name != run_name:
                    store.remove_key(key)
            self._docs_run = run_name

    def validate(self, frame: pd.DataFrame, run_name: str | None = None,
                 docs_site: Mapping[str, Any] | None = None) -> SuiteOutcome:
        """Run every rule on ``frame``; returns failing row positions per rule.

        The frame is re-indexed 0..n-1 so GX's unexpected index lists are row positions. A column
        a rule needs but the frame lacks raises :class:`SuiteConfigError` naming both. With
        ``docs_site`` (a GX ``data_docs_sites`` entry) and ``run_name``, the validation runs as the
        Checkpoint, whose ``UpdateDataDocsAction`` adds this batch to the run's Data Docs site.
        """
        missing = [(r.name, c) for r in self.rules for c in r.columns if c not in frame.columns]
        if missing:
            raise SuiteConfigError(f"frame lacks columns needed by rules: {missing}")
        columns = sorted({c for r in self.rules for c in r.columns})
        data = frame[columns].reset_index(drop=True)
        # One GX context per runner: its site config and results store are shared state, so one
        # validation at a time (a second thread would otherwise write into another run's site).
        with self._lock:
            if docs_site is not None and run_name:
                from great_expectations.core.run_identifier import RunIdentifier

                self._use_site(run_name, docs_site)
                checkpoint_result = self.checkpoint.run(batch_parameters={"dataframe": data},
                                                        run_id=RunIdentifier(run_name=run_name))
                result = next(iter(checkpoint_result.run_results.values()))
            else:
                result = self.definition.run(batch_parameters={"dataframe": data}, result_format=RESULT_FORMAT)
        failures: dict[str, list[np.ndarray]] = {rule.name: [] for rule in self.rules}
        by_expectation: dict[str, np.ndarray] = {}
        for item in result.results:
            rule_name = (item.expectation_config.meta or {}).get("rule")
            if item.exception_info and item.exception_info.get("raised_exception"):
                raise SuiteConfigError(
                    f"rule {rule_name}: GX could not evaluate {item.expectation_config.type}: "
                    f"{item.exception_info.get('exception_message')}"
                )
            if item.success:
                continue
            indexes = np.asarray(item.result.get("unexpected_index_list") or [], dtype=np.int64)
            failures[rule_name].append(indexes)
            column = item.expectation_config.kwargs.get("column")
            by_expectation[f"{item.expectation_config.type}({column})"] = indexes
        merged = {
            name: np.unique(np.concatenate(parts)) if parts else np.empty(0, dtype=np.int64)
            for name, parts in failures.items()
        }
        return SuiteOutcome(rows_checked=len(data), rules=self.rules, failures=merged, gx_result=result,
                            by_expectation=by_expectation)
