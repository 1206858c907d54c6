"""The canonical model (transforms/canonical.py) and the hub's tables (hrbridge/store/recruiting.py) agree.

Every source's mapping fills canonical fields and the hub loader writes them to the table of the
stream; a field added to one declaration and not the other would be dropped silently on load.
"""

from __future__ import annotations

import pytest

from connectors.source import CANONICAL_STREAMS
from hrbridge.pipelines.hub_load import TABLES
from transforms.canonical import ENTITIES

BOOKKEEPING = {"loaded_at", "deleted_at", "extras", "source"}


@pytest.mark.parametrize("stream", sorted(TABLES))
def test_every_canonical_field_has_its_hub_column(stream: str) -> None:
    columns = set(TABLES[stream].columns.keys())
    fields = set(ENTITIES[CANONICAL_STREAMS[stream]].field_names)
    assert fields <= columns, f"{stream}: no hub column for {sorted(fields - columns)}"
    assert columns - fields <= BOOKKEEPING, f"{stream}: hub columns no source fills: {sorted(columns - fields - BOOKKEEPING)}"
