"""Suggest how a legacy file's headers map onto the canonical employee columns.

Headers are compared after folding full-width characters, lower-casing and dropping spaces,
underscores, hyphens and brackets, against a table of Chinese and English aliases (declared
below; site-specific aliases come from ``configs/header_aliases.yaml``). A close English spelling
(``Emial``) is accepted by a strict similarity cutoff. Anything else stays unmapped: the
suggestion is a starting point a person reviews, never a silent guess.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from transforms.cleaning_rules import CANONICAL_COLUMNS

ALIASES: dict[str, tuple[str, ...]] = {
    "employee_id": ("employee_id", "employee id", "employee no", "employee number", "emp id", "emp no", "empno",
                    "staff id", "staff no", "worker id", "personnel number", "pernr", "工号", "员工编号", "员工工号",
                    "职工号", "员工号", "人员编号"),
    "name": ("name", "full name", "employee name", "姓名", "员工姓名", "名字"),
    "id_number": ("id_number", "id number", "id no", "id card", "id card number", "national id", "resident id",
                  "身份证", "身份证号", "身份证号码", "证件号", "证件号码"),
    "phone": ("phone", "mobile", "mobile phone", "cell", "cellphone", "telephone", "tel", "phone number",
              "mobile number", "phone no", "mobile no", "tel no", "contact number", "手机", "手机号", "手机号码", "电话",
              "联系电话", "联系方式", "移动电话"),
    "email": ("email", "e-mail", "email address", "mail", "邮箱", "电子邮箱", "电子邮件", "邮件地址"),
    "department": ("department", "dept", "org unit", "organization", "部门", "所属部门", "部门名称"),
    "title": ("title", "job title", "position", "role", "职位", "岗位", "职务", "职称"),
    "hire_date": ("hire_date", "hire date", "date of hire", "start date", "joined", "join date", "entry date",
                  "onboarding date", "入职日期", "入职时间", "到岗日期", "入司日期"),
    "gender": ("gender", "sex", "性别"),
    "birth_date": ("birth_date", "birth date", "date of birth", "dob", "birthday", "出生日期", "生日", "出生年月日"),
    "employment_status": ("employment_status", "employment status", "status", "employee status", "在职状态",
                          "员工状态", "状态", "雇佣状态"),
    "salary": ("salary", "base salary", "monthly salary", "pay", "wage", "薪资", "工资", "月薪", "基本工资", "基本薪资",
               "薪酬"),
    "updated_at": ("updated_at", "updated at", "last updated", "last modified", "modified", "update time",
                   "更新时间", "修改时间", "修改日期", "最后更新", "最后更新时间", "最后修改时间"),
}

_NOISE = re.compile(r"[\s_\-()（）\[\]【】:：./]+")


def normalise_header(header: str) -> str:
    """Fold full-width forms (NFKC), lower-case and drop separators: ``'Ｅ-Mail '`` → ``'email'``."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", str(header)).casefold())


def _alias_table(extra: Mapping[str, Sequence[str]] | None) -> dict[str, str]:
    table: dict[str, str] = {}
    merged: dict[str, list[str]] = {k: list(v) for k, v in ALIASES.items()}
    for canonical, aliases in (extra or {}).items():
        if canonical not in CANONICAL_COLUMNS:
            raise ValueError(f"header aliases: '{canonical}' is not a canonical column; "
                             f"known: {', '.join(CANONICAL_COLUMNS)}")
        if isinstance(aliases, str) or not isinstance(aliases, Sequence):
            raise ValueError(f"header aliases: '{canonical}' must list its aliases")
        merged[canonical] = [str(a) for a in aliases] + merged[canonical]
    for canonical, aliases in merged.items():
        for alias in [canonical, *aliases]:
            table.setdefault(normalise_header(alias), canonical)
    return table


def suggest_mapping(headers: Sequence[str], aliases: Mapping[str, Sequence[str]] | None = None,
                    cutoff: float = 0.8) -> dict[str, Any]:
    """Map source headers to canonical columns: ``{"columns", "unmapped", "types"}`` ready for YAML.

    ``aliases`` adds site-specific aliases (canonical → list) checked before the built-in ones.
    Each canonical column is claimed by the first header that matches it; later headers that
    match the same column are left unmapped rather than silently overwriting it.
    """
    table = _alias_table(aliases)
    columns: dict[str, str] = {}
    unmapped: list[str] = []
    taken: set[str] = set()
    for header in headers:
        key = normalise_header(header)
        canonical = table.get(key)
        if canonical is None and re.fullmatch(r"[a-z0-9]{4,}", key):
            close = difflib.get_close_matches(key, [k for k in table if k.isascii()], n=1, cutoff=cutoff)
            canonical = table[close[0]] if close else None
        if canonical is None or canonical in taken:
            unmapped.append(str(header))
            continue
        taken.add(canonical)
        columns[str(header)] = canonical
    types = {canonical: CANONICAL_COLUMNS[canonical] for canonical in columns.values()}
    return {"columns": columns, "unmapped": unmapped, "types": types}


def mapping_yaml(mapping: Mapping[str, Any]) -> str:
    """Render a :func:`suggest_mapping` result as reviewable YAML (Chinese kept readable)."""
    header = ("# Suggested header mapping: source header → canonical column. Review before use;\n"
              "# 'unmapped' headers matched no canonical column; map them by hand if they matter.\n")
    body = {"columns": dict(mapping.get("columns", {})), "unmapped": list(mapping.get("unmapped", [])),
            "types": dict(mapping.get("types", {}))}
    return header + yaml.safe_dump(body, allow_unicode=True, sort_keys=False, default_flow_style=False)
