"""Small builders of raw interview results (the platform's JSON) for results tests."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def make_result(n: int = 1, **overrides: Any) -> dict[str, Any]:
    """One valid result (for the Sales job family, completed an hour ago); override any field."""
    result: dict[str, Any] = {
        "result_id": f"res-{n:05d}",
        "invitation_id": f"inv-{n:05d}",
        "candidate_id": f"cand-{n:05d}",
        "application_id": f"{1000 + n}",
        "job_id": "REQ-1",
        "job_family": "Sales",
        "completed_at": _iso(NOW - timedelta(hours=1)),
        "invited_at": _iso(NOW - timedelta(days=2)),
        "overall_score": 72.5,
        "scale": {"min": 0, "max": 100},
        "dimensions": [
            {"name": "communication", "score": 80, "weight": 0.5, "comment": "clear"},
            {"name": "negotiation", "score": 65, "weight": 0.5, "comment": "solid"},
        ],
        "keywords": ["pipeline", "客户关系"],
        "clips": [{
            "clip_id": f"clip-{n:05d}-1", "url": f"https://media.example.test/clips/{n}/1.mp4",
            "dimension": "communication", "expires_at": _iso(NOW + timedelta(days=30)),
            "duration_seconds": 42,
        }],
        "report_url": f"https://interview.example.test/reports/{n}",
        "model_version": "scorer-2026.11",
        "interviewer_comments": "Good structure.",
        "transcript_ref": f"tr-{n}",
    }
    result.update(copy.deepcopy(overrides))
    return result


def make_results(count: int, start: int = 1) -> list[dict[str, Any]]:
    """``count`` valid results with distinct ids."""
    return [make_result(i) for i in range(start, start + count)]


def known_invitations(results: list[dict[str, Any]]) -> set[str]:
    """The invitation ids of ``results`` (what the hub would know)."""
    return {r["invitation_id"] for r in results if r.get("invitation_id")}
