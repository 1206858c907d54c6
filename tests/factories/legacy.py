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


def workbook(path: str, sheets: dict[str, list[list[object]]], merges: dict[str, list[str]] | None = None) -> str:
    """Write an ``.xlsx`` with the given sheets (name → rows, in order) and merged ranges per sheet."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
        for ref in (merges or {}).get(name, []):
            sheet.merge_cells(ref)
    book.save(path)
    return path


def merged_roster(path: str, people: int = 500, run: int = 25) -> str:
    """A roster as HR staff format it: a title row, a cover sheet in front, and each department
    cell merged over the run of ``run`` people below it (so only one cell in ``run`` holds it)."""
    rows: list[list[object]] = [["员工花名册 2023"], ["部门", "工号", "姓名", "手机"]]
    merges = []
    for n in range(people):
        first = n % run == 0
        rows.append([f"部门{n // run}" if first else None, f"{n + 1:06d}", f"张{n}", f"138{n + 1:08d}"])
        if first:
            top = len(rows)
            merges.append(f"A{top}:A{min(top + run - 1, people + 2)}")
    cover = [["说明：本工作簿为人事部导出的员工花名册"], [], ["制表人：人事部"]]
    return workbook(path, {"封面": cover, "花名册": rows}, {"花名册": merges})


def zip_bomb_workbook(path: str, sheet_bytes: int) -> str:
    """A valid ``.xlsx`` whose one sheet expands to about ``sheet_bytes`` of XML from a few KB."""
    import zipfile

    parts = {
        "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships'
        '+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override '
        'PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
        'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
        '2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet '
        'name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
        'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
    }
    head = ('<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>工号</t></is></c><c r="B1" t="inlineStr"><is><t>'
            '姓名</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>')
    tail = "</t></is></c></row></sheetData></worksheet>"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(head.encode())
            block = b"A" * (1 << 20)
            for _ in range(max(1, sheet_bytes >> 20)):
                sheet.write(block)
            sheet.write(tail.encode())
    return path
