"""SAP SuccessFactors Recruiting over OData v2: declarative streams, delta reads, per-record upsert.

Reads follow the server's ``d.__next`` links only (never ``$skip`` arithmetic), ask for
``$inlinecount=allpages`` on the first request so counts can be reconciled, select only the
fields a mapping needs (primary key and cursor always included), and return clean records:
``/Date(ms)/`` → aware UTC datetime, Int64 strings → int, ``__metadata`` and deferred navigation
properties dropped, custom ``cust_*`` fields kept. ``upsert`` checks every record's status, because
SuccessFactors answers HTTP 200 even when some records failed.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests

from connectors.errors import (
    AuthenticationError,
    HttpStatusError,
    LimitExceeded,
    MalformedResponseError,
    NotFoundError,
)
from connectors.http import (
    Auth,
    BasicAuth,
    BearerTokenAuth,
    HttpClient,
    HttpStats,
    JsonLinkPaginator,
    Limits,
    OriginPolicy,
    RetryPolicy,
)
from connectors.oauth import OAuthClient, token_lifetime
from connectors.odata import (
    EntityType,
    NotMetadataError,
    ServiceMetadata,
    build_filter,
    clean_record,
    format_odata_datetime,
    odata_literal,
    parse_metadata,
    parse_odata_date,
    parse_odata_error,
    results_of,
    to_odata_date,
)
from connectors.origin import origin_of, strip_userinfo
from connectors.source import Incremental, WriteBackResult

__all__ = [
    "STREAMS", "ODataRequestError", "StreamSpec", "SuccessFactorsConnector", "UnknownEntityError",
    "UnknownFieldError", "UpsertResult", "delta_since", "format_odata_datetime", "parse_odata_date",
    "parse_upsert_response",
]

SAML_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:saml2-bearer"
MAX_PAGE_SIZE = 1000


class UnknownEntityError(NotFoundError):
    """The service has no entity set of that name."""


class UnknownFieldError(NotFoundError):
    """A selected, filtered or sorted field does not exist on the entity."""


class ODataRequestError(HttpStatusError):
    """The service refused the request with an OData error body (code and message kept)."""

    def __init__(self, message: str, status: int, code: str = "", body: str = "") -> None:
        super().__init__(message, status, body)
        self.code = code


@dataclass(frozen=True)
class StreamSpec:
    """One readable stream, declared once (a :class:`connectors.source.Stream` of this connector).

    ``name`` is the stream's one name (``applications``), ``entity_set`` its path, ``entity`` the
    canonical entity it fills; ``fields`` are the default ``$select``, ``expand`` and ``filter``
    fixed request details.
    """

    name: str
    entity_set: str
    primary_key: str
    cursor_field: str | None = "lastModifiedDateTime"
    fields: tuple[str, ...] | None = None
    expand: tuple[str, ...] | None = None
    filter: str | None = None
    entity: str | None = None
    schema: Mapping[str, str] = field(default_factory=dict)

    @property
    def path(self) -> str:
        """Where the stream lives: the OData entity set."""
        return self.entity_set

    @property
    def replication_key(self) -> str | None:
        """The cursor field of delta reads."""
        return self.cursor_field

    @property
    def incremental(self) -> bool:
        """True: every declared SuccessFactors stream is read by ``lastModifiedDateTime`` deltas."""
        return self.cursor_field is not None

    @property
    def params(self) -> dict[str, Any]:
        """Fixed request details ($filter, $expand)."""
        return {k: v for k, v in (("filter", self.filter), ("expand", self.expand)) if v}


STREAMS: dict[str, StreamSpec] = {
    spec.name: spec
    for spec in (
        StreamSpec("requisitions", "JobRequisition", "jobReqId", entity="requisition"),
        StreamSpec("candidates", "Candidate", "candidateId", entity="candidate"),
        StreamSpec("applications", "JobApplication", "applicationId", entity="application"),
        StreamSpec("resumes", "Attachment", "attachmentId", filter="documentCategory eq 'RESUME'", entity="resume"),
    )
}

UpsertResult = WriteBackResult  # SuccessFactors' per-record upsert statuses are the model's write-back result


def delta_since(cursor: datetime | None, lookback: timedelta) -> datetime | None:
    """Where a delta read starts: the persisted cursor minus a look-back window (None → full read).

    The window re-reads records committed late with an older timestamp; duplicates are removed by
    the caller's upsert on the primary key. The same rule every stream's :class:`Incremental` applies.
    """
    return Incremental("cursor", cursor, lookback).since


def parse_upsert_response(body: Any, keys: list[Any]) -> UpsertResult:
    """Match SAP's per-record upsert statuses to ``keys`` (by ``index``, else by position).

    A record with no status in the response counts as failed; a body without a ``d`` list is
    a MalformedResponseError.
    """
    rows = body.get("d") if isinstance(body, Mapping) else None
    if isinstance(rows, Mapping) and isinstance(rows.get("results"), list):
        rows = rows["results"]
    if isinstance(rows, Mapping):
        rows = [rows]
    if not isinstance(rows, list):
        raise MalformedResponseError(f"upsert response has no 'd' list: {str(body)[:120]}")
    by_index: dict[int, Mapping[str, Any]] = {}
    for position, row in enumerate(rows):
        if isinstance(row, Mapping):
            index = row.get("index")
            by_index[int(index) if isinstance(index, int | str) and str(index).isdigit() else position] = row
    result = UpsertResult()
    for i, key in enumerate(keys):
        row = by_index.get(i)
        if row is None:
            result.failed.append((key, "no status returned for this record"))
        elif str(row.get("status", "")).upper() == "OK":
            result.ok.append(key)
        else:
            code = row.get("httpCode")
            message = str(row.get("message") or "record was not written")
            result.failed.append((key, f"{message} (HTTP {code})" if code else message))
    return result


class _SuccessFactorsClient(HttpClient):
    """The shared HTTP client with SuccessFactors' error bodies turned into specific errors."""

    principal = "the configured user"

    def error_for(self, method: str, url: str, response: requests.Response) -> Exception:
        """401 names the user (never the password); OData error bodies become precise errors."""
        host = urlsplit(url).netloc
        status = response.status_code
        if status == 401:
            return AuthenticationError(f"SuccessFactors rejected the credentials for {self.principal} (HTTP 401)")
        if status == 403:
            return AuthenticationError(f"SuccessFactors denied {self.principal} access to {urlsplit(url).path} (HTTP 403)")
        parsed = parse_odata_error(response.text)
        code, message = parsed if parsed else ("", response.text[:200])
        if code == "COE_PROPERTY_NOT_FOUND" or "Invalid property name" in message:
            return UnknownFieldError(f"{host} rejected a field name: {message}")
        if code == "COE_ENTITY_NOT_FOUND" or (status == 404 and "Entity" in message and "not found" in message):
            return UnknownEntityError(f"{host}: {message}")
        if status == 404:
            return NotFoundError(f"{urlsplit(url).path} not found on {host} (HTTP 404): {message}")
        return ODataRequestError(f"{method} {urlsplit(url).path} failed with HTTP {status}: {message}",
                                 status, code, response.text[:500])


_OAuthClient = OAuthClient  # the shared token-endpoint client (connectors/oauth.py)
_lifetime = token_lifetime


def _odata_root(base_url: str) -> str:
    base = base_url.rstrip("/")
    return base if base.endswith("/odata/v2") else base + "/odata/v2"


class SuccessFactorsConnector:
    """Reads SuccessFactors streams page by page and upserts records with per-record status.

    A :class:`connectors.source.SourceSystem`: ``streams`` declares requisitions, candidates,
    applications and resumes; ``read_pages``, ``read_keys`` and ``upsert`` are its hooks.
    """

    name = "successfactors"

    def __init__(
        self,
        base_url: str,
        auth: Auth | None = None,
        *,
        rate_limit: float | None = None,
        retry: RetryPolicy | None = None,
        page_size: int = 1000,
        timeout: float | None = None,
        streams: Mapping[str, StreamSpec] | None = None,
        principal: str | None = None,
        limits: Limits | None = None,
        origin_policy: OriginPolicy | None = None,
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, got {page_size}")
        base, user, password = strip_userinfo(base_url)
        if password is not None and auth is None:
            auth = BasicAuth(user or "", password)
        self.root = _odata_root(base)
        self.host = urlsplit(self.root).netloc
        self.client = _SuccessFactorsClient(self.root, auth, retry=retry, rate_limit=rate_limit, timeout=timeout,
                                            headers={"Accept": "application/json"}, limits=limits,
                                            origin_policy=origin_policy)
        self.client.principal = principal or (f"user {auth.user}" if isinstance(auth, BasicAuth) else "the configured user")
        self.page_size = page_size
        self.streams: dict[str, StreamSpec] = dict(streams or STREAMS)
        self.last_count: int | None = None
        self._types: dict[str, EntityType] = {}
        self._service: ServiceMetadata | None = None

    @classmethod
    def basic(cls, base_url: str, user: str, password: str, company_id: str | None = None,
              **kwargs: Any) -> SuccessFactorsConnector:
        """Basic auth as ``user@companyId`` (``company_id`` appended when ``user`` has no ``@``)."""
        login = user if "@" in user or not company_id else f"{user}@{company_id}"
        return cls(base_url, BasicAuth(login, password), principal=f"user {login}", **kwargs)

    @classmethod
    def saml_bearer(
        cls,
        base_url: str,
        token_url: str | None,
        company_id: str,
        client_id: str,
        assertion: str | None = None,
        *,
        private_key: str | None = None,
        user_id: str | None = None,
        **kwargs: Any,
    ) -> SuccessFactorsConnector:
        """OAuth 2.0 SAML-bearer: exchange a base64 SAML ``assertion`` for a bearer token.

        ``token_url`` None means ``<host>/oauth/token``. Without an assertion, SAP's ``/oauth/idp``
        builds one from ``private_key`` and ``user_id`` (the key then travels to SAP; prefer an
        assertion signed locally in production). Tokens are renewed before they expire and once
        more on a 401.
        """
        if assertion is None and not (private_key and user_id):
            raise ValueError("saml_bearer needs an assertion, or a private_key and user_id for /oauth/idp")
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(strip_userinfo(base_url)[0]))
        token_url = token_url or f"{origin}/oauth/token"
        policy = (kwargs.get("origin_policy") or OriginPolicy()).trusting(origin_of(token_url))  # configured, not read
        oauth = _OAuthClient(origin, retry=kwargs.get("retry"), timeout=kwargs.get("timeout"),
                             limits=kwargs.get("limits"), origin_policy=policy)
        principal = f"OAuth client {client_id}@{company_id}"

        def fetch_token() -> tuple[str, float]:
            signed = assertion
            try:
                if signed is None:
                    signed = oauth.request("POST", f"{origin}/oauth/idp", data={
                        "client_id": client_id, "user_id": user_id, "token_url": token_url,
                        "private_key": private_key}).text.strip()
                response = oauth.request("POST", token_url, data={
                    "grant_type": SAML_BEARER_GRANT, "company_id": company_id, "client_id": client_id,
                    "assertion": signed, "new_token": "true"})
            except (AuthenticationError, HttpStatusError, NotFoundError) as exc:
                raise AuthenticationError(f"SuccessFactors refused a token to {principal}: {exc}") from exc
            body = oauth.json(response, "token response")
            if not isinstance(body, Mapping) or not isinstance(body.get("access_token"), str) or not body["access_token"]:
                raise MalformedResponseError(f"{urlsplit(token_url).path} answered without an access_token")
            return body["access_token"], _lifetime(body.get("expires_in"), urlsplit(token_url).path)

        return cls(base_url, BearerTokenAuth(fetch_token), principal=principal, **kwargs)

    @property
    def stats(self) -> HttpStats:
        """Requests, retries, pages and waiting time so far."""
        return self.client.stats

    def close(self) -> None:
        """Release pooled connections."""
        self.client.close()

    def __enter__(self) -> SuccessFactorsConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stream(self, name: str) -> StreamSpec:
        """The declared stream ``name`` (or the one declared on entity set ``name``, e.g. ``JobApplication``);
        any other name is read as an entity set of that name."""
        if name in self.streams:
            return self.streams[name]
        declared = next((spec for spec in self.streams.values() if spec.entity_set == name and not spec.filter), None)
        return declared or StreamSpec(name, name, "", cursor_field="lastModifiedDateTime")

    def entity_type(self, entity_set: str) -> EntityType:
        """Types of ``entity_set`` (cached); UnknownEntityError when the service has no such set.

        Read from the per-entity ``<base>/<Entity>/$metadata`` (small); a service that does not
        serve it (404, or a body that is not EDMX) is asked for the service-level ``$metadata``
        instead, which every OData v2 service has. A hostile document (a DTD, a bound exceeded) is
        refused, never worked around.
        """
        if entity_set not in self._types:
            try:
                self._types[entity_set] = self._entity_metadata(entity_set)
            except (NotFoundError, NotMetadataError, ODataRequestError) as exc:
                service = self.service_metadata()
                if service is None:
                    if isinstance(exc, NotFoundError):
                        raise self._unknown_entity(entity_set) from exc
                    raise
                found = service.entity_sets.get(entity_set)
                if found is None:
                    raise self._unknown_entity(entity_set) from exc
                self._types[entity_set] = found
        return self._types[entity_set]

    def _entity_metadata(self, entity_set: str) -> EntityType:
        """The entity type from ``<Entity>/$metadata``; NotFound/Malformed when it is not served."""
        response = self.client.request("GET", f"{entity_set}/$metadata")
        try:
            sets = parse_metadata(response.content, self.client.limits).entity_sets
        except NotMetadataError as exc:
            raise NotMetadataError(f"{self.host}/{entity_set}/$metadata: {exc}") from exc
        except LimitExceeded:
            raise
        except MalformedResponseError as exc:
            raise MalformedResponseError(f"{self.host}/{entity_set}/$metadata: {exc}") from exc
        found = sets.get(entity_set) or next(iter(sets.values()), None)
        if found is None:
            raise NotMetadataError(f"{self.host}/{entity_set}/$metadata declares no entity type")
        return found

    def service_metadata(self) -> ServiceMetadata | None:
        """The service-level ``$metadata`` (read once); None when the service does not serve it either."""
        if self._service is None:
            try:
                document = self.client.request("GET", "$metadata").content
                self._service = parse_metadata(document, self.client.limits)
            except (NotFoundError, HttpStatusError, NotMetadataError):
                return None
        return self._service

    def known_entity_sets(self) -> list[str]:
        """Entity set names from the service ``$metadata`` (empty when it cannot be read)."""
        try:
            service = self.service_metadata()
        except MalformedResponseError:
            return []
        return sorted(service.entity_sets) if service else []

    def _unknown_entity(self, entity_set: str) -> UnknownEntityError:
        known = self.known_entity_sets()
        close = difflib.get_close_matches(entity_set, known, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        listed = ", ".join(known[:20]) + (f" … ({len(known)} in total)" if len(known) > 20 else "")
        return UnknownEntityError(f"entity set '{entity_set}' does not exist on {self.host}; known: {listed or 'unknown'}{hint}")

    def field_types(self, stream: str) -> dict[str, str]:
        """EDM type of every property of the stream's entity set (from ``$metadata``)."""
        return dict(self.entity_type(self.stream(stream).entity_set).properties)

    def selected_fields(self, stream: str, fields: list[str] | None = None) -> list[str] | None:
        """The ``$select`` list a read sends: ``fields`` (or the stream's defaults) plus key and cursor.

        None means every field is read.
        """
        spec = self.stream(stream)
        chosen = list(fields) if fields else (list(spec.fields) if spec.fields else None)
        if not chosen:
            return None
        key = spec.primary_key or next(iter(self.entity_type(spec.entity_set).key), "")
        for required in (spec.cursor_field, key):
            if required and required not in chosen:
                chosen.insert(0, required)
        return chosen

    def read_pages(self, stream: str, since: datetime | None = None,
                   fields: list[str] | None = None) -> Iterator[list[dict[str, Any]]]:
        """Yield one list of clean records per server page, following ``__next`` only.

        ``since`` adds ``cursor gt datetime'…'``; ``fields`` limits ``$select`` (primary key and
        cursor always included). ``last_count`` holds the server's ``__count`` after the first page.
        """
        spec = self.stream(stream)
        entity = self.entity_type(spec.entity_set)
        key = spec.primary_key or (entity.key[0] if entity.key else "")
        params: dict[str, Any] = {"$format": "json", "$inlinecount": "allpages",
                                  "paging": "snapshot", "customPageSize": str(self.page_size)}
        where = build_filter(spec.cursor_field, since, spec.filter)
        if where:
            params["$filter"] = where
        select = self.selected_fields(stream, fields)
        if select:
            params["$select"] = ",".join(select)
        if spec.expand:
            params["$expand"] = ",".join(spec.expand)
        self.last_count = None
        pages = self.client.paginate(spec.entity_set, params, JsonLinkPaginator(("d", "__next")),
                                     records_path=("d", "results"))
        for number, page in enumerate(pages, 1):
            rows = results_of(page, f"{spec.entity_set} page {number}")
            if number == 1:
                count = str(page["d"].get("__count"))
                self.last_count = int(count) if count.isdigit() and len(count) <= 18 else None
            cleaned = []
            for position, row in enumerate(rows):
                try:
                    cleaned.append(clean_record(row, entity.properties))
                except ValueError as exc:
                    raise MalformedResponseError(
                        f"{spec.entity_set} page {number} record {position} ({key}={row.get(key)!r}): {exc}") from exc
            yield cleaned

    def read_keys(self, stream: str) -> set[Any]:
        """Every primary key the stream holds now (``$select`` of key and cursor only).

        Comparing with the keys already loaded finds records deleted or purged at the source,
        which a ``lastModifiedDateTime`` delta can never show.
        """
        spec = self.stream(stream)
        key = spec.primary_key or next(iter(self.entity_type(spec.entity_set).key), "")
        return {record[key] for page in self.read_pages(stream, fields=[key]) for record in page}

    def read(self, stream: str, since: datetime | None = None, fields: list[str] | None = None) -> Iterator[dict[str, Any]]:
        """Yield clean records one at a time (see :meth:`read_pages`)."""
        for page in self.read_pages(stream, since, fields):
            yield from page

    def upsert(self, entity: str, records: list[dict[str, Any]], key_field: str,
               chunk_size: int = 100) -> UpsertResult:
        """Upsert ``records`` (each carrying ``key_field``) in chunks and check each record's status.

        Datetimes are sent as ``/Date(ms)/``. HTTP 200 with per-record errors is reported in
        ``failed``, never as success; a chunk the service refuses as a whole (an OData 4xx error)
        marks each of its records failed with that message and the next chunk is still sent.
        Records without a key are refused before anything is sent.
        """
        missing = [i for i, record in enumerate(records) if record.get(key_field) is None]
        if missing:
            raise ValueError(f"upsert records {missing[:10]} for {entity} have no {key_field!r}; nothing was sent")
        result = UpsertResult()
        for start in range(0, len(records), chunk_size):
            chunk = records[start:start + chunk_size]
            keys = [record[key_field] for record in chunk]
            body = []
            for record in chunk:
                payload: dict[str, Any] = {"__metadata": {"uri": f"{entity}({odata_literal(record[key_field])})"}}
                for name, value in record.items():
                    if name != key_field:
                        payload[name] = to_odata_date(value) if isinstance(value, datetime) else value
                body.append(payload)
            try:
                response = self.client.request("POST", "upsert", params={"$format": "json"}, json=body)
            except ODataRequestError as exc:
                result.failed.extend((key, str(exc)) for key in keys)
                continue
            part = parse_upsert_response(self.client.json(response, "upsert response"), keys)
            result.ok.extend(part.ok)
            result.failed.extend(part.failed)
        return result
