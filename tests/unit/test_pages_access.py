"""Mapping Airflow users and roles to hrbridge roles (roles.yaml ``airflow`` section) and clip links."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from governance.access import PolicyConfigError
from plugins.hrbridge_pages import media
from plugins.hrbridge_pages.access import airflow_identity, load_access, parse_access

ROLES = Path(__file__).resolve().parents[2] / "configs" / "roles.yaml"
ACCESS = load_access(ROLES)


def test_users_first_then_airflow_roles_else_nothing() -> None:
    assert ACCESS.viewer("hr.demo", ("viewer",)).role == "hr_specialist"
    assert ACCESS.viewer("someone", ("Admin",)).role == "admin"
    nobody = ACCESS.viewer("someone", ("viewer", "User"))
    assert nobody.role is None and not ACCESS.allows(nobody, "deletion_log", "read")


def test_hiring_managers_are_scoped_to_their_requisitions() -> None:
    manager = ACCESS.viewer("manager.demo")
    assert manager.scoped and "301" in (manager.requisitions or ())
    document = yaml.safe_load(ROLES.read_text(encoding="utf-8"))
    document["airflow"] = {"users": {"m": "hiring_manager"}}
    unlisted = parse_access(document).viewer("m")
    assert unlisted.scoped and unlisted.requisitions == frozenset()  # no requisitions listed: none seen


@pytest.mark.parametrize(("section", "message"), [
    ({"users": {"x": "superuser"}}, "unknown role 'superuser'"),
    ({"roles": {"Admin": "root"}}, "unknown role 'root'"),
    ({"users": {"x": {"role": "hiring_manager", "requisitions": "301"}}}, "expected a list"),
    ({"groups": {}}, "unknown keys"),
])
def test_bad_mapping_names_the_entry(section: dict, message: str) -> None:
    document = yaml.safe_load(ROLES.read_text(encoding="utf-8"))
    document["airflow"] = section
    with pytest.raises(PolicyConfigError, match=message):
        parse_access(document, source="roles.yaml")


def test_identity_from_simple_and_fab_users() -> None:
    class Simple:
        role = "viewer"

        def get_name(self) -> str:
            return "hr.demo"

    class Role:
        name = "Admin"

    class Fab:
        roles = [Role()]

        def get_name(self) -> str:
            return "it"

    assert airflow_identity(Simple()) == ("hr.demo", ("viewer",))
    assert airflow_identity(Fab()) == ("it", ("Admin",))


def test_clip_links_are_bound_to_user_clip_and_time() -> None:
    key = b"k" * 32
    path = media.signed_path("manager.demo", "R-1", "c-1", now=1000.0, key=key, seconds=300)
    query = dict(part.split("=") for part in path.split("?")[1].split("&"))
    media.check_link("manager.demo", "R-1", "c-1", query["exp"], query["sig"], now=1200.0, key=key)
    for user, result, clip, now in (("hr.demo", "R-1", "c-1", 1200.0), ("manager.demo", "R-2", "c-1", 1200.0),
                                    ("manager.demo", "R-1", "c-2", 1200.0), ("manager.demo", "R-1", "c-1", 1301.0)):
        with pytest.raises(media.MediaLinkError):
            media.check_link(user, result, clip, query["exp"], query["sig"], now=now, key=key)
