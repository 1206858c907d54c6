"""Fast, strict date decoding from fixed-width ASCII text, straight from the Arrow byte buffer.

Most legacy date columns are already ``YYYY-MM-DD`` (or ``YYYY-MM-DD HH:MM:SS``), and every
resident ID embeds ``YYYYMMDD``. Decoding those digits with numpy arithmetic is an order of
magnitude faster than ``strptime`` and rejects impossible dates (``2023-02-30``) instead of
rolling them over. Anything that does not decode is NaT and goes through the slower parsers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from transforms.cleaning_ids import arrow_strings, digit_bytes

NAT = np.datetime64("NaT", "us")
_DASH, _COLON, _SPACE, _T = ord("-"), ord(":"), ord(" "), ord("T")


def _number(raw: np.ndarray, start: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The decimal number in byte columns ``start:start+width`` and whether they were all digits."""
    block = raw[:, start:start + width].astype(np.int32) - 48
    ok = ((block >= 0) & (block <= 9)).all(axis=1)
    return (block @ (10 ** np.arange(width - 1, -1, -1, dtype=np.int32))).astype(np.int64), ok


_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int32)


def days_from_civil(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 for proleptic Gregorian dates (integer arithmetic, no datetime objects)."""
    y = year - (month <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    doy = (153 * (month + np.where(month > 2, -3, 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def decode_ymd(raw: np.ndarray, year_at: int, month_at: int, day_at: int) -> np.ndarray:
    """Calendar dates from byte columns (4-digit year, 2-digit month and day) → ``datetime64[us]``, NaT if invalid."""
    year, ok_y = _number(raw, year_at, 4)
    month, ok_m = _number(raw, month_at, 2)
    day, ok_d = _number(raw, day_at, 2)
    ok = ok_y & ok_m & ok_d & (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1)
    month = np.where(ok, month, 1)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    ok &= day <= _MONTH_DAYS[month] + ((month == 2) & leap)
    days = days_from_civil(year.astype(np.int64), month.astype(np.int64), day.astype(np.int64))
    out = (days * 86_400_000_000).astype("datetime64[us]")
    out[~ok] = NAT
    return out


def strict_iso_dates(s: pd.Series) -> np.ndarray:
    """``YYYY-MM-DD`` and ``YYYY-MM-DD HH:MM:SS`` text → ``datetime64[us]``; NaT for anything else."""
    out = np.full(len(s), NAT)
    if len(s) == 0:
        return out
    size = pc.binary_length(arrow_strings(s)).to_numpy(zero_copy_only=False)
    for width in (10, 19):
        rows = size == width
        if not rows.any():
            continue
        raw = digit_bytes(s if rows.all() else s[rows], width)
        value = decode_ymd(raw, 0, 5, 8)
        ok = (raw[:, 4] == _DASH) & (raw[:, 7] == _DASH)
        if width == 19:
            hour, ok_h = _number(raw, 11, 2)
            minute, ok_mi = _number(raw, 14, 2)
            second, ok_s = _number(raw, 17, 2)
            ok &= ((raw[:, 10] == _SPACE) | (raw[:, 10] == _T)) & (raw[:, 13] == _COLON) & (raw[:, 16] == _COLON)
            ok &= ok_h & ok_mi & ok_s & (hour < 24) & (minute < 60) & (second < 60)
            value = value + ((hour * 3600 + minute * 60 + second) * 1_000_000).astype("timedelta64[us]")
        value[~ok] = NAT
        out[rows] = value
    return out
