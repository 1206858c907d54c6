"""The role policy: the full role × resource × action matrix, own-subject scope, and config errors."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml

from governance.access import AccessDenied, Policy, PolicyConfigError, UnknownRole

ROLES_YAML = Path(__file__).resolve().parents[2] / "configs" / "roles.yaml"
POLICY = Policy.from_yaml(ROLES_YAML)

# What the organisation decided, written out independently of the YAML (everything else is denied).
EXPECTED: dict[str, dict[str, set[str]]] = {
    "hr_specialist": {
        "candidate.basic": {"read", "write"},
        "candidate.contact": {"read", "write"},
        "interview.scores": {"read", "write"},
        "application.status": {"read"},
        "archive.portrait": {"read"},
        "feedback.proposals": {"read"},
        "validation.run": {"read"},
        "validation.quarantine": {"read", "run"},
        "migration.report": {"read"},
        "migration.quarantine": {"read"},
        "migration.values": {"read"},
    },
    "hiring_manager": {
        "candidate.basic": {"read"},
        "interview.scores": {"read"},
        "interview.video": {"read"},
        "interview.transcript": {"read"},
        "application.status": {"read"},
        "archive.portrait": {"read"},
    },
    "admin": {
        "pipeline.config": {"read", "write"}, "pipeline.run": {"read", "run"}, "validation.run": {"read"},
        "migration.report": {"read"}, "migration.quarantine": {"read"},
    },
    "auditor": {
        "deletion_log": {"read"}, "audit.verify": {"run"}, "audit.export": {"read"}, "retention.holds": {"read"},
        "retention.requests": {"read"},
        # the bias audit: sealed categories, readable by this role only, and the audit itself
        "audit.categories": {"read", "write"}, "audit.bias": {"read", "run"},
    },
    "candidate": {"deletion_request.own": {"read", "request"}},
    "hr_lead": {"feedback.proposals": {"read", "write"}, "archive.portrait": {"read"}},
    "fairness_reviewer": {"archive.protected_attributes": {"read", "write"}, "feedback.proposals": {"read"}},
}
RESOURCES = [
    "candidate.basic", "candidate.contact", "candidate.id_number", "interview.scores", "interview.video",
    "interview.transcript", "pipeline.config", "pipeline.run", "deletion_log", "deletion_request.own",
    "application.status", "archive.portrait", "validation.run", "validation.quarantine", "migration.report",
    "migration.quarantine", "migration.values", "audit.verify", "audit.export", "retention.holds",
    "retention.requests", "archive.protected_attributes", "feedback.proposals", "audit.categories", "audit.bias",
]
ACTIONS = ["read", "write", "delete", "request", "run"]
OWN = "cand-7"


def test_yaml_declares_exactly_the_expected_roles_resources_and_actions() -> None:
    assert set(POLICY.roles) == set(EXPECTED)
    assert set(POLICY.resources) == set(RESOURCES)
    assert POLICY.actions == set(ACTIONS)


@pytest.mark.parametrize(("role", "resource", "action"), list(itertools.product(EXPECTED, RESOURCES, ACTIONS)))
def test_matrix(role: str, resource: str, action: str) -> None:
    expected = action in EXPECTED[role].get(resource, set())
    assert POLICY.allows(role, resource, action, subject_id=OWN, principal_subject=OWN) is expected
    if expected:
        POLICY.require(role, resource, action, subject_id=OWN, principal_subject=OWN)
    else:
        with pytest.raises(AccessDenied) as caught:
            POLICY.require(role, resource, action, subject_id=OWN, principal_subject=OWN)
        assert (caught.value.role, caught.value.resource, caught.value.action) == (role, resource, action)
        assert f"role {role!r} may not {action} {resource!r}" in str(caught.value)


@pytest.mark.parametrize("role", list(EXPECTED))
def test_no_role_besides_hiring_manager_sees_video(role: str) -> None:
    assert POLICY.allows(role, "interview.video", "read") is (role == "hiring_manager")


def test_admin_and_auditor_read_no_candidate_data() -> None:
    for role, resource in itertools.product(("admin", "auditor"), RESOURCES[:6]):
        assert not any(POLICY.allows(role, resource, a) for a in ACTIONS)


def test_only_the_audit_role_reads_audit_categories() -> None:
    assert [r for r in EXPECTED if POLICY.allows(r, "audit.categories", "read")] == ["auditor"]


def test_nobody_reads_id_numbers_by_default() -> None:
    assert not any(POLICY.allows(r, "candidate.id_number", a) for r in EXPECTED for a in ACTIONS)


@pytest.mark.parametrize(
    ("subject", "principal"), [("cand-8", OWN), (None, OWN), (OWN, None), (None, None)],
    ids=["other-subject", "no-subject", "no-principal", "neither"],
)
def test_candidate_may_only_act_on_own_subject(subject: str | None, principal: str | None) -> None:
    assert not POLICY.allows("candidate", "deletion_request.own", "request", subject_id=subject,
                             principal_subject=principal)
    with pytest.raises(AccessDenied, match="own"):
        POLICY.require("candidate", "deletion_request.own", "request", subject_id=subject,
                       principal_subject=principal)


def test_unknown_role_is_denied_with_a_clear_error() -> None:
    assert not POLICY.allows("superuser", "interview.video", "read")
    with pytest.raises(UnknownRole, match=r"role 'superuser' may not read 'interview.video': unknown role \(known"):
        POLICY.require("superuser", "interview.video", "read")


@pytest.mark.parametrize(("resource", "action"), [("candidate.everything", "read"), ("interview.video", "copy")])
def test_unknown_resource_or_action_is_denied(resource: str, action: str) -> None:
    assert not POLICY.allows("hiring_manager", resource, action)
    with pytest.raises(AccessDenied, match="unknown"):
        POLICY.require("hiring_manager", resource, action)


def _doc() -> dict:
    return yaml.safe_load(ROLES_YAML.read_text(encoding="utf-8"))


def _edit_grant(doc: dict) -> None:
    doc["roles"]["hr_specialist"]["grants"]["candidate.secret_stuff"] = ["read"]


def _edit_action(doc: dict) -> None:
    doc["roles"]["admin"]["grants"]["pipeline.run"] = ["launch"]


def _edit_table(doc: dict) -> None:
    doc["resources"]["interview.video"]["table"] = "videos"


def _edit_identifier(doc: dict) -> None:
    doc["resources"]["interview.video"]["columns"] = ["clips; DROP TABLE x"]


def _edit_encrypted(doc: dict) -> None:
    doc["resources"]["candidate.contact"]["encrypted"] = ["email", "fax"]


def _edit_scope(doc: dict) -> None:
    doc["resources"]["pipeline.run"]["scope"] = "own"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_edit_grant, r"roles.hr_specialist.grants: unknown resource 'candidate.secret_stuff'"),
        (_edit_action, r"roles.admin.grants.pipeline.run: actions \['launch'\] are not defined"),
        (_edit_table, r"resources.interview.video.table: table 'videos' is not declared"),
        (_edit_identifier, r"resources.interview.video.columns: 'clips; DROP TABLE x' is not a plain"),
        (_edit_encrypted, r"resources.candidate.contact.encrypted: encrypted columns must be listed"),
        (_edit_scope, r"resources.pipeline.run.scope: an own-scoped resource needs a table"),
    ],
    ids=["unknown-resource", "unknown-action", "undeclared-table", "bad-identifier", "encrypted-unlisted",
         "own-without-table"],
)
def test_config_errors_name_file_and_entry(tmp_path: Path, edit, message: str) -> None:
    doc = _doc()
    edit(doc)
    path = tmp_path / "roles.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(PolicyConfigError, match=rf"{path}: {message}"):
        Policy.from_yaml(path)


def test_missing_and_invalid_files_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(PolicyConfigError, match="not found"):
        Policy.from_yaml(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("roles: [unclosed", encoding="utf-8")
    with pytest.raises(PolicyConfigError, match="not valid YAML"):
        Policy.from_yaml(bad)
