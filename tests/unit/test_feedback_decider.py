"""Who decides on a proposal from the command line: the effective account, and the login behind it."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

from hrbridge.feedback.rules import cli_decider

ME = pwd.getpwuid(os.geteuid()).pw_name


def _loginuid(tmp_path: Path, value: str) -> Path:
    path = tmp_path / "loginuid"
    path.write_text(value, encoding="ascii")
    return path


def test_the_role_comes_from_the_effective_account_and_the_record_names_the_login_behind_it(tmp_path: Path) -> None:
    other = next(p for p in pwd.getpwall() if p.pw_uid != os.geteuid())  # e.g. someone who used sudo
    decider = cli_decider({ME: "hr_lead", other.pw_name: "admin"}, loginuid=_loginuid(tmp_path, str(other.pw_uid)))
    assert decider.role == "hr_lead"  # the mapping is of the account the command runs as
    assert decider.name == f"{ME} (login {other.pw_name})"


def test_no_login_recorded_or_the_same_account_names_the_account_alone(tmp_path: Path) -> None:
    assert cli_decider({ME: "hr_lead"}, loginuid=_loginuid(tmp_path, "4294967295")).name == ME  # unset (containers)
    assert cli_decider({ME: "hr_lead"}, loginuid=_loginuid(tmp_path, str(os.geteuid()))).name == ME
    assert cli_decider({ME: "hr_lead"}, loginuid=tmp_path / "absent").name == ME
    assert cli_decider({}, loginuid=tmp_path / "absent").role == ""  # not listed: no role, every decision refused
