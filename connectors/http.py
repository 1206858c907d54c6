"""The one HTTP client every REST/OData connector uses: retries, rate limit, auth, pagination, bounds.

Retries and pacing (:mod:`connectors.retry`): 429, 5xx and connection resets are retried with
capped ``Retry-After`` within an attempt and waiting budget; a token bucket keeps the request rate.

Every connector inherits the same defences here, not per connector:

* credentials go only to the configured origin (:class:`connectors.origin.OriginPolicy`): any
  absolute URL — a ``__next`` link, a Link header, a redirect, a media or token link — is
  refused when it leaves the origin, or fetched without credentials when so configured;
* every response is bounded (:class:`connectors.limits.Limits`): body bytes read in a stream,
  JSON depth, number and string length, NaN/Infinity refused, a wait per byte, a deadline per
  request and per run, pages and records per run, repeated pagination links detected;
* error messages are redacted (:func:`connectors.redaction.redact`).

Auth strategies (:mod:`connectors.auth`) and paginators (:mod:`connectors.paginators`) are small
objects a connector declares; they, the retry policy and the bounds are re-exported here.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import requests

from connectors import bounded_json, transport
from connectors.auth import Auth, BasicAuth, BearerTokenAuth, NoAuth
from connectors.errors import (
    AuthenticationError,
    CrossOriginError,
    HttpStatusError,
    LimitExceeded,
    MalformedResponseError,
    NotFoundError,
    RetryBudgetExceeded,
    UnreachableError,
)
from connectors.limits import Limits
from connectors.origin import OriginPolicy, origin_of, strip_userinfo
from connectors.paginators import (
    CursorParamPaginator,
    JsonLinkPaginator,
    LinkHeaderPaginator,
    Paginator,
    value_at,
)
from connectors.redaction import remember_secret
from connectors.retry import RETRYABLE_STATUS, RateLimiter, RetryPolicy, parse_retry_after

__all__ = [
    "Auth", "BasicAuth", "BearerTokenAuth", "CursorParamPaginator", "HttpClient", "HttpStats",
    "JsonLinkPaginator", "Limits", "LinkHeaderPaginator", "NoAuth", "OriginPolicy", "Paginator",
    "RateLimiter", "RetryPolicy", "decode_json", "parse_retry_after",
]

log = logging.getLogger(__name__)



@dataclass
class HttpStats:
    """Counters a connector reports in its summary; safe to update from a thread pool."""

    requests: int = 0
    retries: int = 0
    waited_seconds: float = 0.0
    pages: int = 0
    status_counts: dict[int, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(
        self, *, requests: int = 0, retries: int = 0, waited: float = 0.0, pages: int = 0,
        status: int | None = None,
    ) -> None:
        """Add to the counters atomically."""
        with self._lock:
            self.requests += requests
            self.retries += retries
            self.waited_seconds += waited
            self.pages += pages
            if status is not None:
                self.status_counts[status] = self.status_counts.get(status, 0) + 1


REDIRECTS = frozenset({301, 302, 303, 307, 308})
SAFE_HEADERS = frozenset({"accept", "accept-language", "user-agent"})  # all a foreign link may see


class _Transient(Exception):
    """A connection-level failure worth retrying: refused, reset, or no byte within the idle timeout."""


def _no_implicit_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """Passed as ``auth`` so requests never adds credentials of its own (netrc, URL userinfo)."""
    return request


@dataclass
class RunBudget:
    """What one run (one client) has used of the run bounds: its start, pages and records."""

    started: float | None = None
    pages: int = 0
    records: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)


class HttpClient:
    """A ``requests`` session with base URL, auth, origin policy, bounds, rate limit and bounded retries.

    ``limits`` bounds every response and the run (:class:`Limits`); ``origin_policy`` says what
    happens to a URL outside the base URL's origin (:class:`OriginPolicy`, refuse by default).
    ``timeout``, when given, is the idle timeout (seconds without a byte). A password inside
    ``base_url`` is removed from it and used as Basic auth when no ``auth`` is given.
    """

    def __init__(
        self,
        base_url: str,
        auth: Auth | None = None,
        retry: RetryPolicy | None = None,
        rate_limit: float | None = None,
        timeout: float | None = None,
        headers: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        pool_size: int = 16,
        *,
        limits: Limits | None = None,
        origin_policy: OriginPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        base, user, password = strip_userinfo(base_url)
        if password is not None:
            remember_secret(password, user=user)
            auth = auth or BasicAuth(user or "", password)
        self.base_url = base.rstrip("/") + "/"
        self.origin = origin_of(self.base_url)
        self.auth = auth or NoAuth()
        self.retry = retry or RetryPolicy()
        self.limits = limits or Limits()
        if timeout is not None:
            self.limits = replace(self.limits, idle_timeout=timeout)
        self.origin_policy = origin_policy or OriginPolicy()
        self.limiter = RateLimiter(rate_limit) if rate_limit else None
        self.headers = dict(headers or {})
        self.stats = HttpStats()
        self.run = RunBudget()
        self._sleep = sleep
        self._clock = clock
        self.session = transport.session(pool_size)
        self._anonymous: requests.Session | None = None

    def new_run(self) -> None:
        """Start a new run on this client: the run's clock, pages and records start from zero.

        A client normally lives for one run (a command, a task); call this to reuse it.
        """
        self.run = RunBudget()

    @property
    def timeout(self) -> float:
        """The idle timeout: seconds to wait for the next byte."""
        return self.limits.idle_timeout

    def url(self, path_or_url: str) -> str:
        """Resolve a path against the base URL; absolute URLs pass through without userinfo."""
        if urlsplit(path_or_url).scheme.lower() in ("http", "https"):
            return strip_userinfo(path_or_url)[0]
        return urljoin(self.base_url, path_or_url.lstrip("/"))

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: bytes | str | Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        ok: tuple[int, ...] = (200, 201, 202, 204),
    ) -> requests.Response:
        """Send one request with retries; return the response (body read) when its status is in ``ok``.

        Raises a specific :mod:`connectors.errors` exception otherwise: CrossOriginError for a
        refused foreign URL, LimitExceeded past a bound, the status errors of :meth:`error_for`.
        """
        url = self.url(path_or_url)
        deadline, limit = self._deadline()
        waited = 0.0
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            if self.limiter:
                self.limiter.acquire()
            self.stats.add(requests=1)
            try:
                response = self._exchange(method, url, params, json, data, headers, ok, deadline, limit)
            except _Transient as exc:
                delay = self.retry.delay(attempt, None)
                if (attempt >= self.retry.max_attempts or waited + delay > self.retry.total_budget
                        or self._clock() + delay > deadline):
                    raise UnreachableError(f"cannot reach {_host(url)}: {exc}") from exc
                waited += self._wait(delay)
                continue
            status = response.status_code
            self.stats.add(status=status)
            if status in ok:
                return response
            if status == 401 and not refreshed and self.auth.refresh():
                refreshed = True
                continue
            if status in RETRYABLE_STATUS:
                delay = self.retry.delay(attempt, parse_retry_after(response.headers.get("Retry-After")))
                if (attempt >= self.retry.max_attempts or waited + delay > self.retry.total_budget
                        or self._clock() + delay > deadline):
                    raise RetryBudgetExceeded(
                        f"{method} {_path(url)} still failing with HTTP {status} after {attempt} attempts "
                        f"and {waited:.1f}s of waiting (budget {self.retry.max_attempts} attempts, "
                        f"{self.retry.total_budget:.0f}s of waiting, {limit}={getattr(self.limits, limit):.0f}s)"
                    )
                log.info("HTTP %s from %s; retry %d in %.1fs", status, _path(url), attempt, delay)
                waited += self._wait(delay)
                continue
            raise self.error_for(method, url, response)

    def _exchange(
        self, method: str, url: str, params: Mapping[str, Any] | None, json: Any, data: Any,
        headers: Mapping[str, str] | None, ok: tuple[int, ...], deadline: float, limit: str,
    ) -> requests.Response:
        """One attempt: send, follow redirects by the origin policy, read the body within bounds."""
        for _hop in range(self.limits.max_redirects + 1):
            credentials = self.origin_policy.credentials_for(url, self.origin)
            if not credentials and (json is not None or data is not None):
                raise CrossOriginError(f"refused to send a request body to {origin_of(url)}, outside the configured "
                                       f"origin {self.origin}: a body may hold credentials or personal data")
            session = self.session if credentials else self._anonymous_session()
            sent_headers = self._headers_for(credentials, headers)  # may fetch a token: before the deadline
            request = {"method": method, "url": url, "params": params, "json": json, "data": data,
                       "headers": sent_headers}
            response = self._send(session, request, ok, deadline, limit)
            status = response.status_code
            location = response.headers.get("Location") if status in REDIRECTS and status not in ok else None
            if location is None:
                return response
            url = self.url(urljoin(url, location))
            params = None  # the Location carries its own query
            if status == 303 or (status in (301, 302) and method == "POST"):
                method, json, data = "GET", None, None
        raise LimitExceeded(f"{method} {_path(url)} redirected more than {self.limits.hint('max_redirects')}",
                            "max_redirects")

    def _send(self, session: requests.Session, request: dict[str, Any], ok: tuple[int, ...],
              deadline: float, limit: str) -> requests.Response:
        """Send one HTTP request and read its body, all before ``deadline``; the connection is
        closed on any failure (a half-read answer never goes back to the pool)."""
        method, url = request["method"], request["url"]
        remaining = deadline - self._clock()
        if remaining <= 0:
            raise self._out_of_time(method, url, limit)
        response: requests.Response | None = None
        with transport.deadline(remaining) as watch:
            try:
                response = session.request(
                    **request, auth=_no_implicit_auth, stream=True, allow_redirects=False,
                    timeout=(self.limits.connect_timeout, self.limits.idle_timeout))
                quoted_only = response.status_code not in ok  # errors and redirects: only the start is read
                transport.read_body(response, self.limits, f"{method} {_path(url)}", truncate=quoted_only)
                if watch.fired:  # the shutdown may read as the normal end of a close-delimited body
                    raise self._out_of_time(method, url, limit)
                return response
            except BaseException as exc:
                if response is not None:
                    response.close()
                if watch.fired:
                    raise self._out_of_time(method, url, limit) from None
                if isinstance(exc, requests.ConnectionError | requests.Timeout | requests.exceptions.ChunkedEncodingError):
                    raise _Transient(_short(exc)) from exc
                if isinstance(exc, requests.RequestException):
                    raise MalformedResponseError(f"{method} {_path(url)} on {_host(url)}: {_short(exc)}") from exc
                raise

    def _headers_for(self, credentials: bool, extra: Mapping[str, str] | None) -> dict[str, str]:
        merged = {**self.headers, **(extra or {})}
        if credentials:
            self.auth.apply(self.session, merged)
            return merged
        return {name: value for name, value in merged.items() if name.lower() in SAFE_HEADERS}

    def _anonymous_session(self) -> requests.Session:
        if self._anonymous is None:
            self._anonymous = transport.session(2)
        return self._anonymous

    def _deadline(self) -> tuple[float, str]:
        """When the next request must be over, and which bound sets that time."""
        now = self._clock()
        with self.run._lock:  # noqa: SLF001 - our own record
            if self.run.started is None:
                self.run.started = now
            run_end = self.run.started + self.limits.run_budget
        if now >= run_end:
            raise LimitExceeded(f"the run has used its time budget, {self.limits.hint('run_budget')}", "run_budget")
        request_end = now + self.limits.request_budget
        return (request_end, "request_budget") if request_end <= run_end else (run_end, "run_budget")

    def _out_of_time(self, method: str, url: str, limit: str) -> LimitExceeded:
        return LimitExceeded(f"{method} {_path(url)} on {_host(url)} did not finish within "
                             f"{self.limits.hint(limit)}", limit)

    def _wait(self, delay: float) -> float:
        self.stats.add(retries=1, waited=delay)
        self._sleep(delay)
        return delay

    def error_for(self, method: str, url: str, response: requests.Response) -> Exception:
        """Map a non-retryable status to a specific error; connectors override for richer text."""
        status = response.status_code
        body = response.text[:500]
        if status == 401:
            return AuthenticationError(f"{_host(url)} rejected the credentials (HTTP 401)")
        if status == 403:
            return AuthenticationError(f"{_host(url)} denied access to {_path(url)} (HTTP 403)")
        if status == 404:
            return NotFoundError(f"{_path(url)} not found on {_host(url)} (HTTP 404)")
        return HttpStatusError(f"{method} {_path(url)} failed with HTTP {status}: {body[:200]}", status, body)

    def json(self, response: requests.Response, where: str | None = None) -> Any:
        """Decode a response's JSON body within :attr:`limits` (MalformedResponseError otherwise)."""
        return bounded_json.loads(response.content, self.limits, where or f"{_path(response.url)}")

    def get_json(self, path_or_url: str, params: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
        """GET and decode JSON within the bounds, raising MalformedResponseError for anything else."""
        return self.json(self.request("GET", path_or_url, params=params, **kwargs))

    def paginate(
        self, path_or_url: str, params: Mapping[str, Any] | None, paginator: Paginator,
        *, records_path: tuple[str, ...] | None = None,
    ) -> Iterator[Any]:
        """Yield each decoded page, following ``paginator`` until it returns None.

        A request already made in this stream is a pagination loop (MalformedResponseError);
        pages per run are capped, and with ``records_path`` (where the page's record list is)
        records per page and per run as well (LimitExceeded, raised before the page is yielded).
        """
        url, current = self.url(path_or_url), dict(params or {})
        seen: set[bytes] = set()
        number = 0
        while True:
            key = _request_key(url, current)
            if key in seen:
                raise MalformedResponseError(
                    f"pagination loops: after page {number} the server's next link leads back to a page "
                    f"already read ({_path(url)}?{urlsplit(url).query[:200]}); stopped instead of reading it again")
            seen.add(key)
            self._take_page(url)
            response = self.request("GET", url, params=current or None)
            number += 1
            page = self.json(response, f"{_path(url)} page {number}")
            if records_path is not None:
                self._take_records(value_at(page, records_path), number, url)
            self.stats.add(pages=1)
            yield page
            following = paginator.next_request(page, url, current, response.headers)
            if following is None:
                return
            url, current = self.url(following[0]), dict(following[1])

    def _take_page(self, url: str) -> None:
        with self.run._lock:  # noqa: SLF001
            if self.run.pages >= self.limits.max_pages:
                raise LimitExceeded(f"{_path(url)}: the run already read {self.run.pages} pages, "
                                    f"{self.limits.hint('max_pages')}", "max_pages")
            self.run.pages += 1

    def _take_records(self, records: Any, number: int, url: str) -> None:
        if not isinstance(records, list):
            return  # the connector names the malformed shape
        count = len(records)
        if count > self.limits.max_records_per_page:
            raise LimitExceeded(f"{_path(url)} page {number} holds {count} records, more than "
                                f"{self.limits.hint('max_records_per_page')}", "max_records_per_page")
        with self.run._lock:  # noqa: SLF001
            if self.run.records + count > self.limits.max_records:
                raise LimitExceeded(f"{_path(url)} page {number} would take the run to {self.run.records + count} "
                                    f"records, more than {self.limits.hint('max_records')}", "max_records")
            self.run.records += count

    def close(self) -> None:
        """Release pooled connections."""
        self.session.close()
        if self._anonymous is not None:
            self._anonymous.close()


def decode_json(response: requests.Response, limits: Limits | None = None) -> Any:
    """Decode a JSON body within ``limits`` (defaults when None), or raise MalformedResponseError."""
    return bounded_json.loads(response.content, limits, _path(response.url))


def _request_key(url: str, params: Mapping[str, Any]) -> bytes:
    """The identity of a GET: origin, path and the sorted query (URL and params merged)."""
    parts = urlsplit(url)
    pairs = sorted([*parse_qsl(parts.query, keep_blank_values=True), *((str(k), str(v)) for k, v in params.items())])
    text = "\x1f".join([parts.scheme.lower(), parts.netloc.lower(), parts.path, *(f"{k}\x1e{v}" for k, v in pairs)])
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _host(url: str) -> str:
    return urlsplit(url).netloc.rsplit("@", 1)[-1]


def _path(url: str) -> str:
    return urlsplit(url).path


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) < 200 else text[:200] + "..."
