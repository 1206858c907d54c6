"""Retention: policies from YAML, legal holds, deletion requests, a planner and a resumable executor.

``parse_config(yaml_doc)`` → :class:`RetentionConfig`; ``RetentionExecutor(hub, archive, config,
deletion_log, shredder, erasers)`` with ``.plan()`` and ``.run()``; holds and requests in
:mod:`.holds`. Deletions are logged in :mod:`governance.audit`.
"""

from governance.retention.config import Policy, RetentionConfig, RetentionConfigError, StoreSpec, parse_config
from governance.retention.executor import RetentionBusyError, RetentionExecutor
from governance.retention.holds import (
    HoldError,
    add_hold,
    list_holds,
    list_requests,
    remove_holds,
    request_deletion,
)
from governance.retention.protocols import (
    CRYPTO_SYSTEM,
    ExternalEraser,
    InterviewPlatform,
    Shredder,
    platform_eraser,
    shredder_eraser,
)

__all__ = [
    "CRYPTO_SYSTEM", "ExternalEraser", "HoldError", "InterviewPlatform", "Policy", "RetentionConfig",
    "RetentionBusyError", "RetentionConfigError", "RetentionExecutor", "Shredder", "StoreSpec", "add_hold", "list_holds",
    "list_requests", "parse_config", "platform_eraser", "remove_holds", "request_deletion", "shredder_eraser",
]
