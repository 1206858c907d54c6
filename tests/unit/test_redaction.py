"""Credentials never reach an error message: URL userinfo, auth values, secret fields, remembered secrets."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors import redaction
from connectors.auth import BasicAuth
from connectors.errors import ConnectorError, HttpStatusError
from connectors.redaction import redact, remember_secret


@contextmanager
def own_secrets() -> Iterator[None]:
    """Secrets remembered inside stay out of the process-wide list other tests see."""
    saved = redaction._remembered.copy()
    try:
        yield
    finally:
        redaction._remembered.clear()
        redaction._remembered.update(saved)


@pytest.fixture(autouse=True)
def isolated() -> Iterator[None]:
    with own_secrets():
        yield


def test_userinfo_in_any_url_is_masked() -> None:
    text = "cannot reach https://sfadmin:Winter2026!@api4.example.com/odata/v2 (and ftp://u:p@h)"
    assert redact(text) == "cannot reach https://***@api4.example.com/odata/v2 (and ftp://***@h)"


def test_authorization_values_and_secret_fields_are_masked() -> None:
    echoed = ("Authorization: Basic c2ZhZG1pbjpzZWNyZXQ= rejected; Bearer eyJhbGciOi.J9x-1 expired; "
              "password=hunter22&user=a; {\"client_secret\": \"abc123\"} api_key: k-99")
    masked = redact(echoed)
    for secret in ("c2ZhZG1pbjpzZWNyZXQ=", "eyJhbGciOi.J9x-1", "hunter22", "abc123", "k-99"):
        assert secret not in masked
    assert "user=a" in masked and "Basic ***" in masked


def test_ordinary_words_after_basic_or_bearer_stay_readable() -> None:
    assert redact("SuccessFactors refused a bearer token to OAuth client x") == (
        "SuccessFactors refused a bearer token to OAuth client x")


def test_a_remembered_password_is_masked_even_bare_and_in_its_encoded_forms() -> None:
    BasicAuth("sfadmin@ACME", "s3cret pass/word")
    pair = base64.b64encode(b"sfadmin@ACME:s3cret pass/word").decode()
    text = f"invalid password 's3cret pass/word' (got s3cret%20pass%2Fword, {pair})"
    masked = redact(text)
    assert "s3cret" not in masked and pair not in masked


def test_connector_errors_redact_their_message_and_body() -> None:
    remember_secret("Sommer-2026")
    error = HttpStatusError("HTTP 400: login sfadmin / Sommer-2026 is locked", 400, "<p>Sommer-2026</p>")
    assert "Sommer-2026" not in str(error) and "Sommer-2026" not in error.body
    assert "Sommer-2026" not in str(ConnectorError("https://u:Sommer-2026@host/x"))


def test_short_secrets_are_not_remembered_so_words_stay_intact() -> None:
    remember_secret("a")
    assert redact("JobApplication") == "JobApplication"


@given(secret=st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=4, max_size=40),
       before=st.text(max_size=40), after=st.text(max_size=40))
def test_any_remembered_secret_never_survives_redaction(secret: str, before: str, after: str) -> None:
    with own_secrets():
        remember_secret(secret)
        assert secret not in redact(before + secret + after)
