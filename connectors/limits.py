"""Bounds on everything a remote server sends: size, depth, count and time (one ``Limits`` object).

A server may be broken or hostile. Every HTTP connector holds one :class:`Limits`; the shared
client (:mod:`connectors.http`) and the parsers (:mod:`connectors.bounded_json`,
:func:`connectors.odata.parse_metadata`) enforce it, and going past a bound raises
:class:`connectors.errors.LimitExceeded` naming the field and how to raise it. The defaults fit a
large SuccessFactors tenant read at 1,000 records a page; configure them per connection (Airflow
Connection extra ``{"limits": {...}}``) or for every connection (``HRBRIDGE_HTTP_<FIELD>``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

ENV_PREFIX = "HRBRIDGE_HTTP_"
MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Per-response, per-request and per-run bounds (sizes in bytes, times in seconds).

    * ``max_body_bytes``: a response body (after decompression), read in a stream and cut off
      past the bound; also the bound on a ``$metadata`` document.
    * ``max_records_per_page`` / ``max_pages`` / ``max_records``: one page; one run's pages and records.
    * ``max_string_length`` (characters), ``max_depth`` (nested arrays/objects or XML elements),
      ``max_number_length`` (characters of one JSON number).
    * ``idle_timeout``: longest wait for the next byte; ``connect_timeout``: for a connection.
    * ``request_budget``: one request from first attempt to last body byte, retries included.
    * ``run_budget``: everything a client sends in one run (one connector object).
    * ``max_redirects``: redirects followed per request.
    """

    max_body_bytes: int = 64 * MiB
    max_records_per_page: int = 10_000
    max_pages: int = 100_000
    max_records: int = 10_000_000
    max_string_length: int = 16 * MiB
    max_depth: int = 64
    max_number_length: int = 64
    idle_timeout: float = 30.0
    connect_timeout: float = 10.0
    request_budget: float = 600.0
    run_budget: float = 6 * 3600.0
    max_redirects: int = 5

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"Limits.{item.name} must be a positive number, got {value!r}")

    def hint(self, name: str) -> str:
        """How to raise bound ``name``: the constructor field, the Connection extra and the variable."""
        return (f"{name}={getattr(self, name)}; raise it with Limits({name}=...), the Connection extra "
                f'{{"limits": {{"{name}": ...}}}} or {ENV_PREFIX}{name.upper()}')

    @classmethod
    def from_settings(cls, extra: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None) -> Limits:
        """Defaults, overridden by ``HRBRIDGE_HTTP_<FIELD>`` in ``env``, then by ``extra["limits"]``.

        Raises ValueError naming the setting for an unknown field or a value that is not a
        positive number.
        """
        known = {item.name: item.type for item in fields(cls)}
        values: dict[str, Any] = {}
        for name in known:
            text = (env or {}).get(f"{ENV_PREFIX}{name.upper()}")
            if text not in (None, ""):
                values[name] = _number(name, text, f"{ENV_PREFIX}{name.upper()}")
        given = (extra or {}).get("limits")
        given = {} if given is None else given
        if not isinstance(given, Mapping):
            raise ValueError(f'the Connection extra "limits" must be an object, got {type(given).__name__}')
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise ValueError(f'unknown field(s) in the Connection extra "limits": {", ".join(unknown)}; '
                             f"known: {', '.join(known)}")
        for name, value in given.items():
            values[name] = _number(name, value, f'extra "limits".{name}')
        return replace(cls(), **values)


def _number(name: str, value: Any, where: str) -> int | float:
    default = getattr(Limits(), name)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where} must be a number, got {value!r}") from None
    if isinstance(default, int):
        if not number.is_integer():
            raise ValueError(f"{where} must be a whole number, got {value!r}")
        return int(number)
    return number
