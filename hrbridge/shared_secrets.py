"""The installation's secret store: the deletion-log keys and the peppers, chosen with the master keys.

``HRBRIDGE_KEY_PROVIDER=local`` (the embedded default): files under ``HRBRIDGE_HOME/keys``, created
0600 on first use, as before. ``hub``: the hub's ``shared_secrets``, sealed by ``HRBRIDGE_KEK``, so
every worker signs and verifies the deletion log with the same key and computes the same person
keys; only :func:`init_shared_secrets` (``hrbridge keys init``) creates them there.
"""

from __future__ import annotations

from typing import Any

from governance.crypto.shared import DirSecretStore, HubSecretStore, SecretStore
from hrbridge.settings import Settings, load_settings

AUDIT_NAMES = ("audit-signing.key", "audit-signing.pub", "audit-signing.key.next", "audit-pepper.key")


def default_secret_store(settings: Settings | None = None, *, read_only: bool = False) -> SecretStore:
    """This installation's :class:`SecretStore`. ``read_only`` (verify, pages): a read-only hub
    engine, and nothing — file, table or row — is created by opening it."""
    settings = settings or load_settings()
    if settings.key_provider == "hub":
        from governance.crypto.kek import keks_from_env
        from hrbridge.store import hub_engine

        # The hub's schema (shared_secrets included) is made by its migrations, never here.
        return HubSecretStore(hub_engine(settings, create=not read_only), keks_from_env(), read_only=True)
    return DirSecretStore(settings.home / "keys")


def init_shared_secrets(settings: Settings | None = None) -> dict[str, Any]:
    """Create the deletion-log keys and the archive pepper in the hub (``hrbridge keys init``).

    Idempotent. Files a local installation already has under ``HRBRIDGE_HOME/keys`` are adopted
    (copied sealed into the hub) rather than replaced, so a log keeps its key and person keys stay
    the same. A signing key is never created for a log that already has signed heads (restore the
    trusted key's file and rerun). With the local provider this does nothing: files are created on
    first use there. Returns ``{"store", "adopted", "created"}``.
    """
    from governance.audit.keys import SIGNING_KEY_FILE, AuditKeyError, AuditKeys
    from governance.audit.log import trusted_signer
    from hrbridge.archive import PEPPER_FILE, archive_pepper
    from hrbridge.store import hub_engine

    settings = settings or load_settings()
    store = default_secret_store(settings)
    if store.creates_on_first_use:
        return {"store": "local", "adopted": [], "created": []}
    assert isinstance(store, HubSecretStore)
    before = set(store.names())
    local = DirSecretStore(settings.home / "keys")
    adopted = []
    for name in (*AUDIT_NAMES, PEPPER_FILE):
        value = local.get(name)
        if name not in before and value is not None and store.create(name, value):
            adopted.append(name)
    if store.get(SIGNING_KEY_FILE) is None:
        with hub_engine(settings).connect() as conn:
            trusted = trusted_signer(conn)
        if trusted is not None:
            raise AuditKeyError(
                f"the deletion log is signed with key {trusted}, but neither {store.where(SIGNING_KEY_FILE)} nor "
                f"{local.where(SIGNING_KEY_FILE)} holds a signing key: restore that key's file there and rerun "
                "`hrbridge keys init`; hrbridge never creates a new key for a log that already has signed heads")
    AuditKeys.load_or_create(store, create=True)
    archive_pepper(settings.home, store=store, create=True)
    created = sorted(set(store.names()) - before - set(adopted))
    return {"store": "hub", "adopted": adopted, "created": created}
