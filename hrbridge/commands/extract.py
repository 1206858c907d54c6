"""``hrbridge extract``: stream one source entity into a Parquet, CSV or JSON Lines file.

Pages are written as they arrive (a Parquet writer with a schema from the service metadata,
CSV and JSONL appended per page), so memory stays flat however large the stream is. They go to
a temporary file beside the output, renamed over it only when the whole stream was read, so a
failed run leaves the previous output as it was; the file is owner-only. The password can come
from ``HRBRIDGE_SF_PASSWORD`` so it never shows in the process list; one given inside ``--url``
is taken out of the URL, and no error message shows it. Bounds on what the server may send come
from ``HRBRIDGE_HTTP_*`` (docs/security.md).
``--type sap-hcm`` reads a BAPI-backed SAP HCM stream over RFC instead (docs/sap-hcm.md; its
password only from ``HRBRIDGE_RFC_PASSWORD``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hrbridge.atomic_file import atomic_output
from hrbridge.cli import UsageError

SOURCE_TYPES = ("successfactors", "sap-hcm")
FORMATS = {".parquet": "parquet", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``extract`` sub-command."""
    parser = subparsers.add_parser(
        "extract", help="read one stream from a source system into a file",
        description="Read every record of one stream (optionally changed since a time) into .parquet, .csv or .jsonl.",
    )
    parser.add_argument("--type", required=True, help=f"source system type ({', '.join(SOURCE_TYPES)})")
    parser.add_argument("--url", default=os.environ.get("HRBRIDGE_SF_URL"),
                        help="API base URL, e.g. https://api4.successfactors.com (env HRBRIDGE_SF_URL)")
    parser.add_argument("--user", help="API user (env HRBRIDGE_SF_USER; HRBRIDGE_RFC_USER for sap-hcm)")
    parser.add_argument("--password", help="API password; prefer env HRBRIDGE_SF_PASSWORD")
    parser.add_argument("--company-id", default=os.environ.get("HRBRIDGE_SF_COMPANY_ID"),
                        help="company ID, appended to the user as user@company (env HRBRIDGE_SF_COMPANY_ID)")
    parser.add_argument("--auth-scheme", choices=("basic", "saml_bearer"),
                        default=(os.environ.get("HRBRIDGE_SF_AUTH_SCHEME") or "basic").lower().replace("-", "_"),
                        help="basic (user@company + password) or saml_bearer: OAuth 2.0 SAML-bearer with "
                             "--client-id and the assertion in env HRBRIDGE_SF_ASSERTION, or --user and the "
                             "client's private key as the password (env HRBRIDGE_SF_AUTH_SCHEME)")
    parser.add_argument("--client-id", default=os.environ.get("HRBRIDGE_SF_CLIENT_ID"),
                        help="OAuth client (API key) for saml_bearer (env HRBRIDGE_SF_CLIENT_ID)")
    parser.add_argument("--token-url", default=os.environ.get("HRBRIDGE_SF_TOKEN_URL"),
                        help="token endpoint for saml_bearer (default <host>/oauth/token; env HRBRIDGE_SF_TOKEN_URL)")
    parser.add_argument("--stream", required=True,
                        help="a declared stream (requisitions, candidates, applications, resumes) or an entity set "
                             "(JobApplication, …)")
    parser.add_argument("--since", help="only records modified after this ISO 8601 time (UTC when no offset)")
    parser.add_argument("--select", help="comma-separated fields (key and lastModifiedDateTime are always added)")
    parser.add_argument("--page-size", type=int, default=1000, help="records per server page, 1-1000 (default 1000)")
    parser.add_argument("--rate-limit", type=float, help="maximum requests per second")
    parser.add_argument("--out", required=True, help="output file: .parquet, .csv or .jsonl")
    parser.add_argument("--json", action="store_true", help="print one JSON summary object instead of text")
    sap = parser.add_argument_group("sap-hcm (SAP HCM over RFC; needs pyrfc and the SAP NW RFC SDK, see docs/sap-hcm.md)")
    sap.add_argument("--ashost", help="SAP application server host (env HRBRIDGE_RFC_ASHOST)")
    sap.add_argument("--sysnr", help="SAP system number, two digits, e.g. 00 (env HRBRIDGE_RFC_SYSNR)")
    sap.add_argument("--client", help="SAP client, three digits, e.g. 100 (env HRBRIDGE_RFC_CLIENT)")
    sap.add_argument("--keys", help="comma-separated personnel or applicant numbers, or @file with one per line")
    sap.add_argument("--search", action="append", metavar="PARAM=VALUE",
                     help="BAPI selection instead of --keys, e.g. ORG_SEARK=50000590 (employees; repeatable)")
    parser.set_defaults(func=run)


def parse_since(text: str | None) -> datetime | None:
    """``--since`` as an aware UTC datetime (naive input is taken as UTC); UsageError when invalid."""
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise UsageError(f"--since {text!r} is not an ISO 8601 date/time (e.g. 2026-01-01T00:00:00Z)") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _validate(args: argparse.Namespace) -> tuple[str, datetime | None, list[str] | None, str]:
    if args.type not in SOURCE_TYPES:
        raise UsageError(f"unknown --type {args.type!r}; supported: {', '.join(SOURCE_TYPES)}")
    fmt = FORMATS.get(Path(args.out).suffix.lower())
    if fmt is None:
        raise UsageError(f"unsupported output extension for {args.out!r}; use {', '.join(sorted(FORMATS))}")
    if not args.url:
        raise UsageError("--url is required (or set HRBRIDGE_SF_URL)")
    if not 1 <= args.page_size <= 1000:
        raise UsageError(f"--page-size must be between 1 and 1000, got {args.page_size}")
    url_user, url_password = _take_userinfo(args)
    password = args.password or url_password or os.environ.get("HRBRIDGE_SF_PASSWORD")
    args.user = args.user or url_user or os.environ.get("HRBRIDGE_SF_USER")
    if getattr(args, "auth_scheme", "basic") == "saml_bearer" and os.environ.get("HRBRIDGE_SF_ASSERTION"):
        password = password or ""
    elif not args.user or not password:
        raise UsageError("--user and a password (--password or env HRBRIDGE_SF_PASSWORD) are required")
    select = [f.strip() for f in args.select.split(",") if f.strip()] if args.select else None
    return fmt, parse_since(args.since), select, password


def _take_userinfo(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """Move ``user:password@`` out of ``--url`` (returned) and check the URL is absolute http(s)."""
    from connectors.origin import origin_of, strip_userinfo
    from connectors.redaction import remember_secret

    args.url, user, password = strip_userinfo(args.url)
    remember_secret(password)
    try:
        origin_of(args.url)
    except ValueError:
        raise UsageError(f"--url {args.url[:200]!r} is not an absolute http(s) URL "
                         "(e.g. https://api4.successfactors.com)") from None
    return user or None, password or None


def _http_settings() -> dict[str, Any]:
    from hrbridge.connections import http_settings
    from hrbridge.settings import ConfigError

    try:
        return http_settings()
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc


def _connector(args: argparse.Namespace, password: str) -> Any:
    """The SuccessFactors connector for ``--auth-scheme`` (Basic, or SAML-bearer from the options and env)."""
    from hrbridge.connections import build_successfactors
    from hrbridge.settings import ConfigError

    try:
        return build_successfactors(
            args.url, args.user or "", password, args.company_id, auth_scheme=args.auth_scheme,
            client_id=args.client_id, token_url=args.token_url, assertion=os.environ.get("HRBRIDGE_SF_ASSERTION"),
            page_size=args.page_size, rate_limit=args.rate_limit, **_http_settings())
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc


def run(args: argparse.Namespace) -> int:
    """Extract the stream; exit 0 on success, 2 on bad arguments, 1 on a source failure."""
    if args.type == "sap-hcm":
        return run_sap_hcm(args)
    from connectors.errors import ConnectorError
    from connectors.redaction import redact

    fmt, since, select, password = _validate(args)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    connector = _connector(args, password)
    records = pages = 0
    try:
        columns = connector.selected_fields(args.stream, select)
        types = connector.field_types(args.stream)
        with atomic_output(out) as partial:
            sink = open_sink(fmt, partial, columns or list(types), types)
            try:
                for page in connector.read_pages(args.stream, since=since, fields=select):
                    sink.write(page, first_row=records)
                    records += len(page)
                    pages += 1
            finally:
                sink.close()
    except ConnectorError as exc:
        print(f"hrbridge extract: {type(exc).__name__}: {exc}; {out} was left as it was", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"hrbridge extract: {redact(str(exc))}; {out} was left as it was", file=sys.stderr)
        return 1
    finally:
        connector.close()
    summary = {
        "stream": args.stream, "records": records, "pages": pages, "out": str(out), "format": fmt,
        "server_count": connector.last_count, "count_matches": connector.last_count in (None, records),
        "since": since.isoformat() if since else None, "seconds": round(time.monotonic() - started, 3),
        "requests": connector.stats.requests, "retries": connector.stats.retries,
    }
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        print(f"extracted {records} {args.stream} records in {pages} pages to {out} "
              f"({summary['seconds']}s, {summary['retries']} retries; server count {connector.last_count})")
    if not summary["count_matches"]:
        print(f"hrbridge extract: warning: read {records} records but the server counted {connector.last_count}",
              file=sys.stderr)
    return 0


# --- SAP HCM over RFC ----------------------------------------------------------------------------


def _sap_search(items: list[str] | None) -> dict[str, str]:
    criteria: dict[str, str] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise UsageError(f"--search {item!r} is not PARAM=VALUE (e.g. ORG_SEARK=50000590)")
        criteria[name.strip().upper()] = value.strip()
    return criteria


def _sap_keys(text: str | None) -> list[str]:
    if not text:
        raise UsageError("--type sap-hcm needs --keys (personnel or applicant numbers, or @file) or --search")
    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text(encoding="utf-8").replace("\n", ",")
        except OSError as exc:
            raise UsageError(f"cannot read --keys file {text[1:]!r}: {exc.strerror}") from exc
    keys = [k.strip() for k in text.split(",") if k.strip()]
    bad = [k for k in keys if not k.isdigit() or len(k) > 8]
    if bad or not keys:
        raise UsageError(f"--keys must be numbers of at most 8 digits; not: {', '.join(bad[:5]) or '(none given)'}")
    return keys


def run_sap_hcm(args: argparse.Namespace) -> int:
    """``--type sap-hcm``: read one BAPI-backed stream for the given keys; exit 1 when pyrfc/the SDK is missing."""
    from connectors.errors import ConnectorError
    from connectors.sap_rfc import STREAMS, RfcParams, SapHcmConnector

    fmt = FORMATS.get(Path(args.out).suffix.lower())
    if fmt is None:
        raise UsageError(f"unsupported output extension for {args.out!r}; use {', '.join(sorted(FORMATS))}")
    if args.stream not in STREAMS:
        raise UsageError(f"unknown sap-hcm --stream {args.stream!r}; supported: {', '.join(sorted(STREAMS))}")
    if not 1 <= args.page_size <= 1000:
        raise UsageError(f"--page-size must be between 1 and 1000, got {args.page_size}")
    unsupported = [flag for flag, value in (("--since", args.since), ("--select", args.select),
                                            ("--rate-limit", args.rate_limit)) if value]
    if unsupported:
        raise UsageError(f"{', '.join(unsupported)} not supported for --type sap-hcm (these BAPIs read by key)")
    for name in ("ashost", "sysnr", "client", "user"):
        setattr(args, name, getattr(args, name) or os.environ.get(f"HRBRIDGE_RFC_{name.upper()}"))
    missing = [f"--{name}" for name in ("ashost", "sysnr", "client", "user") if not getattr(args, name)]
    if missing:
        raise UsageError(f"--type sap-hcm needs {', '.join(missing)}")
    password = os.environ.get("HRBRIDGE_RFC_PASSWORD")
    if not password:
        raise UsageError("--type sap-hcm needs the password in env HRBRIDGE_RFC_PASSWORD")
    criteria = _sap_search(args.search)
    if criteria and args.keys:
        raise UsageError("give either --keys or --search, not both")
    stream = STREAMS[args.stream]
    if criteria:
        unknown = sorted(set(criteria) - set(stream.search_params))
        if unknown:
            allowed = ", ".join(stream.search_params) or f"nothing (reads by {stream.key_param} only)"
            raise UsageError(f"stream {stream.name} cannot search by {', '.join(unknown)}; it searches by {allowed}")
    keys = [] if criteria else _sap_keys(args.keys)
    try:
        params = RfcParams(ashost=args.ashost, sysnr=args.sysnr, client=args.client, user=args.user,
                           passwd=password, lang=os.environ.get("HRBRIDGE_RFC_LANG", "EN"))
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    out = Path(args.out)
    started = time.monotonic()
    try:
        connector = SapHcmConnector.connect(params, page_size=args.page_size)
    except ConnectorError as exc:
        print(f"hrbridge extract: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return write_sap_stream(connector, stream.name, keys, out, fmt, args.json, started, criteria)


def write_sap_stream(connector: Any, stream_name: str, keys: list[str], out: Path, fmt: str,
                     as_json: bool, started: float, criteria: dict[str, str] | None = None) -> int:
    """Write a SAP HCM stream (by keys, or by BAPI search ``criteria``) to ``out`` page by page; 1 on a failure."""
    from connectors.errors import ConnectorError
    from connectors.sap_rfc import STREAMS

    stream = STREAMS[stream_name]
    types = {c: ("Edm.Int64" if t in ("NUMC", "INT") else "Edm.String") for c, t in stream.column_types.items()}
    out.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    try:
        with atomic_output(out) as partial:
            sink = open_sink(fmt, partial, stream.columns, types)
            try:
                pages = (connector.search_pages(stream_name, criteria) if criteria
                         else connector.read_pages(stream_name, keys))
                for page in pages:
                    sink.write([{k: _plain_date(v) for k, v in r.items()} for r in page], first_row=written)
                    written += len(page)
            finally:
                sink.close()
    except (ConnectorError, ValueError) as exc:
        print(f"hrbridge extract: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        connector.close()
    stats = connector.stats
    summary = {"stream": stream_name, "function": stream.function, "keys": len(keys),
               "duplicate_keys": stats.duplicate_keys, "search": criteria or None, "calls": stats.calls,
               "rows": stats.rows, "records": stats.records, "empty_answers": stats.empty_answers,
               "warnings": stats.warnings, "pages": stats.pages, "out": str(out), "format": fmt,
               "seconds": round(time.monotonic() - started, 3)}
    if as_json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        print(f"extracted {stats.records} {stream_name} records ({stream.function}, {stats.calls} calls, "
              f"{stats.warnings} warnings) in {stats.pages} pages to {out}")
    return 0


def _plain_date(value: Any) -> Any:
    from datetime import date
    from datetime import time as dtime

    return value.isoformat() if isinstance(value, (date, dtime)) else value


# --- sinks -----------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, default=_plain, allow_nan=False)
    return value


def _check_columns(page: list[dict[str, Any]], columns: list[str], first_row: int) -> None:
    allowed = set(columns)
    for offset, record in enumerate(page):
        extra = set(record) - allowed
        if extra:
            raise ValueError(f"record {first_row + offset} has fields not declared in $metadata: {sorted(extra)}")


class JsonLinesSink:
    """One JSON object per line, datetimes as ISO 8601."""

    def __init__(self, path: Path, columns: list[str]) -> None:
        self.columns = columns
        self._file = path.open("w", encoding="utf-8")

    def write(self, page: list[dict[str, Any]], first_row: int = 0) -> None:
        """Append a page."""
        for record in page:
            self._file.write(json.dumps(record, ensure_ascii=False, default=_plain, allow_nan=False) + "\n")

    def close(self) -> None:
        """Flush and close."""
        self._file.close()


class CsvSink:
    """UTF-8 CSV with one column per declared field, datetimes as ISO 8601, empty for null."""

    def __init__(self, path: Path, columns: list[str]) -> None:
        self.columns = columns
        self._file = path.open("w", encoding="utf-8", newline="")
        self._writer = csv.DictWriter(self._file, fieldnames=columns)
        self._writer.writeheader()

    def write(self, page: list[dict[str, Any]], first_row: int = 0) -> None:
        """Append a page; ValueError for a field outside the header."""
        _check_columns(page, self.columns, first_row)
        self._writer.writerows({k: _plain(v) for k, v in record.items()} for record in page)

    def close(self) -> None:
        """Flush and close."""
        self._file.close()


class ParquetSink:
    """A Parquet file written one row group per page, schema from the EDM types."""

    def __init__(self, path: Path, columns: list[str], types: dict[str, str]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.columns = columns
        self.schema = pa.schema([(name, arrow_type(types.get(name))) for name in columns])
        self._pa = pa
        self._writer = pq.ParquetWriter(str(path), self.schema)

    def write(self, page: list[dict[str, Any]], first_row: int = 0) -> None:
        """Append a page as a row group; ValueError naming the row for a value of the wrong type."""
        _check_columns(page, self.columns, first_row)
        try:
            table = self._pa.Table.from_pylist(page, schema=self.schema)
        except (self._pa.ArrowInvalid, self._pa.ArrowTypeError) as exc:
            raise ValueError(f"rows {first_row}-{first_row + len(page) - 1} do not fit the schema: {exc}") from exc
        self._writer.write_table(table)

    def close(self) -> None:
        """Write the footer."""
        self._writer.close()


def arrow_type(edm_type: str | None) -> Any:
    """The Arrow type for an EDM type (strings for anything not numeric, boolean or a date)."""
    import pyarrow as pa

    if edm_type in ("Edm.Int64", "Edm.Int32", "Edm.Int16", "Edm.Byte", "Edm.SByte"):
        return pa.int64()
    if edm_type in ("Edm.Decimal", "Edm.Double", "Edm.Single"):
        return pa.float64()
    if edm_type == "Edm.Boolean":
        return pa.bool_()
    if edm_type in ("Edm.DateTime", "Edm.DateTimeOffset"):
        return pa.timestamp("ms", tz="UTC")
    return pa.string()


def open_sink(fmt: str, path: Path, columns: list[str], types: dict[str, str]) -> Any:
    """A page sink for ``fmt`` (parquet, csv or jsonl) writing ``columns`` to ``path``."""
    if fmt == "parquet":
        return ParquetSink(path, columns, types)
    if fmt == "csv":
        return CsvSink(path, columns)
    return JsonLinesSink(path, columns)
