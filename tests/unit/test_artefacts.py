"""The artefact store: checked keys, bounded sizes, both backends round-trip, altered bytes are caught."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from hrbridge.artefacts import (
    ArtefactError,
    ArtefactNotFound,
    DatabaseArtefactStore,
    ObjectArtefactStore,
    artefact_key,
    artefact_store,
    write_out,
)
from hrbridge.settings import load_settings
from hrbridge.store import hub_engine


@pytest.fixture(params=["hub", "object"])
def store(request: pytest.FixtureRequest, tmp_path: Path):
    """Each backend, bounded to 1 KiB: the hub table on SQLite and a file:// object store."""
    env = {"HRBRIDGE_HOME": str(tmp_path / "home"), "HRBRIDGE_ARTEFACT_MAX_BYTES": "1024"}
    if request.param == "object":
        env["HRBRIDGE_ARTEFACT_URL"] = f"file://{tmp_path / 'objects'}"
    settings = load_settings(env)
    return artefact_store(settings, engine=hub_engine(settings) if request.param == "hub" else None)


@pytest.mark.parametrize("kind, name", [
    ("validation", "../etc/passwd"), ("validation", "/abs"), ("validation", "a//b"), ("validation", "a/./b"),
    ("validation", ".hidden"), ("validation", "a\\b"), ("validation", ""), ("Validation", "x"), ("", "x"),
    ("../x", "y"), ("validation", "x" * 600), ("validation", "nul\x00byte"),
])
def test_bad_keys_are_refused(kind: str, name: str) -> None:
    with pytest.raises(ArtefactError):
        artefact_key(kind, name)


def test_round_trip_list_exists_delete(store) -> None:
    key = store.put("migration", "run-1/report.json", b'{"passed": true}', "application/json", {"run_id": "run-1"})
    store.put("migration", "run-1/report.html", "<p>总计</p>".encode(), "text/html; charset=utf-8")
    store.put("migration", "run-2/report.json", b"{}", "application/json")
    assert key == "migration/run-1/report.json"
    got = store.get(key)
    assert got.data == b'{"passed": true}' and got.content_type == "application/json"
    assert got.meta == {"run_id": "run-1"} and got.size == 16 and got.created_at.tzinfo is not None
    assert store.get("migration/run-1/report.html").text() == "<p>总计</p>"
    assert [i.name for i in store.list("migration", "run-1/")] == ["run-1/report.html", "run-1/report.json"]
    assert len(store.list("migration")) == 3 and store.list("validation") == []
    assert store.kinds() == ["migration"]
    store.put("migration", "run-1/report.json", b"{}", "application/json")  # replaced, not duplicated
    assert store.get(key).data == b"{}" and len(store.list("migration")) == 3
    assert store.exists(key) and store.delete(key) and not store.exists(key) and not store.delete(key)
    with pytest.raises(ArtefactNotFound, match="migration/run-1/report.json"):
        store.get(key)
    with pytest.raises(ArtefactError):
        store.get("migration/../../secret")


def test_bounds(store) -> None:
    with pytest.raises(ArtefactError, match="HRBRIDGE_ARTEFACT_MAX_BYTES"):
        store.put("migration", "big", b"x" * 1025, "application/octet-stream")
    with pytest.raises(ArtefactError, match="meta"):
        store.put("migration", "m", b"x", "text/plain", {"blob": "y" * 70_000})
    with pytest.raises(ArtefactError, match="not JSON"):
        store.put("migration", "m", b"x", "text/plain", {"bad": object()})
    with pytest.raises(ArtefactError, match="not JSON"):
        store.put("migration", "m", b"x", "text/plain", {"nan": float("nan")})
    assert not store.exists("migration/big") and not store.exists("migration/m")


def test_altered_bytes_are_caught(tmp_path: Path) -> None:
    settings = load_settings({"HRBRIDGE_HOME": str(tmp_path / "home")})
    db = DatabaseArtefactStore(hub_engine(settings))
    key = db.put("audit-export", "log.csv", b"seq,hash\n1,ab\n", "text/csv")
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE artefacts SET data = :d WHERE key = :k"), {"d": b"seq,hash\n", "k": key})
    with pytest.raises(ArtefactError, match="SHA-256"):
        db.get(key)

    from airflow.sdk import ObjectStoragePath

    objects = ObjectArtefactStore(ObjectStoragePath(f"file://{tmp_path / 'objects'}"))
    objects.put("audit-export", "log.csv", b"seq,hash\n1,ab\n", "text/csv")
    (tmp_path / "objects" / "data" / "audit-export" / "log.csv").write_bytes(b"seq,hash\n1,ac\n")
    with pytest.raises(ArtefactError, match="altered"):
        objects.get(key)


def test_local_object_store_is_owner_only(tmp_path: Path) -> None:
    store = artefact_store(load_settings({"HRBRIDGE_HOME": str(tmp_path / "h"),
                                          "HRBRIDGE_ARTEFACT_URL": f"file://{tmp_path / 'objects'}"}))
    store.put("validation", "ir-1/index.html", b"<p>", "text/html")
    created = [p for p in (tmp_path / "objects").rglob("*")]
    assert created and all(p.stat().st_mode & 0o077 == 0 for p in created)


def test_write_out_keeps_names_under_the_folder(store, tmp_path: Path) -> None:
    keys = [store.put("validation", "ir-1.html", b"page", "text/html"),
            store.put("validation", "ir-1/index.html", b"docs", "text/html")]
    paths = write_out(store, keys, tmp_path / "out")
    assert [p.read_bytes() for p in paths] == [b"page", b"docs"]
    assert paths[1] == (tmp_path / "out" / "ir-1" / "index.html").resolve()
    with pytest.raises(ArtefactError, match="outside"):
        write_out(store, keys[:1], tmp_path / "out", rename=lambda name: "../escaped.html")
