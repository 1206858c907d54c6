"""Value encryption: round-trips for every column kind and tamper detection naming record and column."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from governance.crypto import SubjectKeyShredded, TamperedCiphertext, Vault
from governance.crypto.envelope import parse_token

WHERE = {"table": "candidates", "column": "email", "record_id": "rec-1"}


@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    return Vault.local(sa.create_engine(f"sqlite:///{tmp_path / 'hub.db'}"), tmp_path)


@pytest.mark.parametrize(
    "value",
    ["li.lei@example.com", "韩梅梅，北京市海淀区", "", b"\x00\xffbinary", b"", "emoji 🙂 and \n newline"],
    ids=["text", "chinese", "empty-text", "bytes", "empty-bytes", "unicode"],
)
def test_round_trip_keeps_value_and_type(vault: Vault, value: str | bytes) -> None:
    token = vault.encrypt("cand-1", value, **WHERE)
    assert token is not None and token.startswith("hrb1:1:")
    plain = value.encode() if isinstance(value, str) else value
    assert not plain or plain not in parse_token(token).sealed
    back = vault.decrypt("cand-1", token, **WHERE)
    assert back == value and type(back) is type(value)


def test_none_stays_none_and_creates_no_key(vault: Vault) -> None:
    assert vault.encrypt("cand-1", None, **WHERE) is None
    assert vault.decrypt("cand-1", None, **WHERE) is None
    assert vault.stats.keys_created == 0


def test_same_value_encrypts_differently_each_time(vault: Vault) -> None:
    assert vault.encrypt("cand-1", "x", **WHERE) != vault.encrypt("cand-1", "x", **WHERE)


def test_unsupported_type_is_rejected_naming_column_and_record(vault: Vault) -> None:
    with pytest.raises(TypeError, match=r"column 'email' of record 'rec-1'"):
        vault.encrypt("cand-1", 42, **WHERE)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "moved",
    [
        {"subject_id": "cand-1", "table": "candidates", "column": "email", "record_id": "rec-2"},
        {"subject_id": "cand-1", "table": "candidates", "column": "phone", "record_id": "rec-1"},
        {"subject_id": "cand-1", "table": "archive_persons", "column": "email", "record_id": "rec-1"},
        {"subject_id": "cand-2", "table": "candidates", "column": "email", "record_id": "rec-1"},
    ],
    ids=["other-record", "other-column", "other-table", "other-subject"],
)
def test_token_moved_elsewhere_fails_naming_record_and_column(vault: Vault, moved: dict[str, str]) -> None:
    token = vault.encrypt("cand-1", "secret", **WHERE)
    vault.encrypt("cand-2", "make a key for cand-2", **WHERE)
    subject = moved.pop("subject_id")
    with pytest.raises(TamperedCiphertext) as caught:
        vault.decrypt(subject, token, **moved)
    assert caught.value.record_id == moved["record_id"] and caught.value.column == moved["column"]
    assert repr(moved["record_id"]) in str(caught.value) and repr(moved["column"]) in str(caught.value)


def _flip(token: str, position: int) -> str:
    head, body = token.rsplit(":", 1)
    chars = list(body)
    chars[position] = "A" if chars[position] != "A" else "B"
    return f"{head}:{''.join(chars)}"


@pytest.mark.parametrize("position", [0, 20, -3], ids=["nonce", "ciphertext", "tag"])
def test_modified_ciphertext_is_detected(vault: Vault, position: int) -> None:
    token = vault.encrypt("cand-1", "身份证 110105199001011234", **WHERE)
    with pytest.raises(TamperedCiphertext, match="'email' in record 'rec-1'"):
        vault.decrypt("cand-1", _flip(token, position), **WHERE)


@pytest.mark.parametrize(
    "edit",
    [lambda t: t.replace(":s:", ":b:"), lambda t: t.replace("hrb1:", "hrb9:"), lambda t: t[:20],
     lambda t: t + "!", lambda t: "plaintext@example.com"],
    ids=["kind-swapped", "unknown-format", "truncated", "garbage", "not-a-token"],
)
def test_malformed_or_relabelled_tokens_are_rejected(vault: Vault, edit) -> None:
    token = vault.encrypt("cand-1", "value", **WHERE)
    with pytest.raises(TamperedCiphertext, match="record 'rec-1'"):
        vault.decrypt("cand-1", edit(token), **WHERE)


def test_token_is_text_safe_and_self_describing(vault: Vault) -> None:
    token = vault.encrypt("cand-1", b"clip", **WHERE)
    parsed = parse_token(token)
    assert (parsed.key_version, parsed.kind) == (1, "b")
    assert token.isascii() and "," not in token and '"' not in token and " " not in token


def test_shredded_subject_cannot_decrypt_or_encrypt(vault: Vault) -> None:
    token = vault.encrypt("cand-1", "secret", **WHERE)
    assert vault.shred("cand-1") is True
    with pytest.raises(SubjectKeyShredded, match="cand-1"):
        vault.decrypt("cand-1", token, **WHERE)
    with pytest.raises(SubjectKeyShredded):
        vault.encrypt("cand-1", "new data", **WHERE)
