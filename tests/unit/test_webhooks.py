"""Webhook signing and verification: HMAC over "timestamp.body", freshness, constant-time compare."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

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
