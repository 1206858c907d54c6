"""Generate realistic, dirty legacy employee records with every injected fault counted.

Clean rows carry Chinese or English names, departments, titles, Chinese resident ID numbers with
valid check digits and matching birth dates, unique Chinese mobiles and e-mails, zero-padded
employee ids, ISO hire dates and update timestamps. Faults are then injected, each into its own
row (no row carries two faults, duplicates copy fault-free rows), so :class:`Injected` states
exactly what cleaning and dedupe must report: repairs by rule, quarantine by rule, merges by rule
and the clean row count. Everything is vectorised numpy/pandas: a million rows take seconds.

    python benchmarks/generate_legacy.py --rows 100000 --out legacy.csv --encoding gbk \\
        --expected expected.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from transforms.cleaning_ids import CHECK_CHARS, check_chars  # noqa: E402

HEADERS: dict[str, dict[str, str]] = {
    "zh": {"employee_id": "工号", "name": "姓名", "id_number": "身份证号", "phone": "手机号", "email": "邮箱",
           "department": "部门", "title": "职位", "hire_date": "入职日期", "gender": "性别",
           "birth_date": "出生日期", "employment_status": "在职状态", "salary": "薪资", "updated_at": "更新时间"},
    "en": {"employee_id": "Employee ID", "name": "Name", "id_number": "ID Number", "phone": "Mobile",
           "email": "Email", "department": "Department", "title": "Title", "hire_date": "Hire Date",
           "gender": "Gender", "birth_date": "Birth Date", "employment_status": "Status", "salary": "Salary",
           "updated_at": "Last Updated"},
}
SURNAMES = [("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
            ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
            ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("高", "gao"),
            ("林", "lin"), ("罗", "luo"), ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song")]
GIVEN = [("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"),
         ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"), ("艳", "yan"),
         ("杰", "jie"), ("娟", "juan"), ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("秀英", "xiuying"),
         ("霞", "xia"), ("平", "ping"), ("刚", "gang"), ("桂英", "guiying"), ("建华", "jianhua"),
         ("子涵", "zihan"), ("浩然", "haoran"), ("欣怡", "xinyi"), ("宇轩", "yuxuan"), ("思远", "siyuan")]
FIRST = ["James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "David", "Emily",
         "William", "Sarah", "Daniel", "Laura", "Thomas", "Anna", "Kevin", "Grace", "Peter", "Olivia"]
LAST = ["Smith", "Johnson", "Brown", "Taylor", "Miller", "Wilson", "Moore", "Anderson", "Clark", "Lewis",
        "Walker", "Young", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Carter"]
DEPARTMENTS = [("销售部", "Sales"), ("研发部", "R&D"), ("人力资源部", "Human Resources"), ("财务部", "Finance"),
               ("市场部", "Marketing"), ("运营部", "Operations"), ("客服部", "Customer Service"),
               ("行政部", "Administration"), ("法务部", "Legal"), ("采购部", "Procurement")]
TITLES = [("销售经理", "Sales Manager"), ("软件工程师", "Software Engineer"), ("高级工程师", "Senior Engineer"),
          ("HR专员", "HR Specialist"), ("会计", "Accountant"), ("市场专员", "Marketing Specialist"),
          ("运营专员", "Operations Specialist"), ("客服代表", "Customer Service Representative"),
          ("行政助理", "Administrative Assistant"), ("法务顾问", "Legal Counsel"), ("采购专员", "Buyer"),
          ("部门总监", "Department Director")]
STATUSES = [("在职", "Active", 0.78), ("离职", "Terminated", 0.12), ("试用期", "Probation", 0.06),
            ("停薪留职", "On Leave", 0.02), ("退休", "Retired", 0.02)]
REGIONS = ["110101", "110105", "120101", "310104", "310115", "320102", "320583", "330106", "330203",
           "340104", "350203", "370102", "370202", "410105", "420106", "430104", "440106", "440305",
           "440304", "450103", "500103", "510107", "520102", "530102", "610113", "620102", "210203",
           "220102", "230103", "130102"]
DOMAINS = np.array(["example.com", "example.cn", "corp.example.com", "mail.example.net"])
BIRTH_START, BIRTH_DAYS = np.datetime64("1960-01-01"), 365 * 44
LAST_HIRE, LAST_UPDATE = np.datetime64("2025-06-30"), np.datetime64("2026-06-30")
EXCEL_EPOCH = np.datetime64("1899-12-30")
EMPLOYEE_ID_WIDTH = 6

# fault kind → (effect, rule): effect "repair" (logged, row kept), "quarantine" (row rejected) or "merge".
FAULTS: dict[str, tuple[str, str]] = {
    "null_sentinel": ("repair", "null_sentinel"),
    "fullwidth": ("repair", "fullwidth"),
    "whitespace": ("repair", "trim"),
    "date_cn": ("repair", "date_cn"),
    "date_slash": ("repair", "date_slash"),
    "excel_serial": ("repair", "excel_serial"),
    "phone_repairable": ("repair", "phone_format"),
    "email_upper": ("repair", "email_lowercase"),
    "lost_leading_zero": ("repair", "employee_id_zero_pad"),
    "bad_date": ("quarantine", "date"),
    "phone_bad": ("quarantine", "phone"),
    "email_bad": ("quarantine", "email"),
    "id_bad_checksum": ("quarantine", "id_checksum"),
    "id_birth_mismatch": ("quarantine", "id_birth_mismatch"),
    "enum_bad": ("quarantine", "enum:gender"),
    "exact_duplicate": ("merge", "exact"),
    "rule_duplicate": ("merge", "rule"),
}
DUPLICATE_RULES = ("id_number", "email+name", "phone+name")


@dataclass
class Injected:
    """What was injected and what cleaning + dedupe must therefore report (default cleaning rules)."""

    rows: int
    seed: int
    fault_rate: float
    headers: str
    counts: dict[str, int] = field(default_factory=dict)
    repairs_by_rule: dict[str, int] = field(default_factory=dict)
    quarantine_by_rule: dict[str, int] = field(default_factory=dict)
    quarantined_rows: int = 0
    merges_by_rule: dict[str, int] = field(default_factory=dict)
    duplicates_merged: int = 0
    expected_clean_rows: int = 0

    def to_dict(self) -> dict[str, object]:
        """Plain dict (JSON-ready) of every field."""
        return asdict(self)


def _plan_counts(rows: int, fault_rate: float) -> dict[str, int]:
    total = int(round(rows * fault_rate))
    share, extra = divmod(total, len(FAULTS))
    return {kind: share + (1 if i < extra else 0) for i, kind in enumerate(FAULTS)}


STRING = pa.large_string()


def _pool(values: list[str], index: np.ndarray) -> pa.Array:
    """``values[index]`` as an Arrow string array (a C-level take, no Python strings per row)."""
    return pa.array(values, type=STRING).take(pa.array(index))


def _join(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of Arrow string arrays and literal strings."""
    typed = [pa.scalar(p, STRING) if isinstance(p, str) else p for p in parts]
    return pc.binary_join_element_wise(*typed, pa.scalar("", STRING))


def _digits(values: np.ndarray, width: int = 0) -> pa.Array:
    """Integers → decimal strings, left-padded with zeros to ``width``."""
    text = pc.cast(pa.array(values), STRING)
    return pc.utf8_lpad(text, width, "0") if width else text


def _day_strings(days: np.ndarray, fmt: str = "%Y-%m-%d") -> pa.Array:
    """Format datetime64[D] values through a lookup table of the distinct days (fast for millions)."""
    ordinal = days.astype("datetime64[D]").astype("int64")
    low = int(ordinal.min()) if len(ordinal) else 0
    span = np.arange(low, low + (int(ordinal.max()) - low + 1 if len(ordinal) else 0)).astype("datetime64[D]")
    return _pool(pd.Series(span).dt.strftime(fmt).tolist(), ordinal - low)


def _clock_strings(seconds: np.ndarray) -> pa.Array:
    """Seconds of the day → ``HH:MM:SS`` through a lookup table."""
    clock = pd.Series(np.arange(86400).astype("timedelta64[s]") + np.datetime64("2000-01-01T00:00:00"))
    return _pool(clock.dt.strftime("%H:%M:%S").tolist(), seconds)


def _people(rng: np.random.Generator, n: int, zh: bool) -> dict[str, pa.Array]:
    """``n`` clean, mutually distinct employees (unique employee id, ID number, phone and e-mail) as columns."""
    numbers = rng.choice(max(2 * n, 1000), size=n, replace=False) + 1
    identity = rng.choice(BIRTH_DAYS * len(REGIONS) * 500, size=n, replace=False)
    day, region, serial = identity % BIRTH_DAYS, (identity // BIRTH_DAYS) % len(REGIONS), identity // (
        BIRTH_DAYS * len(REGIONS))
    male = rng.random(n) < 0.5
    birth = BIRTH_START + day.astype("timedelta64[D]")
    body = _join(_pool(REGIONS, region), _day_strings(birth, "%Y%m%d"), _digits(serial * 2 + male, 3))
    id_number = _join(body, pa.array(check_chars(pd.Series(body.to_numpy(zero_copy_only=False), dtype="str")),
                                     type=STRING))
    chinese = pa.array(rng.random(n) < (0.85 if zh else 0.4))
    sur, giv = rng.integers(0, len(SURNAMES), n), rng.integers(0, len(GIVEN), n)
    first, last = rng.integers(0, len(FIRST), n), rng.integers(0, len(LAST), n)
    sur_zh, sur_py = ([c[i] for c in SURNAMES] for i in (0, 1))
    giv_zh, giv_py = ([c[i] for c in GIVEN] for i in (0, 1))
    name = pc.if_else(chinese, _join(_pool(sur_zh, sur), _pool(giv_zh, giv)),
                      _join(_pool(FIRST, first), " ", _pool(LAST, last)))
    local = pc.if_else(chinese, _join(_pool(giv_py, giv), ".", _pool(sur_py, sur)),
                       _join(_pool([f.lower() for f in FIRST], first), ".", _pool([x.lower() for x in LAST], last)))
    email = _join(local, _digits(numbers), "@", _pool(list(DOMAINS), rng.integers(0, len(DOMAINS), n)))
    phone = _digits(13_000_000_000 + rng.choice(7_000_000_000, size=n, replace=False))
    earliest = np.maximum(birth + np.timedelta64(20 * 365, "D"), np.datetime64("2000-01-01"))
    span = np.maximum((LAST_HIRE - earliest).astype("int64"), 1)
    hire = np.minimum(earliest + (rng.random(n) * span).astype("int64").astype("timedelta64[D]"), LAST_HIRE)
    updated_day = np.minimum(hire + rng.integers(0, 3 * 365, n).astype("timedelta64[D]"), LAST_UPDATE)
    dept, title = rng.integers(0, len(DEPARTMENTS), n), rng.integers(0, len(TITLES), n)
    lang = 0 if zh else 1
    status = rng.choice(len(STATUSES), size=n, p=[s[2] for s in STATUSES])
    return {
        "employee_id": _digits(numbers, EMPLOYEE_ID_WIDTH),
        "name": name,
        "id_number": id_number,
        "phone": phone,
        "email": email,
        "department": _pool([d[lang] for d in DEPARTMENTS], dept),
        "title": _pool([t[lang] for t in TITLES], title),
        "hire_date": _day_strings(hire),
        "gender": _pool(["男", "女"] if zh else ["Male", "Female"], (~male).astype(int)),
        "birth_date": _day_strings(birth),
        "employment_status": _pool([s[lang] for s in STATUSES], status),
        "salary": _join(_digits(rng.integers(50, 600, n) * 100), ".00"),
        "updated_at": _join(_day_strings(updated_day), " ", _clock_strings(rng.integers(0, 86400, n))),
        "_number": pa.array(numbers),
    }


def _cycle(options: list[str], n: int) -> np.ndarray:
    return np.array(options, dtype=object)[np.arange(n) % len(options)]


def _fullwidth_digits(values: pd.Series) -> pd.Series:
    return values.str.translate({ord("0") + i: 0xFF10 + i for i in range(10)})


class _Rows:
    """Read and write one column at the chosen row positions as a pandas string Series."""

    def __init__(self, columns: dict[str, pa.Array], rows: np.ndarray) -> None:
        self.columns, self.rows = columns, rows

    def __getitem__(self, column: str) -> pd.Series:
        return pd.Series(self.columns[column].take(pa.array(self.rows)).to_numpy(zero_copy_only=False), dtype="str")

    def __setitem__(self, column: str, values: pd.Series | np.ndarray) -> None:
        _put(self.columns, column, self.rows, np.asarray(values, dtype=object))


def _put(columns: dict[str, pa.Array], column: str, rows: np.ndarray, values: np.ndarray) -> None:
    """Replace the values at ``rows`` (any order) of an Arrow column."""
    order = np.argsort(rows, kind="stable")
    mask = np.zeros(len(columns[column]), dtype=bool)
    mask[rows] = True
    replacement = pa.array([str(v) for v in values[order]], type=STRING)
    columns[column] = pc.replace_with_mask(columns[column], pa.array(mask), replacement)


def _inject(columns: dict[str, pa.Array], kind: str, rows: np.ndarray, rng: np.random.Generator) -> None:
    """Put fault ``kind`` into the given row positions (each row receives exactly one fault)."""
    n = len(rows)
    if n == 0:
        return
    at = _Rows(columns, rows)
    hire = pd.to_datetime(at["hire_date"])
    phone, email = at["phone"], at["email"]
    if kind == "null_sentinel":
        targets = _cycle(["department", "title", "salary"], n)
        values = _cycle(["NULL", "N/A", "无", "-", "null", "NA"], n)
        for column in ("department", "title", "salary"):
            hit = targets == column
            if hit.any():
                _put(columns, column, rows[hit], values[hit])
    elif kind == "fullwidth":
        at["phone"] = _fullwidth_digits(phone)
    elif kind == "whitespace":
        at["name"] = _cycle([" ", "  ", "\t"], n) + at["name"].to_numpy(dtype=object) + _cycle(["", " ", "  "], n)
    elif kind == "date_cn":
        at["hire_date"] = (hire.dt.year.astype("str") + "年" + hire.dt.month.astype("str") + "月"
                           + hire.dt.day.astype("str") + "日")
    elif kind == "date_slash":
        at["hire_date"] = (hire.dt.year.astype("str") + "/" + hire.dt.month.astype("str") + "/"
                           + hire.dt.day.astype("str"))
    elif kind == "excel_serial":
        at["hire_date"] = ((hire - pd.Timestamp(EXCEL_EPOCH)).dt.days).astype("str")
    elif kind == "bad_date":
        year = hire.dt.year.astype("str")
        at["hire_date"] = np.where(np.arange(n) % 3 == 0, year + "-02-30",
                                   np.where(np.arange(n) % 3 == 1, year + "/13/01", "unknown"))
    elif kind == "phone_repairable":
        p = phone.str
        forms = [("+86 " + p.slice(0, 3) + " " + p.slice(3, 7) + " " + p.slice(7)),
                 (p.slice(0, 3) + "-" + p.slice(3, 7) + "-" + p.slice(7)), ("0086 " + phone),
                 ("+86-" + p.slice(0, 3) + "-" + p.slice(3, 7) + "-" + p.slice(7)),
                 (p.slice(0, 3) + " " + p.slice(3, 7) + " " + p.slice(7))]
        choice = np.arange(n) % len(forms)
        at["phone"] = np.select([choice == i for i in range(len(forms))], [f.to_numpy(dtype=object) for f in forms])
    elif kind == "phone_bad":
        choice = np.arange(n) % 3
        at["phone"] = np.where(choice == 0, phone.str.slice(0, 10), np.where(choice == 1, phone + "1", "12345"))
    elif kind == "email_upper":
        at["email"] = np.where(np.arange(n) % 2 == 0, email.str.upper(), email.str.capitalize())
    elif kind == "email_bad":
        choice = np.arange(n) % 3
        at["email"] = np.where(choice == 0, email.str.replace("@", "", regex=False),
                               np.where(choice == 1, email.str.replace("@", "@@", regex=False),
                                        email.str.replace(r"@.*$", "@", regex=True)))
    elif kind == "id_bad_checksum":
        ids = at["id_number"]
        right = ids.str.slice(17).map({c: i for i, c in enumerate(CHECK_CHARS)}).to_numpy(dtype="int64")
        wrong = CHECK_CHARS[(right + 1 + rng.integers(0, 10, n)) % 11]
        at["id_number"] = ids.str.slice(0, 17) + wrong
    elif kind == "id_birth_mismatch":
        births = pd.to_datetime(at["birth_date"]) + pd.to_timedelta(rng.integers(1, 365, n), unit="D")
        at["birth_date"] = births.dt.strftime("%Y-%m-%d")
    elif kind == "enum_bad":
        at["gender"] = _cycle(["未知", "U", "?"], n)
    elif kind == "lost_leading_zero":
        at["employee_id"] = at["employee_id"].str.lstrip("0")
    else:
        raise ValueError(f"unknown fault kind {kind!r}")


def _rule_duplicates(columns: dict[str, pa.Array], first: int, sources: np.ndarray) -> dict[str, int]:
    """Turn the people from position ``first`` on into duplicates of ``sources`` sharing one match key each."""
    rule = np.arange(len(sources)) % len(DUPLICATE_RULES)
    targets = first + np.arange(len(sources))

    def copy(column: str, hit: np.ndarray) -> None:
        if hit.any():
            values = columns[column].take(pa.array(sources[hit])).to_numpy(zero_copy_only=False)
            _put(columns, column, targets[hit], values)

    copy("name", np.ones(len(sources), dtype=bool))
    shared = {"id_number": ["id_number", "birth_date", "gender"], "email+name": ["email"], "phone+name": ["phone"]}
    by_rule = {}
    for i, name in enumerate(DUPLICATE_RULES):
        hit = rule == i
        by_rule[name] = int(hit.sum())
        for column in shared[name]:
            copy(column, hit)
    return by_rule


def generate(rows: int, seed: int = 42, fault_rate: float = 0.05,
             headers: Literal["zh", "en"] = "zh") -> tuple[pd.DataFrame, Injected]:
    """``rows`` legacy employee records (all columns text, headers in ``zh`` or ``en``) and what was injected."""
    if headers not in HEADERS:
        raise ValueError(f"headers must be one of {', '.join(HEADERS)}, got {headers!r}")
    if rows < 0 or not 0 <= fault_rate <= 0.5:
        raise ValueError("rows must be >= 0 and fault_rate within 0..0.5")
    rng = np.random.default_rng(seed)
    counts = _plan_counts(rows, fault_rate)
    n_base = rows - counts["exact_duplicate"] - counts["rule_duplicate"]
    columns = _people(rng, n_base + counts["rule_duplicate"], zh=headers == "zh")
    order = rng.permutation(n_base)
    zero_able = columns["_number"].to_numpy()[:n_base] < 10 ** (EMPLOYEE_ID_WIDTH - 1)
    used = np.zeros(n_base, dtype=bool)
    for kind, (effect, _rule) in FAULTS.items():
        if effect == "merge":
            continue
        pool = order[~used[order] & (zero_able[order] if kind == "lost_leading_zero" else True)]
        counts[kind] = min(counts[kind], len(pool))
        chosen = pool[: counts[kind]]
        used[chosen] = True
        _inject(columns, kind, chosen, rng)
    free = order[~used[order]]
    exact = counts["exact_duplicate"] = min(counts["exact_duplicate"], len(free))
    counts["rule_duplicate"] = min(counts["rule_duplicate"], len(free) - exact)
    merges_by_rule = _rule_duplicates(columns, n_base, free[exact: exact + counts["rule_duplicate"]])
    extras = np.concatenate([np.arange(n_base, n_base + counts["rule_duplicate"]), free[:exact]])
    extras = extras[rng.permutation(len(extras))]  # duplicates land at random places among the people
    keep = np.insert(np.arange(n_base), np.sort(rng.integers(0, n_base + 1, len(extras))), extras)
    names = HEADERS[headers]
    table = pa.table({names[c]: values for c, values in columns.items() if c in names}).take(pa.array(keep))
    frame = table.to_pandas().astype("str")
    return frame, _expectations(len(frame), seed, fault_rate, headers, counts, merges_by_rule)


def _expectations(rows: int, seed: int, fault_rate: float, headers: str, counts: dict[str, int],
                  merges_by_rule: dict[str, int]) -> Injected:
    repairs: dict[str, int] = {}
    quarantine: dict[str, int] = {}
    for kind, (effect, rule) in FAULTS.items():
        if counts[kind] and effect == "repair":
            repairs[rule] = repairs.get(rule, 0) + counts[kind]
        elif counts[kind] and effect == "quarantine":
            quarantine[rule] = quarantine.get(rule, 0) + counts[kind]
    merges = {"exact": counts["exact_duplicate"], **merges_by_rule}
    merges = {k: v for k, v in sorted(merges.items()) if v}
    quarantined = sum(quarantine.values())
    merged = sum(merges.values())
    return Injected(rows=rows, seed=seed, fault_rate=fault_rate, headers=headers, counts=counts,
                    repairs_by_rule=dict(sorted(repairs.items())), quarantine_by_rule=dict(sorted(quarantine.items())),
                    quarantined_rows=quarantined, merges_by_rule=merges, duplicates_merged=merged,
                    expected_clean_rows=rows - quarantined - merged)


def write(df: pd.DataFrame, path: str | Path, encoding: str = "utf-8") -> Path:
    """Write ``df`` as ``.csv`` (in ``encoding``: utf-8, utf-8-sig, gbk, gb18030), ``.xlsx`` or ``.parquet``."""
    path = Path(path)
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        df.to_csv(path, index=False, encoding=encoding)
    elif suffix == ".xlsx":
        df.to_excel(path, index=False, engine="openpyxl")
    elif suffix == ".parquet":
        df.to_parquet(path, index=False)
    else:
        raise ValueError(f"unsupported output format {suffix!r}: use .csv, .xlsx or .parquet")
    return path


def bench(frame: pd.DataFrame, injected: Injected, generated: float) -> dict[str, float]:
    """Time header mapping + ``clean_frame`` + ``dedupe`` on ``frame``; print seconds and whether counts match."""
    from transforms.cleaning import CleaningRules, clean_frame
    from transforms.dedupe import dedupe
    from transforms.header_mapping import suggest_mapping

    rules = CleaningRules()
    canonical = frame.rename(columns=suggest_mapping(list(frame.columns))["columns"])
    started, cpu_started = time.perf_counter(), time.process_time()
    cleaned = clean_frame(canonical, rules)
    cleaned_at, cpu_cleaned = time.perf_counter(), time.process_time()
    deduped = dedupe(cleaned.frame, rules)
    done, cpu_done = time.perf_counter(), time.process_time()
    summary = cleaned.summary()
    matches = (summary["repairs_by_rule"] == injected.repairs_by_rule
               and summary["quarantine_by_rule"] == injected.quarantine_by_rule
               and deduped.summary()["merges_by_rule"] == injected.merges_by_rule
               and len(deduped.frame) == injected.expected_clean_rows)
    timings = {"generate_s": generated, "clean_frame_s": cleaned_at - started, "dedupe_s": done - cleaned_at,
               "clean_frame_cpu_s": cpu_cleaned - cpu_started, "dedupe_cpu_s": cpu_done - cpu_cleaned}
    print(f"{len(frame)} rows: generate {generated:.2f} s, clean_frame {timings['clean_frame_s']:.2f} s "
          f"(CPU {timings['clean_frame_cpu_s']:.2f} s), dedupe {timings['dedupe_s']:.2f} s "
          f"(CPU {timings['dedupe_cpu_s']:.2f} s); counts match the injected faults: {matches}")
    return timings


def main(argv: list[str] | None = None) -> int:
    """CLI: generate ``--rows`` records into ``--out`` and optionally the expectations as JSON."""
    parser = argparse.ArgumentParser(description="Generate dirty legacy employee records with counted faults.")
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--out", required=True, help="output file: .csv, .xlsx or .parquet")
    parser.add_argument("--encoding", default="utf-8", choices=["utf-8", "utf-8-sig", "gbk", "gb18030"])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--fault-rate", type=float, default=0.05)
    parser.add_argument("--headers", default="zh", choices=sorted(HEADERS))
    parser.add_argument("--expected", help="write the expected report counts (JSON) here")
    parser.add_argument("--bench", action="store_true",
                        help="also time clean_frame + dedupe on the generated rows and check their counts")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    frame, injected = generate(args.rows, seed=args.seed, fault_rate=args.fault_rate, headers=args.headers)
    generated = time.perf_counter() - started
    if args.bench:
        bench(frame, injected, generated)
    out = write(frame, args.out, encoding=args.encoding)
    if args.expected:
        Path(args.expected).write_text(json.dumps(injected.to_dict(), ensure_ascii=False, indent=2) + "\n",
                                       encoding="utf-8")
    print(f"wrote {len(frame)} rows to {out}: {injected.quarantined_rows} to quarantine, "
          f"{injected.duplicates_merged} duplicates, {injected.expected_clean_rows} clean")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
