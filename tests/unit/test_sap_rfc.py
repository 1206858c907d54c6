"""SAP HCM over RFC: missing SDK, ABAP type conversion, RETURN checks, streams through recorded BAPI answers, CLI."""

from __future__ import annotations

import csv
import importlib.util
import json
import logging
import os
import subprocess
import sys
import time
from datetime import date
from datetime import time as dtime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from connectors.errors import AuthenticationError, ConnectorError, MalformedResponseError, UnreachableError
from connectors.sap_rfc import (
    SDK_MESSAGE,
    STREAMS,
    BapiError,
    RfcDataError,
    RfcParams,
    RfcSdkMissingError,
    SapHcmConnector,
    check_return,
    convert,
    normalise_key,
    open_connection,
)
from hrbridge.cli import main
from hrbridge.commands.extract import write_sap_stream
from tests.factories.sap_rfc import (
    RecordedConnection,
    applicant_status_answer,
    bapiret2,
    bapireturn,
    bapireturn1,
    employee_answer,
    employee_search_answer,
    pernr,
    persdata_answer,
)

PYRFC_INSTALLED = importlib.util.find_spec("pyrfc") is not None
needs_no_pyrfc = pytest.mark.skipif(PYRFC_INSTALLED, reason="pyrfc is installed: the missing-SDK path cannot occur")

PARAMS = RfcParams(ashost="hcm.example.com", sysnr="00", client="100", user="RFC_HR", passwd="s3cret-Pw")


# --- missing SDK ----------------------------------------------------------------------------------


@needs_no_pyrfc
def test_open_connection_without_pyrfc_names_the_sdk_and_the_steps() -> None:
    with pytest.raises(RfcSdkMissingError) as caught:
        open_connection(PARAMS)
    text = str(caught.value)
    assert "pyrfc" in text and "SAP NW RFC SDK 7.50" in text and "SAPNWRFC_HOME" in text
    assert "docs/sap-hcm.md" in text and "No module named 'pyrfc'" in text
    assert "s3cret-Pw" not in text
    assert isinstance(caught.value, ConnectorError)


@needs_no_pyrfc
def test_connector_connect_fails_the_same_way() -> None:
    with pytest.raises(RfcSdkMissingError, match="SAP NW RFC SDK"):
        SapHcmConnector.connect(PARAMS)


# --- parameters -----------------------------------------------------------------------------------


def test_params_hide_the_password_and_validate_fields() -> None:
    assert "s3cret-Pw" not in repr(PARAMS)
    assert PARAMS.as_pyrfc_kwargs() == {"ashost": "hcm.example.com", "sysnr": "00", "client": "100",
                                        "user": "RFC_HR", "passwd": "s3cret-Pw", "lang": "EN"}
    with pytest.raises(ValueError, match="system number must be two digits"):
        RfcParams(ashost="h", sysnr="0", client="100", user="u", passwd="p")
    with pytest.raises(ValueError, match="client must be three digits"):
        RfcParams(ashost="h", sysnr="00", client="1", user="u", passwd="p")
    with pytest.raises(ValueError, match="missing passwd"):
        RfcParams(ashost="h", sysnr="00", client="100", user="u", passwd="")


def test_params_from_env_and_from_airflow_connection_fields() -> None:
    env = {"HRBRIDGE_RFC_ASHOST": "h1", "HRBRIDGE_RFC_SYSNR": "01", "HRBRIDGE_RFC_CLIENT": "200",
           "HRBRIDGE_RFC_USER": "U", "HRBRIDGE_RFC_PASSWORD": "pw", "HRBRIDGE_RFC_LANG": "DE"}
    assert RfcParams.from_env(env) == RfcParams("h1", "01", "200", "U", "pw", "DE")
    conn = RfcParams.from_connection("h2", "U2", "pw2", {"sysnr": "02", "client": 300, "saprouter": "/H/r/S/3299"})
    assert (conn.ashost, conn.sysnr, conn.client, conn.lang) == ("h2", "02", "300", "EN")
    assert conn.as_pyrfc_kwargs()["saprouter"] == "/H/r/S/3299"


# --- type conversion ------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "abap_type", "expected"), [
    ("00001234", "ID", "00001234"),
    ("00000000", "ID", None),
    ("", "ID", None),
    ("007", "NUMC", 7),
    ("   ", "NUMC", None),
    ("20240229", "DATS", date(2024, 2, 29)),
    ("00000000", "DATS", None),
    ("", "DATS", None),
    ("99991231", "DATS", date(9999, 12, 31)),
    (date(2020, 1, 1), "DATS", date(2020, 1, 1)),
    ("235959", "TIMS", dtime(23, 59, 59)),
    ("000000", "TIMS", dtime(0, 0)),
    ("Meyer                 ", "CHAR", "Meyer"),
    ("    ", "CHAR", None),
    (None, "CHAR", None),
    (3, "INT", 3),
])
def test_convert(value: object, abap_type: str, expected: object) -> None:
    assert convert(value, abap_type, "T") == expected


@pytest.mark.parametrize(("value", "abap_type", "message"), [
    ("20230230", "DATS", "not a calendar date"),
    ("2023-01-01", "DATS", "not YYYYMMDD"),
    ("12AB", "NUMC", "not digits"),
    ("256000", "TIMS", "not a time of day"),
    ("12:00", "TIMS", "not HHMMSS"),
])
def test_convert_rejects_values_naming_where(value: str, abap_type: str, message: str) -> None:
    with pytest.raises(RfcDataError, match=f"PERSONALDATA row 3 FIELD: .*{message}"):
        convert(value, abap_type, "PERSONALDATA row 3 FIELD")


def test_normalise_key_pads_numc8_and_rejects_others() -> None:
    assert normalise_key(1234, 8) == "00001234"
    with pytest.raises(ValueError, match="at most 8 digits"):
        normalise_key("123456789", 8)
    with pytest.raises(ValueError, match="at most 8 digits"):
        normalise_key("12a", 8)


# --- RETURN messages ------------------------------------------------------------------------------


@pytest.mark.parametrize("ret", [bapireturn(), bapireturn1(), [], None,
                                 [bapiret2("S", "Data read"), bapiret2("I", "Info")]])
def test_success_and_empty_returns_pass(ret: object) -> None:
    assert check_return("BAPI_X", ret) == []


@pytest.mark.parametrize("msg_type", ["E", "A"])
def test_error_and_abort_raise_naming_bapi_key_and_message(msg_type: str) -> None:
    ret = [bapiret2("S", "ok"), bapiret2(msg_type, "No read authorization for record", "PG", "185")]
    with pytest.raises(BapiError) as caught:
        check_return("BAPI_PERSDATA_GETDETAILEDLIST", ret, key="00001234")
    err = caught.value
    assert str(err) == (f"BAPI_PERSDATA_GETDETAILEDLIST for 00001234 returned {msg_type} [PG 185]: "
                        "No read authorization for record")
    assert (err.function, err.msg_type, err.msg_id, err.number) == ("BAPI_PERSDATA_GETDETAILEDLIST", msg_type,
                                                                    "PG", "185")


def test_bapireturn_code_is_used_as_message_id() -> None:
    with pytest.raises(BapiError, match=r"returned E \[PB004\]: Applicant does not exist"):
        check_return("BAPI_APPLICANT_GETSTATUS", bapireturn("E", "Applicant does not exist", "PB004"))


def test_warning_is_logged_masked(caplog: pytest.LogCaptureFixture) -> None:
    ret = bapireturn1("W", "E-mail anna.meyer@example.com and phone 01761234567 not verified", "PG", "042")
    with caplog.at_level(logging.WARNING, logger="connectors.sap_rfc"):
        warnings = check_return("BAPI_PERSDATA_GETDETAILEDLIST", ret, key="00000007")
    assert len(warnings) == 1
    logged = caplog.text
    assert "a***@example.com" in logged and "*******4567" in logged
    assert "anna.meyer" not in logged and "01761234567" not in logged
    assert "BAPI_PERSDATA_GETDETAILEDLIST for 00000007 warning [PG 042]" in logged


# --- streams through recorded answers -------------------------------------------------------------


def test_personal_data_stream_pages_and_counts_reconcile() -> None:
    answers = {("BAPI_PERSDATA_GETDETAILEDLIST", pernr(n)): persdata_answer(n, rows=1 + n % 3) for n in range(1, 8)}
    conn = RecordedConnection(answers)
    connector = SapHcmConnector(conn, page_size=4)
    pages = list(connector.read_pages("personal_data", [str(n) for n in range(1, 8)]))
    expected_rows = sum(1 + n % 3 for n in range(1, 8))
    records = [r for page in pages for r in page]
    assert [len(p) for p in pages] == [4] * (expected_rows // 4) + ([expected_rows % 4] if expected_rows % 4 else [])
    assert connector.stats.calls == 7 and len(conn.calls) == 7
    assert connector.stats.rows == connector.stats.records == len(records) == expected_rows
    assert connector.stats.records == connector.stats.rows + connector.stats.empty_answers
    assert connector.stats.pages == len(pages)
    first_call = conn.calls[0]
    assert first_call == ("BAPI_PERSDATA_GETDETAILEDLIST", {"TIMEINTERVALLOW": "18000101",
                                                            "TIMEINTERVALHIGH": "99991231",
                                                            "EMPLOYEENUMBER": "00000001"})
    one = records[0]
    assert one["employee_id"] == "00000001" and one["last_name"] == "Meyer1" and one["first_name"] == "Anna"
    assert one["birth_date"] == date(1990, 4, 12) and one["valid_from"] == date(2020, 1, 1)
    assert one["record_number"] == 0 and one["locale"] == "EN" and one["nationality"] == "DE"
    assert one["subtype"] is None
    assert set(one) == set(STREAMS["personal_data"].columns)


def test_employee_stream_joins_org_assignment_and_reads_empty_dates() -> None:
    conn = RecordedConnection({"BAPI_EMPLOYEE_GETDATA": lambda **p: employee_answer(int(p["EMPLOYEE_ID"]))})
    connector = SapHcmConnector(conn)
    (page,) = list(connector.read_pages("employees", ["42", "00000043"]))
    assert [r["employee_id"] for r in page] == ["00000042", "00000043"]
    first = page[0]
    assert first["birth_date"] is None  # DATS 00000000
    assert first["valid_to"] == date(9999, 12, 31)
    assert (first["company_code"], first["org_unit"], first["department"], first["job_title"]) == (
        "1000", "50000590", "Recruiting", "HR Specialist")
    assert first["cost_center"] == "0000004100"
    assert conn.calls[0][1]["AUTHORITY_CHECK"] == "X"


def test_applicant_status_one_record_per_vacancy_and_one_for_none() -> None:
    conn = RecordedConnection({
        ("BAPI_APPLICANT_GETSTATUS", "00000501"): applicant_status_answer(501, (("50000123", "2"), ("50000124", "4"))),
        ("BAPI_APPLICANT_GETSTATUS", "00000502"): applicant_status_answer(502, ()),
    })
    connector = SapHcmConnector(conn)
    records = [r for page in connector.read_pages("applicant_status", [501, 502]) for r in page]
    assert [(r["application_id"], r["candidate_id"], r["requisition_id"], r["status"]) for r in records] == [
        ("00000501-50000123", "00000501", "50000123", "2"),
        ("00000501-50000124", "00000501", "50000124", "4"),
        ("00000502", "00000502", None, None),
    ]
    assert records[0]["overall_status"] == "2" and records[0]["overall_status_text"] == "in process"
    stats = connector.stats
    assert (stats.rows, stats.empty_answers, stats.records) == (2, 1, 3)
    assert stats.records == stats.rows + stats.empty_answers


def test_error_in_the_middle_stops_the_stream_naming_the_key() -> None:
    conn = RecordedConnection({
        ("BAPI_PERSDATA_GETDETAILEDLIST", "00000001"): persdata_answer(1),
        ("BAPI_PERSDATA_GETDETAILEDLIST", "00000002"): persdata_answer(
            2, ret=bapireturn1("E", "No data stored for record in selected period", "PG", "009")),
    })
    connector = SapHcmConnector(conn, page_size=10)
    with pytest.raises(BapiError, match="for 00000002 returned E \\[PG 009\\]: No data stored"):
        list(connector.read_pages("personal_data", ["1", "2"]))
    assert connector.stats.records == 0  # the partial page was never handed out


def test_warning_does_not_stop_the_stream() -> None:
    ret = bapireturn1("W", "Record locked by anna.meyer@example.com", "PG", "100")
    conn = RecordedConnection({"BAPI_PERSDATA_GETDETAILEDLIST": persdata_answer(9, ret=ret)})
    connector = SapHcmConnector(conn)
    records = [r for page in connector.read_pages("personal_data", ["9"]) for r in page]
    assert len(records) == 1 and connector.stats.warnings == 1
    assert connector.warnings[0]["message"] == "Record locked by a***@example.com"


def test_bad_value_names_bapi_key_table_row_and_field() -> None:
    answer = persdata_answer(5, rows=2)
    answer["PERSONALDATA"][1]["DATEOFBIRTH"] = "19901332"
    connector = SapHcmConnector(RecordedConnection({"BAPI_PERSDATA_GETDETAILEDLIST": answer}))
    with pytest.raises(RfcDataError, match="BAPI_PERSDATA_GETDETAILEDLIST 00000005 PERSONALDATA row 1 DATEOFBIRTH"):
        list(connector.read_pages("personal_data", ["5"]))


def test_pyrfc_exceptions_are_translated_by_name() -> None:
    class LogonError(Exception):
        pass

    class CommunicationError(Exception):
        pass

    for exc, expected in ((LogonError("Name or password is incorrect"), AuthenticationError),
                          (CommunicationError("partner not reached"), UnreachableError)):
        connector = SapHcmConnector(RecordedConnection({"BAPI_PERSDATA_GETDETAILEDLIST": exc}))
        with pytest.raises(expected, match="BAPI_PERSDATA_GETDETAILEDLIST for 00000001"):
            list(connector.read_pages("personal_data", ["1"]))


def test_malformed_table_and_unknown_stream() -> None:
    connector = SapHcmConnector(RecordedConnection({"BAPI_PERSDATA_GETDETAILEDLIST": {"PERSONALDATA": "x"}}))
    with pytest.raises(MalformedResponseError, match="table PERSONALDATA is not a list"):
        list(connector.read_pages("personal_data", ["1"]))
    with pytest.raises(KeyError, match="known: applicant_status, employees, personal_data"):
        list(connector.read_pages("payroll", ["1"]))


# --- CLI ------------------------------------------------------------------------------------------


def sap_args(out: Path, *extra: str) -> list[str]:
    """``hrbridge extract --type sap-hcm`` arguments."""
    return ["extract", "--type", "sap-hcm", "--ashost", "hcm.example.com", "--sysnr", "00", "--client", "100",
            "--user", "RFC_HR", "--stream", "personal_data", "--keys", "1,2", "--out", str(out), *extra]


@needs_no_pyrfc
def test_cli_without_pyrfc_exits_1_with_the_sdk_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HRBRIDGE_RFC_PASSWORD", "s3cret-Pw")
    assert main(sap_args(tmp_path / "p.jsonl")) == 1
    err = capsys.readouterr().err
    assert "RfcSdkMissingError" in err and "SAP NW RFC SDK 7.50" in err and "SAPNWRFC_HOME" in err
    assert "s3cret-Pw" not in err
    assert not (tmp_path / "p.jsonl").exists()


@pytest.mark.parametrize(("extra", "env", "message"), [
    ((), {}, "HRBRIDGE_RFC_PASSWORD"),
    (("--sysnr", "0"), {"HRBRIDGE_RFC_PASSWORD": "x"}, "system number must be two digits"),
    (("--keys", "12,abc"), {"HRBRIDGE_RFC_PASSWORD": "x"}, "not: abc"),
    (("--stream", "payroll"), {"HRBRIDGE_RFC_PASSWORD": "x"}, "unknown sap-hcm --stream 'payroll'"),
])
def test_cli_bad_arguments_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str], extra: tuple[str, ...],
                                  env: dict[str, str], message: str) -> None:
    monkeypatch.delenv("HRBRIDGE_RFC_PASSWORD", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(sap_args(tmp_path / "p.jsonl", *extra)) == 2
    assert message in capsys.readouterr().err


def test_cli_needs_ashost_sysnr_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HRBRIDGE_RFC_PASSWORD", "x")
    args = ["extract", "--type", "sap-hcm", "--user", "U", "--stream", "employees", "--keys", "1",
            "--out", str(tmp_path / "e.csv")]
    assert main(args) == 2
    assert "--type sap-hcm needs --ashost, --sysnr, --client" in capsys.readouterr().err


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_stream_written_through_the_cli_sinks(tmp_path: Path, suffix: str, capsys: pytest.CaptureFixture[str]) -> None:
    answers = {"BAPI_PERSDATA_GETDETAILEDLIST": lambda **p: persdata_answer(int(p["EMPLOYEENUMBER"]), rows=2)}
    connector = SapHcmConnector(RecordedConnection(answers), page_size=3)
    out = tmp_path / f"persdata{suffix}"
    assert write_sap_stream(connector, "personal_data", ["1", "2", "3"], out, suffix.lstrip("."), True,
                            time.monotonic()) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["calls"], summary["rows"], summary["records"], summary["pages"]) == (3, 6, 6, 2)
    if suffix == ".jsonl":
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    elif suffix == ".csv":
        with out.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    else:
        rows = pq.read_table(out).to_pylist()
    assert len(rows) == 6
    assert rows[0]["employee_id"] == "00000001" and rows[0]["birth_date"] == "1990-04-12"
    assert rows[-1]["valid_to"] == "9999-12-31"
    assert connector.connection.closed


def test_successfactors_type_is_still_validated_as_before(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HRBRIDGE_SF_URL", raising=False)
    args = ["extract", "--type", "successfactors", "--stream", "Candidate", "--out", str(tmp_path / "c.csv")]
    assert main(args) == 2
    assert "--url is required" in capsys.readouterr().err
    assert main(["extract", "--type", "workday", "--stream", "x", "--out", str(tmp_path / "c.csv")]) == 2
    assert "supported: successfactors, sap-hcm" in capsys.readouterr().err
    assert SDK_MESSAGE.startswith("SAP HCM over RFC needs the pyrfc package")


# --- search and duplicates ------------------------------------------------------------------------


def test_employee_search_by_org_unit_pages_one_answer_and_joins_by_pernr() -> None:
    conn = RecordedConnection({"BAPI_EMPLOYEE_GETDATA": employee_search_answer(list(range(100, 107)))})
    connector = SapHcmConnector(conn, page_size=3)
    pages = list(connector.search_pages("employees", {"ORG_SEARK": "50000590"}))
    assert [len(p) for p in pages] == [3, 3, 1]
    records = [r for p in pages for r in p]
    assert [r["employee_id"] for r in records] == [pernr(n) for n in range(100, 107)]
    assert all(r["last_name"] == f"Schmidt{int(r['employee_id'])}" and r["org_unit"] == "50000590" for r in records)
    assert conn.calls == [("BAPI_EMPLOYEE_GETDATA", {"AUTHORITY_CHECK": "X", "ORG_SEARK": "50000590"})]
    assert (connector.stats.calls, connector.stats.rows, connector.stats.records) == (1, 7, 7)


def test_search_rejects_undeclared_parameters_and_key_only_streams() -> None:
    connector = SapHcmConnector(RecordedConnection({}))
    with pytest.raises(ValueError, match="searches by LASTNAME_M, .*; got ORG_UNIT"):
        list(connector.search_pages("employees", {"ORG_UNIT": "1"}))
    with pytest.raises(ValueError, match="reads by key only \\(EMPLOYEENUMBER\\)"):
        list(connector.search_pages("personal_data", {"ORG_SEARK": "1"}))


def test_search_error_names_the_criteria() -> None:
    ret = bapireturn("E", "Integration PA-PD is not active", "PG001")
    connector = SapHcmConnector(RecordedConnection({"BAPI_EMPLOYEE_GETDATA": employee_search_answer([], ret)}))
    with pytest.raises(BapiError, match="BAPI_EMPLOYEE_GETDATA for search ORG_SEARK=1 returned E"):
        list(connector.search_pages("employees", {"ORG_SEARK": "1"}))


def test_duplicate_keys_are_read_once_and_counted() -> None:
    conn = RecordedConnection({"BAPI_PERSDATA_GETDETAILEDLIST": lambda **p: persdata_answer(int(p["EMPLOYEENUMBER"]))})
    connector = SapHcmConnector(conn)
    keys = ["1", "00000001", "2", "1"]
    records = [r for page in connector.read_pages("personal_data", keys) for r in page]
    assert [r["employee_id"] for r in records] == ["00000001", "00000002"]
    assert connector.stats.duplicate_keys == 2
    assert len(keys) == connector.stats.calls + connector.stats.duplicate_keys


def test_cli_search_arguments_are_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HRBRIDGE_RFC_PASSWORD", "x")
    base = sap_args(tmp_path / "e.jsonl")
    base[base.index("--keys"):base.index("--keys") + 2] = []
    cases = [
        (["--search", "ORG_SEARK"], "is not PARAM=VALUE"),
        (["--search", "ORG_SEARK=1", "--keys", "1"], "either --keys or --search"),
        (["--search", "ORG_SEARK=1"], "stream personal_data cannot search by ORG_SEARK; it searches by nothing"),
        ([], "needs --keys"),
        (["--keys", "1", "--since", "2026-01-01"], "--since not supported for --type sap-hcm"),
    ]
    for extra, message in cases:
        assert main([*base, *extra]) == 2, extra
        assert message in capsys.readouterr().err


def test_cli_connection_settings_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    for name, value in {"ASHOST": "h", "SYSNR": "00", "CLIENT": "100", "USER": "RFC_HR", "PASSWORD": "pw"}.items():
        monkeypatch.setenv(f"HRBRIDGE_RFC_{name}", value)
    monkeypatch.setenv("HRBRIDGE_SF_USER", "sfadmin")
    args = ["extract", "--type", "sap-hcm", "--stream", "employees", "--keys", "1", "--out", str(tmp_path / "e.csv")]
    code = main(args)
    err = capsys.readouterr().err
    if PYRFC_INSTALLED:  # a live logon attempt to host "h" fails as a connector error
        assert code == 1
    else:
        assert code == 1 and "RfcSdkMissingError" in err


@needs_no_pyrfc
def test_console_command_without_pyrfc(tmp_path: Path) -> None:
    env = {**os.environ, "HRBRIDGE_RFC_PASSWORD": "s3cret-Pw", "HRBRIDGE_HOME": str(tmp_path)}
    done = subprocess.run([str(Path(sys.executable).parent / "hrbridge"), *sap_args(tmp_path / "p.parquet")],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1
    assert "SAP HCM over RFC needs the pyrfc package and the SAP NW RFC SDK 7.50" in done.stderr
    assert "s3cret-Pw" not in done.stderr + done.stdout


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize(("stream", "answers", "keys", "expected"), [
    ("employees", {"BAPI_EMPLOYEE_GETDATA": lambda **p: employee_answer(int(p["EMPLOYEE_ID"]))}, ["7", "8"], 2),
    ("applicant_status", {"BAPI_APPLICANT_GETSTATUS": applicant_status_answer(9, (("50000001", "1"),
                                                                                  ("50000002", "3")))}, ["9"], 2),
])
def test_every_stream_fits_its_declared_columns(tmp_path: Path, capsys: pytest.CaptureFixture[str], suffix: str,
                                                stream: str, answers: dict, keys: list[str], expected: int) -> None:
    connector = SapHcmConnector(RecordedConnection(answers))
    out = tmp_path / f"{stream}{suffix}"
    assert write_sap_stream(connector, stream, keys, out, suffix.lstrip("."), False, time.monotonic()) == 0, \
        capsys.readouterr().err
    if suffix == ".csv":
        with out.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    else:
        rows = pq.read_table(out).to_pylist()
    assert len(rows) == expected
    assert list(rows[0]) == STREAMS[stream].columns
    assert f"extracted {expected} {stream} records" in capsys.readouterr().out
