"""The hub key provider: master keys in the hub sealed by HRBRIDGE_KEK, shared by every worker.

Two vaults on one hub stand for two workers that share nothing but the database (SQLite and Postgres).
"""

from __future__ import annotations

import base64
import os
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.sql import make_engine
from governance.crypto import HubKeyProvider, KekError, KeyProviderUnavailable, NoMasterKey, Vault, data_keys
from governance.crypto import kek as kek_module
from governance.crypto.kek import keks_from_env, parse_kek
from governance.crypto.schema import master_keys

KEK = os.urandom(32)


def _worker(engine: sa.Engine, *keks: bytes) -> Vault:
    return Vault(engine, HubKeyProvider(engine, list(keks) or [KEK]))


def _seal(vault: Vault, subject: str, value: str) -> str:
    token = vault.encrypt(subject, value, table="t", column="c", record_id=subject)
    assert token is not None
    return token


def _open(vault: Vault, subject: str, token: str) -> Any:
    return vault.decrypt(subject, token, table="t", column="c", record_id=subject)


@pytest.fixture
def hub(db_url: str) -> sa.Engine:
    return make_engine(db_url)


def test_a_value_sealed_by_one_worker_opens_on_another_and_the_hub_alone_holds_no_key(hub: sa.Engine) -> None:
    a, b = _worker(hub), _worker(hub)
    with pytest.raises(NoMasterKey, match="keys init"):
        a.require_available()  # the hub provider never creates the first key on its own
    first = a.initialise()
    assert b.initialise() == first  # idempotent: a second init (or worker) finds it
    token = _seal(a, "cand-1", "ada@example.org")
    assert _open(b, "cand-1", token) == "ada@example.org"
    with hub.connect() as conn:
        stored = conn.execute(sa.select(master_keys)).one()
    assert stored.kek_id == kek_module.kek_id(KEK) and stored.epoch == 1
    assert len(stored.wrapped_key) == 12 + 32 + 16  # sealed, never the bare 32-byte key
    with pytest.raises(KekError, match="sealed by KEK .* but HRBRIDGE_KEK is"):
        _open(_worker(hub, os.urandom(32)), "cand-1", token)


def test_rotation_reaches_a_worker_that_cached_the_old_master_key(hub: sa.Engine) -> None:
    a, b = _worker(hub), _worker(hub)
    a.initialise()
    old_token = _seal(b, "cand-1", "one")  # b now holds the first master key in memory
    result = a.rotate_master(destroy_old=True)
    assert result.rewrapped == 1 and result.destroyed_master_ids == result.old_master_ids
    new_token = _seal(b, "cand-2", "two")  # b wraps with the new key at once
    with hub.connect() as conn:
        masters = dict(conn.execute(sa.select(data_keys.c.subject_id, data_keys.c.master_key_id)).all())
    assert masters == {"cand-1": result.new_master_id, "cand-2": result.new_master_id}
    assert _open(b, "cand-1", old_token) == "one" and _open(a, "cand-2", new_token) == "two"
    b.provider._cache.clear()  # after CACHE_SECONDS: the destroyed key is gone from every process
    with pytest.raises(KeyProviderUnavailable, match="was destroyed"):
        b.provider.wrap(result.old_master_ids[0], b"k" * 32, b"aad")


def test_destroy_keeps_the_configured_epochs(hub: sa.Engine) -> None:
    vault = _worker(hub)
    vault.initialise()
    _seal(vault, "cand-1", "x")
    epochs = [vault.rotate_master(destroy_old=True, keep_epochs=2) for _ in range(4)]
    # epoch 5 is current; epochs 3 and 4 are kept for restoring backups, 1 and 2 destroyed
    assert [e.destroyed_master_ids for e in epochs[:2]] == [[], []]
    live = vault.provider.epochs()
    assert sorted(live[k] for k in vault.provider.key_ids()) == [3, 4, 5]
    assert {live[k] for e in epochs for k in e.destroyed_master_ids} == {1, 2}


def test_kek_rotation_reseals_master_keys(hub: sa.Engine) -> None:
    old = _worker(hub)
    old.initialise()
    token = _seal(old, "cand-1", "secret")
    new_kek = os.urandom(32)
    both = _worker(hub, new_kek, KEK)  # HRBRIDGE_KEK=new, HRBRIDGE_KEK_PREVIOUS=old
    assert both.provider.rotate_kek() == 1 and both.provider.rotate_kek() == 0
    assert _open(_worker(hub, new_kek), "cand-1", token) == "secret"
    with pytest.raises(KekError):
        _open(_worker(hub, KEK), "cand-1", token)


def test_kek_from_the_environment_is_checked() -> None:
    good = base64.b64encode(KEK).decode()
    assert keks_from_env({"HRBRIDGE_KEK": good}) == [KEK]
    assert keks_from_env({"HRBRIDGE_KEK": good, "HRBRIDGE_KEK_PREVIOUS": f"{good}, "}) == [KEK, KEK]
    with pytest.raises(KekError, match="HRBRIDGE_KEK is not set"):
        keks_from_env({})
    with pytest.raises(KekError, match="32 bytes, not 16"):
        parse_kek(base64.b64encode(b"x" * 16).decode())
    with pytest.raises(KekError, match="not valid base64"):
        parse_kek("not base64 at all!")
