"""Probes run on one host of the topology (its environment, its HRBRIDGE_HOME), printing JSON.

    python -m tests.cluster.probe decrypt    # open every sealed media reference and contact in the hub

A worker that did not seal a value can open it only when the master key reaches it without a shared
disk (HRBRIDGE_KEY_PROVIDER); the probe proves that from the other host.
"""

from __future__ import annotations

import json
import sys

import sqlalchemy as sa


def decrypt() -> dict[str, int]:
    """Open every sealed clip/transcript reference and candidate contact in the hub; counts opened."""
    from governance.crypto.envelope import is_token
    from hrbridge.pipelines.interview_results.ingest import MEDIA_COLUMNS, open_media
    from hrbridge.pipelines.pii import default_vault, open_hub_rows
    from hrbridge.store import hub_engine
    from hrbridge.store import recruiting as store
    from hrbridge.store.results import interview_results

    hub = hub_engine()
    vault = default_vault(hub)
    with hub.connect() as conn:
        results = [dict(r) for r in conn.execute(sa.select(interview_results)).mappings()]
        candidates = [dict(r) for r in conn.execute(sa.select(store.candidates)).mappings()]
    sealed_media = sum(is_token(r.get(c)) for r in results for c in MEDIA_COLUMNS)
    opened = open_media(vault, results)
    opened_media = sum(1 for before, after in zip(results, opened, strict=True) for c in MEDIA_COLUMNS
                       if is_token(before.get(c)) and after.get(c) is not None and not is_token(after.get(c)))
    sealed_contacts = sum(is_token(v) for r in candidates for v in r.values())
    opened_rows = open_hub_rows(vault, "candidates", candidates)
    still_sealed = sum(is_token(v) for r in opened_rows for v in r.values())
    return {"sealed_media": sealed_media, "opened_media": opened_media, "sealed_contacts": sealed_contacts,
            "opened_contacts": sealed_contacts - still_sealed}


PROBES = {"decrypt": decrypt}


def main(argv: list[str] | None = None) -> int:
    """Run the named probe and print its result as one JSON line."""
    name = (argv or sys.argv[1:] or [""])[0]
    if name not in PROBES:
        print(f"unknown probe {name!r}; known: {', '.join(PROBES)}", file=sys.stderr)
        return 2
    print(json.dumps(PROBES[name]()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
