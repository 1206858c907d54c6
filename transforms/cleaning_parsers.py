"""Vectorised per-type parsers used by :func:`transforms.cleaning.clean_frame`.

Each parser takes a normalised string Series (trimmed, full-width folded, sentinels already null)
and returns a :class:`Parsed`: the typed values, the masks of values it repaired (one rule per
value) and the masks of values it could not repair (rule + reason). The common, already-canonical
path is one regex ``fullmatch`` plus one typed conversion; slower work only touches the rest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from transforms.cleaning_ids import ID15, ID18, check_chars, upgrade_15
from transforms.cleaning_rules import PHONE_REGIONS, CleaningRules

EXCEL_EPOCH = pd.Timestamp("1899-12-30")
EMAIL = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}"
ISO_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[ T][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?"


@dataclass
class Parsed:
    """Typed values plus which values were repaired (by rule) and which cannot be repaired."""

    values: pd.Series
    repairs: list[tuple[str, pd.Series]] = field(default_factory=list)
    errors: list[tuple[str, pd.Series, pd.Series | str]] = field(default_factory=list)


def _false(s: pd.Series) -> pd.Series:
    return pd.Series(False, index=s.index)


def _match(s: pd.Series, pattern: str, where: pd.Series) -> pd.Series:
    """Boolean mask: ``where`` and the value fully matches ``pattern`` (only ``where`` rows are tested)."""
    if where.all():
        return s.str.fullmatch(pattern).fillna(False).astype(bool)
    out = _false(s)
    if where.any():
        out[where] = s[where].str.fullmatch(pattern).fillna(False).astype(bool)
    return out


def parse_text(s: pd.Series, rules: CleaningRules) -> Parsed:
    """Free text: normalisation already happened; nothing else to do."""
    return Parsed(values=s)


def _date_forms(rules: CleaningRules) -> list[tuple[str, str, Callable[[pd.Series], pd.Series], str]]:
    first = "%d/%m/%Y" if rules.day_first else "%m/%d/%Y"
    return [
        ("date_ymd", r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}", lambda v: v, "%Y-%m-%d"),
        ("date_slash", r"[0-9]{4}/[0-9]{1,2}/[0-9]{1,2}", lambda v: v, "%Y/%m/%d"),
        ("date_dot", r"[0-9]{4}\.[0-9]{1,2}\.[0-9]{1,2}", lambda v: v, "%Y.%m.%d"),
        ("date_cn", r"[0-9]{4}年[0-9]{1,2}月[0-9]{1,2}日?", lambda v: v.str.replace(r"[年月]", "-", regex=True)
         .str.replace("日", "", regex=False), "%Y-%m-%d"),
        ("date_compact", r"(?:19|20)[0-9]{6}", lambda v: v, "%Y%m%d"),
        ("date_day_first" if rules.day_first else "date_month_first", r"[0-9]{1,2}[/.-][0-9]{1,2}[/.-][0-9]{4}",
         lambda v: v.str.replace(r"[.-]", "/", regex=True), first),
    ]


def parse_date(s: pd.Series, rules: CleaningRules, keep_time: bool = False) -> Parsed:
    """ISO dates pass through; slash, dot, 年月日, compact, day/month-first and Excel serials are repaired."""
    values = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us]")
    out = Parsed(values=values)
    left = s.notna()
    iso = _match(s, ISO_DATE, left)
    if iso.all():
        values = out.values = pd.to_datetime(s, format="ISO8601", errors="coerce").astype("datetime64[us]")
    elif iso.any():
        values[iso] = pd.to_datetime(s[iso], format="ISO8601", errors="coerce").astype("datetime64[us]")
    left &= ~iso
    parsed_by_form = iso.copy()
    for rule, pattern, prepare, fmt in _date_forms(rules):
        hit = _match(s, pattern, left)
        if hit.any():
            values[hit] = pd.to_datetime(prepare(s[hit]), format=fmt, errors="coerce").astype("datetime64[us]")
            out.repairs.append((rule, hit & values.notna()))
            parsed_by_form |= hit
            left &= ~hit
    serial = _match(s, r"[0-9]{1,6}(?:\.0+)?", left)
    if serial.any():
        number = pd.to_numeric(s[serial], errors="coerce")
        ok = (number >= rules.excel_serial_min) & (number <= rules.excel_serial_max)
        serial_ok = serial.copy()
        serial_ok[serial] = ok
        days = pd.to_timedelta(number[ok].astype("int64"), unit="D")
        values[serial_ok] = (EXCEL_EPOCH + days).astype("datetime64[us]")
        out.repairs.append(("excel_serial", serial_ok))
        out.errors.append(("date", serial & ~serial_ok, f"number outside the Excel serial range "
                           f"{rules.excel_serial_min}..{rules.excel_serial_max}"))
        left &= ~serial
    out.errors.append(("date", parsed_by_form & values.isna(), "not a calendar date"))
    out.errors.append(("date", left, "unrecognised date format"))
    lo, hi = pd.Timestamp(rules.date_min), pd.Timestamp(rules.date_max) + pd.Timedelta(days=1)
    outside = values.notna() & ((values < lo) | (values >= hi))
    out.errors.append(("date_range", outside, f"date outside {rules.date_min}..{rules.date_max}"))
    if not keep_time:
        timed = values.notna() & (values != values.dt.floor("D"))
        if timed.any():
            values[timed] = values[timed].dt.floor("D")
            for i, (rule, mask) in enumerate(out.repairs):
                out.repairs[i] = (rule, mask & ~timed)
            out.repairs.append(("date_time_dropped", timed))
    return out


def parse_datetime(s: pd.Series, rules: CleaningRules) -> Parsed:
    """Like :func:`parse_date` but an ISO time of day is kept."""
    return parse_date(s, rules, keep_time=True)


def parse_phone(s: pd.Series, rules: CleaningRules) -> Parsed:
    """Phone numbers → E.164 (``+8613812345678``); separators and ``0086`` prefixes are repairs."""
    country = PHONE_REGIONS[rules.phone_region]
    values = pd.Series(np.nan, index=s.index, dtype="str")
    out = Parsed(values=values)
    present = s.notna()
    mobile = _match(s, r"1[3-9][0-9]{9}", present)
    e164 = _match(s, rf"\+{country}(?:1[3-9][0-9]{{9}}|[1-9][0-9]{{8,10}})", present & ~mobile)
    if mobile.all():
        values = out.values = f"+{country}" + s
    else:
        values[mobile] = f"+{country}" + s[mobile]
        values[e164] = s[e164]
    if rules.log_conversions:
        out.repairs.append(("phone_e164", mobile))
    rest = present & ~mobile & ~e164
    if rest.any():
        raw = s[rest]
        digits = raw.str.replace(r"[ \t\-().（）]", "", regex=True)
        intl = digits.str.match(r"(?:\+|00)")
        digits = digits.str.replace(r"^(?:\+|00)", "", regex=True)
        home = intl & digits.str.fullmatch(rf"{country}(?:1[3-9][0-9]{{9}}|[1-9][0-9]{{8,10}})")
        national_mobile = ~intl & digits.str.fullmatch(r"1[3-9][0-9]{9}")
        landline = ~intl & digits.str.fullmatch(r"0[1-9][0-9]{8,10}")
        foreign = intl & ~home & digits.str.fullmatch(r"[1-9][0-9]{7,14}")
        fixed = pd.Series(np.nan, index=raw.index, dtype="str")
        fixed[home | foreign] = "+" + digits[home | foreign]
        fixed[national_mobile] = f"+{country}" + digits[national_mobile]
        fixed[landline] = f"+{country}" + digits[landline].str.slice(1)
        ok = fixed.notna()
        values[rest] = fixed
        rest_ok = _false(s)
        rest_ok[rest] = ok
        out.repairs.append(("phone_format", rest_ok))
        rest_bad = _false(s)
        rest_bad[rest] = ~ok
        out.errors.append(("phone", rest_bad, "not a valid phone number"))
    return out


def parse_email(s: pd.Series, rules: CleaningRules) -> Parsed:
    """E-mail addresses are lower-cased (a repair when that changes them) and syntax-checked."""
    lowered = s.str.lower()
    out = Parsed(values=lowered)
    present = s.notna()
    changed = present & (lowered != s).fillna(False)
    if rules.email_check:
        valid = _match(lowered, EMAIL, present)
        out.repairs.append(("email_lowercase", changed & valid))
        out.errors.append(("email", present & ~valid, "not a valid e-mail address"))
    else:
        out.repairs.append(("email_lowercase", changed))
    return out


def parse_id_number(s: pd.Series, rules: CleaningRules) -> Parsed:
    """18-character resident IDs: ``x`` → ``X``, 15-digit upgrade, check digit and embedded birth date."""
    upper = s.str.upper()
    values = upper.copy()
    out = Parsed(values=values)
    present = s.notna()
    lower_x = present & (upper != s).fillna(False)
    if rules.id_upgrade_15:
        old = _match(upper, ID15, present)
        if old.any():
            values[old] = upgrade_15(upper[old])
            out.repairs.append(("id_upgrade_15", old))
    shaped = _match(values, ID18, present)
    out.errors.append(("id_number", present & ~shaped,
                       "expected 18 characters: 17 digits and a check digit"))
    checked = shaped.copy()
    if shaped.any():
        body = values[shaped]
        expected = pd.Series(check_chars(body.str.slice(0, 17)), index=body.index, dtype="str")
        wrong = expected != body.str.slice(17, 18)
        bad = _false(s)
        bad[shaped] = wrong
        reason = pd.Series("", index=s.index, dtype="str")
        reason[bad] = "check digit is " + body[wrong].str.slice(17, 18) + ", expected " + expected[wrong]
        out.errors.append(("id_checksum", bad, reason))
        births = id_birth_dates(values[shaped & ~bad])
        lo, hi = pd.Timestamp(rules.date_min), pd.Timestamp(dt.date.today())
        impossible = births.isna() | (births < lo) | (births > hi)
        bad_birth = _false(s)
        bad_birth[impossible.index] = impossible
        out.errors.append(("id_birth_date", bad_birth, "embedded birth date is not a plausible date"))
        checked = shaped & ~bad & ~bad_birth
    out.repairs.append(("id_uppercase_x", lower_x & checked))
    return out


def id_birth_dates(ids: pd.Series) -> pd.Series:
    """The birth date embedded in 18-character IDs (NaT when it is not a calendar date)."""
    return pd.to_datetime(ids.str.slice(6, 14), format="%Y%m%d", errors="coerce").astype("datetime64[us]")


def parse_employee_id(s: pd.Series, rules: CleaningRules) -> Parsed:
    """Employee numbers: all-digit IDs shorter than the width get their leading zeros back."""
    out = Parsed(values=s.copy())
    present = s.notna()
    width = rules.employee_id_width
    short = present & s.str.fullmatch(r"[0-9]+").fillna(False).astype(bool) & (s.str.len() < width).fillna(False)
    if short.any():
        out.values[short] = s[short].str.zfill(width)
        out.repairs.append(("employee_id_zero_pad", short))
    valid = _match(out.values, rules.employee_id_pattern, present)
    out.errors.append(("employee_id", present & ~valid, f"does not match {rules.employee_id_pattern}"))
    return out


def parse_number(s: pd.Series, rules: CleaningRules) -> Parsed:
    """Numbers: thousands separators and currency signs are repairs; anything else non-numeric is bad."""
    values = pd.Series(np.nan, index=s.index, dtype="float64")
    out = Parsed(values=values)
    present = s.notna()
    plain = _match(s, r"-?[0-9]+(?:\.[0-9]+)?", present)
    values[plain] = pd.to_numeric(s[plain])
    rest = present & ~plain
    if rest.any():
        stripped = s[rest].str.replace(r"[, \t¥￥$€]|RMB|CNY|元", "", regex=True)
        number = pd.to_numeric(stripped.where(stripped.str.fullmatch(r"-?[0-9]+(?:\.[0-9]+)?").fillna(False)),
                               errors="coerce")
        values[rest] = number
        fixed = rest & values.notna()
        out.repairs.append(("number_format", fixed))
        out.errors.append(("number", rest & values.isna(), "not a number"))
    return out


def parse_enum(name: str) -> Callable[[pd.Series, CleaningRules], Parsed]:
    """A parser mapping source codes (``男``, ``male``, ``1``) to the canonical values of enum ``name``."""

    def parse(s: pd.Series, rules: CleaningRules) -> Parsed:
        table = rules.enum_lookup(name)
        codes, uniques = pd.factorize(s.str.lower())
        lookup = np.array([table.get(str(u).casefold(), np.nan) for u in uniques] + [np.nan], dtype=object)
        mapped = pd.Series(lookup[codes], index=s.index, dtype="str")
        out = Parsed(values=mapped)
        present = s.notna()
        known = present & mapped.notna()
        if rules.log_conversions:
            out.repairs.append((f"enum_{name}", known & (mapped != s).fillna(False)))
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
        raise ValueError(f"unknown column type {kind!r}; known: {', '.join(sorted(PARSERS))}, enum:<name>") from None
