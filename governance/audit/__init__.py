"""The auditable deletion log: append-only, hash-chained, signed per run, verifiable, exportable.

``DeletionLog(engine, keys).append(conn, run_id, entries)`` writes a batch inside the caller's
transaction; ``verify_chain(engine, public_key)`` recomputes the chain; :mod:`.export` writes what
an auditor reads (CSV, JSON, HTML).
"""

from governance.audit.chain import GENESIS_HASH, LogEntry, entry_hash, utc_text
from governance.audit.keys import AuditKeyError, AuditKeys, load_public_key, pseudonymise
from governance.audit.log import AppendResult, DeletionLog
from governance.audit.schema import create_audit_tables, deletion_log, deletion_log_heads
from governance.audit.verify import VerifyReport, verify_chain

__all__ = [
    "GENESIS_HASH", "AppendResult", "AuditKeyError", "AuditKeys", "DeletionLog", "LogEntry",
    "VerifyReport", "create_audit_tables", "deletion_log", "deletion_log_heads", "entry_hash",
    "load_public_key", "pseudonymise", "utc_text", "verify_chain",
]
