"""archive_sync with the hub's contacts encrypted: decrypted for mapping, sealed again in the archive,
keyed person keys, reruns rewrite nothing, old unkeyed person keys moved, shredding reaches the archive."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from datetime import timedelta

import pytest
import sqlalchemy as sa

from governance.crypto import Vault
from governance.crypto.envelope import is_token
from hrbridge.archive import archive_engine, archive_pepper, employments, open_persons, persons, portraits
from hrbridge.pipelines.archive_sync import load_archive_config, run_archive_sync
from hrbridge.settings import load_settings
from hrbridge.store import hub_engine
from hrbridge.store.recruiting import applications, candidates
from tests.factories.results import NOW, hub_application, hub_result
from transforms.archive_mapping import email_key, legacy_email_key


def _encrypt_hub_contacts(hub: sa.Engine, vault: Vault) -> None:
    """Seal the hub's e-mail/phone columns as candidate_sync does (AAD = table, column, record id)."""
    with hub.begin() as conn:
        for table, columns, record in ((candidates, ("email", "phone"), "candidate_id"),
                                       (applications, ("email",), "application_id")):
            rows = [dict(r) for r in conn.execute(sa.select(table)).mappings()
                    if not any(is_token(r[c]) for c in columns)]
            for row in vault.encrypt_rows(rows, columns, table=table.name, subject_key="candidate_id",
                                          record_key=record):
                conn.execute(table.update().where(table.c[record] == row[record])
                             .values(**{c: row[c] for c in columns}))


def _rows(engine: sa.Engine, table: sa.Table) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(table).order_by(*table.primary_key.columns)).mappings()]


def _snapshot(engine: sa.Engine) -> str:
    rows = {t.name: _rows(engine, t) for t in (persons, employments, portraits)}
    return hashlib.sha256(json.dumps(rows, sort_keys=True, default=str).encode()).hexdigest()


@pytest.fixture
def stores(hrbridge_home, db_url):
    settings = load_settings().ensure_dirs()
    hub = hub_engine(settings)
    archive = archive_engine(url=db_url)
    yield settings, hub, archive, Vault.local(hub, settings.home)
    archive.dispose()


def test_encrypted_hub_contacts_are_archived_sealed_under_a_keyed_person_key(stores) -> None:
    settings, hub, archive, vault = stores
    config = load_archive_config(settings)
    hub_application(hub, "5001", "C-1", email="Mei.Chen@Example.com")
    hub_application(hub, "5002", "C-2", email="li.lei@example.com", first_name="Lei", last_name="Li")
    hub_result(hub, "R-1", "5001", "C-1")
    _encrypt_hub_contacts(hub, vault)

    first = run_archive_sync(hub, archive, config, settings=settings)
    assert (first.hires, first.archived, first.persons.inserted, first.rekeyed) == (2, 2, 2, 0)
    pepper = archive_pepper(settings.home)
    pepper_file = settings.home / "keys" / "archive-pepper.key"
    assert stat.S_IMODE(os.stat(pepper_file).st_mode) == 0o600
    stored = {row["candidate_id"]: row for row in _rows(archive, persons)}
    mei = stored["C-1"]
    # The key is the keyed HMAC of the plaintext address (not of the hub's token, not a plain sha256).
    assert mei["person_key"] == email_key("mei.chen@example.com", pepper)
    assert mei["person_key"] != legacy_email_key("mei.chen@example.com")
    # Contacts are tokens in the archive; nothing readable in the row.
    assert is_token(mei["email"]) and is_token(mei["phone"])
    assert "example.com" not in json.dumps(stored, default=str) and "13812345678" not in json.dumps(stored, default=str)
    opened = {row["candidate_id"]: row for row in open_persons(vault, list(stored.values()))}
    assert opened["C-1"]["email"] == "Mei.Chen@Example.com" and opened["C-1"]["phone"] == "13812345678"
    assert opened["C-2"]["email"] == "li.lei@example.com"
    employment = {row["application_id"]: row for row in _rows(archive, employments)}
    assert employment["5001"]["person_key"] == mei["person_key"]

    snap = _snapshot(archive)
    again = run_archive_sync(hub, archive, config, settings=settings)
    assert again.changed == 0 and again.persons.unchanged == 2
    assert _snapshot(archive) == snap  # fresh nonces would show here if rows were rewritten

    # Rehire under a new candidate profile with the same address: same person key.
    hub_application(hub, "6001", "C-9", email=" MEI.CHEN@example.com", hired_on=NOW + timedelta(days=400))
    _encrypt_hub_contacts(hub, vault)
    rehire = run_archive_sync(hub, archive, config, settings=settings)
    assert (rehire.persons.inserted, rehire.persons.updated, rehire.employments.inserted) == (0, 1, 1)
    latest = {row["person_key"]: row for row in open_persons(vault, _rows(archive, persons))}
    assert latest[mei["person_key"]]["candidate_id"] == "C-9"
    assert latest[mei["person_key"]]["email"] == " MEI.CHEN@example.com"


def test_shredded_candidate_contacts_read_as_none_in_the_archive(stores) -> None:
    settings, hub, archive, vault = stores
    hub_application(hub, "5001", "C-1", email="mei.chen@example.com")
    hub_application(hub, "5002", "C-2", email="li.lei@example.com")
    _encrypt_hub_contacts(hub, vault)
    run_archive_sync(hub, archive, load_archive_config(settings), settings=settings)
    assert vault.shred("C-1")
    opened = {row["candidate_id"]: row for row in open_persons(vault, _rows(archive, persons))}
    assert opened["C-1"]["email"] is None and opened["C-1"]["phone"] is None
    assert opened["C-2"]["email"] == "li.lei@example.com"
    # A rerun leaves the erased person alone: no second, contact-less person keyed by candidate id.
    snap = _snapshot(archive)
    rerun = run_archive_sync(hub, archive, load_archive_config(settings), settings=settings)
    assert (rerun.hires, rerun.archived, rerun.erased, rerun.skipped, rerun.changed) == (2, 1, 1, {}, 0)
    assert _snapshot(archive) == snap


def test_persons_under_the_old_unkeyed_email_hash_are_rekeyed_once(stores) -> None:
    settings, hub, archive, vault = stores
    hub_application(hub, "5001", "C-1", email="mei.chen@example.com")
    old_key = legacy_email_key("mei.chen@example.com")
    with archive.begin() as conn:  # what an earlier version stored: unkeyed key, plaintext contacts
        conn.execute(persons.insert().values(person_key=old_key, candidate_id="C-1", email="mei.chen@example.com",
                                             phone="13812345678", content_hash="old", archived_at=NOW, updated_at=NOW))
        conn.execute(employments.insert().values(application_id="5001", person_key=old_key, candidate_id="C-1",
                                                 content_hash="old", archived_at=NOW, updated_at=NOW))
        conn.execute(employments.insert().values(application_id="4001", person_key=old_key, candidate_id="C-0",
                                                 content_hash="old", archived_at=NOW, updated_at=NOW))
    summary = run_archive_sync(hub, archive, load_archive_config(settings), settings=settings)
    assert summary.rekeyed == 1 and summary.persons.inserted == 1 and summary.employments.updated == 1
    new_key = email_key("mei.chen@example.com", archive_pepper(settings.home))
    (person,) = _rows(archive, persons)
    assert person["person_key"] == new_key and is_token(person["email"])
    assert {row["application_id"]: row["person_key"] for row in _rows(archive, employments)} == {
        "4001": new_key, "5001": new_key}  # an employment no longer in the hub moves along
    again = run_archive_sync(hub, archive, load_archive_config(settings), settings=settings)
    assert again.rekeyed == 0 and again.changed == 0


@pytest.mark.parametrize("server", ["pg_url", "mariadb_url"])
def test_existing_server_archive_gets_contact_columns_widened(server: str, request: pytest.FixtureRequest) -> None:
    from connectors.sql import make_engine

    url = request.getfixturevalue(server)
    old = make_engine(url)
    with old.begin() as conn:  # the archive_persons layout before contacts were encrypted
        conn.execute(sa.text("CREATE TABLE archive_persons (person_key VARCHAR(80) PRIMARY KEY, "
                             "candidate_id VARCHAR(64), first_name VARCHAR(200), last_name VARCHAR(200), "
                             "email VARCHAR(320), phone VARCHAR(64), country VARCHAR(64), city VARCHAR(200), "
                             "content_hash VARCHAR(64) NOT NULL, archived_at TIMESTAMP NOT NULL, "
                             "updated_at TIMESTAMP NOT NULL)"))
    old.dispose()
    engine = archive_engine(url=url)
    try:
        types = {c["name"]: c["type"] for c in sa.inspect(engine).get_columns("archive_persons")}
        assert isinstance(types["email"], sa.Text) and isinstance(types["phone"], sa.Text)
    finally:
        engine.dispose()
