"""Chinese resident ID numbers (GB 11643-1999): vectorised check digits and legacy upgrades.

An 18-character ID is 6 region digits, an 8-digit birth date (YYYYMMDD), a 3-digit sequence
(odd for men, even for women) and an ISO 7064 MOD 11-2 check character (``0-9`` or ``X``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
CHECK_CHARS = np.array(list("10X98765432"))
ID18 = r"[0-9]{17}[0-9X]"
ID15 = r"[0-9]{15}"


def digit_matrix(values: pd.Series, width: int) -> np.ndarray:
    """ASCII-digit strings of exactly ``width`` characters → an ``(n, width)`` int matrix (no Python loop)."""
    if len(values) == 0:
        return np.zeros((0, width), dtype=np.int64)
    raw = "".join(values.tolist()).encode("ascii")
    return np.frombuffer(raw, dtype=np.uint8).reshape(-1, width).astype(np.int64) - 48


def check_chars(first17: pd.Series) -> np.ndarray:
    """The MOD 11-2 check character for each 17-digit body."""
    digits = digit_matrix(first17, 17)
    return CHECK_CHARS[(digits @ WEIGHTS) % 11]


def upgrade_15(ids15: pd.Series) -> pd.Series:
    """Upgrade 15-digit legacy IDs (``YYMMDD`` births in the 1900s) to 18 characters."""
    body = ids15.str.slice(0, 6) + "19" + ids15.str.slice(6, 15)
    return body + pd.Series(check_chars(body), index=ids15.index, dtype="str")
