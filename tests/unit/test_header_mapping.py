"""suggest_mapping: Chinese and English header sets, site aliases, unknown and duplicate headers."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from transforms.cleaning_rules import CANONICAL_COLUMNS
from transforms.header_mapping import mapping_yaml, normalise_header, suggest_mapping

ALIASES = Path(__file__).resolve().parents[2] / "configs" / "header_aliases.yaml"
ZH = ["工号", "姓名", "身份证号码", "手机号", "电子邮箱", "所属部门", "岗位", "入职日期", "性别", "出生日期",
      "员工状态", "基本工资", "最后修改时间"]
EN = ["Employee No", "Full Name", "ID Card Number", "Mobile Phone", "E-mail", "Dept", "Job Title", "Date of Hire",
      "Sex", "DOB", "Employment Status", "Base Salary", "Last Modified"]


@pytest.mark.parametrize("headers", [ZH, EN])
def test_full_header_sets_map_to_every_canonical_column(headers: list[str]) -> None:
    mapping = suggest_mapping(headers)
    assert mapping["unmapped"] == []
    assert list(mapping["columns"].values()) == list(CANONICAL_COLUMNS)
    assert mapping["types"] == CANONICAL_COLUMNS


def test_matching_ignores_case_width_and_separators() -> None:
    assert normalise_header(" Ｅ-Mail ") == "email"
    mapping = suggest_mapping(["EMPLOYEE_ID", "ｈｉｒｅ ｄａｔｅ", "出生日期（公历）"])
    assert mapping["columns"] == {"EMPLOYEE_ID": "employee_id", "ｈｉｒｅ ｄａｔｅ": "hire_date"}
    assert mapping["unmapped"] == ["出生日期（公历）"]


def test_unknown_headers_stay_unmapped() -> None:
    mapping = suggest_mapping(["姓名", "备注", "Favourite colour", "x"])
    assert mapping["columns"] == {"姓名": "name"}
    assert mapping["unmapped"] == ["备注", "Favourite colour", "x"]
    assert mapping["types"] == {"name": "text"}


def test_close_english_misspellings_are_accepted_short_keys_are_not() -> None:
    mapping = suggest_mapping(["Emial", "Titel", "Nmae"])
    assert mapping["columns"] == {"Emial": "email", "Titel": "title"}
    assert mapping["unmapped"] == ["Nmae"]


def test_a_canonical_column_is_claimed_once() -> None:
    mapping = suggest_mapping(["手机", "电话"])
    assert mapping["columns"] == {"手机": "phone"} and mapping["unmapped"] == ["电话"]


def test_site_aliases_from_the_yaml_are_used() -> None:
    aliases = yaml.safe_load(ALIASES.read_text(encoding="utf-8"))
    assert suggest_mapping(["员工代码"])["unmapped"] == ["员工代码"]
    assert suggest_mapping(["员工代码"], aliases)["columns"] == {"员工代码": "employee_id"}
    mapping = suggest_mapping(["STAFF_CODE", "LAST_UPD_TS", "参加工作日期"], aliases)
    assert mapping["columns"] == {"STAFF_CODE": "employee_id", "LAST_UPD_TS": "updated_at", "参加工作日期": "hire_date"}
    assert suggest_mapping(["STAFF_CODE"])["unmapped"] == ["STAFF_CODE"]


def test_aliases_for_unknown_columns_are_rejected() -> None:
    with pytest.raises(ValueError, match="'shoe_size' is not a canonical column"):
        suggest_mapping(["a"], {"shoe_size": ["鞋码"]})


def test_mapping_yaml_round_trips_and_keeps_chinese_readable() -> None:
    mapping = suggest_mapping(["工号", "姓名", "备注"])
    text = mapping_yaml(mapping)
    assert "工号: employee_id" in text and text.startswith("# Suggested header mapping")
    assert yaml.safe_load(text) == mapping
