"""The canonical recruiting model: what every source is mapped into before it reaches the hub.

Declared as data: each entity lists its fields with a type and whether it is required. The field
mapping (``configs/mappings/<source>.yaml``) may only target fields declared here, and a record that
misses a required field or carries a value of the wrong type is quarantined, never dropped.
Unmapped custom fields (``cust_*``) travel in the ``extras`` JSON field of every entity.
"""

from __future__ import annotations

from dataclasses import dataclass

FIELD_TYPES = frozenset({"string", "int", "float", "bool", "datetime", "json"})


@dataclass(frozen=True)
class CanonicalField:
    """One field of a canonical entity: its name, value type and whether a record needs it."""

    name: str
    type: str = "string"
    required: bool = False


@dataclass(frozen=True)
class CanonicalEntity:
    """A canonical entity: its natural key, change-tracking field and fields."""

    name: str
    key: str
    modified_field: str
    fields: tuple[CanonicalField, ...]

    def field(self, name: str) -> CanonicalField:
        """Return the declared field called ``name``; KeyError when the entity has none."""
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        raise KeyError(name)

    @property
    def field_names(self) -> tuple[str, ...]:
        """Names of every declared field, in declaration order."""
        return tuple(f.name for f in self.fields)


def _f(name: str, type_: str = "string", required: bool = False) -> CanonicalField:
    return CanonicalField(name, type_, required)


CANDIDATE = CanonicalEntity(
    name="candidate",
    key="candidate_id",
    modified_field="last_modified",
    fields=(
        _f("candidate_id", "string", True),
        _f("first_name"),
        _f("last_name"),
        _f("email"),
        _f("phone"),
        _f("locale"),
        _f("country"),
        _f("city"),
        _f("current_title"),
        _f("created_at", "datetime"),
        _f("last_modified", "datetime", True),
    ),
)

APPLICATION = CanonicalEntity(
    name="application",
    key="application_id",
    modified_field="last_modified",
    fields=(
        _f("application_id", "string", True),
        _f("candidate_id", "string", True),
        _f("requisition_id", "string", True),
        _f("status", "string", True),
        _f("first_name"),
        _f("last_name"),
        _f("email"),
        _f("locale"),
        _f("applied_at", "datetime"),
        _f("last_modified", "datetime", True),
    ),
)

REQUISITION = CanonicalEntity(
    name="requisition",
    key="requisition_id",
    modified_field="last_modified",
    fields=(
        _f("requisition_id", "string", True),
        _f("title"),
        _f("job_family"),
        _f("job_code"),
        _f("department"),
        _f("country"),
        _f("locale"),
        _f("last_modified", "datetime", True),
    ),
)

RESUME = CanonicalEntity(
    name="resume",
    key="resume_id",
    modified_field="last_modified",
    fields=(
        _f("resume_id", "string", True),
        _f("candidate_id", "string", True),
        _f("file_name"),
        _f("mime_type"),
        _f("content"),
        _f("last_modified", "datetime"),
    ),
)

ENTITIES: dict[str, CanonicalEntity] = {e.name: e for e in (CANDIDATE, APPLICATION, REQUISITION, RESUME)}


@dataclass(frozen=True)
class ResumeSignals:
    """What a question plan may use from a resume: experience, skills, languages, education."""

    years_experience: float | None = None
    skills: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    education: str | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (stored on the candidate row, hashed into the plan version)."""
        return {
            "years_experience": self.years_experience,
            "skills": list(self.skills),
            "languages": list(self.languages),
            "education": self.education,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object] | None) -> ResumeSignals:
        """Rebuild signals from :meth:`to_dict` output; None or empty gives no signals."""
        if not data:
            return cls()
        years = data.get("years_experience")
        return cls(
            years_experience=float(years) if years is not None else None,  # type: ignore[arg-type]
            skills=tuple(data.get("skills") or ()),  # type: ignore[arg-type]
            languages=tuple(data.get("languages") or ()),  # type: ignore[arg-type]
            education=data.get("education"),  # type: ignore[arg-type]
        )
