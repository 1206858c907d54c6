"""``hrbridge feedback`` as an HR lead uses it: exit codes from the central table, nothing decided silently."""

from __future__ import annotations

import pwd
import shutil
from os import geteuid

import pytest
import yaml

from configs import __file__ as configs_init
from hrbridge.cli import main
from hrbridge.feedback.service import open_context
from tests.factories import feedback as planted


@pytest.fixture
def configured(hrbridge_home, tmp_path, monkeypatch):
    """The shipped configs, with this process's account as the HR lead."""
    folder = tmp_path / "configs"
    shutil.copytree(__import__("pathlib").Path(configs_init).parent, folder)
    doc = yaml.safe_load((folder / "feedback.yaml").read_text("utf-8"))
    doc["deciders"] = {pwd.getpwuid(geteuid()).pw_name: "hr_lead"}
    (folder / "feedback.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    monkeypatch.setenv("HRBRIDGE_CONFIG_DIR", str(folder))
    return folder


@pytest.mark.slow
def test_import_analyse_and_decide_through_the_cli(configured, tmp_path, capsys, monkeypatch) -> None:
    archive = planted.planted_archive(1200, seed=11, small_family=30)
    planted.write_archive(open_context().archive, archive)
    planted.outcomes_csv(archive, tmp_path / "outcomes.csv")
    with (tmp_path / "outcomes.csv").open("a", encoding="utf-8") as handle:
        handle.write("app-0,bonus,2025-01-01,,,\napp-nobody,rating,2025-01-01,4,5,\n")
    planted.attributes_csv(archive, tmp_path / "attributes.csv")

    assert main(["feedback", "import", str(tmp_path / "outcomes.csv")]) == 3
    out = capsys.readouterr().out
    rows = len(archive.outcomes)
    assert f"read {rows + 2} = inserted {rows} + updated 0 + unchanged 0 + rejected 2" in out
    assert f"row {rows + 2}: kind is not one of" in out and f"row {rows + 3}: no archive person" in out
    assert main(["feedback", "import", str(tmp_path / "attributes.csv"), "--attributes"]) == 0

    assert main(["feedback", "analyse", "--as-of", "2026-06-30"]) == 0
    out = capsys.readouterr().out
    assert "proposal: version 1" in out and "Customer negotiation" in out
    assert main(["feedback", "show", "1"]) == 0
    assert "~ Sales.weights.customer_negotiation" in capsys.readouterr().out
    first = main(["feedback", "approve", "1"])
    if first == 3:  # flagged by the four-fifths check: a written justification is required
        assert "needs a written justification" in capsys.readouterr().err
        assert main(["feedback", "approve", "1", "--justification", "reviewed with the works council"]) == 0
    else:
        assert first == 0
    capsys.readouterr()
    assert main(["feedback", "show", "1"]) == 0  # the approval names who approved it, in which role, and when
    decided = capsys.readouterr().out
    assert f"approved by {pwd.getpwuid(geteuid()).pw_name}" in decided and "(hr_lead)" in decided
    assert main(["feedback", "proposals"]) == 0
    assert "active rules: version 1" in capsys.readouterr().out
    assert main(["feedback", "reject", "1"]) == 2  # already decided
    assert main(["feedback", "rollback"]) == 0
    assert main(["feedback", "rollback"]) == 2  # the file's rules are active: nothing to roll back
    assert main(["feedback", "report", "--out", str(tmp_path / "zh"), "--lang", "zh"]) == 0
    page = next((tmp_path / "zh").glob("*.html")).read_text("utf-8")
    assert "面试反馈报告" in page and "客户谈判" in page and "Interview feedback report" not in page
    monkeypatch.setenv("HRBRIDGE_LANG", "en")
    monkeypatch.setenv("HRBRIDGE_TZ", "Asia/Shanghai")
    assert main(["feedback", "report", "--out", str(tmp_path / "en")]) == 0
    page = next((tmp_path / "en").glob("*.html")).read_text("utf-8")
    assert "Interview feedback report" in page and "Customer negotiation" in page and "Asia/Shanghai" in page
    assert "面试反馈报告" not in page


def test_a_role_without_the_grant_cannot_decide(configured, capsys) -> None:
    doc = yaml.safe_load((configured / "feedback.yaml").read_text("utf-8"))
    doc["deciders"] = {pwd.getpwuid(geteuid()).pw_name: "hr_specialist"}
    (configured / "feedback.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    assert main(["feedback", "rollback"]) == 3
    assert "feedback.proposals" in capsys.readouterr().err
