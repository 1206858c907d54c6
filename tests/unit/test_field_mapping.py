"""The YAML field mapping: canonical rows, custom fields kept, quarantine with rules, dedupe."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml

from hrbridge.settings import PACKAGE_CONFIGS
from tests.factories.recruiting import BASE_TIME, sf_application
from transforms.field_mapping import MappingError, map_records, parse_mapping


@pytest.fixture(scope="module")
def mapping():
    document = yaml.safe_load((PACKAGE_CONFIGS / "mappings" / "successfactors.yaml").read_text())
    return parse_mapping(document, "successfactors.yaml")


def test_maps_application_and_keeps_custom_fields(mapping) -> None:
    batch = map_records([sf_application(7, status="AI Interview")], mapping["applications"])
    assert batch.quarantined == [] and batch.read == 1
    row = batch.rows[0]
    assert row["application_id"] == "7" and row["candidate_id"] == "507" and row["requisition_id"] == "42"
    assert row["status"] == "AI Interview"
    assert row["last_modified"].tzinfo is not None
    assert row["extras"] == {"cust_aiInterviewStatus": None, "cust_referralSource": "campus"}
    assert "firstName" not in row["extras"]


def test_select_lists_mapped_and_extra_fields(mapping) -> None:
    fields = mapping["applications"].select_fields()
    assert fields[:3] == ["applicationId", "candidateId", "jobReqId"]
    assert "cust_aiInterviewStatus" in fields and len(fields) == len(set(fields))
    assert "fileContent" in mapping["resumes"].select_fields()


def test_missing_required_field_is_quarantined_with_rule(mapping) -> None:
    bad = sf_application(8, status=None)
    batch = map_records([bad, sf_application(9)], mapping["applications"])
    assert [r["application_id"] for r in batch.rows] == ["9"]
    (q,) = batch.quarantined
    assert (q.rule, q.field, q.record_key) == ("required", "status", "8")
    assert "applications record 8" in q.message  # the stream's one name
    assert q.raw["applicationId"] == 8 and isinstance(q.raw["lastModifiedDateTime"], str)


def test_bad_type_is_quarantined(mapping) -> None:
    batch = map_records([sf_application(10, lastModifiedDateTime="yesterday")], mapping["applications"])
    (q,) = batch.quarantined
    assert q.rule == "type:datetime" and q.field == "lastModifiedDateTime"
    batch = map_records([sf_application(11, candidateId={"nested": 1})], mapping["applications"])
    assert batch.quarantined[0].rule == "type:string"


def test_duplicates_collapse_to_latest_and_counts_reconcile(mapping) -> None:
    older = sf_application(12, status="Applied", lastModifiedDateTime=BASE_TIME)
    newer = sf_application(12, status="AI Interview", lastModifiedDateTime=BASE_TIME + timedelta(hours=1))
    batch = map_records([newer, older, sf_application(13), sf_application(14, status="")],
                        mapping["applications"])
    assert batch.deduplicated == 1
    assert {r["application_id"]: r["status"] for r in batch.rows}["12"] == "AI Interview"
    assert batch.read == len(batch.rows) + len(batch.quarantined) + batch.deduplicated == 4


def test_iso_strings_and_numeric_strings_are_coerced(mapping) -> None:
    batch = map_records([sf_application(15, applicationId="15", lastModifiedDateTime="2026-03-01T10:00:00Z")],
                        mapping["applications"])
    assert batch.rows[0]["application_id"] == "15"
    assert batch.rows[0]["last_modified"].isoformat() == "2026-03-01T10:00:00+00:00"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({}, "'streams'"),
        ({"streams": {"x": {"entity": "nope", "fields": {"a": "b"}}}}, "unknown entity 'nope'"),
        ({"streams": {"x": {"entity": "requisition", "fields": {"requisition_id": "id", "bogus": "b",
                                                                "last_modified": "m"}}}},
         "'bogus' is not a field of requisition"),
        ({"streams": {"x": {"entity": "requisition", "fields": {"title": "t"}}}},
         "required canonical fields not mapped"),
        ({"streams": {"x": {"entity": "requisition", "fields": {
            "requisition_id": {"source": "id", "type": "decimal"}, "last_modified": "m"}}}}, "unknown type"),
    ],
)
def test_bad_mapping_documents_name_the_problem(document, message) -> None:
    with pytest.raises(MappingError, match=message):
        parse_mapping(document, "test.yaml")


def test_unknown_stream_name_lists_known(mapping) -> None:
    with pytest.raises(MappingError, match="known"):
        mapping["offers"]


def test_declared_extra_fields_are_kept_in_extras(mapping) -> None:
    hired = {**sf_application(9, status="Hired"), "hireDate": BASE_TIME, "owner": "recruiter-1"}
    (row,) = map_records([hired], mapping["applications"]).rows
    assert "hireDate" in mapping["applications"].select_fields()
    assert row["extras"]["hireDate"] == BASE_TIME.isoformat()  # JSON-ready text
    assert "owner" not in row["extras"]  # neither custom nor declared: not kept
