"""``hrbridge extract`` against the SuccessFactors sandbox: every format read back and counted, errors and exit codes."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hrbridge.cli import main
from sandbox.successfactors import SuccessFactorsSandbox
from tests.factories.successfactors import SANDBOX_PASSWORD

REPO = Path(__file__).resolve().parents[2]


def extract_args(sandbox: SuccessFactorsSandbox, out: Path, *extra: str, stream: str = "JobApplication") -> list[str]:
    """Arguments of an extract run against ``sandbox`` (password from the environment)."""
    return ["extract", "--type", "successfactors", "--url", sandbox.url, "--user", "sfadmin",
            "--company-id", "SFPART000001", "--stream", stream, "--out", str(out), *extra]


@pytest.fixture(autouse=True)
def sandbox_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HRBRIDGE_SF_PASSWORD", SANDBOX_PASSWORD)


def run_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    assert main(args) == 0, capsys.readouterr().err
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


def test_extract_to_parquet_streams_pages_with_typed_schema(
    sf_sandbox: SuccessFactorsSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "apps.parquet"
    summary = run_json(extract_args(sf_sandbox, out, "--page-size", "30", "--json"), capsys)
    assert summary["stream"] == "JobApplication"
    assert summary["records"] == summary["server_count"] == 80 and summary["pages"] == 3
    assert summary["out"] == str(out) and summary["retries"] == 0 and "seconds" in summary
    assert pq.ParquetFile(out).metadata.num_row_groups == 3
    table = pq.read_table(out)
    assert table.num_rows == 80
    assert table.schema.field("applicationId").type == pa.int64()
    assert table.schema.field("lastModifiedDateTime").type == pa.timestamp("ms", tz="UTC")
    assert "cust_aiOverallScore" in table.column_names
    assert sorted(table.column("applicationId").to_pylist()) == sorted(
        r["applicationId"] for r in sf_sandbox.records("JobApplication"))


def test_extract_to_csv_with_select_and_since(
    sf_sandbox: SuccessFactorsSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "resumes.csv"
    summary = run_json(extract_args(sf_sandbox, out, "--select", "fileName,mimeType", "--since", "2025-06-01T00:00:00Z",
                                    "--json", stream="resumes"), capsys)
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    expected = [r for r in sf_sandbox.records("Attachment") if r["lastModifiedDateTime"].isoformat() > "2025-06-01"]
    assert summary["records"] == len(rows) == len(expected) > 0
    assert list(rows[0]) == ["attachmentId", "lastModifiedDateTime", "fileName", "mimeType"]


def test_extract_to_jsonl_keeps_bilingual_text(
    sf_sandbox: SuccessFactorsSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "candidates.jsonl"
    summary = run_json(extract_args(sf_sandbox, out, "--json", stream="Candidate"), capsys)
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert summary["records"] == len(records) == 60
    assert any(r["candidateLocale"] == "zh_CN" and not r["firstName"].isascii() for r in records)
    assert all(r["lastModifiedDateTime"].endswith("+00:00") for r in records)


def test_extract_as_a_process_with_human_summary(sf_sandbox: SuccessFactorsSandbox, tmp_path: Path) -> None:
    out = tmp_path / "reqs.csv"
    env = {**os.environ, "HRBRIDGE_SF_PASSWORD": SANDBOX_PASSWORD}
    done = subprocess.run([sys.executable, "-m", "hrbridge.cli", *extract_args(sf_sandbox, out, stream="JobRequisition")],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "extracted 12 JobRequisition records in 1 pages" in done.stdout
    assert SANDBOX_PASSWORD not in done.stdout + done.stderr
    assert len(out.read_text(encoding="utf-8").splitlines()) == 13


@pytest.mark.parametrize(("extra", "message"), [
    (["--since", "last tuesday"], "--since 'last tuesday' is not an ISO 8601"),
    (["--page-size", "5000"], "--page-size must be between 1 and 1000"),
])
def test_bad_arguments_exit_2(sf_sandbox: SuccessFactorsSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                              extra: list[str], message: str) -> None:
    assert main(extract_args(sf_sandbox, tmp_path / "x.csv", *extra)) == 2
    assert message in capsys.readouterr().err


def test_unknown_type_and_extension_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["extract", "--url", "http://127.0.0.1:9", "--user", "u", "--stream", "Candidate"]
    assert main([*base, "--type", "workday", "--out", str(tmp_path / "x.csv")]) == 2
    assert "unknown --type 'workday'" in capsys.readouterr().err
    assert main([*base, "--type", "successfactors", "--out", str(tmp_path / "x.xlsx")]) == 2
    assert "unsupported output extension" in capsys.readouterr().err


def test_service_failures_exit_1_with_specific_error(
    sf_sandbox: SuccessFactorsSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(extract_args(sf_sandbox, tmp_path / "x.csv", stream="Applicants")) == 1
    assert "UnknownEntityError: entity set 'Applicants' does not exist" in capsys.readouterr().err
    assert main(extract_args(sf_sandbox, tmp_path / "x.csv", "--select", "shoeSize")) == 1
    assert "Invalid property names: JobApplication/shoeSize" in capsys.readouterr().err
    monkeypatch.setenv("HRBRIDGE_SF_PASSWORD", "wrong-password")
    assert main(extract_args(sf_sandbox, tmp_path / "x.csv")) == 1
    err = capsys.readouterr().err
    assert "rejected the credentials for user sfadmin@SFPART000001" in err and "wrong-password" not in err
