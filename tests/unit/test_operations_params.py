"""Run params are checked again when a task starts; a bad one is a ParamError naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from hrbridge.operations.params import ParamError, migration_options
from hrbridge.settings import load_settings


def form(**values: object) -> dict[str, object]:
    """The params the legacy_migration trigger form submits when only ``values`` were filled in."""
    empty = dict.fromkeys(("table", "sheet", "encoding", "target", "run_id", "report_dir", "spill_dir"))
    return {**empty, "mapping": "auto", "target_table": "employees", "batch_size": 50_000, "threshold": 0.999,
            **values}


def test_only_source_gives_every_default(tmp_path: Path) -> None:
    settings = load_settings({"HRBRIDGE_HOME": str(tmp_path)})
    options = migration_options(form(source=" /data/legacy.csv "), settings)
    assert options.source == "/data/legacy.csv" and options.target == settings.archive_url
    assert (options.table, options.sheet, options.run_id, options.spill_dir) == (None, None, None, None)
    assert (options.batch_size, options.threshold, options.mapping) == (50_000, 0.999, "auto")


@pytest.mark.parametrize("params, message", [
    (form(), "param 'source' is required"),
    (form(source="   "), "param 'source' is required"),
    (form(source="/x.csv", batch_size=0), "param 'batch_size' must be between 1 and 100000"),
    (form(source="/x.csv", batch_size=2.5), "param 'batch_size' must be a whole number"),
    (form(source="/x.csv", threshold=True), "param 'threshold' must be a number"),
    (form(source="/x.csv", table=7), "param 'table' must be text"),
])
def test_bad_params_name_the_param(params, message, tmp_path: Path) -> None:
    with pytest.raises(ParamError, match=message):
        migration_options(params, load_settings({"HRBRIDGE_HOME": str(tmp_path)}))
