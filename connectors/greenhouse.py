"""Greenhouse Harvest v3 (v1/v2 were switched off on 31 August 2026) as a :class:`connectors.source.SourceSystem`.

Follows Greenhouse's v3 guides: OAuth 2.0 client credentials per organisation (HTTP Basic
``client_id:client_secret`` at ``https://auth.greenhouse.io/token`` with ``sub`` = the user acted
for; the token renewed before it expires and once on a 401), cursor pagination by the
``Link: <…?cursor=…>; rel="next"`` header only (filters and ``per_page`` on the first request,
never with a cursor), incremental reads by ``last_activity_at`` (``<op>|<ISO 8601>`` filters),
429 with ``Retry-After`` honoured (capped, within the retry budget), and write-back of the
AI-interview status, link and scores into application custom fields with one
``PATCH /v3/applications/{id}`` per record, each checked (``concurrency`` requests side by side,
as are attachment downloads; the rate limit holds across them).

Records are flattened by small hooks (:meth:`GreenhouseConnector.post_process`): the first e-mail
and phone, the current stage's name, the first department, ``custom_fields`` as ``custom_<key>``
(kept in the hub's ``extras``), a resume attachment's file fetched without credentials (its URL is
a short-lived signed link, often on another host) and base64-encoded.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from connectors.errors import (
    AuthenticationError,
    ConnectorError,
    HttpStatusError,
    MalformedResponseError,
    NotFoundError,
)
from connectors.http import HttpClient, Limits, LinkHeaderPaginator, OriginPolicy, RetryPolicy
from connectors.oauth import client_credentials
from connectors.source import Stream, WriteBackResult

DEFAULT_BASE_URL = "https://harvest.greenhouse.io"
DEFAULT_TOKEN_URL = "https://auth.greenhouse.io/token"
MAX_PER_PAGE = 500

STREAMS: dict[str, Stream] = {
    "requisitions": Stream("requisitions", "v3/jobs", "id", "updated_at", "requisition"),
    "candidates": Stream("candidates", "v3/candidates", "id", "last_activity_at", "candidate"),
    "applications": Stream("applications", "v3/applications", "id", "last_activity_at", "application"),
    "resumes": Stream("resumes", "v3/attachments", "id", "updated_at", "resume", params={"type": "resume"}),
}


def harvest_time(value: datetime) -> str:
    """A filter bound as Harvest writes timestamps: ISO 8601 UTC with milliseconds and ``Z``."""
    value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


class _HarvestClient(HttpClient):
    """The shared client with Harvest's refusals named: source, OAuth client, user; never the secret."""

    principal = "the configured OAuth client"

    def error_for(self, method: str, url: str, response: requests.Response) -> Exception:
        """401/403 name the principal; 422's ``errors[].message`` is kept."""
        status = response.status_code
        if status == 401:
            return AuthenticationError(f"Greenhouse rejected the access token of {self.principal} (HTTP 401)")
        if status == 403:
            return AuthenticationError(f"Greenhouse denied {self.principal} access to {urlsplit(url).path} (HTTP 403); "
                                       "check the credential's scopes")
        if status == 404:
            return NotFoundError(f"{urlsplit(url).path} not found on {urlsplit(url).netloc} (HTTP 404)")
        try:
            errors = self.json(response, "error body").get("errors") or []
            message = "; ".join(str(e.get("message")) for e in errors if isinstance(e, Mapping)) or response.text[:200]
        except (ConnectorError, AttributeError):
            message = response.text[:200]
        return HttpStatusError(f"{method} {urlsplit(url).path} failed with HTTP {status}: {message}", status,
                               response.text[:500])


class GreenhouseConnector:
    """Jobs, candidates, applications and resume attachments from Harvest v3; write-back into custom fields."""

    name = "greenhouse"
    streams = STREAMS

    def __init__(
        self, client_id: str, client_secret: str, user_id: str, *, base_url: str = DEFAULT_BASE_URL,
        token_url: str | None = None, per_page: int = MAX_PER_PAGE, retry: RetryPolicy | None = None,
        rate_limit: float | None = None, timeout: float | None = None, limits: Limits | None = None,
        origin_policy: OriginPolicy | None = None, concurrency: int = 8,
    ) -> None:
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise ValueError(f"per_page must be between 1 and {MAX_PER_PAGE}, got {per_page}")
        if not str(user_id).isdigit():
            raise ValueError(f"user_id must be the numeric Greenhouse user id the token acts for, got {user_id!r}")
        self.principal = f"OAuth client {client_id} (user {user_id})"
        auth = client_credentials(token_url or DEFAULT_TOKEN_URL, client_id, client_secret, form={"sub": str(user_id)},
                                  principal=f"Greenhouse {self.principal}", retry=retry, timeout=timeout,
                                  limits=limits, origin_policy=origin_policy)
        self.client = _HarvestClient(base_url, auth, retry=retry, rate_limit=rate_limit, timeout=timeout,
                                     headers={"Accept": "application/json"}, limits=limits,
                                     origin_policy=origin_policy)
        self.client.principal = self.principal
        # attachment files: signed links, fetched with no credentials wherever they point
        self.files = HttpClient(base_url, None, retry=retry, timeout=timeout, limits=limits,
                                origin_policy=OriginPolicy("anonymous"))
        self.per_page = per_page
        self._pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="greenhouse")

    def close(self) -> None:
        """Release pooled connections and the request threads."""
        self._pool.shutdown(wait=True)
        self.client.close()
        self.files.close()

    def __enter__(self) -> GreenhouseConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- hooks -----------------------------------------------------------------------------------

    def request_params(self, stream: Stream, since: datetime | None) -> dict[str, Any]:
        """First-request parameters: page size, the stream's fixed filters, ``<cursor>=gte|<since>``."""
        params: dict[str, Any] = {"per_page": self.per_page, **stream.params}
        if since is not None and stream.replication_key:
            params[stream.replication_key] = f"gte|{harvest_time(since)}"
        return params

    def post_process(self, stream: Stream, record: Mapping[str, Any]) -> dict[str, Any]:
        """Flatten one Harvest record for the mapping (custom fields as ``custom_<key>``)."""
        out = {k: v for k, v in record.items() if not isinstance(v, dict | list)}
        for key, value in (record.get("custom_fields") or {}).items():
            out[f"custom_{key}"] = value
        if stream.name == "candidates":
            out["email"] = _first(record.get("emails"))
            out["phone"] = _first(record.get("phone_numbers"))
            out["address"] = _first(record.get("addresses"))
        elif stream.name == "applications":
            out["stage"] = (record.get("current_stage") or {}).get("name")
        elif stream.name == "requisitions":
            out["department"] = _first(record.get("departments"), "name")
            office = (record.get("offices") or [{}])[0]
            out["office_location"] = office.get("location") if isinstance(office, Mapping) else None
        return out

    def fetch_file(self, record: Mapping[str, Any]) -> str | None:
        """An attachment's file, base64-encoded (its signed URL fetched without credentials)."""
        if not record.get("url"):
            return None
        return base64.b64encode(self.files.request("GET", str(record["url"])).content).decode("ascii")

    # -- SourceSystem ----------------------------------------------------------------------------

    def read_pages(self, stream: str, since: datetime | None = None,
                   fields: list[str] | None = None) -> Iterator[list[dict[str, Any]]]:
        """Pages of flattened records of ``stream`` active since ``since`` (every record when None)."""
        declared = self.streams[stream]
        pages = self.client.paginate(declared.path, self.request_params(declared, since), LinkHeaderPaginator(),
                                     records_path=())
        for number, page in enumerate(pages, 1):
            if not isinstance(page, list) or not all(isinstance(r, Mapping) for r in page):
                raise MalformedResponseError(f"{declared.path} page {number} is not a list of records")
            rows = [self.post_process(declared, record) for record in page]
            if declared.name == "resumes":  # one GET per file: fetched side by side
                for row, content in zip(rows, self._pool.map(self.fetch_file, page), strict=True):
                    row["content"] = content
            yield rows

    def read_keys(self, stream: str) -> set[Any]:
        """Every id ``stream`` holds now (a read without filters; attachments' files are not fetched)."""
        declared = self.streams[stream]
        pages = self.client.paginate(declared.path, {"per_page": MAX_PER_PAGE, **declared.params},
                                     LinkHeaderPaginator(), records_path=())
        return {record["id"] for page in pages for record in page if isinstance(record, Mapping) and "id" in record}

    def upsert(self, entity: str, records: list[dict[str, Any]], key_field: str) -> WriteBackResult:
        """``PATCH /v3/applications/{id}`` per record with its fields as application custom fields.

        A refusal of one record (422: unknown field, wrong type; 404: gone; 5xx past the retry budget)
        fails that record with Greenhouse's message; refused credentials stop the write-back
        (AuthenticationError).
        """
        if entity != "applications":
            raise ValueError(f"Greenhouse write-back goes to application custom fields, not {entity!r}")

        def patch(record: dict[str, Any]) -> tuple[Any, str | None]:
            key = record.get(key_field)
            body = {"custom_fields": [{"name_key": name, "value": value} for name, value in record.items()
                                      if name != key_field]}
            try:
                self.client.request("PATCH", f"v3/applications/{key}", json=body)
            except AuthenticationError:
                raise
            except ConnectorError as exc:  # this record refused, or its retries used up: the others still go
                return key, str(exc)
            return key, None

        result = WriteBackResult()
        for key, error in self._pool.map(patch, records):  # side by side; the client's rate limit holds
            if error is None:
                result.ok.append(key)
            else:
                result.failed.append((key, error))
        return result


def _first(items: Any, field: str = "value") -> Any:
    if isinstance(items, list) and items and isinstance(items[0], Mapping):
        return items[0].get(field)
    return None
