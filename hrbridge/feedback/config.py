"""``configs/feedback.yaml`` as typed settings; errors name the key at fault (ConfigError, exit 2)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hrbridge.settings import ConfigError, Settings, load_config
from transforms.feedback_stats import AnalysisSettings


@dataclass(frozen=True)
class FairnessSettings:
    """The four-fifths check of proposals."""

    attributes: tuple[str, ...] = ("gender",)
    floor: float = 0.8
    min_share: float = 0.02
    pass_share: float = 0.5
    reader_role: str = "fairness_reviewer"


@dataclass(frozen=True)
class FeedbackConfig:
    """Everything the loop reads from ``configs/feedback.yaml``."""

    analysis: AnalysisSettings = field(default_factory=AnalysisSettings)
    step: float = 0.1
    max_factor: float = 2.0
    fairness: FairnessSettings = field(default_factory=FairnessSettings)
    deciders: Mapping[str, str] = field(default_factory=dict)
    successfactors: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_document(cls, doc: Any) -> FeedbackConfig:
        """Build from the parsed YAML."""
        where = "feedback.yaml"
        if not isinstance(doc, Mapping):
            raise ConfigError(f"{where}: expected a mapping")
        unknown = sorted(set(doc) - {"analysis", "proposal", "fairness", "deciders", "successfactors"})
        if unknown:
            raise ConfigError(f"{where}: unknown keys {unknown}")
        try:
            analysis = AnalysisSettings.from_dict(doc.get("analysis"))
            proposal = dict(doc.get("proposal") or {})
            fair = dict(doc.get("fairness") or {})
            if "attributes" in fair:
                fair["attributes"] = tuple(str(a) for a in fair["attributes"])
            fairness = FairnessSettings(**fair)
            step, max_factor = float(proposal.get("step", 0.1)), float(proposal.get("max_factor", 2.0))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: {exc}") from exc
        if not 0 < fairness.pass_share < 1 or not 0 < fairness.floor <= 1 or step <= 0 or max_factor < 1:
            raise ConfigError(f"{where}: need 0 < fairness.pass_share < 1, 0 < fairness.floor ≤ 1, "
                              "proposal.step > 0 and proposal.max_factor ≥ 1")
        deciders = doc.get("deciders") or {}
        if not isinstance(deciders, Mapping):
            raise ConfigError(f"{where}: deciders must map operating-system accounts to roles")
        return cls(analysis, step, max_factor, fairness, {str(k): str(v) for k, v in deciders.items()},
                   dict(doc.get("successfactors") or {}))


def load_feedback_config(settings: Settings | None = None) -> FeedbackConfig:
    """Read ``configs/feedback.yaml``."""
    return FeedbackConfig.from_document(load_config("feedback", settings))
