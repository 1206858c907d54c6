"""A REST ATS declared in YAML alone (``configs/sources/<name>.yaml``, ``kind: rest``): no Python per system.

The document names the base URL, the auth scheme, the paginator, and per stream its path, record
path, primary key, cursor field with the filter parameter that asks for changes, and the fields to
lift out of nested objects; a write-back block names the endpoint that takes the AI-interview
status. Everything runs on the shared HTTP client (retries with capped Retry-After, bounds, the
origin policy). Secrets are never in the file: it names the environment variables holding them.

```yaml
kind: rest
base_url_env: HRBRIDGE_PERSONIO_URL            # or base_url: https://api.example.com
headers: {Beta: "true"}
auth: {scheme: oauth2_client_credentials, token_url: /v2/auth/token, client_auth: form,
       client_id_env: HRBRIDGE_PERSONIO_CLIENT_ID, client_secret_env: HRBRIDGE_PERSONIO_CLIENT_SECRET}
       # or {scheme: api_key, header: X-API-Key, key_env: …} | {scheme: bearer, token_env: …}
       #    | {scheme: basic, user_env: …, password_env: …}
paginator: {type: next_url, path: _meta.links.next.href}
       # or {type: page, param: page, size_param: per_page, size: 100}
       #    | {type: offset, param: offset, size_param: limit, size: 100}
       #    | {type: cursor, path: meta.next_cursor, param: cursor} | {type: link_header}
streams:
  applications:
    path: v2/recruiting/applications
    records: _data                             # where the list is in a page ("" = the page itself)
    primary_key: id
    cursor_field: updated_at                   # replication key (dotted paths allowed)
    filter_param: updated_at.gt                # sent as <since> in ISO 8601
    entity: application
    fields: {candidate_id: candidate.id, stage: stage.name}   # flattened before the mapping
write_back: {method: PATCH, path: "v2/recruiting/applications/{key}", body_key: attributes}
```
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connectors.auth import Auth, BasicAuth, HeaderAuth
from connectors.errors import AuthenticationError, ConnectorError, HttpStatusError, MalformedResponseError
from connectors.http import HttpClient, Limits, OriginPolicy, RetryPolicy
from connectors.oauth import client_credentials
from connectors.origin import origin_of
from connectors.paginators import (
    CursorParamPaginator,
    JsonLinkPaginator,
    LinkHeaderPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    Paginator,
    value_at,
)
from connectors.source import CANONICAL_STREAMS, Stream, WriteBackResult

AUTH_SCHEMES = ("api_key", "bearer", "basic", "oauth2_client_credentials", "none")
PAGINATORS = ("page", "offset", "cursor", "link_header", "next_url")


def _path(text: Any) -> tuple[str, ...]:
    return tuple(part for part in str(text or "").split(".") if part)


def _secret(env: Mapping[str, str], spec: Mapping[str, Any], key: str) -> str:
    name = spec.get(key)
    if not name:
        raise ValueError(f"auth.{key} must name the environment variable holding the value")
    value = env.get(str(name))
    if not value:
        raise ValueError(f"auth.{key}: set {name}")
    return value


@dataclass(frozen=True)
class WriteBackSpec:
    """Where the write-back of one record goes: ``method path`` with ``{key}``, fields under ``body_key``."""

    method: str = "PATCH"
    path: str = ""
    body_key: str | None = None


class _RestClient(HttpClient):
    """The shared client; refusals name the source and the principal, never the secret."""

    source = "the REST source"
    principal = "the configured credentials"

    def error_for(self, method: str, url: str, response: Any) -> Exception:
        """401/403 name the source and principal; other statuses keep the server's message."""
        if response.status_code in (401, 403):
            return AuthenticationError(f"{self.source} rejected {self.principal} (HTTP {response.status_code})")
        return super().error_for(method, url, response)


class RestSource:
    """A :class:`connectors.source.SourceSystem` whose streams, auth, pages and write-back are data."""

    def __init__(self, name: str, client: HttpClient, paginator: Mapping[str, Any],
                 streams: Mapping[str, Stream], write_back: WriteBackSpec | None = None) -> None:
        self.name = name
        self.client = client
        self.paginator = dict(paginator)
        self.streams = dict(streams)
        self.write_back = write_back

    @classmethod
    def from_document(cls, name: str, doc: Mapping[str, Any], env: Mapping[str, str], *,
                      retry: RetryPolicy | None = None, limits: Limits | None = None,
                      origin_policy: OriginPolicy | None = None) -> RestSource:
        """Build from a parsed ``configs/sources/<name>.yaml``; ValueError names the key at fault."""
        base = doc.get("base_url") or (env.get(str(doc.get("base_url_env"))) if doc.get("base_url_env") else None)
        if not base:
            raise ValueError(f"base_url (or base_url_env naming a set variable: {doc.get('base_url_env')}) is required")
        origin_of(str(base))
        auth_spec = doc.get("auth") or {"scheme": "none"}
        principal = f"{name} credentials"
        auth, principal = cls._auth(name, str(base), auth_spec, env, retry, limits, origin_policy)
        client = _RestClient(str(base), auth, retry=retry, limits=limits, origin_policy=origin_policy,
                             rate_limit=doc.get("rate_limit"),
                             headers={"Accept": "application/json", **{str(k): str(v) for k, v in
                                                                        (doc.get("headers") or {}).items()}})
        client.source, client.principal = name, principal
        pager = dict(doc.get("paginator") or {"type": "next_url", "path": "next"})
        if pager.get("type") not in PAGINATORS:
            raise ValueError(f"paginator.type must be one of {', '.join(PAGINATORS)}, got {pager.get('type')!r}")
        streams = {}
        for stream_name, spec in (doc.get("streams") or {}).items():
            if stream_name not in CANONICAL_STREAMS:
                raise ValueError(f"streams.{stream_name}: not one of {', '.join(CANONICAL_STREAMS)}")
            for key in ("path", "primary_key"):
                if not spec.get(key):
                    raise ValueError(f"streams.{stream_name}.{key} is required")
            streams[stream_name] = Stream(
                stream_name, str(spec["path"]), str(spec["primary_key"]), spec.get("cursor_field"),
                str(spec.get("entity") or CANONICAL_STREAMS[stream_name]),
                params={"records": spec.get("records", ""), "filter_param": spec.get("filter_param"),
                        "query": dict(spec.get("params") or {}), "fields": dict(spec.get("fields") or {})})
        if not streams:
            raise ValueError("streams: declare at least one stream")
        back = doc.get("write_back_endpoint")
        write_back = WriteBackSpec(str(back.get("method", "PATCH")).upper(), str(back["path"]),
                                   back.get("body_key")) if back else None
        return cls(name, client, pager, streams, write_back)

    @staticmethod
    def _auth(name: str, base: str, spec: Mapping[str, Any], env: Mapping[str, str], retry: RetryPolicy | None,
              limits: Limits | None, origin_policy: OriginPolicy | None) -> tuple[Auth | None, str]:
        scheme = spec.get("scheme", "none")
        if scheme not in AUTH_SCHEMES:
            raise ValueError(f"auth.scheme must be one of {', '.join(AUTH_SCHEMES)}, got {scheme!r}")
        if scheme == "api_key":
            return HeaderAuth(str(spec.get("header", "X-API-Key")), _secret(env, spec, "key_env")), \
                f"the API key in {spec.get('key_env')}"
        if scheme == "bearer":
            return HeaderAuth("Authorization", _secret(env, spec, "token_env"), prefix="Bearer "), \
                f"the token in {spec.get('token_env')}"
        if scheme == "basic":
            user = _secret(env, spec, "user_env")
            return BasicAuth(user, _secret(env, spec, "password_env")), f"user {user}"
        if scheme == "oauth2_client_credentials":
            client_id = _secret(env, spec, "client_id_env")
            token_url = str(spec.get("token_url") or "/oauth/token")
            if not token_url.startswith(("http://", "https://")):
                token_url = base.rstrip("/") + "/" + token_url.lstrip("/")
            who = f"OAuth client {client_id}"
            return client_credentials(token_url, client_id, _secret(env, spec, "client_secret_env"),
                                      form={str(k): str(v) for k, v in (spec.get("form") or {}).items()},
                                      principal=f"{name} {who}", retry=retry, limits=limits,
                                      origin_policy=origin_policy,
                                      client_auth=str(spec.get("client_auth", "basic"))), who
        return None, "no credentials"

    # -- hooks -----------------------------------------------------------------------------------

    def paginator_for(self, stream: Stream) -> Paginator:
        """The declared paginator, reading the stream's record list where it needs to."""
        spec, records = self.paginator, _path(stream.params.get("records"))
        kind = spec["type"]
        if kind == "page":
            return PageNumberPaginator(records, str(spec.get("param", "page")), int(spec.get("size", 100)))
        if kind == "offset":
            return OffsetPaginator(records, str(spec.get("param", "offset")), int(spec.get("size", 100)))
        if kind == "cursor":
            return CursorParamPaginator(_path(spec.get("path", "next_cursor")), str(spec.get("param", "cursor")))
        if kind == "link_header":
            return LinkHeaderPaginator()
        return JsonLinkPaginator(_path(spec.get("path", "next")))

    def request_params(self, stream: Stream, since: datetime | None) -> dict[str, Any]:
        """First-page parameters: fixed query, page size, and ``filter_param=<since>`` for a delta."""
        params: dict[str, Any] = dict(stream.params.get("query") or {})
        spec = self.paginator
        if spec["type"] in ("page", "offset"):
            params.setdefault(str(spec.get("param", spec["type"])), 1 if spec["type"] == "page" else 0)
        if spec.get("size_param"):
            params[str(spec["size_param"])] = int(spec.get("size", 100))
        if since is not None and stream.params.get("filter_param"):
            params[str(stream.params["filter_param"])] = since.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return params

    def post_process(self, stream: Stream, record: Mapping[str, Any]) -> dict[str, Any]:
        """Top-level scalars kept, declared ``fields`` lifted from nested paths, the cursor field too."""
        out = {k: v for k, v in record.items() if not isinstance(v, dict | list)}
        for target, source in (stream.params.get("fields") or {}).items():
            out[target] = value_at(record, _path(source))
        for nested in ("replication_key", "primary_key"):
            path = getattr(stream, nested)
            if path and "." in path:
                out[path] = value_at(record, _path(path))
        return out

    # -- SourceSystem ----------------------------------------------------------------------------

    def read_pages(self, stream: str, since: datetime | None = None,
                   fields: list[str] | None = None) -> Iterator[list[dict[str, Any]]]:
        """Pages of records of ``stream`` changed after ``since`` (every record when None)."""
        declared = self.streams[stream]
        records_path = _path(declared.params.get("records"))
        pages = self.client.paginate(declared.path, self.request_params(declared, since),
                                     self.paginator_for(declared), records_path=records_path)
        for number, page in enumerate(pages, 1):
            records = value_at(page, records_path) if records_path else page
            if not isinstance(records, list) or not all(isinstance(r, Mapping) for r in records):
                raise MalformedResponseError(f"{self.name} {declared.path} page {number}: no list of records at "
                                             f"{'.'.join(records_path) or 'the top'}")
            yield [self.post_process(declared, r) for r in records]

    def read_keys(self, stream: str) -> set[Any]:
        """Every primary key ``stream`` holds now (an unfiltered read)."""
        key = self.streams[stream].primary_key
        return {row[key] for page in self.read_pages(stream) for row in page}

    def upsert(self, entity: str, records: list[dict[str, Any]], key_field: str) -> WriteBackResult:
        """One request per record to the declared write-back endpoint; each status checked."""
        result = WriteBackResult()
        for record in records:
            key = record.get(key_field)
            if self.write_back is None:
                result.failed.append((key, f"{self.name} declares no write_back_endpoint"))
                continue
            values = {k: v for k, v in record.items() if k != key_field}
            body = {self.write_back.body_key: values} if self.write_back.body_key else values
            try:
                self.client.request(self.write_back.method, self.write_back.path.format(key=key), json=body)
            except AuthenticationError:
                raise
            except (HttpStatusError, ConnectorError) as exc:
                result.failed.append((key, str(exc)))
                continue
            result.ok.append(key)
        return result

    def close(self) -> None:
        """Release pooled connections."""
        self.client.close()
