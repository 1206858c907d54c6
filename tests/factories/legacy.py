"""Small legacy-record frames for migration tests (the large dirty data comes from the generator)."""

from __future__ import annotations

import pandas as pd

ZH_HEADERS = ["工号", "姓名", "身份证号", "手机", "邮箱", "部门", "职位", "入职日期", "性别", "出生日期",
              "在职状态", "薪资", "更新时间"]
CANONICAL = ["employee_id", "name", "id_number", "phone", "email", "department", "title", "hire_date",
             "gender", "birth_date", "employment_status", "salary", "updated_at"]


def id_number(body17: str) -> str:
    """A Chinese resident ID number with a valid ISO 7064 MOD 11-2 check digit."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(d) * w for d, w in zip(body17, weights, strict=True))
    return body17 + "10X98765432"[total % 11]


def legacy_rows(count: int = 5, start: int = 1, headers: str = "zh") -> pd.DataFrame:
    """``count`` clean-looking legacy rows as text, with Chinese (``zh``) or canonical (``en``) headers."""
    rows = []
    for n in range(start, start + count):
        rows.append([f"{n:06d}", f"张{n}", id_number(f"11010519900101{n % 1000:03d}"), f"138{n:08d}",
                     f"user{n}@example.com", "销售部", "经理", "2020-01-05", "男", "1990-01-01",
                     "在职", f"{8000 + n}.5", "2024-03-01"])
    return pd.DataFrame(rows, columns=ZH_HEADERS if headers == "zh" else CANONICAL, dtype="str")


def write_csv(frame: pd.DataFrame, path: str, encoding: str = "utf-8") -> None:
    """Write a frame as CSV in ``encoding`` (utf-8, utf-8-sig, gbk, gb18030)."""
    frame.to_csv(path, index=False, encoding=encoding)
