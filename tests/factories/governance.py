"""Factories for governance tests: a loopback KMS, hub-like tables with sample rows, small frames."""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


@dataclass
class LoopbackKms:
    """An in-process KMS speaking the :class:`KmsKeyProvider` transport protocol; can be switched off."""

    available: bool = True
    keys: dict[str, bytes] = field(default_factory=dict)
    current: str = ""
    calls: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.current:
            self._create()

    def _create(self) -> str:
        key_id = f"kms-{len(self.keys) + 1}"
        self.keys[key_id] = AESGCM.generate_key(bit_length=256)
        self.current = key_id
        return key_id

    def __call__(self, operation: str, payload: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(operation)
        if not self.available:
            raise ConnectionError("KMS endpoint refused the connection")
        if operation == "current":
            return {"key_id": self.current}
        if operation == "create":
            return {"key_id": self._create()}
        key = AESGCM(self.keys[payload["key_id"]])
        aad = base64.b64decode(payload["aad"])
        if operation == "wrap":
            nonce = os.urandom(12)
            sealed = nonce + key.encrypt(nonce, base64.b64decode(payload["plaintext"]), aad)
            return {"ciphertext": base64.b64encode(sealed).decode()}
        if operation == "unwrap":
            sealed = base64.b64decode(payload["ciphertext"])
            return {"plaintext": base64.b64encode(key.decrypt(sealed[:12], sealed[12:], aad)).decode()}
        raise ValueError(f"unknown KMS operation {operation}")


def candidate_frame(count: int = 6, subjects: int = 3) -> pd.DataFrame:
    """Candidates with text (incl. Chinese), bytes and missing values, several rows per subject."""
    rows = []
    for i in range(count):
        rows.append({
            "record_id": f"app-{i}",
            "candidate_id": f"cand-{i % subjects}",
            "name": ["李雷", "Anna Example", "韩梅梅"][i % 3],
            "email": None if i == count - 1 else f"person{i}@example.com",
            "resume_pdf": f"%PDF-1.4 resume {i}".encode(),
        })
    return pd.DataFrame(rows)


def hub_tables(meta: sa.MetaData | None = None) -> dict[str, sa.Table]:
    """Hub-like tables with the column names roles.yaml maps (stand-ins for other areas' tables)."""
    meta = meta or sa.MetaData()
    candidates = sa.Table(
        "candidates", meta,
        sa.Column("candidate_id", sa.String(64), primary_key=True),
        sa.Column("first_name", sa.Text), sa.Column("last_name", sa.Text), sa.Column("locale", sa.String(16)),
        sa.Column("country", sa.String(64)), sa.Column("source", sa.String(32)),
        sa.Column("email", sa.Text), sa.Column("phone", sa.Text), sa.Column("id_number", sa.Text),
        sa.Column("extras", sa.Text),  # mapped by no resource: never returned
    )
    results = sa.Table(
        "interview_results", meta,
        sa.Column("result_id", sa.String(64), primary_key=True),
        sa.Column("candidate_id", sa.String(64)), sa.Column("application_id", sa.String(64)),
        sa.Column("overall_score", sa.Float), sa.Column("dimensions", sa.Text), sa.Column("keywords", sa.Text),
        sa.Column("clips", sa.Text), sa.Column("transcript_ref", sa.Text),
        sa.Column("completed_at", sa.DateTime(timezone=True)),
        sa.Column("run_id", sa.String(64)),  # mapped by no resource: never returned
    )
    log = sa.Table(
        "deletion_log", meta,
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("subject_hash", sa.String(64)), sa.Column("method", sa.String(32)),
        sa.Column("legal_basis", sa.Text), sa.Column("entry_hash", sa.String(64)),
    )
    requests = sa.Table(
        "deletion_requests", meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subject_id", sa.String(200)), sa.Column("requested_by", sa.String(200)),
        sa.Column("requested_at", sa.DateTime(timezone=True)),
    )
    from governance.retention.schema import subject_logins

    logins = subject_logins.to_metadata(meta)  # the operator's login → subject map, as declared
    return {t.name: t for t in (candidates, results, log, requests, logins)}


def seed_hub(engine: sa.Engine, vault: Any, subjects: int = 3) -> dict[str, sa.Table]:
    """Create the hub-like tables and fill them, encrypting the sensitive columns with ``vault``."""
    meta = sa.MetaData()
    tables = hub_tables(meta)
    meta.create_all(engine)
    people = pd.DataFrame([
        {"candidate_id": f"cand-{i}", "first_name": "雷", "last_name": f"李{i}", "locale": "zh_CN",
         "country": "CN", "source": "sf", "email": f"c{i}@example.com", "phone": f"1380000{i:04d}",
         "id_number": f"11010519900101{i:04d}", "extras": '{"cust_notes": "do not show"}'}
        for i in range(subjects)
    ])
    for column in ("email", "phone", "id_number"):
        people = vault.encrypt_column(people, column, table="candidates", subject_col="candidate_id",
                                      record_col="candidate_id")
    results = pd.DataFrame([
        {"result_id": f"res-{i}", "candidate_id": f"cand-{i}", "application_id": f"app-{i}",
         "overall_score": 70.0 + i, "dimensions": json.dumps({"communication": 4}), "keywords": "sales",
         "clips": json.dumps([f"s3://media/cand-{i}/clip1.mp4"]), "transcript_ref": f"s3://media/cand-{i}/t.txt",
         "completed_at": datetime(2026, 1, 1, tzinfo=UTC), "run_id": "run-1"}
        for i in range(subjects)
    ])
    for column in ("clips", "transcript_ref"):
        results = vault.encrypt_column(results, column, table="interview_results", subject_col="candidate_id",
                                       record_col="result_id")
    with engine.begin() as conn:
        conn.execute(sa.insert(tables["candidates"]), people.to_dict("records"))
        conn.execute(sa.insert(tables["interview_results"]), results.to_dict("records"))
        conn.execute(sa.insert(tables["deletion_log"]), [
            {"seq": 1, "subject_hash": "ab" * 32, "method": "crypto-shred",
             "legal_basis": "PIPL Art. 47(1)(2) retention period expired", "entry_hash": "cd" * 32},
        ])
        conn.execute(sa.insert(tables["deletion_requests"]), [
            {"subject_id": f"cand-{i}", "requested_by": f"cand-{i}",
             "requested_at": datetime(2026, 2, 1, tzinfo=UTC)} for i in range(subjects)
        ])
    return tables
