"""A DAG run's params, checked again when the run starts: a bad run fails at once, without retry.

Airflow validates params against their JSON schema when a run is triggered (form, REST API,
CLI); these functions repeat the checks a task relies on (a run created some other way, or a
param whose schema allows more than the task accepts) and convert the values, raising
:class:`ParamError`, which :func:`~hrbridge.operations.errors.fail_fast` turns into
``AirflowFailException``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hrbridge.settings import Settings, load_settings

if TYPE_CHECKING:
    from hrbridge.pipelines.migration import MigrationOptions


class ParamError(ValueError):
    """A run's params are missing or invalid; the message names the param."""


def text(params: Mapping[str, Any], name: str, *, required: bool = False) -> str | None:
    """The param as stripped text; None when empty (ParamError when ``required``)."""
    value = params.get(name)
    if value is not None and not isinstance(value, str):
        raise ParamError(f"param {name!r} must be text, got {type(value).__name__}")
    value = (value or "").strip() or None
    if required and value is None:
        raise ParamError(f"param {name!r} is required (trigger the DAG with {{\"{name}\": ...}})")
    return value


def number(params: Mapping[str, Any], name: str, default: float, *, minimum: float | None = None,
           maximum: float | None = None, integer: bool = False) -> Any:
    """The param as a number within bounds; ``default`` when absent."""
    value = params.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or (integer and not float(value).is_integer()):
        raise ParamError(f"param {name!r} must be {'a whole number' if integer else 'a number'}, got {value!r}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ParamError(f"param {name!r} must be between {minimum} and {maximum}, got {value!r}")
    return int(value) if integer else float(value)


def migration_options(params: Mapping[str, Any], settings: Settings | None = None) -> MigrationOptions:
    """``MigrationOptions`` from a ``legacy_migration`` run's params (``source`` required, the rest optional)."""
    from hrbridge.pipelines.migration import DEFAULT_BATCH_SIZE, DEFAULT_THRESHOLD, MigrationOptions

    return MigrationOptions(
        source=str(text(params, "source", required=True)),
        target=text(params, "target") or (settings or load_settings()).ensure_dirs().archive_url,
        mapping=text(params, "mapping") or "auto",
        table=text(params, "table"), sheet=text(params, "sheet"), encoding=text(params, "encoding"),
        batch_size=number(params, "batch_size", DEFAULT_BATCH_SIZE, minimum=1, maximum=100_000, integer=True),
        run_id=text(params, "run_id"), target_table=text(params, "target_table") or "employees",
        threshold=number(params, "threshold", DEFAULT_THRESHOLD, minimum=0, maximum=1),
        report_dir=text(params, "report_dir"), spill_dir=text(params, "spill_dir"),
    )
