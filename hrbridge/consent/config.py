"""``configs/consent.yaml`` resolved: notice versions, scopes, withdrawal scopes, declared HR fields."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from connectors.interview import CONSENT_SCOPES, LOCALES
from hrbridge.settings import PACKAGE_CONFIGS, ConfigError, Settings, load_config, load_settings

FIELD_ROLES = ("recommendation", "information", "process", "status", "disposition", "rejection")
AI_TARGET_ROLES = frozenset({"recommendation", "information"})
DECISION_ROLES = frozenset({"status", "disposition", "rejection"})
ALTERNATIVE = "alternative_process"


@dataclass(frozen=True)
class ConsentConfig:
    """What candidates are told, what their answers allow, and which HR fields AI outputs may reach."""

    notice_version: str | None
    notices: Mapping[str, Mapping[str, Any]]
    withdrawal: Mapping[str, tuple[str, ...]]
    alternative_process_status: str
    fields: Mapping[str, str]
    decisions: tuple[str, ...]
    not_assessed: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def notice_for(self, locale: str) -> dict[str, str] | None:
        """The notice an invitation in ``locale`` carries: the current version, in the candidate's language.

        A version offered in other languages only falls back to its first language.
        """
        if not self.notice_version:
            return None
        languages = list(self.notices[self.notice_version].get("languages") or LOCALES)
        return {"version": self.notice_version, "language": locale if locale in languages else languages[0]}

    @classmethod
    def from_document(cls, doc: Any) -> ConsentConfig:
        """Build from the parsed YAML; ConfigError names the key at fault."""
        where = "consent.yaml"
        if not isinstance(doc, Mapping):
            raise ConfigError(f"{where}: expected a mapping")
        notice = doc.get("notice") or {}
        versions = notice.get("versions") or {}
        current = notice.get("current")
        if current is not None and str(current) not in versions:
            raise ConfigError(f"{where}: notice.current {current!r} is not one of notice.versions")
        withdrawal = {str(k): tuple(str(c) for c in (v or ())) for k, v in (doc.get("withdrawal") or {}).items()}
        unknown = sorted(set(withdrawal) - set(CONSENT_SCOPES))
        if unknown:
            raise ConfigError(f"{where}: withdrawal: unknown scope(s) {', '.join(unknown)}")
        oversight = doc.get("oversight") or {}
        fields = {str(k): str(v) for k, v in (oversight.get("fields") or {}).items()}
        for name, role in fields.items():
            if role not in FIELD_ROLES:
                raise ConfigError(f"{where}: oversight.fields.{name}: role {role!r} is not one of {', '.join(FIELD_ROLES)}")
        texts = (doc.get("explanation") or {}).get("not_assessed") or {}
        return cls(
            notice_version=None if current is None else str(current),
            notices={str(k): dict(v or {}) for k, v in versions.items()},
            withdrawal=withdrawal,
            alternative_process_status=str(doc.get("alternative_process_status") or "Alternative process"),
            fields=fields,
            decisions=tuple(str(d) for d in (oversight.get("decisions") or ("advance", "hold", "reject"))),
            not_assessed={str(k): tuple(str(t) for t in v or ()) for k, v in texts.items()},
        )


def load_consent_config(settings: Settings | None = None) -> ConsentConfig:
    """Read ``consent.yaml`` from the config folder (the packaged one when that folder has none)."""
    settings = settings or load_settings()
    if not (settings.configs_dir / "consent.yaml").exists():
        settings = replace(settings, configs_dir=PACKAGE_CONFIGS)
    return ConsentConfig.from_document(load_config("consent", settings))
