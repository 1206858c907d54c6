"""OData JSON pages from a server: any body becomes clean, writable records or a documented error."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from connectors.bounded_json import loads
from connectors.errors import MalformedResponseError
from connectors.limits import Limits
from connectors.odata import clean_record, results_of
from tests.factories.successfactors import APPLICATION_TYPES

LIMITS = Limits(max_body_bytes=256 * 1024, max_depth=12, max_string_length=2000)
wire_scalars = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
                | st.from_regex(r"/Date\(-?[0-9]{1,25}([+-][0-9]{4})?\)/", fullmatch=True)
                | st.from_regex(r"-?[0-9]{1,80}(\.[0-9]{1,5})?", fullmatch=True)
                | st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "2026-01-01T00:00:00Z"]))
wire_values = st.recursive(wire_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.sampled_from(["results", "__deferred", "__metadata", "uri", "x"]), inner, max_size=3), max_leaves=12)
records = st.dictionaries(st.sampled_from([*APPLICATION_TYPES, "cust_x", "jobAppStatus"]), wire_scalars | wire_values,
                          max_size=7)
pages = st.fixed_dictionaries({"d": st.fixed_dictionaries(
    {"results": st.lists(records | wire_scalars, max_size=5)},
    optional={"__next": wire_scalars, "__count": wire_scalars})}) | wire_values


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else str(value)


@given(pages)
@example({"d": {"results": [{"lastModifiedDateTime": "/Date(300000000000000)/"}]}})  # OverflowError before
@example({"d": {"results": [{"cust_aiOverallScore": "NaN"}, {"cust_aiOverallScore": "9" * 400}]}})
@example({"d": {"results": [{"jobAppStatus": {"results": [1]}}]}})  # AttributeError before
def test_any_page_gives_records_a_json_file_can_hold_or_a_documented_error(page: Any) -> None:
    body = json.dumps(page).encode()  # the server may send NaN/Infinity; that is the point
    try:
        rows = results_of(loads(body, LIMITS), "JobApplication page 1")
        cleaned = [clean_record(row, APPLICATION_TYPES) for row in rows]
    except (MalformedResponseError, ValueError):  # read_pages turns ValueError into MalformedResponseError
        return
    for record in cleaned:
        json.dumps(record, default=_plain, allow_nan=False)  # what hrbridge extract writes to .jsonl
