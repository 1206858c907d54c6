"""Request rules of the interview sandbox: invitation validation, "same body", results cursors.

Pure functions, kept apart from the server so they can be tested and read on their own.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from datetime import datetime
from typing import Any

from connectors.interview import LOCALES, parse_rfc3339, to_rfc3339


def validate_invitation(body: dict[str, Any], now: datetime) -> list[dict[str, str]]:
    """Every problem with an invitation body as ``{"field", "message"}``; empty when valid."""
    errors: list[dict[str, str]] = []

    def text(container: dict[str, Any], name: str, path: str) -> None:
        value = container.get(name)
        if not isinstance(value, str) or not value.strip():
            errors.append({"field": path, "message": "required non-empty string"})

    for name in ("candidate_id", "application_id", "job_id", "job_family", "candidate_name"):
        text(body, name, name)
    email = body.get("candidate_email")
    if not isinstance(email, str) or not re.fullmatch(r"[^@\s]+@[^@\s]+", email):
        errors.append({"field": "candidate_email", "message": "required e-mail address"})
    if body.get("locale") not in LOCALES:
        errors.append({"field": "locale", "message": f"must be one of {', '.join(LOCALES)}"})
    try:
        if parse_rfc3339(body.get("deadline"), "deadline") <= now:
            errors.append({"field": "deadline", "message": "must lie in the future"})
    except ValueError as exc:
        errors.append({"field": "deadline", "message": str(exc)})
    callback = body.get("callback_url")
    if callback is not None and not (isinstance(callback, str) and re.match(r"https?://\S+$", callback)):
        errors.append({"field": "callback_url", "message": "must be an http(s) URL or absent"})
    notice = body.get("notice")
    if notice is not None:
        if not isinstance(notice, dict) or not isinstance(notice.get("version"), str) or not notice["version"].strip():
            errors.append({"field": "notice.version", "message": "required non-empty string when notice is given"})
        elif notice.get("language") not in LOCALES:
            errors.append({"field": "notice.language", "message": f"must be one of {', '.join(LOCALES)}"})
    plan = body.get("question_plan")
    if not isinstance(plan, dict):
        errors.append({"field": "question_plan", "message": "required object"})
        return errors
    text(plan, "plan_id", "question_plan.plan_id")
    text(plan, "version", "question_plan.version")
    questions = plan.get("questions")
    if not isinstance(questions, list) or not questions:
        errors.append({"field": "question_plan.questions", "message": "required non-empty list"})
        return errors
    seen: set[str] = set()
    for index, question in enumerate(questions):
        path = f"question_plan.questions[{index}]"
        if not isinstance(question, dict):
            errors.append({"field": path, "message": "must be an object"})
            continue
        for name in ("id", "dimension", "scenario", "prompt"):
            text(question, name, f"{path}.{name}")
        if question.get("id") in seen:
            errors.append({"field": f"{path}.id", "message": "duplicate question id"})
        seen.add(str(question.get("id")))
        weight = question.get("weight")
        if isinstance(weight, bool) or not isinstance(weight, int | float) or weight <= 0:
            errors.append({"field": f"{path}.weight", "message": "must be a number > 0"})
        limit = question.get("time_limit_seconds")
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            errors.append({"field": f"{path}.time_limit_seconds", "message": "must be an integer >= 1"})
    return errors


def canonical(value: Any) -> Any:
    """JSON value with the differences a serialiser may introduce removed: null members dropped,
    integral floats as ints, timestamps normalised to UTC milliseconds."""
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and len(value) >= 20 and value[4:5] == "-" and value[10:11] == "T":
        try:
            return to_rfc3339(parse_rfc3339(value))
        except ValueError:
            return value
    return value


# Members left out of "the same body": a client that lost track of an invitation (its ledger restored from
# a backup or moved to another database) re-plans it with a fresh deadline and must get the original
# invitation back, with the original deadline, not a conflict.
OUTSIDE_FINGERPRINT = frozenset({"deadline"})


def fingerprint(body: dict[str, Any]) -> str:
    """What "the same body" means for an Idempotency-Key: equal canonical JSON, ``deadline`` aside."""
    kept = {k: v for k, v in body.items() if k not in OUTSIDE_FINGERPRINT}
    text = json.dumps(canonical(kept), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def encode_cursor(position: int) -> str:
    """The opaque cursor for "after the first ``position`` results in completion order"."""
    raw = json.dumps({"v": 1, "seq": position}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> int | None:
    """The position a cursor stands for, or None when this platform did not issue it."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        position = data["seq"]
    except (ValueError, binascii.Error, KeyError, TypeError):
        return None
    return position if isinstance(position, int) and position >= 0 and data.get("v") == 1 else None
