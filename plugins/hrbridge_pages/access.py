"""Who the signed-in user is to hrbridge and what they may do: ``configs/roles.yaml`` decides.

Identity comes only from Airflow's auth manager: the JWT it signed (``Authorization: Bearer`` or
its ``_token`` cookie) is validated by Airflow (signature, expiry, revocation) and yields the user
name and Airflow roles. The ``airflow`` section of roles.yaml maps a user name, else an Airflow
role, to one hrbridge role; anyone unmapped is denied everything. Nothing the browser can set
(headers, query, other cookies) changes who someone is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from fastapi import Depends, Request

from governance.access import Policy, PolicyConfigError

SCOPED_ROLES_DEFAULT = ("hiring_manager",)


class Forbidden(Exception):
    """The viewer may not do this; answered with 403 and no data."""


class NotSignedIn(Exception):
    """No valid Airflow token; pages redirect to Airflow's login, API calls get 401."""


@dataclass(frozen=True)
class Viewer:
    """The signed-in user as hrbridge sees them.

    ``role`` is None for users roles.yaml does not map (denied everything). ``requisitions`` is
    the set of requisition ids a requisition-scoped role (a hiring manager) may see, else None.
    """

    name: str
    role: str | None
    airflow_roles: tuple[str, ...] = ()
    requisitions: frozenset[str] | None = None

    @property
    def scoped(self) -> bool:
        """True when the viewer sees only candidates of their own requisitions."""
        return self.requisitions is not None


@dataclass(frozen=True)
class PageAccess:
    """The policy plus the Airflow mapping, loaded from one roles.yaml."""

    policy: Policy
    users: Mapping[str, tuple[str, frozenset[str] | None]]
    roles: Mapping[str, str]
    scoped_roles: frozenset[str]

    def viewer(self, name: str, airflow_roles: tuple[str, ...] = ()) -> Viewer:
        """Map an authenticated Airflow user to a :class:`Viewer` (role None when unmapped)."""
        if name in self.users:
            role, requisitions = self.users[name]
        else:
            role = next((self.roles[r] for r in airflow_roles if r in self.roles), None)
            requisitions = None
        if role in self.scoped_roles and requisitions is None:
            requisitions = frozenset()
        return Viewer(name, role, airflow_roles, requisitions)

    def allows(self, viewer: Viewer, resource: str, action: str) -> bool:
        """True only if the viewer's role is granted ``action`` on ``resource`` (deny by default)."""
        return viewer.role is not None and self.policy.allows(viewer.role, resource, action)


def parse_access(document: Any, source: str = "<dict>") -> PageAccess:
    """Validate a roles document including its ``airflow`` section; errors name the entry."""
    policy = Policy.from_dict(document, source=source)
    section = (document or {}).get("airflow") or {}
    if not isinstance(section, dict):
        raise PolicyConfigError(f"{source}: airflow: expected a mapping")
    unknown = set(section) - {"users", "roles", "scoped_roles"}
    if unknown:
        raise PolicyConfigError(f"{source}: airflow: unknown keys {sorted(unknown)}")

    def known(role: Any, where: str) -> str:
        if role not in policy.roles:
            raise PolicyConfigError(f"{source}: {where}: unknown role {role!r} (known: {', '.join(sorted(policy.roles))})")
        return str(role)

    users: dict[str, tuple[str, frozenset[str] | None]] = {}
    for name, entry in (section.get("users") or {}).items():
        where = f"airflow.users.{name}"
        if isinstance(entry, str):
            users[str(name)] = (known(entry, where), None)
        elif isinstance(entry, dict) and set(entry) <= {"role", "requisitions"}:
            reqs = entry.get("requisitions")
            if reqs is not None and not isinstance(reqs, list):
                raise PolicyConfigError(f"{source}: {where}.requisitions: expected a list of requisition ids")
            users[str(name)] = (known(entry.get("role"), f"{where}.role"),
                                frozenset(str(r) for r in reqs) if reqs is not None else None)
        else:
            raise PolicyConfigError(f"{source}: {where}: expected a role name or {{role, requisitions}}")
    roles = {str(k): known(v, f"airflow.roles.{k}") for k, v in (section.get("roles") or {}).items()}
    scoped = frozenset(known(r, "airflow.scoped_roles") for r in section.get("scoped_roles", SCOPED_ROLES_DEFAULT))
    return PageAccess(policy, users, roles, scoped)


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> PageAccess:
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyConfigError(f"cannot read roles file {path}: {exc}") from exc
    return parse_access(document, source=path)


def load_access(path: Path) -> PageAccess:
    """The access rules of ``path``, re-read when the file changes (cached per modification time)."""
    return _load(str(path), path.stat().st_mtime)


def airflow_identity(user: Any) -> tuple[str, tuple[str, ...]]:
    """User name and Airflow role names of an auth-manager user (Simple, FAB or any BaseUser)."""
    roles: list[str] = []
    single = getattr(user, "role", None)
    if isinstance(single, str) and single:
        roles.append(single)
    for role in getattr(user, "roles", None) or ():
        name = role if isinstance(role, str) else getattr(role, "name", None)
        if name:
            roles.append(str(name))
    return str(user.get_name()), tuple(roles)


async def airflow_user(request: Request) -> Any:
    """The Airflow user of this request, validated by Airflow's own ``get_user`` (token or cookie)."""
    from airflow.api_fastapi.core_api.security import get_user
    from fastapi import HTTPException
    from fastapi.security import HTTPBearer

    bearer = await HTTPBearer(auto_error=False)(request)
    try:
        return await get_user(request, None, bearer)
    except HTTPException as exc:
        if exc.status_code in (401, 403):
            raise NotSignedIn(str(exc.detail)) from exc
        raise


async def current_viewer(request: Request) -> Viewer:
    """FastAPI dependency: the :class:`Viewer` of this request (raises :class:`NotSignedIn`)."""
    from plugins.hrbridge_pages.state import page_access

    resolve: Callable[[Request], Awaitable[Any]] = request.app.state.resolve_user
    name, roles = airflow_identity(await resolve(request))
    viewer = page_access().viewer(name, roles)
    request.state.viewer = viewer
    return viewer


def permits(viewer: Viewer, resource: str, action: str = "read") -> bool:
    """Whether ``viewer`` may do ``action`` on ``resource`` (for templates and optional parts)."""
    from plugins.hrbridge_pages.state import page_access

    return page_access().allows(viewer, resource, action)


def requires(resource: str, action: str = "read") -> Callable[..., Awaitable[Viewer]]:
    """A FastAPI dependency that lets the request through only if the viewer may do it."""

    async def check(viewer: Viewer = Depends(current_viewer)) -> Viewer:
        if not permits(viewer, resource, action):
            raise Forbidden(f"{viewer.role} may not {action} {resource}")
        return viewer

    check.__name__ = f"requires_{resource.replace('.', '_')}_{action}"
    return check


def require_candidate_scope(viewer: Viewer, requisition_ids: set[str]) -> None:
    """Raise :class:`Forbidden` when a requisition-scoped viewer holds none of ``requisition_ids``."""
    if viewer.scoped and not (requisition_ids & set(viewer.requisitions or ())):
        raise Forbidden("not one of the viewer's requisitions")
