"""Hired applications → employee-archive records (person, employment, interview portraits).

Pure functions: a YAML mapping names, per archive column, the hub path(s) it comes from; the
person key recognises one person across rehires (normalised e-mail under a keyed HMAC, or
candidate id); and every record carries a content hash so a rerun can tell "unchanged" from
"changed" without touching the database. Secrets (the pepper) are passed in; nothing here reads
files.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


class ArchiveMappingError(ValueError):
    """The mapping is malformed or a record lacks what it needs; the message names both."""


def lookup(sources: Mapping[str, Any], path: str) -> Any:
    """Follow a dotted path such as ``application.extras.hireDate``; None when any step is missing."""
    value: Any = sources
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _first(sources: Mapping[str, Any], spec: str | Sequence[str]) -> Any:
    paths = [spec] if isinstance(spec, str) else list(spec)
    for path in paths:
        value = lookup(sources, path)
        if value not in (None, ""):
            return value
    return None


def map_fields(sources: Mapping[str, Any], mapping: Mapping[str, Any]) -> dict[str, Any]:
    """Apply one section of the mapping (column → path or list of paths) to ``sources``."""
    return {column: _first(sources, spec) for column, spec in mapping.items()}


def normalise_email(value: Any) -> str | None:
    """Trimmed, lower-cased e-mail, or None when the value is not an address."""
    if not isinstance(value, str) or "@" not in value:
        return None
    return value.strip().lower() or None


def email_key(email: str, pepper: bytes) -> str:
    """``email:`` + HMAC-SHA256 of the normalised e-mail under ``pepper`` (first 32 hex digits).

    Keyed, so the key cannot be reversed by hashing a list of likely addresses without the pepper.
    """
    digest = hmac.new(pepper, email.encode("utf-8"), hashlib.sha256).hexdigest()
    return "email:" + digest[:32]


def legacy_email_key(email: str) -> str:
    """The unkeyed key earlier versions used (``sha256`` prefix): only to find and re-key old rows."""
    return "email:" + hashlib.sha256(email.encode("utf-8")).hexdigest()[:32]


def person_key(candidate: Mapping[str, Any], strategies: Sequence[str], pepper: bytes | None = None) -> str:
    """The archive's natural key for the person behind ``candidate`` (first strategy with a value).

    ``email`` gives :func:`email_key` (needs ``pepper``) so the key itself carries no personal data.
    """
    for strategy in strategies:
        if strategy == "email":
            email = normalise_email(candidate.get("email"))
            if email:
                if not pepper:
                    raise ArchiveMappingError("person_key strategy 'email' needs the archive pepper")
                return email_key(email, pepper)
        elif strategy == "candidate_id":
            if candidate.get("candidate_id"):
                return f"candidate:{candidate['candidate_id']}"
        else:
            raise ArchiveMappingError(f"configs/archive.yaml person_key: unknown strategy {strategy!r}")
    raise ArchiveMappingError(
        f"candidate {candidate.get('candidate_id')!r} has no value for any person_key strategy {list(strategies)}"
    )


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def content_hash(record: Mapping[str, Any], exclude: Sequence[str] = (), key: bytes | None = None) -> str:
    """SHA-256 of the record's canonical JSON (sorted keys), ignoring ``exclude`` columns.

    With ``key`` it is an HMAC-SHA256, for records holding personal data (a plain hash of a few
    known fields could be matched against guesses).
    """
    data = {k: _plain(v) for k, v in record.items() if k not in exclude}
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    if key:
        return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def to_date(value: Any) -> date | None:
    """A hire date from a date, datetime or ISO string; None when absent or unreadable."""
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, datetime):
        return value.date()
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).date()
    except ValueError:
        return None


def portrait(result: Mapping[str, Any]) -> dict[str, Any]:
    """The interview portrait kept in the archive for one stored result."""
    return {
        "result_id": result["result_id"],
        "application_id": result["application_id"],
        "candidate_id": result.get("candidate_id"),
        "completed_at": _plain(result.get("completed_at")),
        "job_family": result.get("job_family"),
        "overall_score": result.get("overall_score"),
        "dimension_scores": {d["name"]: d.get("score") for d in result.get("dimensions") or [] if d.get("name")},
        "dimension_comments": {d["name"]: d.get("comment") for d in result.get("dimensions") or []
                               if d.get("name") and d.get("comment")},
        "keywords": list(result.get("keywords") or []),
        "interviewer_comments": result.get("interviewer_comments"),
        "clip_refs": [{"clip_id": c.get("clip_id"), "dimension": c.get("dimension"), "url": c.get("url"),
                       "expires_at": c.get("expires_at")} for c in result.get("clips") or []],
        "report_url": result.get("report_url"),
        "match_percent": result.get("match_percent"),
        "match_report": result.get("match_report"),
        "model_version": result.get("model_version"),
    }


@dataclass
class ArchiveRecords:
    """Everything one hire puts into the archive."""

    person: dict[str, Any]
    employment: dict[str, Any]
    portraits: list[dict[str, Any]] = field(default_factory=list)


def map_hire(
    application: Mapping[str, Any],
    candidate: Mapping[str, Any] | None,
    requisition: Mapping[str, Any] | None,
    results: Sequence[Mapping[str, Any]],
    config: Mapping[str, Any],
    *,
    pepper: bytes | None = None,
) -> ArchiveRecords:
    """Map one hired application (with its candidate, requisition and stored results) to archive rows.

    ``pepper`` keys the e-mail person key and the person's content hash (see :func:`email_key`).
    """
    mapping = config.get("mapping") or {}
    if not isinstance(mapping.get("person"), Mapping) or not isinstance(mapping.get("employment"), Mapping):
        raise ArchiveMappingError("configs/archive.yaml mapping needs 'person' and 'employment' sections")
    sources = {"application": application, "candidate": candidate or {}, "requisition": requisition or {}}
    person = map_fields(sources, mapping["person"])
    if "candidate_id" in person and not person["candidate_id"]:
        person["candidate_id"] = application.get("candidate_id")  # the subject whose key seals contacts
    key = person_key({**person, "candidate_id": person.get("candidate_id") or application.get("candidate_id")},
                     config.get("person_key") or ["candidate_id"], pepper)
    person["person_key"] = key
    person["content_hash"] = content_hash(person, key=pepper)
    employment = map_fields(sources, mapping["employment"])
    employment["hire_date"] = to_date(employment.get("hire_date"))
    employment.update(application_id=str(application["application_id"]), person_key=key)
    employment["content_hash"] = content_hash(employment)
    portraits = []
    for result in sorted(results, key=lambda r: str(r.get("completed_at"))):
        row = portrait(result)
        row["person_key"] = key
        row["content_hash"] = content_hash(row)
        portraits.append(row)
    return ArchiveRecords(person=person, employment=employment, portraits=portraits)
