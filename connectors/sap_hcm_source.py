"""SAP HCM recruitment (RFC) as a :class:`connectors.source.SourceSystem` for candidate_sync.

SAP's Applicant business object has no list, detail or change-date BAPI: applicant numbers come
from the caller (``applicants``, e.g. a recruitment report's export), and both streams are read
whole every run (``replication_key`` None; deleted-record detection still works through
``BAPI_APPLICANT_CHECKEXISTENCE``). ``BAPI_APPLICANT_GETSTATUS`` answers both: the applicant
(``NAME``, overall ``STATUS``) and one application per vacancy assignment (``VACANCY_STATUS``).
Every record carries ``seen_at``, the time it was read, as its modification time.

SAP ships no BAPI that writes an interview result to an applicant, so write-back calls a customer
function module (``write_back_function``, e.g. ``Z_HRBRIDGE_SET_AI_INTERVIEW``) once per record with
``APPLICANTNUMBER``, ``VACANCY`` and the target fields, and checks its RETURN (BAPIRET2): an E or A
message fails that record only. Without one configured every record fails, saying so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from connectors.errors import ConnectorError
from connectors.sap_rfc import STREAMS as RFC_STREAMS
from connectors.sap_rfc import BapiError, SapHcmConnector, check_return, normalise_key
from connectors.source import Stream, WriteBackResult

STATUS_FUNCTION = RFC_STREAMS["applicant_status"].function
EXISTENCE_FUNCTION = "BAPI_APPLICANT_CHECKEXISTENCE"
APPLICANT_SCHEMA = {"candidate_id": "NUMC", "name": "CHAR", "overall_status": "CHAR", "seen_at": "datetime"}
APPLICATION_SCHEMA = {"application_id": "CHAR", "candidate_id": "NUMC", "requisition_id": "NUMC",
                      "status": "CHAR", "status_text": "CHAR", "seen_at": "datetime"}

STREAMS: dict[str, Stream] = {
    "candidates": Stream("candidates", STATUS_FUNCTION, "candidate_id", None, "candidate", APPLICANT_SCHEMA),
    "applications": Stream("applications", STATUS_FUNCTION, "application_id", None, "application",
                           APPLICATION_SCHEMA),
}


def split_name(name: str | None) -> tuple[str | None, str | None]:
    """``NAME`` (``Anna Meyer``, as SAP formats it) into first and last name."""
    parts = (name or "").split()
    if not parts:
        return None, None
    return (" ".join(parts[:-1]) or None, parts[-1]) if len(parts) > 1 else (None, parts[0])


class SapHcmSource:
    """Applicants and their vacancy assignments from SAP HCM over RFC (live or recorded)."""

    name = "sap_hcm"
    streams = STREAMS

    def __init__(self, connector: SapHcmConnector, applicants: Callable[[], Iterable[str | int]], *,
                 write_back_function: str | None = None, clock: Callable[[], datetime] | None = None) -> None:
        self.connector = connector
        self.applicants = applicants
        self.write_back_function = write_back_function
        self.clock = clock or (lambda: datetime.now(UTC))

    def _numbers(self) -> list[str]:
        return list(dict.fromkeys(normalise_key(k, 8, "applicant number") for k in self.applicants()))

    def read_pages(self, stream: str, since: datetime | None = None,
                   fields: list[str] | None = None) -> Iterator[list[dict[str, Any]]]:
        """Every applicant (``candidates``) or vacancy assignment (``applications``); ``since`` cannot narrow it."""
        if stream not in STREAMS:
            raise KeyError(f"SAP HCM declares no stream {stream!r}; it has {sorted(STREAMS)}")
        seen_at = self.clock()
        for page in self._status_pages(self._numbers()):
            if stream == "applications":
                yield [{**record, "seen_at": seen_at} for record in page if record.get("requisition_id")]
                continue
            people: dict[str, dict[str, Any]] = {}
            for record in page:
                first, last = split_name(record.get("name"))
                people.setdefault(record["candidate_id"], {
                    "candidate_id": record["candidate_id"], "name": record.get("name"), "first_name": first,
                    "last_name": last, "overall_status": record.get("overall_status"), "seen_at": seen_at})
            yield list(people.values())

    def _status_pages(self, numbers: list[str]) -> Iterator[list[dict[str, Any]]]:
        """GETSTATUS records in pages; an applicant SAP no longer has is skipped (any other error stops the read)."""
        stream = RFC_STREAMS["applicant_status"]
        page: list[dict[str, Any]] = []
        for number in numbers:
            try:
                page.extend(self.connector.records_for(stream, number))
            except BapiError:
                if self._exists(number):
                    raise
                continue
            if len(page) >= self.connector.page_size:
                yield page
                page = []
        if page:
            yield page

    def _exists(self, number: str) -> bool:
        try:
            self.connector.call_function(EXISTENCE_FUNCTION, {"APPLICANTNUMBER": number}, number)
        except BapiError:
            return False
        return True

    def read_keys(self, stream: str) -> set[Any]:
        """Applicants SAP still has (``BAPI_APPLICANT_CHECKEXISTENCE``), or their vacancy assignments."""
        existing = [number for number in self._numbers() if self._exists(number)]
        if stream == "candidates":
            return set(existing)
        return {r["application_id"] for page in self._status_pages(existing) for r in page if r.get("requisition_id")}

    def upsert(self, entity: str, records: list[dict[str, Any]], key_field: str) -> WriteBackResult:
        """Call the customer write-back function once per record; E/A in its RETURN fail that record."""
        result = WriteBackResult()
        for record in records:
            key = record.get(key_field)
            if self.write_back_function is None:
                result.failed.append((key, "no SAP write-back function configured (write_back_function)"))
                continue
            applicant, _, vacancy = str(key).partition("-")
            params = {"APPLICANTNUMBER": applicant, "VACANCY": vacancy,
                      "FIELDS": [{"FIELD": k, "VALUE": "" if v is None else str(v)}
                                 for k, v in record.items() if k != key_field]}
            try:
                self.connector.call_function(self.write_back_function, params, str(key))
            except (BapiError, ConnectorError) as exc:
                result.failed.append((key, str(exc)))
                continue
            result.ok.append(key)
        return result

    def close(self) -> None:
        """Close the RFC connection."""
        self.connector.close()


def recorded_keys(answers: Mapping[Any, Any]) -> list[str]:
    """Applicant numbers with a recorded GETSTATUS answer (tests and the conformance suite)."""
    return sorted(k[1] for k in answers if isinstance(k, tuple) and k[0] == STATUS_FUNCTION)


__all__ = ["STREAMS", "SapHcmSource", "check_return", "recorded_keys", "split_name"]
