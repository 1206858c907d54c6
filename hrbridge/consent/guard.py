"""Human oversight by construction: AI outputs reach only fields declared as recommendation or information.

Checked when a run starts (:func:`check_results_config`, called by ``load_results_config``): a
configuration that maps an AI output — score, dimension scores, keywords, report link, match % — to a
status, disposition or rejection field, or to a field ``consent.yaml`` does not declare, is refused
with the field named, before anything is read or written. The interview status field may only be a
``process`` field: it mirrors the invitation's progress, never a score.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from hrbridge.consent.config import AI_TARGET_ROLES, DECISION_ROLES, ConsentConfig
from hrbridge.settings import ConfigError

# Names that look like a decision field are refused even when declared otherwise by mistake.
DECISION_NAME = re.compile(r"(^|_)(status|stage|disposition|reject\w*|decision|hired?|offer)$|^appStatus", re.I)


class OversightError(ConfigError):
    """A configuration would let an AI output decide: it names the field."""


def field_role(name: str, config: ConsentConfig) -> str | None:
    """The declared role of an HR-system field (``None`` when undeclared)."""
    return config.fields.get(name)


def check_ai_target(output: str, target: str, config: ConsentConfig, where: str) -> None:
    """Raise :class:`OversightError` unless ``target`` is a declared recommendation or information field."""
    role = field_role(target, config)
    if role in DECISION_ROLES:
        raise OversightError(f"{where}: AI output {output!r} is mapped to {target!r}, a {role} field; AI outputs "
                             "may only be written to recommendation or information fields - a person decides")
    if role not in AI_TARGET_ROLES:
        raise OversightError(f"{where}: AI output {output!r} is mapped to {target!r}, which consent.yaml "
                             "oversight.fields does not declare as a recommendation or information field")
    if DECISION_NAME.search(target.removeprefix("cust_")):
        raise OversightError(f"{where}: AI output {output!r} is mapped to {target!r}, whose name is that of a "
                             "status, disposition or rejection field; rename the target or the declaration")


def check_results_config(raw: Mapping[str, Any], config: ConsentConfig) -> None:
    """Refuse an interview_results configuration that lets AI outputs reach a decision field."""
    where = "interview_results.yaml"
    for output, target in ((raw.get("writeback") or {}).get("fields") or {}).items():
        if target:
            check_ai_target(str(output), str(target), config, f"{where}: writeback.fields.{output}")
    status_field = (raw.get("status") or {}).get("field")
    if status_field:
        role = field_role(str(status_field), config)
        if role != "process":
            raise OversightError(
                f"{where}: status.field {status_field!r} is {'a ' + role if role else 'not declared as a process'} "
                "field; the interview status may only go to a field declared `process` in consent.yaml")
