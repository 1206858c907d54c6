"""A loopback SAP SuccessFactors OData v2 server built from SAP's published metadata.

Serves ``/odata/v2/`` with the entity types of ``sandbox/specs`` (Candidate and JobApplication
from the EDMX, JobRequisition from the OpenAPI spec, plus the tenant extensions in
``extensions.json``: ``cust_ai*`` fields and resume ``Attachment`` records). Wire details follow
SuccessFactors: ``{"d": {"results": [...], "__count": "N", "__next": "..."}}``, server-side
snapshot paging with ``$skiptoken``, ``/Date(ms)/`` and ``/Date(ms+0480)/`` dates, Int64 and
Decimal values as JSON strings, ``__metadata`` and deferred navigation blocks, SAP-style error
bodies, ``POST /odata/v2/upsert`` answering 200 with a status per record, Basic auth as
``user@companyId`` and the OAuth 2.0 SAML-bearer token flow.

``rate_limit`` (requests per second, token bucket) answers 429 with ``Retry-After`` beyond it.
In-process API for tests, benchmarks and the demo: :meth:`add_applications`,
:meth:`set_application_status`, :meth:`hire`, :meth:`update`, :meth:`delete`, :meth:`get`, :meth:`records`,
``upsert_log``, ``request_log`` and ``faults`` (see :mod:`sandbox.server`). ``entity_metadata``
plays a compatible service that does not serve per-entity ``$metadata``. ``next_link``, when set,
rewrites every ``__next`` link the sandbox sends, so tests can play a hostile server whose links
point to themselves, cycle, or lead to another origin.
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import json
import random
import re
import secrets
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any
from urllib.parse import urlencode

from connectors.http import RateLimiter
from sandbox import seed as seeding
from sandbox.server import SandboxRequest, SandboxResponse, SandboxServer

EDM = "{http://schemas.microsoft.com/ado/2008/09/edm}"
SAP_NAMESPACES = ("{http://www.sap.com/Protocols/SAPData}", "{http://www.successfactors.com/edm/sap}")
DEFAULT_USERS = {"sfadmin@SFPART000001": "sandbox-secret"}
DEFAULT_CLIENTS = {"hrbridge-sandbox-client": "SFPART000001"}
SAML_GRANT = "urn:ietf:params:oauth:grant-type:saml2-bearer"
MAX_PAGE_SIZE = 1000
SERVED = ("Candidate", "JobApplication", "JobRequisition", "Attachment", "FormHeader", "EmpEmploymentTermination",
          "EmpJob")
COMPOSITE_KEYS = {  # Employee Central keys as SAP publishes them (ECEmploymentInformation.openapi.json paths)
    "EmpEmploymentTermination": ("endDate", "personIdExternal", "userId"),
    "EmpJob": ("seqNumber", "startDate", "userId"),
}
# How ``<base>/<Entity>/$metadata`` is answered: as SuccessFactors does (served), with a 404 (missing),
# or with a 200 body that is not EDMX (not-xml), as some SuccessFactors-compatible services do.
ENTITY_METADATA = ("served", "missing", "not-xml")


@dataclass
class Prop:
    """One entity property: EDM type, max length and whether upsert may change it."""

    name: str
    type: str
    max_length: int | None = None
    updatable: bool = False
    label: str = ""


@dataclass
class EntityModel:
    """An entity set as the sandbox serves it."""

    name: str
    key: str
    props: dict[str, Prop] = field(default_factory=dict)
    navs: dict[str, str] = field(default_factory=dict)
    keys: tuple[str, ...] = ()  # all key properties when the key is composite (Employee Central)

    def record_key(self, record: dict[str, Any]) -> Any:
        """The record's key: one value, or a tuple of values for a composite key."""
        return tuple(record[k] for k in self.keys) if self.keys else record[self.key]


def _edmx_entity(text: bytes, name: str) -> EntityModel:
    root = ET.fromstring(text)  # noqa: S314 - bundled, trusted metadata
    for node in root.iter(f"{EDM}EntityType"):
        if node.get("Name") != name:
            continue
        key = node.find(f"{EDM}Key/{EDM}PropertyRef").get("Name")
        model = EntityModel(name, key)
        for prop in node.findall(f"{EDM}Property"):
            updatable = any(prop.get(f"{ns}updatable") == "true" for ns in SAP_NAMESPACES)
            length = prop.get("MaxLength")
            model.props[prop.get("Name")] = Prop(
                prop.get("Name"), prop.get("Type"), int(length) if length and length.isdigit() else None,
                updatable, next((prop.get(f"{ns}label") for ns in SAP_NAMESPACES if prop.get(f"{ns}label")), ""),
            )
        for nav in node.findall(f"{EDM}NavigationProperty"):
            model.navs[nav.get("Name")] = nav.get("ToRole")
        return model
    raise KeyError(name)


def _openapi_entity(spec: dict[str, Any], name: str, key: str) -> EntityModel:
    model = EntityModel(name, key)
    for prop_name, schema in spec["definitions"][f"SFOData.{name}"]["properties"].items():
        kinds = schema.get("type")
        kinds = kinds if isinstance(kinds, list) else [kinds]
        if "object" in kinds or "array" in kinds:
            model.navs[prop_name] = schema.get("title", "")
            continue
        fmt = schema.get("format")
        if "boolean" in kinds:
            edm = "Edm.Boolean"
        elif fmt == "int64":
            edm = "Edm.Int64"
        elif fmt == "decimal":
            edm = "Edm.Decimal"
        elif str(schema.get("example", "")).startswith("/Date("):
            edm = "Edm.DateTimeOffset"
        else:
            edm = "Edm.String"
        model.props[prop_name] = Prop(prop_name, edm, schema.get("maxLength"), False, schema.get("title", ""))
    return model


@functools.lru_cache(maxsize=1)
def load_model() -> dict[str, EntityModel]:
    """Entity models of the served sets, from the bundled SAP metadata plus tenant extensions."""
    specs = resources.files("sandbox.specs")
    models = {
        "Candidate": _edmx_entity(specs.joinpath("RCMCandidate.edmx").read_bytes(), "Candidate"),
        "JobApplication": _edmx_entity(specs.joinpath("RCMJobApplication.edmx").read_bytes(), "JobApplication"),
        "JobRequisition": _openapi_entity(
            json.loads(specs.joinpath("RCMJobRequisition.openapi.json").read_text("utf-8")), "JobRequisition", "jobReqId"),
    }
    employment = json.loads(specs.joinpath("ECEmploymentInformation.openapi.json").read_text("utf-8"))
    for name, keys in COMPOSITE_KEYS.items():
        models[name] = _openapi_entity(employment, name, keys[-1])
        models[name].keys = keys
    ext = json.loads(specs.joinpath("extensions.json").read_text("utf-8"))
    for name, spec in ext["entities"].items():
        models[name] = EntityModel(name, spec["key"], {
            p["name"]: Prop(p["name"], p["type"], p.get("maxLength"), p.get("updatable", False)) for p in spec["properties"]
        })
    for entity, props in ext["add_properties"].items():
        for p in props:
            models[entity].props[p["name"]] = Prop(p["name"], p["type"], p.get("maxLength"), p["updatable"], p.get("label", ""))
    for entity, navs in ext["add_navigation"].items():
        for nav in navs:
            models[entity].navs[nav["name"]] = nav["to"]
    for entity, names in ext["updatable"].items():
        for name in names:
            models[entity].props[name].updatable = True
    return models


def _literal_of(prop: Prop, value: Any) -> str:
    if prop.type == "Edm.Int64":
        return f"{value}L"
    if isinstance(value, datetime):
        return f"datetime'{value.strftime('%Y-%m-%dT%H:%M:%S')}'"
    return f"'{value}'"


def _key_literal(model: EntityModel, record: dict[str, Any]) -> str:
    """``123L`` or ``'abc'``; ``endDate=datetime'…',personIdExternal='…',userId='…'`` for a composite key."""
    if not model.keys:
        return _literal_of(model.props[model.key], record[model.key])
    return ",".join(f"{k}={_literal_of(model.props[k], record[k])}" for k in model.keys)


def metadata_document(models: dict[str, EntityModel]) -> bytes:
    """An EDMX document (OData v2) describing ``models``, as ``$metadata`` returns it."""
    edmx = ET.Element("edmx:Edmx", {"Version": "1.0", "xmlns:edmx": "http://schemas.microsoft.com/ado/2007/06/edmx"})
    services = ET.SubElement(edmx, "edmx:DataServices", {
        "m:DataServiceVersion": "2.0", "xmlns:m": "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"})
    schema = ET.SubElement(services, "Schema", {
        "Namespace": "SFOData", "xmlns": EDM.strip("{}"), "xmlns:sap": "http://www.sap.com/Protocols/SAPData"})
    for model in models.values():
        entity = ET.SubElement(schema, "EntityType", {"Name": model.name})
        key_node = ET.SubElement(entity, "Key")
        for key in model.keys or (model.key,):
            ET.SubElement(key_node, "PropertyRef", {"Name": key})
        for prop in model.props.values():
            keyed = prop.name in (model.keys or (model.key,))
            attrs = {"Name": prop.name, "Type": prop.type, "Nullable": "false" if keyed else "true",
                     "sap:updatable": "true" if prop.updatable else "false", "sap:filterable": "true"}
            if prop.max_length:
                attrs["MaxLength"] = str(prop.max_length)
            if prop.label:
                attrs["sap:label"] = prop.label
            ET.SubElement(entity, "Property", attrs)
        for nav in model.navs:
            ET.SubElement(entity, "NavigationProperty", {"Name": nav})
    container = ET.SubElement(schema, "EntityContainer", {"Name": "EntityContainer", "m:IsDefaultEntityContainer": "true"})
    for model in models.values():
        ET.SubElement(container, "EntitySet", {"Name": model.name, "EntityType": f"SFOData.{model.name}"})
    return b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(edmx, encoding="utf-8")


class ODataFault(Exception):
    """An error answered as SAP's OData error body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> SandboxResponse:
        """The SAP-style error response."""
        return odata_error(self.status, self.code, self.message)


def odata_error(status: int, code: str, message: str) -> SandboxResponse:
    """``{"error": {"code": ..., "message": {"lang": "en-US", "value": ...}}}`` with ``status``."""
    return SandboxResponse(status, {"error": {"code": code, "message": {"lang": "en-US", "value": message}}})


def unknown_properties(entity: str, names: list[str]) -> ODataFault:
    """SAP's error for property names the entity does not have."""
    listed = ",".join(f"{entity}/{n}" for n in names)
    return ODataFault(400, "COE_PROPERTY_NOT_FOUND",
                      f"[COE0021]Invalid property names: {listed}. Please check the property name and the upper/lower case.")


def to_ms(value: datetime) -> int:
    """Milliseconds since the epoch of an aware datetime."""
    return int(value.timestamp() * 1000)


def encode_value(prop: Prop, value: Any, offset: bool) -> Any:
    """Encode a Python value the way SuccessFactors puts it on the wire."""
    if value is None:
        return None
    if prop.type in ("Edm.DateTimeOffset", "Edm.DateTime"):
        return f"/Date({to_ms(value)}+0480)/" if offset else f"/Date({to_ms(value)})/"
    if prop.type in ("Edm.Int64", "Edm.Decimal"):
        return str(value)
    return value


def decode_value(prop: Prop, value: Any) -> Any:
    """Decode a wire value for ``prop`` (ValueError when it does not fit the type)."""
    if value is None:
        return None
    if prop.type in ("Edm.Int64", "Edm.Int32"):
        return int(value)
    if prop.type in ("Edm.Decimal", "Edm.Double"):
        return float(value)
    if prop.type == "Edm.Boolean":
        if not isinstance(value, bool):
            raise ValueError("expected true or false")
        return value
    if prop.type in ("Edm.DateTimeOffset", "Edm.DateTime"):
        match = re.fullmatch(r"/Date\((-?\d+)([+-]\d{4})?\)/", str(value))
        if not match:
            raise ValueError("expected /Date(ms)/")
        return datetime.fromtimestamp(int(match.group(1)) / 1000, UTC)
    if not isinstance(value, str):
        raise ValueError("expected a string")
    if prop.max_length and len(value) > prop.max_length:
        raise ValueError(f"value is {len(value)} characters, the maximum length is {prop.max_length}")
    return value


# --- $filter ---------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<open>\()|(?P<close>\))|(?P<dt>datetime(?:offset)?'[^']*')|(?P<str>'(?:[^']|'')*')"
    r"|(?P<num>-?\d+(?:\.\d+)?[LMDlmd]?)|(?P<word>[A-Za-z_][\w/]*))"
)
_COMPARE = {"eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "gt": lambda a, b: a > b,
            "ge": lambda a, b: a >= b, "lt": lambda a, b: a < b, "le": lambda a, b: a <= b}


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match:
            raise ODataFault(400, "COE_GENERAL_BAD_REQUEST", f"[COE0019]Invalid $filter near: {text[pos:pos + 30]!r}")
        kind = match.lastgroup
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def _literal(kind: str, text: str) -> Any:
    if kind == "dt":
        raw = text.split("'", 1)[1].rstrip("'").replace("Z", "+00:00")
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError as exc:
            raise ODataFault(400, "COE_GENERAL_BAD_REQUEST", f"[COE0019]Invalid date literal {text}") from exc
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    if kind == "str":
        return text[1:-1].replace("''", "'")
    if kind == "num":
        body = text.rstrip("LMDlmd")
        return float(body) if "." in body else int(body)
    return {"true": True, "false": False, "null": None}[text]


def parse_filter(text: str, model: EntityModel) -> Any:
    """Compile a ``$filter`` (comparisons joined by and/or, parentheses) into a predicate."""
    tokens = _tokens(text)
    pos = 0

    def peek() -> tuple[str, str] | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> tuple[str, str]:
        nonlocal pos
        if pos >= len(tokens):
            raise ODataFault(400, "COE_GENERAL_BAD_REQUEST", f"[COE0019]Incomplete $filter: {text!r}")
        pos += 1
        return tokens[pos - 1]

    def comparison() -> Any:
        kind, value = take()
        if kind == "open":
            inner = disjunction()
            if take()[0] != "close":
                raise ODataFault(400, "COE_GENERAL_BAD_REQUEST", f"[COE0019]Unbalanced parentheses in $filter: {text!r}")
            return inner
        if kind != "word":
            raise ODataFault(400, "COE_GENERAL_BAD_REQUEST", f"[COE0019]Expected a property name in $filter, got {value!r}")
        if value not in model.props:
            raise unknown_properties(model.name, [value])
        op_kind, op = take()
        if op_kind != "word" or op not in _COMPARE:
            raise ODataFault(400, "COE_GENERAL_BAD_REQUEST", f"[COE0019]Unsupported operator {op!r} in $filter")
        lit_kind, lit = take()
        if lit_kind not in ("dt", "str", "num") and lit not in ("true", "false", "null"):
            raise ODataFault(400, "COE_GENERAL_BAD_REQUEST", f"[COE0019]Expected a literal after {value} {op}")
        literal, compare, name = _literal(lit_kind, lit), _COMPARE[op], value

        def predicate(record: dict[str, Any]) -> bool:
            current = record.get(name)
            if current is None or literal is None:
                return compare(current, literal) if op in ("eq", "ne") else False
            try:
                return compare(current, literal)
            except TypeError:
                return compare(str(current), str(literal))

        return predicate

    def conjunction() -> Any:
        parts = [comparison()]
        while (tok := peek()) and tok == ("word", "and"):
            take()
            parts.append(comparison())
        return lambda r: all(p(r) for p in parts)

    def disjunction() -> Any:
        parts = [conjunction()]
        while (tok := peek()) and tok == ("word", "or"):
            take()
            parts.append(conjunction())
        return lambda r: any(p(r) for p in parts)

    predicate = disjunction()
    if pos != len(tokens):
        raise ODataFault(400, "COE_GENERAL_BAD_REQUEST", f"[COE0019]Unexpected {tokens[pos][1]!r} in $filter")
    return predicate


# --- the server -------------------------------------------------------------------------------------


class SuccessFactorsSandbox(SandboxServer):
    """SuccessFactors OData v2 on loopback, seeded with bilingual recruiting data."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 7,
        candidates: int = 60,
        applications: int = 80,
        page_size: int = 100,
        users: dict[str, str] | None = None,
        clients: dict[str, str] | None = None,
        rate_limit: float | None = None,
        entity_metadata: str = "served",
    ) -> None:
        super().__init__(host, port)
        if entity_metadata not in ENTITY_METADATA:
            raise ValueError(f"entity_metadata must be one of {', '.join(ENTITY_METADATA)}, got {entity_metadata!r}")
        self.entity_metadata = entity_metadata
        self.rate_limit = rate_limit
        self._budget = RateLimiter(rate_limit) if rate_limit else None
        self.model = load_model()
        self.page_size = page_size
        self.users = dict(users or DEFAULT_USERS)
        self.clients = dict(clients or DEFAULT_CLIENTS)
        self.upsert_log: list[dict[str, Any]] = []
        self.next_link: Callable[[str], str] | None = None
        self._rng = random.Random(seed + 1)  # noqa: S311 - test data
        self._lock = threading.RLock()
        self._tokens: dict[str, float] = {}
        self._snapshots: dict[str, list[Any]] = {}
        self._last_ms = 0
        data = seeding.build_seed(seed, candidates, applications)
        self._data: dict[str, dict[Any, dict[str, Any]]] = {
            name: {self.model[name].record_key(row): row for row in data.get(name, [])} for name in SERVED
        }
        self.route("POST", r"/oauth/token", self._token)
        self.route("POST", r"/oauth/idp", self._idp)
        self.route("GET", r"/odata/v2/?\$metadata", self._metadata)
        self.route("GET", r"/odata/v2/(?P<entity>\w+)/\$metadata", self._metadata)
        self.route("POST", r"/odata/v2/upsert", self._upsert)
        self.route("GET", r"/odata/v2/(?P<entity>\w+)(?:\((?P<key>[^)]*)\))?(?:/(?P<nav>\w+))?", self._get)

    # -- in-process API ---------------------------------------------------------------------------

    def records(self, entity: str) -> list[dict[str, Any]]:
        """Copies of every record of ``entity`` (Python values, as stored)."""
        with self._lock:
            return [copy.deepcopy(r) for r in self._data[entity].values()]

    def get(self, entity: str, key: Any) -> dict[str, Any]:
        """A copy of one record (KeyError when absent)."""
        with self._lock:
            return copy.deepcopy(self._data[entity][key])

    def count(self, entity: str) -> int:
        """How many records ``entity`` holds."""
        with self._lock:
            return len(self._data[entity])

    def delete(self, entity: str, key: Any) -> None:
        """Remove a record, as a purge in SuccessFactors does (KeyError when absent)."""
        with self._lock:
            del self._data[entity][key]

    def update(self, entity: str, key: Any, **fields: Any) -> datetime:
        """Change fields of a record and bump its ``lastModifiedDateTime``; returns the new stamp."""
        with self._lock:
            record = self._data[entity][key]
            record.update(fields)
            record["lastModifiedDateTime"] = stamp = self._now()
            return stamp

    def set_application_status(self, app_id: int, status: str) -> None:
        """Move an application to ``status`` (one of :data:`sandbox.seed.STATUSES`)."""
        if status not in seeding.STATUSES:
            raise ValueError(f"unknown status {status!r}; known: {', '.join(seeding.STATUSES)}")
        self.update("JobApplication", app_id, status=status, appStatusSetItemId=seeding.STATUSES[status])

    def hire(self, app_ids: list[int]) -> None:
        """Mark applications as hired (status, hire date and start date)."""
        with self._lock:
            for app_id in app_ids:
                now = self._now()
                self.update("JobApplication", app_id, status="Hired", appStatusSetItemId=seeding.STATUSES["Hired"],
                            hireDate=now, hiredOn=now, startDate=now + timedelta(days=30))

    def add_review(self, person: str, end: datetime, rating: float, scale_max: float = 5.0) -> int:
        """A completed Performance & Goals review form for ``person`` (formSubjectId); returns formDataId."""
        with self._lock:
            form_id = max(self._data["FormHeader"], default=900000) + 1
            self._data["FormHeader"][form_id] = {
                "formDataId": form_id, "formTemplateId": 501, "formTemplateType": "Review",
                "formTitle": f"Annual review {end.year}", "formSubjectId": person, "formOriginator": "hr",
                "formDataStatus": "completed", "formReviewStartDate": end - timedelta(days=365),
                "formReviewEndDate": end, "formLastModifiedDate": self._now(), "rating": rating,
                "ratingScaleMax": scale_max}
        return form_id

    def terminate(self, person: str, end: datetime, reason: str) -> None:
        """An Employee Central termination of ``person`` (personIdExternal and userId) with ``eventReason``."""
        with self._lock:
            row = {"personIdExternal": person, "userId": person, "endDate": end, "eventReason": reason,
                   "lastDateWorked": end, "okToRehire": reason != "TERM_DISMISS", "lastModifiedDateTime": self._now()}
            self._data["EmpEmploymentTermination"][self.model["EmpEmploymentTermination"].record_key(row)] = row

    def promote(self, person: str, start: datetime, job_code: str, event: str = "PRM") -> None:
        """An Employee Central job record for ``person`` starting ``start`` with the promotion event."""
        with self._lock:
            row = {"userId": person, "startDate": start, "seqNumber": 1, "event": event, "eventReason": "PROMO",
                   "jobCode": job_code, "lastModifiedDateTime": self._now()}
            self._data["EmpJob"][self.model["EmpJob"].record_key(row)] = row

    def add_applications(self, n: int, status: str = "Applied") -> list[int]:
        """Create ``n`` new candidates, each with a resume and one application at ``status``."""
        if status not in seeding.STATUSES:
            raise ValueError(f"unknown status {status!r}; known: {', '.join(seeding.STATUSES)}")
        ids = []
        with self._lock:
            reqs = list(self._data["JobRequisition"].values())
            for _ in range(n):
                cand_id = max(self._data["Candidate"], default=10000) + 1
                cand = seeding.candidate(self._rng, cand_id)
                cand["creationDateTime"] = cand["lastModifiedDateTime"] = cand["privacyAcceptDateTime"] = self._now()
                req = self._rng.choice(reqs)
                title = (req["jobRole"], req["cust_jobTitleLocal"], req["cust_requiredSkills"].split(", "))
                att_id = max(self._data["Attachment"], default=50000) + 1
                app_id = max(self._data["JobApplication"], default=700000) + 1
                self._data["Candidate"][cand_id] = cand
                self._data["Attachment"][att_id] = seeding.resume(self._rng, att_id, cand, title)
                self._data["JobApplication"][app_id] = seeding.application(
                    self._rng, app_id, cand, req, status, when=self._now())
                ids.append(app_id)
        return ids

    def issue_token(self, lifetime: float = 3600.0) -> str:
        """A bearer token accepted on OData requests (what ``/oauth/token`` hands out)."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = time.monotonic() + lifetime
        return token

    def _now(self) -> datetime:
        """Now in UTC with ms precision, never before the previous stamp.

        Like SuccessFactors, records changed within one millisecond share a stamp: a stamp always is
        the wall-clock time of the change (a strictly increasing counter ran ahead of the clock by one
        millisecond per record, so bulk changes were stamped seconds in the future).
        """
        with self._lock:
            ms = max(int(time.time() * 1000), self._last_ms)
            self._last_ms = ms
        return datetime.fromtimestamp(ms / 1000, UTC)

    # -- HTTP ----------------------------------------------------------------------------------------

    def not_found(self, request: SandboxRequest) -> SandboxResponse:
        """Unknown paths answer like SAP's gateway."""
        return odata_error(404, "COE_RESOURCE_NOT_FOUND", f"[COE0018]Resource not found for the segment '{request.path}'.")

    def _authorised(self, request: SandboxRequest) -> bool:
        header = request.header("authorization") or ""
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(value).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return False
            expected = self.users.get(user)
            return expected is not None and secrets.compare_digest(expected, password)
        if scheme.lower() == "bearer":
            with self._lock:
                expires = self._tokens.get(value.strip())
            return expires is not None and expires > time.monotonic()
        return False

    def _guard(self, request: SandboxRequest) -> SandboxResponse | None:
        wait = self._budget.try_acquire() if self._budget else None
        if wait is not None:
            throttled = odata_error(429, "COE_TOO_MANY_REQUESTS", "[COE0050]Too many requests; retry after Retry-After seconds.")
            throttled.headers["Retry-After"] = str(max(1, int(wait + 0.999)))
            return throttled
        if self._authorised(request):
            return None
        return SandboxResponse(401, "Unauthorized: invalid or missing credentials",
                               {"WWW-Authenticate": 'Basic realm="SuccessFactors"'})

    def _entity(self, name: str) -> EntityModel:
        if name not in self.model:
            raise ODataFault(404, "COE_ENTITY_NOT_FOUND",
                             f"[COE0018]Entity '{name}' is not found. Please check the entity name and the upper/lower case.")
        return self.model[name]

    def _metadata(self, request: SandboxRequest) -> SandboxResponse:
        if (denied := self._guard(request)) is not None:
            return denied
        entity = request.path_params.get("entity")
        if entity and self.entity_metadata == "missing":
            return self.not_found(request)
        if entity and self.entity_metadata == "not-xml":
            return SandboxResponse(200, {"d": {"EntitySets": sorted(self.model)}})
        try:
            models = {entity: self._entity(entity)} if entity else self.model
        except ODataFault as fault:
            return fault.response()
        return SandboxResponse(200, metadata_document(models), {"Content-Type": "application/xml;charset=utf-8"})

    def _base(self, request: SandboxRequest) -> str:
        return f"http://{request.header('host') or f'{self.host}:{self.port}'}/odata/v2"

    def _serialise(self, model: EntityModel, record: dict[str, Any], base: str, select: list[str] | None,
                   expand: list[str] | None = None) -> dict[str, Any]:
        uri = f"{base}/{model.name}({_key_literal(model, record)})"
        offset = record.get("country") == "CN"
        out: dict[str, Any] = {"__metadata": {"uri": uri, "type": f"SFOData.{model.name}"}}
        names = select or list(model.props)
        for name in names:
            if name in model.props:
                out[name] = encode_value(model.props[name], record.get(name), offset)
        for nav in model.navs:
            if expand and nav in expand:
                out[nav] = self._expanded(model, record, nav, base)
            elif select is None or nav in select:
                out[nav] = {"__deferred": {"uri": f"{uri}/{nav}"}}
        return out

    def _resume_of(self, record: dict[str, Any]) -> dict[str, Any] | None:
        owner = str(record.get("candidateId"))
        found = [r for r in self._data["Attachment"].values() if r["documentEntityId"] == owner]
        return found[-1] if found else None

    def _expanded(self, model: EntityModel, record: dict[str, Any], nav: str, base: str) -> Any:
        """An expanded navigation property: the resume attachment, or an empty collection."""
        if nav != "resume":
            return {"results": []}
        resume = self._resume_of(record)
        return None if resume is None else self._serialise(self.model["Attachment"], resume, base, None)

    def _expand(self, model: EntityModel, text: str | None) -> list[str] | None:
        if not text:
            return None
        names = [n.strip() for n in text.split(",") if n.strip()]
        unknown = [n for n in names if n not in model.navs]
        if unknown:
            raise unknown_properties(model.name, unknown)
        return names

    def _get(self, request: SandboxRequest) -> SandboxResponse:
        if (denied := self._guard(request)) is not None:
            return denied
        try:
            model = self._entity(request.path_params["entity"])
            select = self._select(model, request.param("$select"))
            expand = self._expand(model, request.param("$expand"))
            base = self._base(request)
            if "key" in request.path_params:
                return self._single(model, request, select, base, expand)
            return self._collection(model, request, select, base, expand)
        except ODataFault as fault:
            return fault.response()

    def _select(self, model: EntityModel, text: str | None) -> list[str] | None:
        if not text:
            return None
        names = [n.strip() for n in text.split(",") if n.strip()]
        unknown = [n for n in names if n not in model.props and n not in model.navs]
        if unknown:
            raise unknown_properties(model.name, unknown)
        return names

    def _single(self, model: EntityModel, request: SandboxRequest, select: list[str] | None, base: str,
                expand: list[str] | None = None) -> SandboxResponse:
        raw = request.path_params["key"].split("=", 1)[-1].strip().rstrip("Ll").strip("'")
        key: Any = int(raw) if model.props[model.key].type == "Edm.Int64" and raw.lstrip("-").isdigit() else raw
        with self._lock:
            record = self._data[model.name].get(key)
            if record is None:
                raise ODataFault(404, "COE_RECORD_NOT_FOUND", f"[COE0025]{model.name} with key {model.key}={raw} was not found.")
            nav = request.path_params.get("nav")
            if nav is None:
                return SandboxResponse(200, {"d": self._serialise(model, record, base, select, expand)})
            if nav != "resume":
                if nav not in model.navs:
                    raise unknown_properties(model.name, [nav])
                return SandboxResponse(200, {"d": {"results": []}})
            resume = self._resume_of(record)
            if resume is None:
                return SandboxResponse(200, {"d": None})
            return SandboxResponse(200, {"d": self._serialise(self.model["Attachment"], resume, base, select)})

    def _collection(self, model: EntityModel, request: SandboxRequest, select: list[str] | None, base: str,
                    expand: list[str] | None = None) -> SandboxResponse:
        token = request.param("$skiptoken")
        try:
            size = min(int(request.param("customPageSize") or self.page_size), MAX_PAGE_SIZE)
            top = int(request.param("$top")) if request.param("$top") else None
            skip = int(request.param("$skip") or 0)
        except ValueError as exc:
            raise ODataFault(400, "COE_GENERAL_BAD_REQUEST", f"[COE0019]Invalid paging option: {exc}") from exc
        with self._lock:
            if token:
                snapshot_id, _, start_text = token.partition("-")
                keys = self._snapshots.get(snapshot_id)
                if keys is None or not start_text.isdigit():
                    raise ODataFault(400, "COE_INVALID_SKIPTOKEN", f"[COE0040]Invalid or expired $skiptoken '{token}'.")
                start = int(start_text)
            else:
                keys = self._matching_keys(model, request)[skip:]
                keys = keys[:top] if top is not None else keys
                snapshot_id, start = secrets.token_hex(6), 0
                if len(keys) > size:  # only multi-page reads need a snapshot to page through
                    self._snapshots[snapshot_id] = keys
                    while len(self._snapshots) > 200:
                        self._snapshots.pop(next(iter(self._snapshots)))
            table = self._data[model.name]
            page = [self._serialise(model, table[k], base, select, expand) for k in keys[start:start + size] if k in table]
        body: dict[str, Any] = {"results": page}
        if request.param("$inlinecount") == "allpages":
            body["__count"] = str(len(keys))
        if start + size < len(keys):
            params = [(k, v) for k, values in request.query.items() for v in values
                      if k not in ("$skiptoken", "$inlinecount", "$skip")]
            params.append(("$skiptoken", f"{snapshot_id}-{start + size}"))
            body["__next"] = f"{base}/{model.name}?{urlencode(params, safe='$,')}"
            if self.next_link is not None:
                body["__next"] = self.next_link(body["__next"])
        return SandboxResponse(200, {"d": body})

    def _matching_keys(self, model: EntityModel, request: SandboxRequest) -> list[Any]:
        rows = list(self._data[model.name].values())
        if request.param("$filter"):
            predicate = parse_filter(request.param("$filter"), model)
            rows = [r for r in rows if predicate(r)]
        order = request.param("$orderby")
        if order:
            for part in reversed([p.strip() for p in order.split(",") if p.strip()]):
                name, _, direction = part.partition(" ")
                if name not in model.props:
                    raise unknown_properties(model.name, [name])
                rows.sort(key=lambda r, n=name: (r.get(n) is None, r.get(n) if r.get(n) is not None else 0),
                          reverse=direction.strip().lower() == "desc")
        else:
            rows.sort(key=model.record_key)
        return [model.record_key(r) for r in rows]

    # -- upsert ----------------------------------------------------------------------------------

    def _upsert(self, request: SandboxRequest) -> SandboxResponse:
        if (denied := self._guard(request)) is not None:
            return denied
        try:
            body = request.json()
        except ValueError:
            return odata_error(400, "COE_GENERAL_BAD_REQUEST", "[COE0019]The request body is not valid JSON.")
        items = body if isinstance(body, list) else [body]
        results = [self._upsert_one(i, item) for i, item in enumerate(items)]
        return SandboxResponse(200, {"d": results})

    def _upsert_one(self, index: int, item: Any) -> dict[str, Any]:
        def result(key: str, message: str | None, code: int) -> dict[str, Any]:
            ok = message is None
            self.upsert_log.append({"index": index, "key": key, "status": "OK" if ok else "ERROR", "message": message,
                                    "fields": {k: v for k, v in item.items() if k != "__metadata"} if isinstance(item, dict) else None})
            return {"key": key, "status": "OK" if ok else "ERROR", "editStatus": "UPSERTED" if ok else None,
                    "message": message, "index": index, "httpCode": code, "inlineResults": None}

        if not isinstance(item, dict):
            return result("", "Each upsert record must be a JSON object.", 400)
        uri = str((item.get("__metadata") or {}).get("uri", ""))
        match = re.search(r"(\w+)\(([^)]*)\)$", uri)
        if not match:
            return result("", f"[COE0019]__metadata.uri {uri!r} does not name an entity and key.", 400)
        entity, raw_key = match.group(1), match.group(2).split("=", 1)[-1].strip().rstrip("Ll").strip("'")
        model = self.model.get(entity)
        if model is None or entity == "Attachment":
            return result(f"{entity}/{raw_key}", f"[COE0018]Entity '{entity}' is not found or not upsertable.", 404)
        key_text = f"{entity}/{model.key}={raw_key}"
        key: Any = int(raw_key) if model.props[model.key].type == "Edm.Int64" and raw_key.lstrip("-").isdigit() else raw_key
        changes = {}
        for name, value in item.items():
            if name in ("__metadata", model.key):
                continue
            prop = model.props.get(name)
            if prop is None:
                return result(key_text, unknown_properties(entity, [name]).message, 400)
            if not prop.updatable:
                return result(key_text, f"[COE0022]Property '{name}' of {entity} is read-only and cannot be upserted.", 400)
            try:
                changes[name] = decode_value(prop, value)
            except (TypeError, ValueError) as exc:
                return result(key_text, f"[COE0023]Invalid value for {entity}/{name}: {exc}.", 400)
        with self._lock:
            if key not in self._data[entity]:
                return result(key_text, f"[COE0025]{entity} with key {model.key}={raw_key} was not found.", 404)
            self.update(entity, key, **changes)
        return result(key_text, None, 200)

    # -- OAuth 2.0 SAML bearer -----------------------------------------------------------------------

    def _token(self, request: SandboxRequest) -> SandboxResponse:
        form = _form(request)
        client_id, company = form.get("client_id", ""), form.get("company_id", "")
        if form.get("grant_type") != SAML_GRANT:
            return SandboxResponse(400, {"error": "unsupported_grant_type", "error_description": f"grant_type must be {SAML_GRANT}"})
        if self.clients.get(client_id) != company:
            return SandboxResponse(401, {"error": "invalid_client",
                                         "error_description": f"client_id '{client_id}' is not registered for company '{company}'"})
        try:
            ET.fromstring(base64.b64decode(form.get("assertion", ""), validate=True))  # noqa: S314 - sandbox only
        except (binascii.Error, ET.ParseError, ValueError):
            return SandboxResponse(400, {"error": "invalid_grant", "error_description": "assertion is not base64-encoded SAML XML"})
        return SandboxResponse(200, {"access_token": self.issue_token(), "token_type": "Bearer", "expires_in": 3600})

    def _idp(self, request: SandboxRequest) -> SandboxResponse:
        """SAP's ``/oauth/idp``: build a SAML assertion for a registered client from its private key."""
        form = _form(request)
        if form.get("client_id") not in self.clients or not form.get("private_key") or not form.get("user_id"):
            return SandboxResponse(400, {"error": "invalid_request", "error_description": "client_id, user_id and private_key are required"})
        issued = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        xml = (f'<saml2:Assertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" IssueInstant="{issued}">'
               f"<saml2:Issuer>{form['client_id']}</saml2:Issuer><saml2:Subject><saml2:NameID>{form['user_id']}"
               "</saml2:NameID></saml2:Subject></saml2:Assertion>")
        return SandboxResponse(200, base64.b64encode(xml.encode("utf-8")).decode("ascii"), {"Content-Type": "text/plain"})


def _form(request: SandboxRequest) -> dict[str, str]:
    from urllib.parse import parse_qs

    parsed = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[0] for k, v in parsed.items()}
