"""Shared test fixtures: an isolated hrbridge home, real Postgres/MariaDB databases, sandboxes.

Airflow reads its configuration at import, so the environment is set here, before any test
module imports it. Tests for the local database servers fail loudly under CI (``CI=true``)
when a server does not answer, and skip with a reason elsewhere.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Property tests stay fast on a loaded machine: modest example counts, a generous deadline.
# HYPOTHESIS_PROFILE=thorough runs many more examples.
settings.register_profile("hrbridge", max_examples=60, deadline=2000, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=2000, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "hrbridge"))

REPO = Path(__file__).resolve().parent.parent
_SESSION_HOME = Path(tempfile.mkdtemp(prefix="hrbridge-test-"))
os.environ["HRBRIDGE_HOME"] = str(_SESSION_HOME)
os.environ["AIRFLOW_HOME"] = str(_SESSION_HOME / "airflow")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"
os.environ.pop("HRBRIDGE_DB_URL", None)
os.environ.pop("HRBRIDGE_ARCHIVE_URL", None)

PG_URL = os.environ.get("HRBRIDGE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MARIADB_URL = os.environ.get("HRBRIDGE_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _unavailable(what: str, exc: Exception) -> None:
    message = f"{what} is not reachable: {exc}"
    if IN_CI:
        pytest.fail(message + " (CI requires it)", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def hrbridge_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh HRBRIDGE_HOME with SQLite hub and archive databases inside it."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HRBRIDGE_HOME", str(home))
    monkeypatch.delenv("HRBRIDGE_DB_URL", raising=False)
    monkeypatch.delenv("HRBRIDGE_ARCHIVE_URL", raising=False)
    monkeypatch.setenv("HRBRIDGE_REPORTS_DIR", str(home / "reports"))
    return home


def _fresh_database(server_url: str, what: str, create: str, drop: str) -> Iterator[str]:
    import sqlalchemy as sa

    name = f"hrb_{uuid.uuid4().hex[:12]}"
    try:
        admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(create.format(name=name)))
    except Exception as exc:  # noqa: BLE001 - any driver error means the server is unusable
        _unavailable(what, exc)
    base = server_url.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(drop.format(name=name)))
        admin.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """URL of a new, empty Postgres database, dropped after the test."""
    yield from _fresh_database(
        PG_URL, "PostgreSQL", 'CREATE DATABASE "{name}"', 'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    )


@pytest.fixture
def mariadb_url() -> Iterator[str]:
    """URL of a new, empty MariaDB database (utf8mb4), dropped after the test."""
    yield from _fresh_database(
        MARIADB_URL, "MariaDB",
        "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
        "DROP DATABASE IF EXISTS `{name}`",
    )


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Run the test once on a SQLite file and once on a fresh Postgres database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db.sqlite'}"
    else:
        yield request.getfixturevalue("pg_url")


@pytest.fixture
def sf_sandbox() -> Iterator[object]:
    """A SuccessFactors OData v2 sandbox on loopback with the default seed."""
    from sandbox.successfactors import SuccessFactorsSandbox

    server = SuccessFactorsSandbox(port=0).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def interview_sandbox() -> Iterator[object]:
    """An AI-interview platform sandbox on loopback."""
    from sandbox.interview import InterviewPlatformSandbox

    server = InterviewPlatformSandbox(port=0).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sandbox_env(
    hrbridge_home: Path, sf_sandbox: object, interview_sandbox: object, monkeypatch: pytest.MonkeyPatch
) -> tuple[object, object]:
    """Both sandboxes running, with the HRBRIDGE_* connection variables the CLI reads pointing at them."""
    monkeypatch.setenv("HRBRIDGE_SF_URL", sf_sandbox.url)
    monkeypatch.setenv("HRBRIDGE_SF_USER", "sfadmin")
    monkeypatch.setenv("HRBRIDGE_SF_PASSWORD", "sandbox-secret")
    monkeypatch.setenv("HRBRIDGE_SF_COMPANY_ID", "SFPART000001")
    monkeypatch.setenv("HRBRIDGE_INTERVIEW_URL", interview_sandbox.url)
    monkeypatch.setenv("HRBRIDGE_INTERVIEW_API_KEY", "sandbox-interview-key")
    return sf_sandbox, interview_sandbox


from tests.factories.receivers import alert_receiver, mail_receiver  # noqa: E402,F401 - shared fixtures

