"""Vectorised per-type parsers used by :func:`transforms.cleaning.clean_frame`.

Each parser takes a normalised string Series (trimmed, full-width folded, sentinels already null)
and returns a :class:`Parsed`: the typed values, the masks of values it repaired (one rule per
value) and the masks of values it could not repair (rule + reason). Masks are numpy boolean
arrays aligned with the input. The common, already-canonical path is one regex ``fullmatch``
plus one pyarrow conversion over the column; slower work only touches the rest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from transforms.cleaning_dates import decode_ymd, strict_iso_dates
from transforms.cleaning_ids import ID15, arrow_strings, check_codes, digit_bytes, upgrade_15
from transforms.cleaning_rules import PHONE_REGIONS, CleaningRules

EXCEL_EPOCH = np.datetime64("1899-12-30", "us")
EMAIL = (r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
         r"@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}")
ISO_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[ T][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?"
NUMBER = r"-?[0-9]+(?:\.[0-9]+)?"
NAT = np.datetime64("NaT", "us")
# No value in a quarantine reason (see transforms.cleaning): not even the given or the expected check digit.
ID_CHECKSUM_REASON = "check digit does not match the first 17 digits (ISO 7064 MOD 11-2)"

Reason = str | np.ndarray


@dataclass
class Parsed:
    """Typed values plus which values were repaired (by rule) and which cannot be repaired."""

    values: pd.Series
    repairs: list[tuple[str, np.ndarray]] = field(default_factory=list)
    errors: list[tuple[str, np.ndarray, Reason]] = field(default_factory=list)


def fullmatch(s: pd.Series, pattern: str, where: np.ndarray) -> np.ndarray:
    """Rows in ``where`` whose value fully matches ``pattern`` (scans only ``where`` when it is small)."""
    if not where.any():
        return np.zeros(len(s), dtype=bool)
    if where.mean() > 0.5:
        return s.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool) & where
    out = np.zeros(len(s), dtype=bool)
    out[where] = s[where].str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)
    return out


def subset(s: pd.Series, mask: np.ndarray) -> pd.Series:
    """``s[mask]`` without copying when every row is selected."""
    return s if mask.all() else s[mask]


def _bools(values: pd.Series) -> np.ndarray:
    return values.fillna(False).to_numpy(dtype=bool)


def parse_text(s: pd.Series, rules: CleaningRules) -> Parsed:
    """Free text: normalisation already happened; nothing else to do."""
    return Parsed(values=s)


def _date_forms(rules: CleaningRules) -> list[tuple[str, str, Callable[[pd.Series], pd.Series], str]]:
    first = "%d/%m/%Y" if rules.day_first else "%m/%d/%Y"
    return [
        ("date_ymd", r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}", lambda v: v, "%Y-%m-%d"),
        ("date_slash", r"[0-9]{4}/[0-9]{1,2}/[0-9]{1,2}", lambda v: v, "%Y/%m/%d"),
        ("date_dot", r"[0-9]{4}\.[0-9]{1,2}\.[0-9]{1,2}", lambda v: v, "%Y.%m.%d"),
        ("date_cn", r"[0-9]{4}年[0-9]{1,2}月[0-9]{1,2}日?",
         lambda v: v.str.replace(r"[年月]", "-", regex=True).str.replace("日", "", regex=False), "%Y-%m-%d"),
        ("date_compact", r"(?:19|20)[0-9]{6}", lambda v: v, "%Y%m%d"),
        ("date_day_first" if rules.day_first else "date_month_first",
         r"[0-9]{1,2}[/.-][0-9]{1,2}[/.-][0-9]{4}", lambda v: v.str.replace(r"[.-]", "/", regex=True), first),
    ]


def parse_date(s: pd.Series, rules: CleaningRules, keep_time: bool = False) -> Parsed:
    """ISO dates pass through; slash, dot, 年月日, compact, day/month-first and Excel serials are repaired."""
    values = np.full(len(s), NAT)
    repairs: list[tuple[str, np.ndarray]] = []
    errors: list[tuple[str, np.ndarray, Reason]] = []
    left = s.notna().to_numpy(copy=True)
    if left.any():
        values[left] = strict_iso_dates(subset(s, left))
    left &= np.isnan(values)
    iso = fullmatch(s, ISO_DATE, left)  # ISO with a T, fractions or no seconds; impossible ISO dates
    if iso.any():
        values[iso] = pd.to_datetime(s[iso], format="ISO8601", errors="coerce").to_numpy(dtype="datetime64[us]")
    left &= ~iso
    by_form = iso.copy()
    for rule, pattern, prepare, fmt in _date_forms(rules):
        hit = fullmatch(s, pattern, left)
        if hit.any():
            values[hit] = pd.to_datetime(prepare(s[hit]), format=fmt, errors="coerce").to_numpy(dtype="datetime64[us]")
            repairs.append((rule, hit & ~np.isnan(values)))
            by_form |= hit
            left &= ~hit
    serial = fullmatch(s, r"[0-9]{1,6}(?:\.0+)?", left)
    if serial.any():
        number = pc.cast(arrow_strings(s[serial]), pa.float64()).to_numpy(zero_copy_only=False)
        in_range = (number >= rules.excel_serial_min) & (number <= rules.excel_serial_max)
        serial_ok = serial.copy()
        serial_ok[serial] = in_range
        values[serial_ok] = EXCEL_EPOCH + number[in_range].astype("int64").astype("timedelta64[D]")
        repairs.append(("excel_serial", serial_ok))
        errors.append(("date", serial & ~serial_ok, f"number outside the Excel serial range "
                       f"{rules.excel_serial_min}..{rules.excel_serial_max}"))
        left &= ~serial
    missing = np.isnan(values)
    errors.append(("date", by_form & missing, "not a calendar date"))
    errors.append(("date", left, "unrecognised date format"))
    lo, hi = np.datetime64(rules.date_min, "us"), np.datetime64(rules.date_max + dt.timedelta(days=1), "us")
    errors.append(("date_range", ~missing & ((values < lo) | (values >= hi)),
                   f"date outside {rules.date_min}..{rules.date_max}"))
    if not keep_time:
        days = values.astype("datetime64[D]").astype("datetime64[us]")
        timed = ~missing & (values != days)
        if timed.any():
            values = days
            repairs = [(rule, mask & ~timed) for rule, mask in repairs] + [("date_time_dropped", timed)]
    return Parsed(values=pd.Series(values, index=s.index), repairs=repairs, errors=errors)


def parse_datetime(s: pd.Series, rules: CleaningRules) -> Parsed:
    """Like :func:`parse_date` but an ISO time of day is kept."""
    return parse_date(s, rules, keep_time=True)


def parse_phone(s: pd.Series, rules: CleaningRules) -> Parsed:
    """Phone numbers → E.164 (``+8613812345678``); separators and ``0086`` prefixes are repairs."""
    country = PHONE_REGIONS[rules.phone_region]
    present = s.notna().to_numpy()
    mobile = fullmatch(s, r"1[3-9][0-9]{9}", present)
    e164 = fullmatch(s, rf"\+{country}(?:1[3-9][0-9]{{9}}|[1-9][0-9]{{8,10}})", present & ~mobile)
    if mobile.all():
        return Parsed(values=f"+{country}" + s, repairs=[("phone_e164", mobile)] if rules.log_conversions else [])
    values = np.full(len(s), np.nan, dtype=object)
    values[mobile] = (f"+{country}" + s[mobile]).to_numpy(dtype=object)
    values[e164] = s[e164].to_numpy(dtype=object)
    out = Parsed(values=s)
    if rules.log_conversions:
        out.repairs.append(("phone_e164", mobile))
    rest = present & ~mobile & ~e164
    if rest.any():
        digits = s[rest].str.replace(r"[ \t\-().（）]", "", regex=True)
        intl = _bools(digits.str.match(r"(?:\+|00)"))
        digits = digits.str.replace(r"^(?:\+|00)", "", regex=True)
        home = intl & _bools(digits.str.fullmatch(rf"{country}(?:1[3-9][0-9]{{9}}|[1-9][0-9]{{8,10}})"))
        national_mobile = ~intl & _bools(digits.str.fullmatch(r"1[3-9][0-9]{9}"))
        landline = ~intl & _bools(digits.str.fullmatch(r"0[1-9][0-9]{8,10}"))
        foreign = intl & ~home & _bools(digits.str.fullmatch(r"[1-9][0-9]{7,14}"))
        raw = digits.to_numpy(dtype=object)
        fixed = np.full(len(raw), np.nan, dtype=object)
        fixed[home | foreign] = "+" + raw[home | foreign]
        fixed[national_mobile] = f"+{country}" + raw[national_mobile]
        fixed[landline] = f"+{country}" + digits[landline].str.slice(1).to_numpy(dtype=object)
        ok = home | foreign | national_mobile | landline
        values[rest] = fixed
        rest_ok, rest_bad = rest.copy(), rest.copy()
        rest_ok[rest], rest_bad[rest] = ok, ~ok
        out.repairs.append(("phone_format", rest_ok))
        out.errors.append(("phone", rest_bad, "not a valid phone number"))
    out.values = pd.Series(values, index=s.index, dtype="str")
    return out


def parse_email(s: pd.Series, rules: CleaningRules) -> Parsed:
    """E-mail addresses are lower-cased (a repair when that changes them) and syntax-checked."""
    lowered = s.str.lower()
    out = Parsed(values=lowered)
    present = s.notna().to_numpy()
    changed = present & _bools(lowered != s)
    if rules.email_check:
        valid = fullmatch(lowered, EMAIL, present)
        out.repairs.append(("email_lowercase", changed & valid))
        out.errors.append(("email", present & ~valid, "not a valid e-mail address"))
    else:
        out.repairs.append(("email_lowercase", changed))
    return out


def _id_shape(raw: np.ndarray) -> np.ndarray:
    """Rows of an 18-byte matrix that are 17 digits followed by a digit or ``X``."""
    ok = np.ones(len(raw), dtype=bool)
    for i in range(17):
        ok &= (raw[:, i] >= 48) & (raw[:, i] <= 57)
    last = raw[:, 17]
    return ok & (((last >= 48) & (last <= 57)) | (last == ord("X")))


def parse_id_number(s: pd.Series, rules: CleaningRules) -> Parsed:
    """18-character resident IDs: ``x`` → ``X``, 15-digit upgrade, check digit and embedded birth date."""
    upper = s.str.upper()
    present = s.notna().to_numpy()
    out = Parsed(values=upper)
    lower_x = present & _bools(upper != s)
    size = pc.binary_length(arrow_strings(upper)).to_numpy(zero_copy_only=False)
    if rules.id_upgrade_15:
        old = fullmatch(upper, ID15, present & (size == 15))
        if old.any():
            upper = upper.copy()
            upper[old] = upgrade_15(upper[old])
            out.values = upper
            out.repairs.append(("id_upgrade_15", old))
            size = np.where(old, 18, size)
    candidate = present & (size == 18)
    raw = digit_bytes(subset(upper, candidate), 18)
    shaped_sub = _id_shape(raw)
    shaped = np.zeros(len(s), dtype=bool)
    shaped[candidate] = shaped_sub
    out.errors.append(("id_number", present & ~shaped, "expected 18 characters: 17 digits and a check digit"))
    raw = raw[shaped_sub]
    expected, given = check_codes(raw), raw[:, 17]
    wrong = expected != given
    bad = np.zeros(len(s), dtype=bool)
    bad[shaped] = wrong
    out.errors.append(("id_checksum", bad, ID_CHECKSUM_REASON))
    births = decode_ymd(raw, 6, 10, 12)
    lo, hi = np.datetime64(rules.date_min, "us"), np.datetime64(dt.date.today(), "us")
    impossible = ~wrong & (np.isnan(births) | (births < lo) | (births > hi))
    bad_birth = np.zeros(len(s), dtype=bool)
    bad_birth[shaped] = impossible
    out.errors.append(("id_birth_date", bad_birth, "embedded birth date is not a plausible date"))
    out.repairs.append(("id_uppercase_x", lower_x & shaped & ~bad & ~bad_birth))
    return out


def id_birth_dates(ids: pd.Series) -> pd.Series:
    """The birth date embedded in valid 18-character IDs (NaT when it is not a calendar date)."""
    return pd.Series(decode_ymd(digit_bytes(ids, 18), 6, 10, 12), index=ids.index)


def parse_employee_id(s: pd.Series, rules: CleaningRules) -> Parsed:
    """Employee numbers: all-digit IDs shorter than the width get their leading zeros back."""
    present = s.notna().to_numpy()
    width = rules.employee_id_width
    short = present & _bools(s.str.len() < width)
    short &= fullmatch(s, r"[0-9]+", short)
    values = s
    out = Parsed(values=s)
    if short.any():
        values = s.copy()
        values[short] = s[short].str.zfill(width)
        out.values = values
        out.repairs.append(("employee_id_zero_pad", short))
    valid = fullmatch(values, rules.employee_id_pattern, present)
    out.errors.append(("employee_id", present & ~valid, f"does not match {rules.employee_id_pattern}"))
    return out


def parse_number(s: pd.Series, rules: CleaningRules) -> Parsed:
    """Numbers: thousands separators and currency signs are repairs; anything else non-numeric is bad."""
    values = np.full(len(s), np.nan)
    present = s.notna().to_numpy()
    plain = fullmatch(s, NUMBER, present)
    if plain.any():
        values[plain] = pc.cast(arrow_strings(subset(s, plain)), pa.float64()) \
            .to_numpy(zero_copy_only=False)
    out = Parsed(values=s)
    rest = present & ~plain
    if rest.any():
        stripped = s[rest].str.replace(r"[, \t¥￥$€]|RMB|CNY|元", "", regex=True)
        numeric = _bools(stripped.str.fullmatch(NUMBER))
        fixed = rest.copy()
        fixed[rest] = numeric
        values[fixed] = pc.cast(arrow_strings(stripped[numeric]), pa.float64()) \
            .to_numpy(zero_copy_only=False)
        out.repairs.append(("number_format", fixed))
        out.errors.append(("number", rest & ~fixed, "not a number"))
    out.values = pd.Series(values, index=s.index)
    return out


def parse_enum(name: str) -> Callable[[pd.Series, CleaningRules], Parsed]:
    """A parser mapping source codes (``男``, ``male``, ``1``) to the canonical values of enum ``name``."""

    def parse(s: pd.Series, rules: CleaningRules) -> Parsed:
        table = rules.enum_lookup(name)
        codes, uniques = pd.factorize(s.str.lower())
        lookup = np.array([table.get(str(u).casefold(), np.nan) for u in uniques] + [np.nan], dtype=object)
        mapped = pd.Series(lookup[codes], index=s.index, dtype="str")
        out = Parsed(values=mapped)
        present = s.notna().to_numpy()
        known = present & mapped.notna().to_numpy()
        if rules.log_conversions:
            out.repairs.append((f"enum_{name}", known & _bools(mapped != s)))
        allowed = ", ".join(sorted(set(rules.enums[name].values())))
        out.errors.append((f"enum:{name}", present & ~known, f"unknown {name} value; expected one of {allowed}"))
        return out

    return parse


PARSERS: dict[str, Callable[[pd.Series, CleaningRules], Parsed]] = {
    "text": parse_text,
    "date": parse_date,
    "datetime": parse_datetime,
    "phone": parse_phone,
    "email": parse_email,
    "id_number": parse_id_number,
    "employee_id": parse_employee_id,
    "number": parse_number,
}


def parser_for(kind: str) -> Callable[[pd.Series, CleaningRules], Parsed]:
    """The parser for a column type (``enum:<name>`` builds an enum parser)."""
    if kind.startswith("enum:"):
        return parse_enum(kind[5:])
    try:
        return PARSERS[kind]
    except KeyError:
        known = ", ".join(sorted(PARSERS))
        raise ValueError(f"unknown column type {kind!r}; known: {known}, enum:<name>") from None
