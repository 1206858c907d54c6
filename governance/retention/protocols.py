"""What retention asks of other systems, as small protocols (the real objects plug in at run time).

``Shredder`` is the key vault's crypto-shredding (``Vault.shred``); ``InterviewPlatform`` is the
interview platform connector's media deletion; ``ExternalEraser`` is the one-method form every
external deletion is adapted to, so the executor treats them all alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

CRYPTO_SYSTEM = "crypto-shred"
ERASED = "erased:"  # the prefix of an erased person's pseudonym in records that prove the erasure


def erased_name(pseudonymise: Callable[[str], str]) -> Callable[[str], str]:
    """What records of an erased person keep instead of their id: ``erased:<deletion-log pseudonym>``.

    Released legal holds and the destroyed data key's record use it, so an auditor holding the id
    matches them to the person's deletion-log entries (same HMAC) while nothing names them in clear.
    """

    def name(subject_id: str) -> str:
        """``erased:`` and the deletion log's HMAC of ``subject_id``."""
        return f"{ERASED}{pseudonymise(str(subject_id))}"

    return name


@runtime_checkable
class Shredder(Protocol):
    """Destroys a person's data key so every copy encrypted under it becomes unreadable.

    A shredder with a ``tombstone`` attribute left ``None`` (the vault) is given the deletion log's
    :func:`erased_name` by the executor: the destroyed key's record then keeps no id in clear.
    """

    def shred(self, subject_id: str) -> bool:
        """Destroy the key; True when a key was destroyed, False when none was left."""
        ...


@runtime_checkable
class InterviewPlatform(Protocol):
    """The interview platform's API for deleting a candidate's video and clips."""

    def delete_candidate_media(self, candidate_id: str) -> Any:
        """Ask the platform to delete the candidate's media; raises on failure."""
        ...


class ExternalEraser(Protocol):
    """Deletes one person's data in one system; raises when it could not."""

    def __call__(self, subject_id: str) -> int | None:
        """Delete or raise; returns how many items were deleted when the system says (None: unknown)."""
        ...


def platform_eraser(platform: InterviewPlatform) -> ExternalEraser:
    """Adapt the interview platform connector to an :class:`ExternalEraser`."""

    def erase(subject_id: str) -> int | None:
        """Delete the candidate's media; the number of items deleted when the platform says."""
        answer = platform.delete_candidate_media(subject_id)
        if isinstance(answer, dict):
            counts = [v for k, v in answer.items() if k.startswith("deleted_") and isinstance(v, int)]
            return sum(counts) if counts else None
        return None

    return erase


def shredder_eraser(shredder: Shredder) -> ExternalEraser:
    """Adapt a key vault to an :class:`ExternalEraser` (an already shredded key counts as done)."""

    def erase(subject_id: str) -> int:
        """Shred the key: 1 when a live key was destroyed now, 0 when none was left."""
        return 1 if shredder.shred(subject_id) else 0

    return erase
