"""``hrbridge extract`` against hostile servers: the previous output survives, no secret is printed."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from hrbridge.cli import main
from sandbox.successfactors import SuccessFactorsSandbox
from tests.factories.hostile import LoopbackServer, Reply
from tests.factories.successfactors import SANDBOX_PASSWORD

PASSWORD = "Extract-Secret-31"  # noqa: S105 - test credential


def extract(url: str, out: Path, *extra: str) -> list[str]:
    return ["extract", "--type", "successfactors", "--url", url, "--user", "sfadmin",
            "--company-id", "SFPART000001", "--stream", "JobApplication", "--out", str(out), *extra]


@pytest.fixture(autouse=True)
def sandbox_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HRBRIDGE_SF_PASSWORD", SANDBOX_PASSWORD)


@pytest.fixture
def good_output(sf_sandbox: SuccessFactorsSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A complete, good extract already on disk."""
    out = tmp_path / "apps.jsonl"
    assert main(extract(sf_sandbox.url, out, "--page-size", "30")) == 0, capsys.readouterr().err
    capsys.readouterr()
    return out


def test_a_successful_extract_is_owner_only_and_leaves_no_temporary_file(good_output: Path) -> None:
    assert stat.S_IMODE(good_output.stat().st_mode) == 0o600
    assert [p.name for p in good_output.parent.iterdir()] == [good_output.name]
    assert len(good_output.read_text(encoding="utf-8").splitlines()) == 80


@pytest.mark.parametrize("hostile", ["nan", "self_link", "cut"])
def test_a_failed_extract_leaves_the_previous_good_output_untouched(
    sf_sandbox: SuccessFactorsSandbox, good_output: Path, capsys: pytest.CaptureFixture[str], hostile: str
) -> None:
    before = good_output.read_bytes()
    if hostile == "nan":  # page 1 is fine and written; page 2 carries a value no JSON file can hold
        sf_sandbox.faults.add("rewrite", r"/odata/v2/JobApplication$", find="no such text", replace="")
        sf_sandbox.faults.add("rewrite", r"/odata/v2/JobApplication$", find='"cust_aiOverallScore": null',
                              replace='"cust_aiOverallScore": "NaN"')
    elif hostile == "self_link":
        served = []
        sf_sandbox.next_link = lambda link: (served.append(link) or served[0]) if len(served) < 50 else None
    else:
        sf_sandbox.faults.add("disconnect", r"/odata/v2/JobApplication$", count=100)
    assert main(extract(sf_sandbox.url, good_output, "--page-size", "30")) == 1
    err = capsys.readouterr().err
    assert f"{good_output} was left as it was" in err
    assert good_output.read_bytes() == before
    assert [p.name for p in good_output.parent.iterdir()] == [good_output.name]
    assert all(json.loads(line) for line in before.decode().splitlines())


def test_a_password_inside_url_is_used_but_never_printed(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HRBRIDGE_SF_PASSWORD")
    monkeypatch.delenv("HRBRIDGE_SF_COMPANY_ID", raising=False)
    with LoopbackServer() as server:
        url = server.url.replace("http://", f"http://sfadmin:{PASSWORD}@")
        assert main(["extract", "--type", "successfactors", "--url", url, "--stream", "Candidate",
                     "--out", str(tmp_path / "c.csv")]) == 1
        sent = server.seen[0].authorization
    err = capsys.readouterr().err
    assert sent == "Basic " + base64.b64encode(f"sfadmin:{PASSWORD}".encode()).decode()
    assert PASSWORD not in err and "UnknownEntityError" in err
    assert main(["extract", "--type", "successfactors", "--url", f"http://sfadmin:{PASSWORD}@127.0.0.1:9",
                 "--stream", "Candidate", "--out", str(tmp_path / "c.csv")]) == 1
    err = capsys.readouterr().err
    assert "UnreachableError: cannot reach 127.0.0.1:9" in err and PASSWORD not in err


def test_a_password_echoed_back_by_the_server_is_masked(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HRBRIDGE_SF_PASSWORD", PASSWORD)
    pair = base64.b64encode(f"sfadmin@SFPART000001:{PASSWORD}".encode()).decode()
    echo = {"error": {"code": "COE_GENERAL_BAD_REQUEST",
                      "message": {"value": f"user sfadmin@SFPART000001 password {PASSWORD} locked (Basic {pair})"}}}
    with LoopbackServer({"/odata/v2/JobApplication/$metadata": Reply(400, echo)}) as server:
        assert main(extract(server.url, tmp_path / "a.csv")) == 1
    err = capsys.readouterr().err
    assert "ODataRequestError" in err and "locked" in err
    assert PASSWORD not in err and pair not in err


def test_bad_bounds_in_the_environment_are_a_usage_error(sf_sandbox: SuccessFactorsSandbox, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HRBRIDGE_HTTP_MAX_PAGES", "many")
    assert main(extract(sf_sandbox.url, tmp_path / "a.csv")) == 2
    assert "HRBRIDGE_HTTP_MAX_PAGES must be a number" in capsys.readouterr().err
    monkeypatch.setenv("HRBRIDGE_HTTP_MAX_PAGES", "2")
    assert main(extract(sf_sandbox.url, tmp_path / "a.csv", "--page-size", "30")) == 1
    assert "max_pages=2" in capsys.readouterr().err and not (tmp_path / "a.csv").exists()


def test_a_url_without_scheme_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(extract("api4.successfactors.com", tmp_path / "a.csv")) == 2
    assert "is not an absolute http(s) URL" in capsys.readouterr().err
    assert os.listdir(tmp_path) == []
