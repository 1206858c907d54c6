"""Archive mapping: paths with fallbacks, person keys across rehires, content hashes, portraits."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, date, datetime

import pytest

from transforms.archive_mapping import (
    ArchiveMappingError,
    content_hash,
    legacy_email_key,
    lookup,
    map_hire,
    person_key,
    to_date,
)

PEPPER = b"0123456789abcdef-test-pepper"
CONFIG = {
    "person_key": ["email", "candidate_id"],
    "mapping": {
        "person": {"candidate_id": "candidate.candidate_id", "email": ["candidate.email", "application.email"],
                   "first_name": "candidate.first_name"},
        "employment": {"position_title": "requisition.title",
                       "hire_date": ["application.extras.hireDate", "application.last_modified"]},
    },
}


def test_lookup_follows_paths_and_missing_steps_give_none() -> None:
    sources = {"application": {"extras": {"hireDate": "2026-01-05"}}}
    assert lookup(sources, "application.extras.hireDate") == "2026-01-05"
    assert lookup(sources, "application.extras.nothing") is None
    assert lookup(sources, "candidate.email") is None


def test_person_key_normalises_email_and_hides_it() -> None:
    a = person_key({"email": " Mei.Chen@Example.com", "candidate_id": "1"}, ["email", "candidate_id"], PEPPER)
    b = person_key({"email": "mei.chen@example.com", "candidate_id": "2"}, ["email", "candidate_id"], PEPPER)
    assert a == b and a.startswith("email:") and "mei" not in a
    assert person_key({"email": None, "candidate_id": "7"}, ["email", "candidate_id"]) == "candidate:7"
    with pytest.raises(ArchiveMappingError, match="no value"):
        person_key({"email": "not-an-address"}, ["email"], PEPPER)
    with pytest.raises(ArchiveMappingError, match="unknown strategy"):
        person_key({"candidate_id": "1"}, ["passport"])


def test_person_key_is_a_keyed_hmac_not_a_plain_hash() -> None:
    email = "mei.chen@example.com"
    key = person_key({"email": email}, ["email"], PEPPER)
    assert key == person_key({"email": "MEI.CHEN@example.com "}, ["email"], PEPPER)  # same person on rehire
    assert key != "email:" + hashlib.sha256(email.encode()).hexdigest()[:32]
    assert legacy_email_key(email) == "email:" + hashlib.sha256(email.encode()).hexdigest()[:32]
    assert key == "email:" + hmac.new(PEPPER, email.encode(), hashlib.sha256).hexdigest()[:32]
    assert person_key({"email": email}, ["email"], b"another pepper") != key
    with pytest.raises(ArchiveMappingError, match="pepper"):
        person_key({"email": email}, ["email"])


def test_content_hash_is_order_independent_and_sensitive() -> None:
    assert content_hash({"a": 1, "b": 2}) == content_hash({"b": 2, "a": 1})
    assert content_hash({"a": 1}) != content_hash({"a": 2})
    assert content_hash({"a": 1, "t": "x"}, exclude=["t"]) == content_hash({"a": 1})
    assert content_hash({"a": 1}, key=PEPPER) != content_hash({"a": 1})
    assert content_hash({"a": 1}, key=PEPPER) != content_hash({"a": 1}, key=b"other")


def test_to_date_accepts_dates_datetimes_and_iso() -> None:
    assert to_date(datetime(2026, 3, 1, 23, tzinfo=UTC)) == date(2026, 3, 1)
    assert to_date("2026-03-01T10:00:00Z") == date(2026, 3, 1)
    assert to_date(date(2026, 3, 1)) == date(2026, 3, 1)
    assert to_date("soon") is None and to_date(None) is None


def test_map_hire_builds_person_employment_and_portraits() -> None:
    application = {"application_id": 42, "candidate_id": "C1", "email": "x@example.com",
                   "last_modified": datetime(2026, 2, 2, tzinfo=UTC), "extras": {}}
    result = {"result_id": "R1", "application_id": "42", "completed_at": "2026-01-01T00:00:00Z",
              "overall_score": 70.0, "dimensions": [{"name": "communication", "score": 70, "comment": "ok"}],
              "keywords": ["crm"], "clips": [{"clip_id": "c1", "url": "https://m/c1", "dimension": "communication"}],
              "match_percent": 66.0, "match_report": {"match_percent": 66.0}}
    records = map_hire(application, {"candidate_id": "C1", "email": None, "first_name": "Mei"},
                       {"title": "Sales Lead"}, [result], CONFIG, pepper=PEPPER)
    assert records.person["email"] == "x@example.com"  # fallback to the application's e-mail
    assert records.employment["application_id"] == "42" and records.employment["hire_date"] == date(2026, 2, 2)
    assert records.employment["position_title"] == "Sales Lead"
    (portrait,) = records.portraits
    assert portrait["dimension_scores"] == {"communication": 70}
    assert portrait["clip_refs"][0]["clip_id"] == "c1" and portrait["person_key"] == records.person["person_key"]


def test_mapping_without_sections_is_a_clear_error() -> None:
    with pytest.raises(ArchiveMappingError, match="'person' and 'employment'"):
        map_hire({"application_id": 1}, None, None, [], {"mapping": {}})
