"""Pure OData v2 helpers and SuccessFactors response parsing: dates, types, filters, cleaning, upsert results."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from connectors.errors import MalformedResponseError
from connectors.odata import (
    build_filter,
    clean_record,
    coerce_value,
    format_odata_datetime,
    odata_literal,
    parse_metadata,
    parse_odata_date,
    parse_odata_error,
    results_of,
    to_odata_date,
)
from connectors.successfactors import STREAMS, delta_since, parse_upsert_response
from tests.factories.successfactors import APPLICATION_TYPES, raw_application


def test_parse_plain_date_is_utc_epoch_milliseconds() -> None:
    assert parse_odata_date("/Date(1767225600000)/") == datetime(2026, 1, 1, tzinfo=UTC)


def test_parse_date_with_offset_keeps_the_utc_instant() -> None:
    parsed = parse_odata_date("/Date(1767225600123+0480)/")
    assert parsed == datetime(2026, 1, 1, 0, 0, 0, 123000, tzinfo=UTC)
    assert parsed.tzinfo is not None


def test_parse_negative_and_escaped_dates() -> None:
    assert parse_odata_date("/Date(-86400000)/") == datetime(1969, 12, 31, tzinfo=UTC)
    assert parse_odata_date("\\/Date(0)\\/") == datetime(1970, 1, 1, tzinfo=UTC)


def test_parse_iso_text_and_reject_garbage() -> None:
    assert parse_odata_date("2026-03-01T08:00:00+08:00") == datetime(2026, 3, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="not an OData date: 'yesterday'"):
        parse_odata_date("yesterday")


def test_date_round_trip_through_request_encoding() -> None:
    when = datetime(2026, 5, 4, 3, 2, 1, 5000, tzinfo=UTC)
    assert parse_odata_date(to_odata_date(when)) == when


def test_format_filter_datetime_converts_to_utc_and_keeps_milliseconds() -> None:
    local = datetime(2026, 1, 1, 8, 0, tzinfo=timezone(timedelta(hours=8)))
    assert format_odata_datetime(local) == "datetime'2026-01-01T00:00:00'"
    assert format_odata_datetime(datetime(2026, 1, 1, 0, 0, 0, 250000)) == "datetime'2026-01-01T00:00:00.250'"


def test_build_filter_from_since_and_fixed_filter() -> None:
    since = datetime(2026, 1, 1, tzinfo=UTC)
    assert build_filter("lastModifiedDateTime", since) == "lastModifiedDateTime gt datetime'2026-01-01T00:00:00'"
    assert build_filter("lastModifiedDateTime", since, "a eq 'b' or c eq 'd'") == (
        "lastModifiedDateTime gt datetime'2026-01-01T00:00:00' and (a eq 'b' or c eq 'd')")
    assert build_filter("lastModifiedDateTime", None, "documentCategory eq 'RESUME'") == "documentCategory eq 'RESUME'"
    assert build_filter("lastModifiedDateTime", None) is None


def test_literals_for_keys() -> None:
    assert odata_literal(700001) == "700001L"
    assert odata_literal("O'Brien") == "'O''Brien'"


def test_int64_strings_become_ints_only_when_typed() -> None:
    assert coerce_value("9007199254740993", "Edm.Int64") == 9007199254740993
    assert coerce_value("12345", "Edm.String") == "12345"
    assert coerce_value("87.5", "Edm.Decimal") == 87.5
    with pytest.raises(ValueError):
        coerce_value("abc", "Edm.Int64")


def test_clean_record_drops_metadata_and_deferred_keeps_custom_fields() -> None:
    raw = raw_application(cust_aiKeywords="Python, SQL", cust_aiOverallScore="91.0")
    cleaned = clean_record(raw, APPLICATION_TYPES)
    assert "__metadata" not in cleaned and "jobAppStatus" not in cleaned
    assert cleaned["applicationId"] == 700001 and cleaned["candidateId"] == 10001
    assert cleaned["lastModifiedDateTime"] == datetime(2026, 1, 1, tzinfo=UTC)
    assert cleaned["cust_aiKeywords"] == "Python, SQL"
    assert cleaned["cust_aiOverallScore"] == 91.0


def test_clean_record_flattens_expanded_navigation() -> None:
    raw = raw_application(jobAppStatus={"results": [{"__metadata": {}, "appStatusName": "Hired"}]})
    assert clean_record(raw, APPLICATION_TYPES)["jobAppStatus"] == [{"appStatusName": "Hired"}]


def test_clean_record_names_the_bad_field() -> None:
    with pytest.raises(ValueError, match="field 'candidateId'"):
        clean_record(raw_application(candidateId="not-a-number"), APPLICATION_TYPES)


@pytest.mark.parametrize(("value", "edm_type", "message"), [
    ("NaN", "Edm.Decimal", "not a finite Edm.Decimal"),
    ("Infinity", "Edm.Double", "not a finite"),
    ("1e999", "Edm.Decimal", "not a finite"),
    ("9" * 5000, "Edm.Int64", "5000 characters"),
    ("9" * 5000, "Edm.Decimal", "5000 characters"),
    ("9223372036854775808", "Edm.Int64", "out of the range of Edm.Int64"),
    (2 ** 31, "Edm.Int32", "out of the range of Edm.Int32"),
])
def test_values_outside_their_edm_type_are_refused(value: object, edm_type: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        coerce_value(value, edm_type)


def test_expanded_results_that_are_not_objects_name_the_property() -> None:
    with pytest.raises(ValueError, match="expanded 'jobAppStatus' item 1 is not an object"):
        clean_record(raw_application(jobAppStatus={"results": [{"a": 1}, "oops"]}), APPLICATION_TYPES)


def test_results_of_rejects_pages_without_d_results() -> None:
    assert results_of({"d": {"results": [{"a": 1}]}}, "X") == [{"a": 1}]
    with pytest.raises(MalformedResponseError, match="X: record 1 is not an object: 'text'"):
        results_of({"d": {"results": [{"a": 1}, "text"]}}, "X")
    with pytest.raises(MalformedResponseError, match="X page 2: response has no 'd' object"):
        results_of({"value": []}, "X page 2")
    with pytest.raises(MalformedResponseError, match="no 'd.results' list"):
        results_of({"d": {"applicationId": "1"}}, "X")


def test_parse_odata_error_body() -> None:
    body = '{"error":{"code":"COE_PROPERTY_NOT_FOUND","message":{"lang":"en-US","value":"[COE0021]Invalid property names: Candidate/x."}}}'
    assert parse_odata_error(body) == ("COE_PROPERTY_NOT_FOUND", "[COE0021]Invalid property names: Candidate/x.")
    assert parse_odata_error("<html>oops</html>") is None


def test_parse_metadata_reads_sets_keys_and_types() -> None:
    edmx = """<?xml version="1.0"?><edmx:Edmx xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx">
    <edmx:DataServices><Schema Namespace="SFOData" xmlns="http://schemas.microsoft.com/ado/2008/09/edm">
    <EntityType Name="JobApplication"><Key><PropertyRef Name="applicationId"/></Key>
    <Property Name="applicationId" Type="Edm.Int64"/><Property Name="status" Type="Edm.String"/>
    <NavigationProperty Name="jobAppStatus"/></EntityType>
    <EntityContainer Name="C"><EntitySet Name="JobApplication" EntityType="SFOData.JobApplication"/></EntityContainer>
    </Schema></edmx:DataServices></edmx:Edmx>"""
    entity = parse_metadata(edmx).entity_sets["JobApplication"]
    assert entity.key == ["applicationId"]
    assert entity.properties == {"applicationId": "Edm.Int64", "status": "Edm.String"}
    assert entity.navigation == {"jobAppStatus"}
    with pytest.raises(MalformedResponseError):
        parse_metadata("not xml")


def test_upsert_response_mixed_results_are_not_success() -> None:
    body = {"d": [
        {"key": "JobApplication/applicationId=1", "status": "OK", "editStatus": "UPSERTED", "index": 0, "httpCode": 200},
        {"key": "JobApplication/applicationId=2", "status": "ERROR", "message": "Invalid property names", "index": 1, "httpCode": 400},
    ]}
    result = parse_upsert_response(body, [1, 2, 3])
    assert result.ok == [1]
    assert result.failed[0] == (2, "Invalid property names (HTTP 400)")
    assert result.failed[1] == (3, "no status returned for this record")
    assert not result.all_ok


def test_upsert_response_without_d_is_malformed() -> None:
    with pytest.raises(MalformedResponseError):
        parse_upsert_response({"error": "x"}, [1])


def test_delta_since_applies_lookback() -> None:
    cursor = datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert delta_since(cursor, timedelta(minutes=10)) == datetime(2026, 1, 1, 11, 50, tzinfo=UTC)
    assert delta_since(None, timedelta(minutes=10)) is None


def test_streams_are_declared_as_data() -> None:
    assert {s.entity_set for s in STREAMS.values()} == {"Candidate", "JobApplication", "JobRequisition", "Attachment"}
    assert STREAMS["resumes"].filter == "documentCategory eq 'RESUME'"
    assert all(s.cursor_field == "lastModifiedDateTime" for s in STREAMS.values())
