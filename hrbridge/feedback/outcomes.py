"""Later outcomes (and protected attributes) into the employee archive, keyed to the archive person.

Sources: a CSV/Excel/Parquet export read through the bounded legacy readers
(:func:`connectors.legacy_sources.open_source`, limits from ``HRBRIDGE_SOURCE_*``), or SuccessFactors
(:func:`import_successfactors`: Performance & Goals review forms, Employee Central terminations
and promotion job events). Each outcome is matched to the archive person (one across rehires) by
application id, candidate id, person key or e-mail (keyed with the archive pepper), and to the hire
it follows: the person's latest hire on or before its date. Notes are sealed under the candidate's
data key like the archive's contact details; rows are saved by content hash, so a rerun changes
nothing. Rows that cannot be matched are reported with their row and rule:
``read = loaded + rejected`` (loaded = inserted + updated + unchanged).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hrbridge.archive import (
    SaveCounts,
    archive_pepper,
    employments,
    outcomes,
    persons,
    protected_attributes,
    save_rows,
)
from transforms.archive_mapping import content_hash, email_key, normalise_email
from transforms.outcomes import NormalisedOutcomes, normalise_attributes, normalise_outcomes

MAX_REJECTED_LISTED = 200


@dataclass
class ImportSummary:
    """What one import did: ``read = inserted + updated + unchanged + rejected``."""

    source: str
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejected_rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, counts: SaveCounts, normalised: NormalisedOutcomes, unmatched: pd.DataFrame) -> None:
        """Fold one batch in."""
        self.read += normalised.read
        self.inserted += counts.inserted
        self.updated += counts.updated
        self.unchanged += counts.unchanged
        rejected = pd.concat([normalised.rejected, unmatched], ignore_index=True)
        self.rejected += len(rejected)
        room = MAX_REJECTED_LISTED - len(self.rejected_rows)
        if room > 0:
            self.rejected_rows.extend(rejected.head(room).astype({"row": int}).to_dict("records"))

    @property
    def reconciled(self) -> bool:
        """Every row read is accounted for."""
        return self.read == self.inserted + self.updated + self.unchanged + self.rejected

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {**asdict(self), "reconciled": self.reconciled}


def _people(engine: Engine) -> tuple[pd.DataFrame, set[str]]:
    with engine.connect() as conn:
        hires = pd.DataFrame(conn.execute(sa.select(employments.c.application_id, employments.c.person_key,
                                                    employments.c.candidate_id, employments.c.hire_date)).all(),
                             columns=["application_id", "person_key", "candidate_id", "hire_date"])
        keys = set(conn.execute(sa.select(persons.c.person_key)).scalars())
    hires["hire_date"] = pd.to_datetime(hires["hire_date"])
    return hires, keys


def match_people(batch: pd.DataFrame, hires: pd.DataFrame, person_keys: set[str], pepper: bytes | None,
                 dated: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add ``person_key``, ``application_id`` and ``candidate_id`` to each row; unmatched rows apart (row, rule)."""
    frame = batch.copy()
    frame["person_key"] = pd.Series(pd.NA, index=frame.index, dtype="object")
    by_app = hires.set_index("application_id")["person_key"]
    by_candidate = hires.drop_duplicates("candidate_id", keep="last").set_index("candidate_id")["person_key"]
    for kind, mapper in (("application_id", by_app), ("candidate_id", by_candidate)):
        rows = frame["id_kind"] == kind
        frame.loc[rows, "person_key"] = frame.loc[rows, "id_value"].map(mapper)
    rows = frame["id_kind"] == "person_key"
    frame.loc[rows, "person_key"] = frame.loc[rows, "id_value"].where(frame.loc[rows, "id_value"].isin(person_keys))
    rows = frame["id_kind"] == "email"
    if rows.any() and pepper:
        keys = frame.loc[rows, "id_value"].map(lambda e: email_key(normalise_email(e), pepper) if normalise_email(e) else None)
        frame.loc[rows, "person_key"] = keys.where(keys.isin(person_keys))
    unmatched = frame["person_key"].isna()
    rejected = pd.DataFrame({"row": frame.loc[unmatched, "row"],
                             "rule": "no archive person for " + frame.loc[unmatched, "id_kind"].astype(str)})
    frame = frame[~unmatched]
    if not dated:
        last = hires.sort_values("hire_date").drop_duplicates("person_key", keep="last").set_index("person_key")
        frame["candidate_id"] = frame["person_key"].map(last["candidate_id"])
        return frame, rejected
    given = frame["id_kind"] == "application_id"
    frame["when"] = pd.to_datetime(frame["effective_date"]).astype("datetime64[ns]")
    ordered = frame.reset_index().astype({"person_key": "string"}).sort_values("when")
    spans = hires.dropna(subset=["hire_date"]).astype({"person_key": "string", "hire_date": "datetime64[ns]"})
    spans = spans.sort_values("hire_date")
    matched = pd.merge_asof(ordered, spans.rename(columns={"application_id": "hire_application"})
                            [["person_key", "hire_date", "hire_application", "candidate_id"]],
                            left_on="when", right_on="hire_date", by="person_key", direction="backward")
    matched = matched.set_index("index").reindex(frame.index)
    frame["application_id"] = frame["id_value"].where(given, matched["hire_application"])
    frame["candidate_id"] = frame["application_id"].map(hires.set_index("application_id")["candidate_id"])
    late = frame["application_id"].isna()
    rejected = pd.concat([rejected, pd.DataFrame({"row": frame.loc[late, "row"],
                                                  "rule": "the person has no hire on or before this date"})])
    return frame[~late].drop(columns=["when"]), rejected


def _outcome_rows(frame: pd.DataFrame, source: str) -> list[dict[str, Any]]:
    rows = []
    for record in frame.to_dict("records"):
        row = {
            "outcome_id": record["outcome_id"], "person_key": record["person_key"],
            "application_id": record["application_id"], "candidate_id": record.get("candidate_id"),
            "kind": record["kind"], "effective_date": record["effective_date"],
            "rating": None if pd.isna(record.get("rating")) else float(record["rating"]),
            "rating_scale_max": None if pd.isna(record.get("rating_scale_max")) else float(record["rating_scale_max"]),
            "assessments": record.get("assessments") or {},
            "separation_type": None if pd.isna(record.get("separation_type")) else record["separation_type"],
            "source": source, "note": None if pd.isna(record.get("note")) else str(record["note"]),
        }
        row["content_hash"] = content_hash(row)
        rows.append(row)
    return rows


def _sealer(vault: Any, table: str, column: str, record: str) -> Any:
    from hrbridge.pipelines.pii import seal_rows

    def seal(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not rows:
            return rows
        sealed, _ = seal_rows(vault, rows, [column], table=table, subject_key="candidate_id", record_key=record)
        return sealed

    return seal


def save_outcomes(engine: Engine, vault: Any, batches: Iterable[NormalisedOutcomes], source: str,
                  home: Path | None = None, now: datetime | None = None) -> ImportSummary:
    """Match and save normalised outcome batches, one archive transaction per batch."""
    now = now or datetime.now(UTC)
    pepper = archive_pepper(home) if home is not None else None
    hires, keys = _people(engine)
    summary = ImportSummary(source)
    for normalised in batches:
        matched, unmatched = match_people(normalised.valid, hires, keys, pepper)
        rows = _outcome_rows(matched, source)
        with engine.begin() as conn:
            counts = save_rows(conn, outcomes, rows, now, prepare=_sealer(vault, "archive_outcomes", "note", "outcome_id"))
        summary.add(counts, normalised, unmatched)
    return summary


def _file_batches(location: str, sheet: str | None, batch_size: int) -> Iterator[tuple[int, pd.DataFrame]]:
    from connectors.legacy_sources import open_source

    source = open_source(location, sheet=sheet)
    for _batch_no, offset, frame in source.batches(batch_size):
        yield offset + 2, frame  # file row of the first data row (row 1 is the header)


def import_file(engine: Engine, vault: Any, location: str, *, home: Path, sheet: str | None = None,
                batch_size: int = 50_000, now: datetime | None = None) -> ImportSummary:
    """Import outcomes from a CSV/Excel/Parquet file (see :mod:`transforms.outcomes` for the columns)."""
    source = "file:" + Path(location).name[:30]
    batches = (normalise_outcomes(frame, "file", first_row) for first_row, frame in _file_batches(location, sheet, batch_size))
    return save_outcomes(engine, vault, batches, source, home=home, now=now)


def import_attributes(engine: Engine, vault: Any, location: str, attributes: list[str], *, home: Path,
                      sheet: str | None = None, now: datetime | None = None) -> ImportSummary:
    """Import protected attributes per person (sealed as one token); only ``attributes`` columns are kept."""
    now = now or datetime.now(UTC)
    pepper = archive_pepper(home)
    hires, keys = _people(engine)
    summary = ImportSummary("attributes:" + Path(location).name[:30])
    for first_row, frame in _file_batches(location, sheet, 50_000):
        normalised = normalise_attributes(frame, attributes, first_row)
        matched, unmatched = match_people(normalised.valid, hires, keys, pepper, dated=False)
        rows = []
        for record in matched.to_dict("records"):
            row = {"person_key": record["person_key"], "candidate_id": record.get("candidate_id"),
                   "attributes": json.dumps(record["attributes"], sort_keys=True, ensure_ascii=False),
                   "source": "file"}
            row["content_hash"] = content_hash(row)
            rows.append(row)
        with engine.begin() as conn:
            counts = save_rows(conn, protected_attributes, rows, now,
                               prepare=_sealer(vault, "archive_protected", "attributes", "person_key"))
        summary.add(counts, normalised, unmatched)
    return summary


def sf_outcome_frame(records: Mapping[str, list[dict[str, Any]]], spec: Mapping[str, Any]) -> pd.DataFrame:
    """SuccessFactors records (per configured stream) as the file import's columns (pure)."""
    voluntary = set(spec.get("voluntary_reasons") or ())
    involuntary = set(spec.get("involuntary_reasons") or ())
    rows: list[dict[str, Any]] = []
    streams = (("ratings", "rating"), ("separations", "separation"), ("promotions", "promotion"))
    for name, kind in streams:
        conf = spec.get(name) or {}
        for record in records.get(name, []):
            reason = record.get(conf.get("reason", "")) if conf.get("reason") else None
            row = {"candidate_id": record.get(conf["person"]), "kind": kind,
                   "date": _iso(record.get(conf["date"])),
                   "outcome_id": f"{conf['entity']}:{record.get('_key')}"}
            if kind == "rating":
                row["rating"] = record.get(conf.get("rating", "rating"))
                row["rating_scale_max"] = record.get(conf.get("scale_max", "ratingScaleMax")) or 5
            if kind == "separation":
                row["separation_type"] = ("voluntary" if reason in voluntary else
                                          "involuntary" if reason in involuntary else None)
                row["note"] = reason
            rows.append(row)
    return pd.DataFrame(rows, columns=["candidate_id", "kind", "date", "outcome_id", "rating", "rating_scale_max",
                                       "separation_type", "note"]).astype("object")


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def import_successfactors(engine: Engine, vault: Any, connector: Any, spec: Mapping[str, Any], *, home: Path,
                          now: datetime | None = None) -> ImportSummary:
    """Read the configured SuccessFactors entities (``feedback.yaml`` → ``successfactors``) and save them."""
    from connectors.successfactors import StreamSpec

    records: dict[str, list[dict[str, Any]]] = {}
    for name in ("ratings", "separations", "promotions"):
        conf = spec.get(name)
        if not conf:
            continue
        entity = connector.entity_type(conf["entity"])
        key_fields = list(entity.key)
        wanted = {*key_fields, *(conf.get(k) for k in ("person", "date", "rating", "scale_max", "reason"))} - {None}
        connector.streams[f"feedback_{name}"] = StreamSpec(f"feedback_{name}", conf["entity"], key_fields[0],
                                                            cursor_field=None, fields=tuple(sorted(wanted)),
                                                            filter=conf.get("filter"))
        rows = list(connector.read(f"feedback_{name}"))
        for row in rows:
            row["_key"] = "/".join(str(row.get(k)) for k in key_fields)
        records[name] = rows
    frame = sf_outcome_frame(records, spec)
    normalised = normalise_outcomes(frame, "sf", 1)
    return save_outcomes(engine, vault, [normalised], "successfactors", home=home, now=now)
