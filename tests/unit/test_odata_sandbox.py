"""The sandbox's OData pieces without HTTP: metadata model, $filter compiler, value encoding."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.odata import parse_metadata, parse_odata_date
from sandbox.successfactors import (
    ODataFault,
    Prop,
    decode_value,
    encode_value,
    load_model,
    metadata_document,
    parse_filter,
)

MODEL = load_model()["JobApplication"]
ROWS = [
    {"applicationId": 1, "status": "Hired", "lastModifiedDateTime": datetime(2026, 1, 2, tzinfo=UTC), "jobReqId": 301},
    {"applicationId": 2, "status": "Applied", "lastModifiedDateTime": datetime(2025, 12, 31, tzinfo=UTC), "jobReqId": 302},
    {"applicationId": 3, "status": "O'Neil", "lastModifiedDateTime": None, "jobReqId": 301},
]


def matching(text: str) -> list[int]:
    predicate = parse_filter(text, MODEL)
    return [r["applicationId"] for r in ROWS if predicate(r)]


def test_model_follows_published_metadata_plus_extensions() -> None:
    models = load_model()
    assert models["JobApplication"].key == "applicationId"
    assert models["JobApplication"].props["applicationId"].type == "Edm.Int64"
    assert models["JobApplication"].props["cust_aiInterviewLink"].updatable
    assert not models["JobApplication"].props["lastModifiedDateTime"].updatable
    assert models["JobRequisition"].props["jobReqId"].type == "Edm.Int64"
    assert models["JobRequisition"].props["lastModifiedDateTime"].type == "Edm.DateTimeOffset"
    assert "resume" in models["Candidate"].navs


def test_metadata_document_round_trips_through_the_connector_parser() -> None:
    parsed = parse_metadata(metadata_document(load_model())).entity_sets
    assert set(parsed) == {"Candidate", "JobApplication", "JobRequisition", "Attachment", "FormHeader",
                           "EmpEmploymentTermination", "EmpJob"}
    assert parsed["JobApplication"].properties["cust_aiOverallScore"] == "Edm.Decimal"
    assert parsed["Attachment"].key == ["attachmentId"]
    # Employee Central keys are composite, as SAP publishes them
    assert parsed["EmpEmploymentTermination"].key == ["endDate", "personIdExternal", "userId"]
    assert parsed["EmpJob"].properties["startDate"] == "Edm.DateTimeOffset"


@pytest.mark.parametrize(("text", "expected"), [
    ("lastModifiedDateTime gt datetime'2026-01-01T00:00:00'", [1]),
    ("lastModifiedDateTime ge datetimeoffset'2025-12-31T00:00:00Z'", [1, 2]),
    ("status eq 'Hired' and jobReqId eq 301", [1]),
    ("status eq 'Hired' or status eq 'Applied'", [1, 2]),
    ("(status ne 'Hired') and jobReqId eq 301L", [3]),
    ("status eq 'O''Neil'", [3]),
    ("lastModifiedDateTime eq null", [3]),
])
def test_filter_expressions(text: str, expected: list[int]) -> None:
    assert matching(text) == expected


@pytest.mark.parametrize("text", ["status eq", "status like 'x'", "(status eq 'x'", "status eq 'x' nonsense", "shoe eq 1"])
def test_bad_filters_are_400(text: str) -> None:
    with pytest.raises(ODataFault) as info:
        parse_filter(text, MODEL)
    assert info.value.status == 400


def test_values_encode_like_successfactors_and_decode_back() -> None:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    date = Prop("d", "Edm.DateTimeOffset")
    assert encode_value(date, when, offset=False) == "/Date(1767225600000)/"
    assert parse_odata_date(encode_value(date, when, offset=True)) == when
    assert encode_value(Prop("i", "Edm.Int64"), 42, offset=False) == "42"
    assert decode_value(Prop("i", "Edm.Int64"), "42") == 42
    with pytest.raises(ValueError, match="maximum length is 3"):
        decode_value(Prop("s", "Edm.String", max_length=3), "abcd")
    with pytest.raises(ValueError, match="true or false"):
        decode_value(Prop("b", "Edm.Boolean"), "yes")
