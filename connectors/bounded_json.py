"""JSON from a remote server, decoded within :class:`connectors.limits.Limits`.

``json.loads`` alone recurses until ``RecursionError`` on deep nesting, turns a 5,000-digit number
into an int that later code chokes on, and accepts ``NaN``/``Infinity``, which then make the
``.jsonl`` files written from them invalid JSON. :func:`loads` checks the nesting depth before
parsing (strings removed, brackets counted: C-speed, no recursion), refuses non-finite and
over-long numbers while parsing, and checks string lengths afterwards when a string could be
longer than the bound. Anything outside the bounds raises
:class:`connectors.errors.MalformedResponseError` (:class:`LimitExceeded` for a bound).
"""

from __future__ import annotations

import json
import math
import re
import reprlib
from collections.abc import Callable
from itertools import accumulate, repeat
from typing import Any

from requests.utils import guess_json_utf

from connectors.errors import LimitExceeded, MalformedResponseError
from connectors.limits import Limits

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = str.maketrans("", "", "0123456789+-.eE \t\r\n,:truefalsn")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_preview = reprlib.Repr()
_preview.maxstring = _preview.maxother = 80
_preview.maxlist = _preview.maxdict = 4
_preview.maxlevel = 2


def preview(value: Any) -> str:
    """A short, bounded rendering of a decoded value for error messages (never the whole page)."""
    return _preview.repr(value)


def nesting_depth(text: str) -> int:
    """Deepest nesting of arrays/objects in JSON ``text`` (strings ignored; no recursion)."""
    brackets = _STRING.sub("", text).translate(_NOT_BRACKET)
    if not brackets:
        return 0
    return max(0, max(accumulate(map(_STEP.get, brackets, repeat(0)))))


def _decode_text(data: bytes | bytearray | str, limits: Limits, where: str) -> str:
    if isinstance(data, str):
        return data
    if len(data) > limits.max_body_bytes:
        raise LimitExceeded(f"{where}: body of {len(data)} bytes exceeds {limits.hint('max_body_bytes')}",
                            "max_body_bytes")
    encoding = guess_json_utf(bytes(data[:4])) or "utf-8"
    try:
        return bytes(data).decode("utf-8-sig" if encoding == "utf-8" else encoding)
    except UnicodeDecodeError as exc:
        raise MalformedResponseError(f"{where}: body is not {encoding} JSON ({exc.reason} at byte {exc.start})") from None


def _number_hooks(limits: Limits, where: str) -> tuple[Callable[[str], int], Callable[[str], float], Callable[[str], Any]]:
    def too_long(text: str) -> LimitExceeded:
        return LimitExceeded(f"{where}: a number of {len(text)} characters ({text[:20]}…) exceeds "
                             f"{limits.hint('max_number_length')}", "max_number_length")

    def parse_int(text: str) -> int:
        if len(text) > limits.max_number_length:
            raise too_long(text)
        return int(text)

    def parse_float(text: str) -> float:
        if len(text) > limits.max_number_length:
            raise too_long(text)
        value = float(text)
        if not math.isfinite(value):
            raise MalformedResponseError(f"{where}: number {text!r} is out of the range of a float")
        return value

    def parse_constant(name: str) -> Any:
        raise MalformedResponseError(f"{where}: {name} is not a JSON value (NaN and Infinity are refused)")

    return parse_int, parse_float, parse_constant


def check_strings(value: Any, limits: Limits, where: str) -> None:
    """Raise LimitExceeded when any key or string in ``value`` is longer than ``max_string_length``."""
    stack = [value]
    bound = limits.max_string_length
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, item in items:
            if isinstance(key, str) and len(key) > bound or isinstance(item, str) and len(item) > bound:
                long = key if isinstance(key, str) and len(key) > bound else item
                raise LimitExceeded(f"{where}: a string of {len(long)} characters ({long[:20]!r}…) exceeds "
                                    f"{limits.hint('max_string_length')}", "max_string_length")
            if isinstance(item, dict | list):
                stack.append(item)


def loads(data: bytes | bytearray | str, limits: Limits | None = None, where: str = "response") -> Any:
    """Decode JSON ``data`` within ``limits``; MalformedResponseError (or LimitExceeded) naming ``where``.

    Bounds: body bytes, nesting depth, number length, finite numbers only, string length.
    """
    limits = limits or Limits()
    text = _decode_text(data, limits, where)
    depth = nesting_depth(text)
    if depth > limits.max_depth:
        raise LimitExceeded(f"{where}: JSON nested {depth} levels deep exceeds {limits.hint('max_depth')}",
                            "max_depth")
    parse_int, parse_float, parse_constant = _number_hooks(limits, where)
    try:
        value = json.loads(text, parse_int=parse_int, parse_float=parse_float, parse_constant=parse_constant)
    except RecursionError:
        raise LimitExceeded(f"{where}: JSON nested too deep to decode; {limits.hint('max_depth')}", "max_depth") from None
    except ValueError as exc:
        raise MalformedResponseError(f"{where}: body is not JSON ({exc}): {text[:120]!r}") from None
    if len(text) > limits.max_string_length and isinstance(value, dict | list):
        check_strings(value, limits, where)
    elif isinstance(value, str) and len(value) > limits.max_string_length:
        check_strings([value], limits, where)
    return value
