"""Webhook signing and verification: HMAC over "timestamp.body", freshness, constant-time compare."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.errors import ConnectorError
from connectors.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, InvalidSignature, sign, verify

SECRET = "whsec-test"
NOW = 1_790_000_000
BODY = json.dumps({"event": "interview.completed", "invitation_id": "inv_1"}).encode()


def test_sign_produces_the_documented_hmac() -> None:
    headers = sign(BODY, SECRET, timestamp=NOW)
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert headers == {TIMESTAMP_HEADER: str(NOW), SIGNATURE_HEADER: f"v1={expected}"}


def test_verify_accepts_a_good_signature_and_returns_the_event() -> None:
    event = verify(BODY, sign(BODY, SECRET, timestamp=NOW), SECRET, now=NOW + 10)
    assert event == {"event": "interview.completed", "invitation_id": "inv_1"}


def test_verify_reads_headers_case_insensitively() -> None:
    headers = {k.lower(): v for k, v in sign(BODY, SECRET, timestamp=NOW).items()}
    assert verify(BODY, headers, SECRET, now=NOW)["invitation_id"] == "inv_1"


def test_tampered_body_is_a_mismatch() -> None:
    headers = sign(BODY, SECRET, timestamp=NOW)
    tampered = BODY.replace(b"inv_1", b"inv_2")
    with pytest.raises(InvalidSignature, match="mismatch"):
        verify(tampered, headers, SECRET, now=NOW)


def test_wrong_secret_is_a_mismatch() -> None:
    with pytest.raises(InvalidSignature, match="mismatch"):
        verify(BODY, sign(BODY, "another-secret", timestamp=NOW), SECRET, now=NOW)


def test_tampered_timestamp_is_a_mismatch() -> None:
    headers = sign(BODY, SECRET, timestamp=NOW)
    headers[TIMESTAMP_HEADER] = str(NOW + 1)
    with pytest.raises(InvalidSignature, match="mismatch"):
        verify(BODY, headers, SECRET, now=NOW)


@pytest.mark.parametrize("offset", [301, -301, 86_400])
def test_timestamps_outside_the_tolerance_are_stale(offset: int) -> None:
    headers = sign(BODY, SECRET, timestamp=NOW)
    with pytest.raises(InvalidSignature, match="stale timestamp"):
        verify(BODY, headers, SECRET, now=NOW + offset)


def test_timestamp_at_the_tolerance_edge_is_accepted() -> None:
    assert verify(BODY, sign(BODY, SECRET, timestamp=NOW), SECRET, tolerance=300, now=NOW + 300)


@pytest.mark.parametrize("missing", [TIMESTAMP_HEADER, SIGNATURE_HEADER])
def test_missing_headers_are_named(missing: str) -> None:
    headers = sign(BODY, SECRET, timestamp=NOW)
    del headers[missing]
    with pytest.raises(InvalidSignature, match=f"missing {missing}"):
        verify(BODY, headers, SECRET, now=NOW)


@pytest.mark.parametrize(
    ("timestamp", "signature"),
    [("yesterday", "v1=abc"), (str(NOW), "sha256=abc"), (str(NOW), "v1="), (str(NOW), "")],
)
def test_malformed_headers_are_a_bad_format(timestamp: str, signature: str) -> None:
    headers = {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature}
    with pytest.raises(InvalidSignature, match="bad format"):
        verify(BODY, headers, SECRET, now=NOW)


def test_any_of_several_signatures_may_match_during_secret_rotation() -> None:
    old = sign(BODY, "old-secret", timestamp=NOW)[SIGNATURE_HEADER]
    new = sign(BODY, SECRET, timestamp=NOW)[SIGNATURE_HEADER]
    headers = {TIMESTAMP_HEADER: str(NOW), SIGNATURE_HEADER: f"{old}, {new}"}
    assert verify(BODY, headers, SECRET, now=NOW)["event"] == "interview.completed"


def test_valid_signature_over_a_non_object_body_is_rejected() -> None:
    body = b"[1, 2]"
    with pytest.raises(InvalidSignature, match="not a JSON object"):
        verify(body, sign(body, SECRET, timestamp=NOW), SECRET, now=NOW)


def test_empty_secret_is_refused_on_both_sides() -> None:
    with pytest.raises(ValueError):
        sign(BODY, "")
    with pytest.raises(InvalidSignature, match="no webhook secret"):
        verify(BODY, sign(BODY, SECRET, timestamp=NOW), "", now=NOW)


def test_invalid_signature_is_a_connector_error() -> None:
    assert issubclass(InvalidSignature, ConnectorError)


def test_replay_keys_name_the_signed_message_and_the_event_not_the_header_text() -> None:
    from connectors.webhooks import verify_delivery

    body = json.dumps({"event": "interview.completed", "event_id": "evt_1"}).encode()
    headers = sign(body, SECRET, timestamp=NOW)
    reformatted = {TIMESTAMP_HEADER: f" {NOW} ", SIGNATURE_HEADER: "v1=00, v1=" + headers[SIGNATURE_HEADER][3:].upper()}
    first = verify_delivery(body, headers, SECRET, now=NOW)
    second = verify_delivery(body, reformatted, SECRET, now=NOW)
    resigned = verify_delivery(body, sign(body, SECRET, timestamp=NOW + 1), SECRET, now=NOW)
    assert first.replay_keys == second.replay_keys
    assert first.replay_keys[1] == resigned.replay_keys[1] and first.replay_keys[0] != resigned.replay_keys[0]
    assert all("evt_1" not in key for key in first.replay_keys)  # digests only


@pytest.mark.parametrize("stamp", ["9" * 5000, "1e9", "１２３", "-1"])
def test_timestamps_that_are_not_plain_digits_are_a_bad_format(stamp: str) -> None:
    with pytest.raises(InvalidSignature, match="bad format"):
        verify(BODY, {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: "v1=ab"}, SECRET, now=NOW)


@pytest.mark.parametrize("body", [b"[" * 100_000, b'{"a":' * 40 + b"1" + b"}" * 40, b"\xff\xfe"])
def test_signed_bodies_too_deep_or_not_json_are_malformed_events(body: bytes) -> None:
    from connectors.webhooks import MalformedEvent

    with pytest.raises(MalformedEvent):
        verify(body, sign(body, SECRET, timestamp=NOW), SECRET, now=NOW)


@given(body=st.binary(max_size=512), stamp=st.text(max_size=20), signature=st.text(max_size=80))
def test_any_input_verifies_or_raises_invalid_signature(body: bytes, stamp: str, signature: str) -> None:
    try:
        verify(body, {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: signature}, SECRET, now=NOW)
    except InvalidSignature:
        return
    raise AssertionError("an unsigned body verified")
