"""JSON from a server decodes within the bounds or raises MalformedResponseError, never anything else."""

from __future__ import annotations

import json
import math
import tracemalloc
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.bounded_json import loads, nesting_depth, preview
from connectors.errors import LimitExceeded, MalformedResponseError
from connectors.limits import Limits
from tests.factories.hostile import nested

SMALL = Limits(max_body_bytes=64 * 1024, max_depth=8, max_string_length=256, max_number_length=32)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=300),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=20), children, max_size=5),
    max_leaves=40,
)


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


def _within(value: Any, limits: Limits) -> bool:
    """Every string, key and number of ``value`` is inside ``limits``."""
    if isinstance(value, dict):
        return all(len(k) <= limits.max_string_length and _within(v, limits) for k, v in value.items())
    if isinstance(value, list):
        return all(_within(v, limits) for v in value)
    if isinstance(value, str):
        return len(value) <= limits.max_string_length
    if isinstance(value, float):
        return math.isfinite(value)
    return True


@pytest.mark.parametrize(("body", "limit"), [
    (nested(20_000), "max_depth"),  # RecursionError before
    (b'{"n": ' + b"9" * 5000 + b"}", "max_number_length"),
    (b'{"s": "' + b"x" * 300 + b'"}', "max_string_length"),
    (b"[" + b" " * (70 * 1024) + b"]", "max_body_bytes"),
])
def test_each_bound_gives_limit_exceeded_naming_it(body: bytes, limit: str) -> None:
    with pytest.raises(LimitExceeded) as info:
        loads(body, SMALL, "E page 1")
    assert info.value.limit == limit and f"{limit}=" in str(info.value) and str(info.value).startswith("E page 1")


@pytest.mark.parametrize("body", [b'{"score": NaN}', b"[Infinity]", b"[-Infinity]", b"[1e400]", b'{"a": 1}x', b"\xff\xfe\xfd"])
def test_non_json_values_are_refused(body: bytes) -> None:
    with pytest.raises(MalformedResponseError):
        loads(body, SMALL)


def test_strings_inside_nested_containers_and_keys_are_bounded() -> None:
    with pytest.raises(LimitExceeded, match="max_string_length"):
        loads(json.dumps({"d": {"results": [{"k" * 300: 1}]}}), SMALL)
    assert loads(json.dumps({"d": ["x" * 256]}), SMALL) == {"d": ["x" * 256]}


def test_depth_ignores_brackets_inside_strings() -> None:
    assert nesting_depth('{"a": "[[[[{{{{", "b": [1, {"c": "\\"]]]"}]}') == 3


def test_preview_is_short_whatever_the_value() -> None:
    assert len(preview({"d": {"results": [{"x": "y" * 10_000}] * 1000}})) < 300


@given(json_values)
def test_any_json_value_parses_exactly_or_raises_the_documented_error(value: Any) -> None:
    text = json.dumps(value)  # NaN/Infinity allowed here: the server's side
    try:
        decoded = loads(text.encode(), SMALL)
    except LimitExceeded as exc:
        assert exc.limit in {"max_depth", "max_string_length", "max_number_length", "max_body_bytes"}
        return
    except MalformedResponseError:
        assert not _within(value, SMALL) or "NaN" in text or "Infinity" in text
        return
    assert decoded == value and _depth(decoded) <= SMALL.max_depth and _within(decoded, SMALL)


@given(st.binary(max_size=4096) | st.text(alphabet='[]{}",:0123456789.eE+-tfnrulas \\', max_size=4096).map(str.encode))
def test_any_bytes_parse_or_raise_malformed_response(body: bytes) -> None:
    try:
        decoded = loads(body, SMALL)
    except MalformedResponseError:
        return
    assert _depth(decoded) <= SMALL.max_depth and _within(decoded, SMALL)


@given(st.integers(min_value=1, max_value=4).flatmap(lambda n: st.just(b"[" + b"0," * (n * 20 * 1024) + b"0]")))
def test_a_body_past_the_byte_bound_is_refused_before_it_is_parsed(body: bytes) -> None:
    limits = Limits(max_body_bytes=64 * 1024)
    tracemalloc.start()
    try:
        loads(body, limits)
        parsed = True
    except LimitExceeded as exc:
        parsed = False
        assert exc.limit == "max_body_bytes"
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert parsed == (len(body) <= limits.max_body_bytes)
    if not parsed:
        assert peak < 64 * 1024  # nothing of it was decoded
