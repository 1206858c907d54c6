"""The archive_sync loop: hired applications in the hub → employee archive records.

For every application whose status means "hired" (``configs/archive.yaml``), the hub's candidate,
requisition and stored interview results are mapped into one person (the same person across
rehires), one employment per hire and the interview portraits, then saved by content hash in ONE
archive transaction: a rerun inserts and updates nothing. Hires that cannot be mapped are
reported with the reason, never dropped silently: ``hires = archived + skipped + erased`` (a
hire whose candidate's data key was shredded is not mapped again, so the archive does not grow a
second, contact-less person for them).

The hub's contacts are decrypted for the mapping and sealed again under the same candidate's key
in the archive; content hashes are taken on the plaintext (keyed for persons), so a rerun
rewrites nothing even though every encryption draws a fresh nonce. Persons keyed by the earlier
unkeyed e-mail hash are moved to the keyed person key on the first run (``rekeyed``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from hrbridge.archive import (
    SaveCounts,
    archive_pepper,
    employments,
    persons,
    portraits,
    save_rows,
    seal_persons,
)
from hrbridge.consent.scores import ai_score_usable
from hrbridge.pipelines.interview_results import open_media
from hrbridge.pipelines.pii import default_vault, shredded_subjects
from hrbridge.settings import Settings, load_config, load_settings
from hrbridge.store import metadata
from hrbridge.store.results import interview_results
from transforms.archive_mapping import (
    ArchiveMappingError,
    ArchiveRecords,
    legacy_email_key,
    map_hire,
    normalise_email,
)
from transforms.masking import mask_pii

log = logging.getLogger(__name__)


@dataclass
class ArchiveSummary:
    """What one archive_sync run did, per archive table."""

    hires: int = 0
    archived: int = 0
    skipped: dict[str, str] = field(default_factory=dict)
    erased: int = 0  # hires whose candidate's key was shredded: their archive rows are left as they are
    rekeyed: int = 0  # persons moved from the old unkeyed e-mail hash to the keyed person key
    persons: SaveCounts = field(default_factory=SaveCounts)
    employments: SaveCounts = field(default_factory=SaveCounts)
    portraits: SaveCounts = field(default_factory=SaveCounts)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON output and XCom."""
        return asdict(self)

    @property
    def changed(self) -> int:
        """Rows inserted or updated across the three tables (0 on an idempotent rerun)."""
        return sum(c.inserted + c.updated for c in (self.persons, self.employments, self.portraits))


def load_archive_config(settings: Settings | None = None) -> Mapping[str, Any]:
    """The parsed ``configs/archive.yaml``."""
    return load_config("archive", settings or load_settings())


def _rows_by(conn: Connection, table_name: str, key: str, values: Iterable[Any]) -> dict[Any, dict[str, Any]]:
    table = metadata.tables[table_name]
    wanted = sorted({v for v in values if v is not None})
    found: dict[Any, dict[str, Any]] = {}
    for start in range(0, len(wanted), 900):
        chunk = wanted[start:start + 900]
        for row in conn.execute(sa.select(table).where(table.c[key].in_(chunk))).mappings():
            found[row[key]] = dict(row)
    return found


def read_hires(
    hub: Engine, hired_statuses: Iterable[str], vault: Any = None
) -> list[tuple[dict, dict | None, dict | None, list[dict]]]:
    """Hired applications with their candidate, requisition and stored interview results.

    Results of an application whose candidate asked for an alternative process are not read: no
    AI score of theirs reaches the archive, even one stored before they asked.

    Contacts and clip/transcript references encrypted in the hub are decrypted with ``vault``
    (a shredded candidate's contacts read as None).
    """
    applications = metadata.tables["applications"]
    with hub.connect() as conn:
        apps = [dict(r) for r in conn.execute(
            sa.select(applications).where(applications.c.status.in_(list(hired_statuses)))
            .order_by(applications.c.application_id)
        ).mappings()]
        candidates = _rows_by(conn, "candidates", "candidate_id", (a["candidate_id"] for a in apps))
        requisitions = _rows_by(conn, "requisitions", "requisition_id", (a["requisition_id"] for a in apps))
        results: dict[str, list[dict]] = {}
        ids = [a["application_id"] for a in apps]
        for start in range(0, len(ids), 900):
            query = (sa.select(interview_results)
                     .where(interview_results.c.application_id.in_(ids[start:start + 900]))
                     .where(ai_score_usable(interview_results.c.application_id)))  # none after an alternative process
            for row in open_media(vault, [dict(r) for r in conn.execute(query).mappings()]):
                results.setdefault(row["application_id"], []).append(row)
    if vault is not None:
        from hrbridge.pipelines.pii import open_hub_rows

        apps = open_hub_rows(vault, "applications", apps)
        candidates = {row["candidate_id"]: row
                      for row in open_hub_rows(vault, "candidates", list(candidates.values()))}
    return [(a, candidates.get(a["candidate_id"]), requisitions.get(a["requisition_id"]),
             results.get(a["application_id"], [])) for a in apps]


def _add(total: SaveCounts, part: SaveCounts) -> None:
    total.inserted += part.inserted
    total.updated += part.updated
    total.unchanged += part.unchanged


def _sealer(vault: Any) -> Any:
    """Encrypt portraits' clip references with the candidate's data key (same keys as the hub)."""

    def seal(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not rows:
            return rows
        prepared = [{**row, "clip_refs": json.dumps(row["clip_refs"], ensure_ascii=False)} for row in rows]
        return vault.encrypt_rows(prepared, ["clip_refs"], table="archive_portraits", subject_key="candidate_id",
                                  record_key="result_id")

    return seal


def _rekey_legacy(conn: Connection, people: Mapping[str, Mapping[str, Any]]) -> int:
    """Move children of persons stored under the old unkeyed e-mail hash to the keyed key; drop the old rows.

    Runs after the new person rows are saved (foreign keys); the children's content hashes then
    differ from the mapping, so the following save rewrites them consistently.
    """
    moves: dict[str, str] = {}
    for key, person in people.items():
        email = normalise_email(person.get("email"))
        if key.startswith("email:") and email and legacy_email_key(email) != key:
            moves[legacy_email_key(email)] = key
    old_keys = sorted(moves)
    found: list[str] = []
    for start in range(0, len(old_keys), 900):
        found += conn.execute(sa.select(persons.c.person_key)
                              .where(persons.c.person_key.in_(old_keys[start:start + 900]))).scalars().all()
    for old in found:
        for child in (employments, portraits):
            conn.execute(child.update().where(child.c.person_key == old).values(person_key=moves[old]))
        conn.execute(persons.delete().where(persons.c.person_key == old))
    return len(found)


def run_archive_sync(
    hub: Engine,
    archive: Engine,
    config: Mapping[str, Any] | None = None,
    *,
    settings: Settings | None = None,
) -> ArchiveSummary:
    """Map every hire in the hub into the archive (idempotent); returns per-table counts."""
    settings = settings or load_settings()
    config = config or load_archive_config(settings)
    summary = ArchiveSummary()
    records: list[ArchiveRecords] = []
    from hrbridge.shared_secrets import default_secret_store

    vault = default_vault(hub, settings.ensure_dirs().home, settings=settings)
    pepper = archive_pepper(settings.home, default_secret_store(settings))  # the hub's with HRBRIDGE_KEY_PROVIDER=hub
    hires = read_hires(hub, config.get("hired_statuses") or ["Hired"], vault)
    shredded = shredded_subjects(vault, (application.get("candidate_id") for application, *_ in hires))
    for application, candidate, requisition, results in hires:
        summary.hires += 1
        if str(application.get("candidate_id")) in shredded:
            summary.erased += 1  # keep the archive rows as they are: no contacts left to key or store
            continue
        try:
            records.append(map_hire(application, candidate, requisition, results, config, pepper=pepper))
        except ArchiveMappingError as exc:
            summary.skipped[str(application["application_id"])] = mask_pii(str(exc))
    # One person row per person: the latest hire's details win.
    people: dict[str, dict[str, Any]] = {}
    for item in sorted(records, key=lambda r: (str(r.employment.get("hire_date")), r.employment["application_id"])):
        people[item.person["person_key"]] = item.person
    with archive.begin() as conn:
        _add(summary.persons, save_rows(conn, persons, list(people.values()), prepare=lambda rows: seal_persons(vault, rows)))
        summary.rekeyed = _rekey_legacy(conn, people)
        _add(summary.employments, save_rows(conn, employments, [r.employment for r in records]))
        seal = _sealer(vault) if config.get("encrypt_media", True) else None
        _add(summary.portraits, save_rows(conn, portraits, [p for r in records for p in r.portraits], prepare=seal))
    summary.archived = len(records)
    if summary.skipped:
        log.warning("archive_sync: %d hires not archived: %s", len(summary.skipped), summary.skipped)
    log.info("archive_sync: %d hires, %d archive rows inserted or updated", summary.hires, summary.changed)
    return summary
