"""Chinese resident ID numbers (GB 11643-1999): vectorised check digits and legacy upgrades.

An 18-character ID is 6 region digits, an 8-digit birth date (YYYYMMDD), a 3-digit sequence
(odd for men, even for women) and an ISO 7064 MOD 11-2 check character (``0-9`` or ``X``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
CHECK_CHARS = np.array(list("10X98765432"))
CHECK_CODES = np.array([ord(c) for c in "10X98765432"], dtype=np.uint8)
CODE_TO_INDEX = np.zeros(256, dtype=np.int64)
CODE_TO_INDEX[CHECK_CODES] = np.arange(11)
ID15 = r"[0-9]{15}"


def arrow_strings(values: pd.Series) -> pa.LargeStringArray:
    """A string Series as one contiguous Arrow ``large_string`` array (chunks combined)."""
    arr = pa.array(values, type=pa.large_string(), from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks else pa.array([], type=pa.large_string())
    return arr


def digit_bytes(values: pd.Series, width: int) -> np.ndarray:
    """Non-null ASCII strings of exactly ``width`` characters → their ``(n, width)`` uint8 byte matrix.

    Reads the Arrow data buffer directly: equal lengths make the bytes one contiguous block.
    """
    if len(values) == 0:
        return np.zeros((0, width), dtype=np.uint8)
    arr = arrow_strings(values)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset: arr.offset + len(arr) + 1]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)[offsets[0]: offsets[-1]]
    if len(data) != len(values) * width:
        raise ValueError(f"expected {len(values)} values of exactly {width} ASCII characters")
    return data.reshape(-1, width)


def check_codes(raw: np.ndarray) -> np.ndarray:
    """The MOD 11-2 check character (as an ASCII code) for each row of a byte matrix whose first 17 are digits."""
    total = np.zeros(len(raw), dtype=np.int32)
    for position, weight in enumerate(WEIGHTS):
        total += (raw[:, position].astype(np.int32) - 48) * int(weight)
    return CHECK_CODES[total % 11]


def check_chars(first17: pd.Series) -> np.ndarray:
    """The MOD 11-2 check character for each 17-digit body."""
    return CHECK_CHARS[CODE_TO_INDEX[check_codes(digit_bytes(first17, 17))]]


def upgrade_15(ids15: pd.Series) -> pd.Series:
    """Upgrade 15-digit legacy IDs (``YYMMDD`` births in the 1900s) to 18 characters."""
    body = ids15.str.slice(0, 6) + "19" + ids15.str.slice(6, 15)
    return body + pd.Series(check_chars(body), index=ids15.index, dtype="str")
