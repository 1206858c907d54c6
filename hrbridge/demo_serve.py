"""The demo's part for people in the browser: a small legacy migration, a retention run with a
deletion request, and the Airflow API server with hrbridge's pages and one login per role.

Demo users live only in the demo's Airflow (SimpleAuthManager); their passwords are generated once
per ``HRBRIDGE_HOME`` into ``demo-users.json`` (owner-only) and printed. Which hrbridge role each
user gets is in the ``airflow`` section of ``configs/roles.yaml``.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from hrbridge.demo import DemoContext, DemoStep

REPO = Path(__file__).resolve().parent.parent
DEMO_USERS = {"hr.demo": ("viewer", "HR operations"), "manager.demo": ("viewer", "hiring manager"),
              "admin.demo": ("admin", "system administrator / data engineer"), "auditor.demo": ("viewer", "auditor"),
              "lead.demo": ("viewer", "HR lead: decides on question-rule proposals")}
LEGACY_HEADERS = ["工号", "姓名", "身份证号", "手机", "邮箱", "部门", "职位", "入职日期", "性别", "出生日期", "在职状态",
                  "薪资", "更新时间"]


def _id_number(body17: str) -> str:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body17 + "10X98765432"[sum(int(d) * w for d, w in zip(body17, weights, strict=True)) % 11]


def legacy_csv(path: Path, rows: int = 60) -> Path:
    """A small legacy HR export (Chinese headers) with a few rows the migration must hold back."""
    import csv

    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(LEGACY_HEADERS)
        for n in range(1, rows + 1):
            id_number = _id_number(f"11010519900101{n % 1000:03d}") if n % 17 else "12345"
            hired = "2020-01-05" if n % 23 else "not a date"
            writer.writerow([f"{n:06d}", f"员工{n}", id_number, f"138{n:08d}", f"user{n}@example.com", "销售部", "经理",
                             hired, "男", "1990-01-01", "在职", f"{8000 + n}.5", "2024-03-01"])
    return path


def migration_step(ctx: DemoContext) -> dict[str, int]:
    """Migrate a small legacy export into the archive; its report goes to the artefact store."""
    from hrbridge.pipelines.migration import MigrationOptions, migrate

    folder = ctx.settings.reports_dir.parent
    source = legacy_csv(folder / "legacy-employees.csv")
    outcome = migrate(MigrationOptions(source=str(source), target=ctx.settings.archive_url, run_id="demo-legacy",
                                       report_dir=str(folder / "migration")))
    ctx.artefacts["migration report"] = str(outcome.html_key)
    report = outcome.report
    return {"rows_read": report["source_rows"], "loaded": report["loaded_rows"],
            "held_back": report["quarantined_rows"]}


def retention_step(ctx: DemoContext) -> dict[str, int]:
    """A candidate asks for deletion; the retention run executes it and writes the deletion log."""
    import sqlalchemy as sa

    from governance.retention import request_deletion
    from hrbridge.pipelines.retention import audit_keys, retention_config, run_retention
    from hrbridge.store import hub_engine
    from hrbridge.store.recruiting import applications

    hub = hub_engine(ctx.settings)
    with hub.connect() as conn:
        candidate = conn.execute(sa.select(applications.c.candidate_id).where(applications.c.status != "Hired")
                                 .order_by(applications.c.candidate_id.desc()).limit(1)).scalar()
    if candidate is None:
        return {}
    config = retention_config(ctx.settings)
    keys = audit_keys(ctx.settings)
    request_deletion(hub, str(candidate), "candidate self-service (demo)", config.requests.legal_basis,
                     keys.pseudonymise(str(candidate)), config.requests.due_days, seal_key=keys.pepper)
    result = run_retention(ctx.settings)
    logged = result.get("log_entries", result.get("logged", 0))
    return {"deletion_requests": 1, "log_entries": int(logged) if isinstance(logged, int) else 0}


STEPS = [DemoStep("legacy migration", migration_step), DemoStep("deletion request + retention run", retention_step)]


def demo_users(home: Path) -> dict[str, str]:
    """User -> password for the demo logins, generated once per home (0600 file)."""
    path = home / "demo-users.json"
    if path.exists():
        stored = json.loads(path.read_text(encoding="utf-8"))
        if set(stored) >= set(DEMO_USERS):
            return {user: stored[user] for user in DEMO_USERS}
    passwords = {user: secrets.token_urlsafe(12) for user in DEMO_USERS}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(passwords, handle)
    return passwords


def _secret(home: Path, name: str) -> str:
    path = home / "keys" / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(32))
    return path.read_text(encoding="utf-8").strip()


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_api_server(ctx: DemoContext, port: int | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``airflow api-server`` on 127.0.0.1 with the plugin; returns the process and its URL."""
    import requests

    from hrbridge.airflow_env import airflow_env

    settings = ctx.settings
    passwords = demo_users(settings.home)
    password_file = settings.airflow_home / "demo-passwords.json"
    fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(passwords, handle)
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, **airflow_env(settings),
           "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
           "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{u}:{r}" for u, (r, _) in DEMO_USERS.items()),
           "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(password_file),
           "AIRFLOW__API_AUTH__JWT_SECRET": _secret(settings.home, "demo-jwt-secret"),
           "AIRFLOW__API__SECRET_KEY": _secret(settings.home, "demo-api-secret"),
           "AIRFLOW__API__BASE_URL": url}
    airflow = Path(sys.executable).with_name("airflow")
    command = [str(airflow)] if airflow.exists() else [sys.executable, "-m", "airflow"]
    log = ctx.log_file.open("ab")
    process = subprocess.Popen([*command, "api-server", "--host", "127.0.0.1", "--port", str(port)],  # noqa: S603
                               env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"airflow api-server exited {process.returncode}; see {ctx.log_file}")
        try:
            if requests.get(f"{url}/hrbridge/static/hrbridge.css", timeout=2).status_code == 200:
                return process, url
        except requests.ConnectionError:
            time.sleep(0.5)
    stop(process)
    raise RuntimeError(f"airflow api-server did not answer within 3 minutes; see {ctx.log_file}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the API server and its workers (SIGTERM to its process group, SIGKILL after 20 s)."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def logins_text(url: str, passwords: dict[str, str]) -> str:
    """The closing lines: where to go and how each kind of user signs in."""
    lines = ["", f"hrbridge pages: {url}/hrbridge/  (Airflow UI: {url}/)", "Demo logins (this home only):"]
    lines += [f"  {user:<14}{passwords[user]:<20}{label}" for user, (_, label) in DEMO_USERS.items()]
    return "\n".join(lines)


def serve(ctx: DemoContext, out: TextIO | None = None, *, until: Any = None) -> int:
    """Run the API server, print the URL and logins, and keep serving until Ctrl-C (or ``until()``)."""
    out = out or sys.stdout
    process, url = start_api_server(ctx)
    print(logins_text(url, demo_users(ctx.settings.home)), file=out)
    print("Serving until Ctrl-C ...", file=out, flush=True)
    try:
        while process.poll() is None and not (until and until()):
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nstopping the API server ...", file=out, flush=True)
    finally:
        stop(process)
    return 0
