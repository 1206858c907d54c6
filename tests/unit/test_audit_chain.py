"""The deletion log's canonical form, hashes, keys and pseudonyms."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from governance.audit import AuditKeyError, AuditKeys, LogEntry, entry_hash, pseudonymise
from governance.audit.chain import GENESIS_HASH, EntryTextError, canonical_text, counts_text
from governance.audit.export import explain_basis


def _entry(**changes: object) -> LogEntry:
    values = dict(requested_by="retention policy p", subject_hash="ab" * 32, categories=["interview_media"],
                  stores=["hub.interview_results"], legal_basis="PIPL Art. 47(1)(2) retention period expired",
                  method="delete", counts_before={"hub.interview_results": 2},
                  counts_after={"hub.interview_results": 0}, done_at=datetime(2026, 1, 2, tzinfo=UTC))
    values.update(changes)
    return LogEntry(**values)  # type: ignore[arg-type]


def test_hash_depends_on_every_field_and_on_the_previous_hash() -> None:
    base = _entry().values(1, "run-1", "unused")
    reference = entry_hash(GENESIS_HASH, base)
    for index in range(len(base)):
        changed = list(base)
        changed[index] = "x" if changed[index] != "x" else "y"
        assert entry_hash(GENESIS_HASH, changed) != reference, f"field {index} is not covered by the hash"
    assert entry_hash("1" * 64, base) != reference


def test_null_and_empty_text_hash_differently() -> None:
    assert canonical_text(GENESIS_HASH, [None]) != canonical_text(GENESIS_HASH, [""])


def test_separator_characters_are_rejected() -> None:
    with pytest.raises(EntryTextError, match="reserved control character"):
        entry_hash(GENESIS_HASH, _entry(legal_basis="bad\x1fbasis").values(1, "r", "now"))


def test_counts_are_canonical_regardless_of_key_order() -> None:
    assert counts_text({"b": 1, "a": 2}) == counts_text({"a": 2, "b": 1}) == '{"a":2,"b":1}'


def test_keys_are_created_owner_only_and_reloaded(tmp_path: Path) -> None:
    keys = AuditKeys.load_or_create(tmp_path / "keys", env={})
    for name in ("audit-signing.key", "audit-pepper.key"):
        assert os.stat(tmp_path / "keys" / name).st_mode & 0o777 == 0o600
    again = AuditKeys.load_or_create(tmp_path / "keys", env={})
    assert again.key_id == keys.key_id
    assert again.pseudonymise("C1") == keys.pseudonymise("C1")
    assert keys.public_key_path.read_text().startswith("-----BEGIN PUBLIC KEY-----")


def test_a_readable_signing_key_is_refused(tmp_path: Path) -> None:
    AuditKeys.load_or_create(tmp_path, env={})
    os.chmod(tmp_path / "audit-signing.key", 0o644)
    with pytest.raises(AuditKeyError, match="readable by others"):
        AuditKeys.load_or_create(tmp_path, env={})


@pytest.mark.parametrize("pepper", [b"p", b"x" * 64, b"y" * 100])
def test_pseudonym_is_standard_hmac_sha256(pepper: bytes) -> None:
    import hashlib
    import hmac

    for subject in ("C1", "候选人-7", 12345):
        assert pseudonymise(pepper, subject) == hmac.new(pepper, str(subject).encode(), hashlib.sha256).hexdigest()


def test_pseudonym_is_keyed_and_not_the_raw_id(tmp_path: Path) -> None:
    keys = AuditKeys.load_or_create(tmp_path, env={"HRBRIDGE_AUDIT_PEPPER": "pepper-1"})
    assert keys.pseudonymise("C1") == pseudonymise(b"pepper-1", "C1")
    assert keys.pseudonymise("C1") != pseudonymise(b"pepper-2", "C1")
    assert "C1" not in keys.pseudonymise("C1") and len(keys.pseudonymise("C1")) == 64


def test_legal_basis_is_explained_in_plain_words() -> None:
    assert "consent" in explain_basis("GDPR Art. 17(1)(b) consent withdrawn")
    assert "retention period" in explain_basis("PIPL Art. 47(1)(2) retention period expired")
    assert explain_basis("internal policy 7") == "See the legal basis text."
