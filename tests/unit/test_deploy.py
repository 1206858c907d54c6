"""deploy/: what compose.yaml, the Dockerfile, .dockerignore and deploy/.env.example promise, read from the files.

No docker engine runs here; tests/cluster starts the same topology from compose.yaml on local processes
and tests/integration/test_image_steps.py runs the Dockerfile's install steps.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
AIRFLOW_SERVICES = ("airflow-init", "api-server", "scheduler", "dag-processor", "triggerer", "worker")
LONG_RUNNING = AIRFLOW_SERVICES[1:]
SHARED_SECRETS = ("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY",
                  "HRBRIDGE_KEK")
REFERENCE = re.compile(r"^\$\{[A-Z][A-Z0-9_]*(?::?[-?][^}]*)?\}$")
SECRET_NAME = re.compile(r"(PASSWORD|SECRET|FERNET|KEK|TOKEN|API_KEY|PRIVATE)", re.I)
URL_PASSWORD = re.compile(r"://[^/@:\s]*:([^@\s]+)@")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def _environments(compose: dict) -> dict[str, dict[str, str]]:
    return {name: {k: str(v) for k, v in (svc.get("environment") or {}).items()}
            for name, svc in compose["services"].items()}


def test_topology_has_every_airflow_component_redis_and_postgres(compose: dict) -> None:
    services = compose["services"]
    assert set(AIRFLOW_SERVICES) | {"postgres", "redis"} <= set(services)
    assert services["worker"]["command"] == ["airflow", "celery", "worker"]
    assert services["triggerer"]["command"] == ["airflow", "triggerer"]
    assert services["worker"]["deploy"]["replicas"] >= 2
    env = _environments(compose)["scheduler"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")
    for key in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "HRBRIDGE_DB_URL", "HRBRIDGE_ARCHIVE_URL"):
        assert env[key].startswith("postgresql+psycopg://"), key


def test_secrets_appear_only_as_variable_references(compose: dict) -> None:
    for service, env in _environments(compose).items():
        for key, value in env.items():
            if SECRET_NAME.search(key) or key.endswith("_AUTH"):
                assert REFERENCE.match(value), f"{service}: {key} must be a ${{VAR}} reference, not a literal"
            for password in URL_PASSWORD.findall(value):
                assert REFERENCE.match(password), f"{service}: {key} carries a literal password"
    assert "env_file" not in str(compose), "secrets come through interpolation, not whole env files"


def test_every_airflow_process_shares_the_same_secrets(compose: dict) -> None:
    envs = _environments(compose)
    for secret in SHARED_SECRETS:
        values = {envs[s].get(secret) for s in AIRFLOW_SERVICES}
        assert len(values) == 1 and None not in values, f"{secret} differs or is missing: {values}"
        assert REFERENCE.match(values.pop())


def test_services_wait_for_init_which_migrates_both_schemas(compose: dict) -> None:
    services = compose["services"]
    for name in LONG_RUNNING:
        depends = services[name]["depends_on"]
        assert depends["airflow-init"]["condition"] == "service_completed_successfully", name
        assert depends["postgres"]["condition"] == "service_healthy", name
    assert services["worker"]["depends_on"]["api-server"]["condition"] == "service_healthy"
    init = services["airflow-init"]
    script = " ".join(init["command"])
    steps = ["airflow db migrate", "hrbridge db upgrade", "hrbridge db upgrade --archive", "hrbridge keys init",
             "hrbridge airflow pools"]
    assert [script.index(step) for step in steps] == sorted(script.index(step) for step in steps)
    assert _environments(compose)["worker"]["HRBRIDGE_DB_AUTO_UPGRADE"] == "false", "only init changes schemas"
    assert init["command"][:2] == ["sh", "-ec"], "a failing step must fail the init service"
    assert "airflow-init" not in init["depends_on"] and init["restart"] == "no"


def test_every_service_has_a_health_check(compose: dict) -> None:
    for name, svc in compose["services"].items():
        if name == "airflow-init":
            continue
        test = svc.get("healthcheck", {}).get("test")
        assert test and test[0] in ("CMD", "CMD-SHELL"), f"{name} has no health check"


def test_airflow_services_run_as_a_non_root_user_without_shared_homes(compose: dict) -> None:
    for name in AIRFLOW_SERVICES:
        user = str(compose["services"][name].get("user", ""))
        assert user and user.split(":")[0] not in ("0", "root"), name
    assert not compose["services"]["worker"].get("volumes"), "workers share nothing but Postgres, Redis, artefacts"
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    users = re.findall(r"^USER\s+(\S+)", dockerfile, re.M)
    assert users and users[-1] not in ("root", "0")


def test_dockerfile_installs_a_built_wheel_without_dev_tools() -> None:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert len(re.findall(r"^FROM\s", text, re.M)) >= 2, "multi-stage: build the wheel, then install it"
    assert "uv build --wheel" in text
    assert not re.search(r"pip install[^\n]*(\s-e\s|--editable)", text), "no editable install"
    install = re.search(r"uv pip install[^\n]*\\\n[^\n]*", text).group(0)
    assert "--constraint" in install and "requirements.lock" in install
    assert "[postgres,celery]" in install and "dev" not in install
    uv_make = re.search(r'"uv==([\d.]+)"', (REPO / "Makefile").read_text(encoding="utf-8")).group(1)
    assert set(re.findall(r"ARG UV_VERSION=([\d.]+)", text)) == {uv_make}


def _docker_ignored(patterns: list[str], path: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides (``!`` re-includes)."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw[1:] if negate else raw
        pattern = pattern.strip("/")
        regex = re.escape(pattern).replace(r"\*\*/", "(?:.*/)?").replace(r"\*\*", ".*").replace(r"\*", "[^/]*")
        regex = regex.replace(r"\?", "[^/]")
        if any(re.fullmatch(regex, c) for c in candidates):
            ignored = not negate
    return ignored


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_context() -> None:
    patterns = [line.strip() for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith("#")]
    for secret in ("deploy/.env", ".env", "deploy/prod.env", ".hrbridge/keyring.json", ".hrbridge/hub.db",
                   "sub/.hrbridge/keyring.json", ".venv/bin/python", ".git/config", "hrbridge/__pycache__/cli.pyc",
                   ".pytest_cache/v/x", "dist/hrbridge-0.1.0.whl"):
        assert _docker_ignored(patterns, secret), f".dockerignore lets {secret} into the build context"
    for needed in ("setup.cfg", "pyproject.toml", "README.md", "requirements.lock", "hrbridge/cli.py",
                   "dags/candidate_sync.py", "configs/sync.yaml", "plugins/hrbridge_provider/hooks.py"):
        assert not _docker_ignored(patterns, needed), f".dockerignore drops {needed}, which the image needs"


def test_git_ignores_the_env_file_but_ships_its_example() -> None:
    ignored = subprocess.run(["git", "check-ignore", "-q", "deploy/.env"], cwd=REPO, check=False)  # noqa: S607
    assert ignored.returncode == 0, "deploy/.env must be git-ignored"
    example = (DEPLOY / ".env.example").read_text(encoding="utf-8")
    values = dict(line.split("=", 1) for line in example.splitlines() if line and not line.startswith("#"))
    compose_text = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    required = set(re.findall(r"\$\{([A-Z_]+):\?", compose_text))
    assert required <= set(values), f"deploy/.env.example lacks {required - set(values)}"
    assert all(v.startswith("replace-with") for v in values.values()), "the example holds placeholders only"


def test_the_lock_has_an_async_postgres_driver_for_airflow() -> None:
    lock = (REPO / "requirements.lock").read_text(encoding="utf-8")
    assert re.search(r"^asyncpg==", lock, re.M), "Airflow 3 derives postgresql+asyncpg from the sync URL"
