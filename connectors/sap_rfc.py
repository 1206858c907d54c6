"""SAP HCM (on-premise) over RFC: BAPI-backed streams declared as data, read through pyrfc.

pyrfc is imported lazily — only when a live connection is opened — because it needs SAP's
proprietary NW RFC SDK and is not on the package index (optional extra ``sap-rfc``). Without it
:func:`open_connection` raises :class:`RfcSdkMissingError` with the install steps.

Every stream names its BAPI, the import parameter that takes one key per call (personnel or
applicant number) and the tables/export parameters holding the data, and maps SAP field names to
canonical fields with their ABAP type: NUMC (``00001234``), DATS (``YYYYMMDD``, ``00000000`` =
empty), TIMS (``HHMMSS``), CHAR (blank-padded). Every ``RETURN`` message (BAPIRETURN, BAPIRETURN1
or a BAPIRET2 table) is checked: E/A raise :class:`BapiError` naming the BAPI and the message,
W is logged with personal data masked, S/I pass. Connection parameters (ashost, sysnr, client,
user, passwd, lang) come from the environment or an Airflow Connection and are never logged.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any, Protocol

from connectors.errors import (
    AuthenticationError,
    ConnectorError,
    MalformedResponseError,
    UnreachableError,
)
from transforms.masking import mask_pii

__all__ = [
    "SDK_MESSAGE", "STREAMS", "BapiError", "RfcConnection", "RfcDataError", "RfcField", "RfcParams",
    "RfcSdkMissingError", "RfcStats", "RfcStream", "SapHcmConnector", "check_return", "convert",
    "open_connection",
]

log = logging.getLogger(__name__)

SDK_MESSAGE = (
    "SAP HCM over RFC needs the pyrfc package and the SAP NW RFC SDK 7.50 (proprietary, from the SAP "
    "Support Portal; pyrfc is not installable from the package index): install the SDK, set "
    "SAPNWRFC_HOME to its folder, then pip install pyrfc (or the hrbridge extra sap-rfc); see docs/sap-hcm.md"
)
ERROR_TYPES = frozenset({"E", "A"})
EMPTY_DATES = frozenset({"", "00000000"})
_ABAP_TYPES = frozenset({"CHAR", "NUMC", "ID", "DATS", "TIMS", "INT"})


class RfcSdkMissingError(ConnectorError):
    """pyrfc (and with it the SAP NW RFC SDK) is not installed."""


class BapiError(ConnectorError):
    """A BAPI answered with an error (E) or abort (A) message in RETURN."""

    def __init__(self, function: str, msg_type: str, message: str, msg_id: str = "", number: str = "",
                 key: str | None = None) -> None:
        where = f" for {key}" if key else ""
        ident = " ".join(part for part in (msg_id, number) if part)
        code = f" [{ident}]" if ident else ""
        super().__init__(f"{function}{where} returned {msg_type}{code}: {message}")
        self.function = function
        self.msg_type = msg_type
        self.msg_id = msg_id
        self.number = number
        self.key = key


class RfcDataError(MalformedResponseError):
    """A BAPI returned a value that does not fit its declared ABAP type."""


class RfcConnection(Protocol):
    """What the connector needs from ``pyrfc.Connection`` (and what a recorded connection replays)."""

    def call(self, func_name: str, **params: Any) -> dict[str, Any]:
        """Call a remote function module; export, changing and table parameters come back in a dict."""

    def close(self) -> None:
        """Close the connection."""


# --- connection parameters ------------------------------------------------------------------------


@dataclass(frozen=True)
class RfcParams:
    """Logon parameters of one SAP application server; ``passwd`` never appears in repr or logs."""

    ashost: str
    sysnr: str
    client: str
    user: str
    passwd: str = field(repr=False)
    lang: str = "EN"
    saprouter: str | None = None

    def __post_init__(self) -> None:
        missing = [name for name in ("ashost", "sysnr", "client", "user", "passwd") if not getattr(self, name)]
        if missing:
            raise ValueError(f"SAP RFC connection is missing {', '.join(missing)}")
        if not re.fullmatch(r"\d{2}", self.sysnr):
            raise ValueError(f"SAP system number must be two digits (e.g. 00), got {self.sysnr!r}")
        if not re.fullmatch(r"\d{3}", self.client):
            raise ValueError(f"SAP client must be three digits (e.g. 100), got {self.client!r}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RfcParams:
        """Read ``HRBRIDGE_RFC_ASHOST``, ``_SYSNR``, ``_CLIENT``, ``_USER``, ``_PASSWORD``, ``_LANG``, ``_SAPROUTER``."""
        env = os.environ if environ is None else environ
        return cls(ashost=env.get("HRBRIDGE_RFC_ASHOST", ""), sysnr=env.get("HRBRIDGE_RFC_SYSNR", ""),
                   client=env.get("HRBRIDGE_RFC_CLIENT", ""), user=env.get("HRBRIDGE_RFC_USER", ""),
                   passwd=env.get("HRBRIDGE_RFC_PASSWORD", ""), lang=env.get("HRBRIDGE_RFC_LANG", "EN"),
                   saprouter=env.get("HRBRIDGE_RFC_SAPROUTER") or None)

    @classmethod
    def from_connection(cls, host: str | None, login: str | None, password: str | None,
                        extra: Mapping[str, Any] | None = None) -> RfcParams:
        """From Airflow Connection fields: host = ashost, login/password, extra ``sysnr``, ``client``, ``lang``, ``saprouter``."""
        extra = extra or {}
        return cls(ashost=host or "", sysnr=str(extra.get("sysnr", "")), client=str(extra.get("client", "")),
                   user=login or "", passwd=password or "", lang=str(extra.get("lang") or "EN"),
                   saprouter=extra.get("saprouter") or None)

    def as_pyrfc_kwargs(self) -> dict[str, str]:
        """Keyword arguments for ``pyrfc.Connection``."""
        kwargs = {"ashost": self.ashost, "sysnr": self.sysnr, "client": self.client, "user": self.user,
                  "passwd": self.passwd, "lang": self.lang}
        if self.saprouter:
            kwargs["saprouter"] = self.saprouter
        return kwargs


def _import_pyrfc() -> Any:
    try:
        import pyrfc  # type: ignore[import-not-found]
    except ImportError as exc:  # pyrfc absent, or present but its SDK libraries are not found
        raise RfcSdkMissingError(f"{SDK_MESSAGE} (import failed: {exc})") from exc
    return pyrfc


def open_connection(params: RfcParams) -> RfcConnection:
    """Open a live ``pyrfc.Connection``; RfcSdkMissingError without the SDK, Authentication/UnreachableError on logon."""
    pyrfc = _import_pyrfc()
    try:
        return pyrfc.Connection(**params.as_pyrfc_kwargs())
    except Exception as exc:  # pyrfc's own exception classes, told apart by name
        raise _translate(exc, f"logon to {params.ashost} sysnr {params.sysnr} client {params.client} "
                              f"as {params.user}") from exc


def _translate(exc: Exception, what: str) -> ConnectorError:
    name = type(exc).__name__
    text = mask_pii(str(exc))
    if name == "LogonError":
        return AuthenticationError(f"SAP rejected the {what}: {text}")
    if name == "CommunicationError":
        return UnreachableError(f"SAP could not be reached for the {what}: {text}")
    return ConnectorError(f"{what} failed ({name}): {text}")


# --- ABAP type conversion -------------------------------------------------------------------------


def convert(value: Any, abap_type: str, where: str = "") -> Any:
    """Convert one RFC value: CHAR → stripped str or None, NUMC → int, ID → zero-padded str, DATS → date, TIMS → time.

    DATS ``00000000`` or blank means no date (None); ``99991231`` stays 9999-12-31 (SAP's open end).
    pyrfc already returns DATS/TIMS as date/time objects when its flags ask for that; those pass
    through. Anything that does not fit raises RfcDataError naming ``where``.
    """
    if abap_type not in _ABAP_TYPES:
        raise ValueError(f"unknown ABAP type {abap_type!r} at {where}")
    if value is None:
        return None
    if abap_type in ("DATS", "TIMS") and isinstance(value, (date, time)):
        return value
    if abap_type == "INT":
        return int(value)
    text = str(value).strip()
    if abap_type == "CHAR":
        return text or None
    if abap_type in ("NUMC", "ID"):
        if not text or set(text) == {"0"} and abap_type == "ID":
            return None
        if not text.isdigit():
            raise RfcDataError(f"{where}: NUMC value {value!r} is not digits")
        return int(text) if abap_type == "NUMC" else text
    if abap_type == "DATS":
        if text in EMPTY_DATES:
            return None
        if not re.fullmatch(r"\d{8}", text):
            raise RfcDataError(f"{where}: DATS value {value!r} is not YYYYMMDD")
        try:
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError as exc:
            raise RfcDataError(f"{where}: DATS value {value!r} is not a calendar date") from exc
    if not text:
        return None
    if not re.fullmatch(r"\d{6}", text):
        raise RfcDataError(f"{where}: TIMS value {value!r} is not HHMMSS")
    try:
        return time(int(text[:2]), int(text[2:4]), int(text[4:]))
    except ValueError as exc:
        raise RfcDataError(f"{where}: TIMS value {value!r} is not a time of day") from exc


# --- RETURN messages ------------------------------------------------------------------------------


def _messages(ret: Any) -> list[Mapping[str, Any]]:
    if ret is None:
        return []
    if isinstance(ret, Mapping):
        return [ret]
    return [m for m in ret if isinstance(m, Mapping)]


def check_return(function: str, ret: Any, key: str | None = None,
                 logger: logging.Logger | None = None) -> list[dict[str, str]]:
    """Check a RETURN parameter (BAPIRETURN / BAPIRETURN1 structure or BAPIRET2 table).

    E and A raise BapiError (the first such message, naming the BAPI and key); W is logged as a
    warning with e-mails and long digit runs masked; S, I and an empty TYPE are fine. Returns the
    warnings (masked) so callers can count them.
    """
    logger = logger or log
    warnings: list[dict[str, str]] = []
    for msg in _messages(ret):
        msg_type = str(msg.get("TYPE") or "").strip().upper()
        text = str(msg.get("MESSAGE") or "").strip()
        msg_id = str(msg.get("ID") or msg.get("CODE") or "").strip()
        number = str(msg.get("NUMBER") or "").strip()
        if msg_type in ERROR_TYPES:
            raise BapiError(function, msg_type, mask_pii(text), msg_id, number, key)
        if msg_type == "W":
            masked = mask_pii(text)
            logger.warning("%s%s warning [%s %s]: %s", function, f" for {key}" if key else "", msg_id, number,
                           masked)
            warnings.append({"function": function, "key": key or "", "id": msg_id, "number": number,
                             "message": masked})
    return warnings


# --- streams --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RfcField:
    """One SAP field of a table or export parameter, the canonical field it fills and its ABAP type."""

    sap: str
    canonical: str
    abap_type: str = "CHAR"


def _fields(*triples: tuple[str, str, str]) -> tuple[RfcField, ...]:
    return tuple(RfcField(*t) for t in triples)


@dataclass(frozen=True)
class RfcStream:
    """A stream read through one BAPI: one call per key (``key_param``), rows from ``table``.

    ``exports`` are single-value export parameters copied into every row (for BAPIs that answer
    one record in export parameters, the table holding its sub-rows). ``join_table`` rows are
    merged into ``table`` rows that share ``join_on``; ``empty_row`` keeps a record when the table
    is empty but the exports describe it.
    """

    name: str
    function: str
    key_param: str
    key_width: int
    table: str
    fields: tuple[RfcField, ...]
    canonical_entity: str
    key_field: str
    exports: tuple[RfcField, ...] = ()
    join_table: str | None = None
    join_fields: tuple[RfcField, ...] = ()
    join_on: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    empty_row: bool = False
    derive: Callable[[dict[str, Any]], None] | None = None
    derived_columns: tuple[str, ...] = ()
    search_params: tuple[str, ...] = ()

    @property
    def columns(self) -> list[str]:
        """Canonical column names in output order."""
        names = [f.canonical for f in (*self.exports, *self.fields, *self.join_fields)]
        if self.canonical_entity == "application":
            names.append("candidate_id")
        return list(dict.fromkeys([*names, *self.derived_columns]))

    @property
    def column_types(self) -> dict[str, str]:
        """ABAP type per canonical column (derived columns are CHAR)."""
        types = {f.canonical: f.abap_type for f in (*self.exports, *self.fields, *self.join_fields)}
        return {c: types.get(c, "CHAR") for c in self.columns}


def _application_key(record: dict[str, Any]) -> None:
    vacancy = record.get("requisition_id")
    record["application_id"] = f"{record['candidate_id']}-{vacancy}" if vacancy else record["candidate_id"]


STREAMS: dict[str, RfcStream] = {s.name: s for s in (
    RfcStream(
        name="employees", function="BAPI_EMPLOYEE_GETDATA", key_param="EMPLOYEE_ID", key_width=8,
        table="PERSONAL_DATA", canonical_entity="employee", key_field="employee_id",
        params={"AUTHORITY_CHECK": "X"},
        search_params=("LASTNAME_M", "FSTNAME_M", "ORG_SEARK", "JOB_SEARK", "POS_SEARK", "DATE"),
        fields=_fields(("PERNR", "employee_id", "ID"), ("LAST_NAME", "last_name", "CHAR"),
                       ("FIRSTNAME", "first_name", "CHAR"), ("BIRTHDATE", "birth_date", "DATS"),
                       ("NATIONAL", "nationality", "CHAR"), ("LANGU_ISO", "locale", "CHAR"),
                       ("FROM_DATE", "valid_from", "DATS"), ("TO_DATE", "valid_to", "DATS")),
        join_table="ORG_ASSIGNMENT", join_on="PERNR",
        join_fields=_fields(("COMP_CODE", "company_code", "CHAR"), ("PERS_AREA", "personnel_area", "CHAR"),
                            ("ORG_UNIT", "org_unit", "ID"), ("ORGTXT", "department", "CHAR"),
                            ("POSITION", "position", "ID"), ("JOB", "job_code", "ID"),
                            ("JOBTXT", "job_title", "CHAR"), ("COSTCENTER", "cost_center", "CHAR")),
    ),
    RfcStream(
        name="personal_data", function="BAPI_PERSDATA_GETDETAILEDLIST", key_param="EMPLOYEENUMBER", key_width=8,
        table="PERSONALDATA", canonical_entity="employee", key_field="employee_id",
        params={"TIMEINTERVALLOW": "18000101", "TIMEINTERVALHIGH": "99991231"},
        fields=_fields(("EMPLOYEENO", "employee_id", "ID"), ("SUBTYPE", "subtype", "CHAR"),
                       ("VALIDBEGIN", "valid_from", "DATS"), ("VALIDEND", "valid_to", "DATS"),
                       ("RECORDNR", "record_number", "NUMC"), ("LASTNAME", "last_name", "CHAR"),
                       ("FIRSTNAME", "first_name", "CHAR"), ("DATEOFBIRTH", "birth_date", "DATS"),
                       ("GENDER", "gender", "CHAR"), ("LANGUAGE_ISO", "locale", "CHAR"),
                       ("NATIONALITY", "nationality", "CHAR")),
    ),
    RfcStream(
        name="applicant_status", function="BAPI_APPLICANT_GETSTATUS", key_param="APPLICANTNUMBER", key_width=8,
        table="VACANCY_STATUS", canonical_entity="application", key_field="application_id", empty_row=True,
        exports=_fields(("STATUS", "overall_status", "CHAR"), ("APP_STATUS", "overall_status_text", "CHAR"),
                        ("NAME", "name", "CHAR")),
        fields=_fields(("VACANCY", "requisition_id", "ID"), ("VA_STATUS", "status", "CHAR"),
                       ("VA_STATUS_TEXT", "status_text", "CHAR")),
        derive=_application_key, derived_columns=("application_id",),
    ),
)}


@dataclass
class RfcStats:
    """Counts of one connector: BAPI calls, table rows read, records emitted, warnings, pages.

    They reconcile: ``records == rows + empty_answers`` (an answer with an empty table still gives
    one record for streams with ``empty_row``, from its export parameters), and keys asked ==
    ``calls + duplicate_keys`` (a key given twice is read once).
    """

    calls: int = 0
    rows: int = 0
    records: int = 0
    warnings: int = 0
    pages: int = 0
    empty_answers: int = 0
    duplicate_keys: int = 0


def normalise_key(key: str | int, width: int, what: str = "key") -> str:
    """``1234`` → ``00001234`` (NUMC width); ValueError for anything but up to ``width`` digits."""
    text = str(key).strip()
    if not text.isdigit() or len(text) > width:
        raise ValueError(f"{what} {key!r} is not a number of at most {width} digits")
    return text.zfill(width)


class SapHcmConnector:
    """Read BAPI-backed streams from SAP HCM through an RFC connection (live or recorded)."""

    def __init__(self, connection: RfcConnection, page_size: int = 500,
                 logger: logging.Logger | None = None) -> None:
        if page_size < 1:
            raise ValueError(f"page_size must be at least 1, got {page_size}")
        self.connection = connection
        self.page_size = page_size
        self.stats = RfcStats()
        self.warnings: list[dict[str, str]] = []
        self.log = logger or log

    @classmethod
    def connect(cls, params: RfcParams, page_size: int = 500) -> SapHcmConnector:
        """Open a live pyrfc connection with ``params`` (RfcSdkMissingError without the SDK)."""
        return cls(open_connection(params), page_size=page_size)

    @staticmethod
    def stream(name: str) -> RfcStream:
        """The declared stream called ``name``; KeyError listing the known ones."""
        try:
            return STREAMS[name]
        except KeyError:
            raise KeyError(f"unknown SAP HCM stream {name!r}; known: {', '.join(sorted(STREAMS))}") from None

    def call(self, stream: RfcStream, key: str | None, criteria: Mapping[str, str] | None = None) -> dict[str, Any]:
        """One BAPI call for ``key`` (or search ``criteria``); RETURN checked, pyrfc failures translated."""
        params = {**stream.params, **(criteria or {})}
        if key is not None:
            params[stream.key_param] = key
        else:
            key = "search " + ", ".join(f"{k}={v}" for k, v in (criteria or {}).items())
        return self.call_function(stream.function, params, key)

    def call_function(self, function: str, params: Mapping[str, Any], key: str | None = None) -> dict[str, Any]:
        """One call of any function module (a BAPI, a customer RFC); RETURN checked, failures translated."""
        self.stats.calls += 1
        try:
            result = self.connection.call(function, **params)
        except ConnectorError:
            raise
        except Exception as exc:  # pyrfc ABAPApplicationError, CommunicationError, ...
            raise _translate(exc, f"call of {function} for {key}") from exc
        if not isinstance(result, Mapping):
            raise MalformedResponseError(f"{function} for {key} returned {type(result).__name__}, not a dict")
        found = check_return(function, result.get("RETURN"), key, self.log)
        self.warnings.extend(found)
        self.stats.warnings += len(found)
        return dict(result)

    def records_for(self, stream: RfcStream, key: str | None,
                    criteria: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        """Canonical records of one BAPI answer: table rows converted, exports and joined rows merged."""
        result = self.call(stream, key, criteria)
        label = key or "search"
        rows = result.get(stream.table) or []
        if not isinstance(rows, list):
            raise MalformedResponseError(f"{stream.function} for {key}: table {stream.table} is not a list")
        self.stats.rows += len(rows)
        head = {f.canonical: convert(result.get(f.sap), f.abap_type, f"{stream.function} {label} {f.sap}")
                for f in stream.exports}
        joined: dict[Any, Mapping[str, Any]] = {}
        if stream.join_table:
            for row in result.get(stream.join_table) or []:
                joined.setdefault(str(row.get(stream.join_on, "")).strip(), row)
        records = []
        source_rows = rows if rows or not stream.empty_row else [{}]
        if not rows and stream.empty_row:
            self.stats.empty_answers += 1
        for index, row in enumerate(source_rows):
            where = f"{stream.function} {label} {stream.table} row {index}"
            record = dict(head)
            for f in stream.fields:
                record[f.canonical] = convert(row.get(f.sap), f.abap_type, f"{where} {f.sap}")
            if stream.join_table:
                other = joined.get(str(row.get(stream.join_on, "")).strip(), {})
                for f in stream.join_fields:
                    record[f.canonical] = convert(other.get(f.sap), f.abap_type,
                                                  f"{stream.function} {label} {stream.join_table} {f.sap}")
            record.setdefault(stream.key_field, None)
            if stream.canonical_entity == "application":
                record["candidate_id"] = key
            if stream.derive is not None:
                stream.derive(record)
            records.append(record)
        return records

    def read_pages(self, name: str, keys: Iterable[str | int]) -> Iterator[list[dict[str, Any]]]:
        """Yield pages of up to ``page_size`` canonical records, one BAPI call per key.

        These BAPIs take one personnel/applicant number per call and have no paging of their own, so
        pages are cut here: memory stays bounded by ``page_size`` plus one BAPI answer.
        """
        stream = self.stream(name)
        seen: set[str] = set()
        page: list[dict[str, Any]] = []
        for raw_key in keys:
            key = normalise_key(raw_key, stream.key_width, stream.key_param)
            if key in seen:  # asked twice: read once, counted as a duplicate
                self.stats.duplicate_keys += 1
                continue
            seen.add(key)
            page.extend(self.records_for(stream, key))
            while len(page) >= self.page_size:
                yield self._emit(page[: self.page_size])
                page = page[self.page_size:]
        if page:
            yield self._emit(page)

    def search_pages(self, name: str, criteria: Mapping[str, str]) -> Iterator[list[dict[str, Any]]]:
        """One BAPI call with SAP's own selection parameters (e.g. ``ORG_SEARK`` = an org unit), cut into pages.

        Only the stream's declared ``search_params`` are accepted (ValueError otherwise), so a typo
        does not silently select everybody or nobody.
        """
        stream = self.stream(name)
        unknown = sorted(set(criteria) - set(stream.search_params))
        if not stream.search_params:
            raise ValueError(f"stream {name} reads by key only ({stream.key_param})")
        if unknown or not criteria:
            raise ValueError(f"stream {name} searches by {', '.join(stream.search_params)}; "
                             f"got {', '.join(unknown) or 'no criteria'}")
        records = self.records_for(stream, None, criteria)
        for start in range(0, len(records), self.page_size):
            yield self._emit(records[start:start + self.page_size])

    def _emit(self, page: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self.stats.records += len(page)
        self.stats.pages += 1
        return page

    def close(self) -> None:
        """Close the RFC connection."""
        self.connection.close()
