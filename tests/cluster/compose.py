"""What deploy/compose.yaml declares, read the way Compose reads it, for the local topology and its tests.

The test topology runs the file's own init command, service commands, health checks and x-airflow
environment on local processes; only the addresses of the containers (hosts, ports, database names)
are replaced, and only for the keys listed in :data:`LOCAL_ADDRESSES`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "deploy" / "compose.yaml"
AIRFLOW_SERVICES = ("api-server", "scheduler", "dag-processor", "triggerer", "worker")

# Keys of the x-airflow environment whose values name a container's address; the topology sets its own.
LOCAL_ADDRESSES = (
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    "AIRFLOW__CELERY__BROKER_URL",
    "AIRFLOW__CELERY__RESULT_BACKEND",
    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
    "AIRFLOW__API__PORT",
    "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT",
    "HRBRIDGE_DB_URL",
    "HRBRIDGE_ARCHIVE_URL",
)

_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


class InterpolationError(KeyError):
    """A ``${VAR:?message}`` variable is unset: Compose would refuse to start, and so do we."""


@cache
def compose_file() -> dict[str, Any]:
    """deploy/compose.yaml parsed (YAML anchors and merge keys resolved)."""
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def interpolate(text: str, values: Mapping[str, str]) -> str:
    """Replace ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``, ``${VAR:?err}`` and ``$$`` as Compose does."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name"), match.group("op"), match.group("arg") or ""
        value = values.get(name)
        if op in (":-", ":?") and not value or op in ("-", "?") and value is None:
            if op.endswith("?"):
                raise InterpolationError(f"{name}: {arg or 'required'}")
            return arg
        return value or ""

    return _VARIABLE.sub(one, text)


def airflow_environment(values: Mapping[str, str]) -> dict[str, str]:
    """The x-airflow environment every Airflow service gets, interpolated with ``values`` (the .env)."""
    env = compose_file()["x-airflow-env"]
    return {key: interpolate(str(value), values) for key, value in env.items()}


def service(name: str) -> dict[str, Any]:
    """One service's declaration (merge keys resolved)."""
    return compose_file()["services"][name]


def command(name: str) -> list[str]:
    """A service's command as an argv list (``$$`` unescaped as the container's shell would see it)."""
    return [str(part).replace("$$", "$") for part in service(name)["command"]]


def healthcheck(name: str) -> list[str]:
    """A service's health check as an argv list (``CMD`` runs directly, ``CMD-SHELL`` through ``sh -c``)."""
    test = [str(part).replace("$$", "$") for part in service(name)["healthcheck"]["test"]]
    kind, rest = test[0], test[1:]
    if kind == "CMD-SHELL":
        return ["sh", "-c", " ".join(rest)]
    if kind != "CMD":
        raise ValueError(f"{name}: unsupported health check form {kind!r}")
    return rest
