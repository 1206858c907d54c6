"""A real ``airflow api-server`` on 127.0.0.1 with the hrbridge plugin, for the browser tests.

:class:`PagesServer` seeds a fresh hrbridge home (:func:`tests.factories.pages.seed_pages`), writes
the SimpleAuthManager users and their passwords (owner-only), migrates Airflow's SQLite database,
starts the API server on a free port and a loopback clip server standing in for the interview
platform's media host, and stops both on :meth:`stop`.
"""

from __future__ import annotations

import http.server
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[2]
USERS = {"hr.demo": "viewer", "manager.demo": "viewer", "admin.demo": "admin", "auditor.demo": "viewer",
         "nobody": "viewer"}
ROLE_OF = {"hr.demo": "hr_specialist", "manager.demo": "hiring_manager", "admin.demo": "admin",
           "auditor.demo": "auditor", "nobody": None}
CLIP_BYTES = b"\x00\x00\x00\x18ftypmp42" + b"hrbridge-test-clip" * 64


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _ClipHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.server.fetches += 1  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Content-Length", str(len(CLIP_BYTES)))
        self.end_headers()
        self.wfile.write(CLIP_BYTES)

    def log_message(self, *args: Any) -> None:
        return


@dataclass
class PagesServer:
    """The running API server, its users' passwords and the seeded facts."""

    root: Path
    port: int = 0
    passwords: dict[str, str] = field(default_factory=dict)
    facts: Any = None
    process: subprocess.Popen[bytes] | None = None
    clips: http.server.HTTPServer | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """Base URL of the API server."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> PagesServer:
        """Seed, configure, migrate and start; returns self once /hrbridge answers."""
        from tests.factories.pages import seed_pages

        self.clips = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ClipHandler)
        self.clips.fetches = 0  # type: ignore[attr-defined]
        threading.Thread(target=self.clips.serve_forever, daemon=True).start()
        clip_origin = f"http://127.0.0.1:{self.clips.server_address[1]}"
        home, airflow_home = self.root / "home", self.root / "airflow"
        home.mkdir(parents=True, mode=0o700)
        airflow_home.mkdir(mode=0o700)
        (self.root / "dags").mkdir()
        hrbridge_env = {"HRBRIDGE_HOME": str(home), "HRBRIDGE_REPORTS_DIR": str(home / "reports"),
                        "HRBRIDGE_DB_URL": f"sqlite:///{home / 'hub.db'}",
                        "HRBRIDGE_ARCHIVE_URL": f"sqlite:///{home / 'archive.db'}",
                        "HRBRIDGE_INTERVIEW_URL": clip_origin}
        saved = {k: os.environ.get(k) for k in hrbridge_env}
        os.environ.update(hrbridge_env)
        try:
            self.facts = seed_pages(self.root, f"{clip_origin}/media/clips/clip.mp4")
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        self.passwords = {user: secrets.token_urlsafe(12) for user in USERS}
        password_file = airflow_home / "passwords.json"
        password_file.write_text(json.dumps(self.passwords), encoding="utf-8")
        password_file.chmod(0o600)
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "HRBRIDGE"))}
        env.update(hrbridge_env)
        env.update({
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.root / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": ",".join(f"{u}:{r}" for u, r in USERS.items()),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(password_file),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
            "AIRFLOW__API__BASE_URL": self.url,
        })
        self.env = env
        airflow = str(Path(sys.executable).with_name("airflow"))
        log = (self.root / "airflow.log").open("ab")
        subprocess.run([airflow, "db", "migrate"], env=env, stdout=log, stderr=subprocess.STDOUT, check=True)  # noqa: S603
        self.process = subprocess.Popen(  # noqa: S603
            [airflow, "api-server", "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"api-server exited {self.process.returncode}; see {self.root / 'airflow.log'}")
            try:
                if requests.get(f"{self.url}/hrbridge/static/hrbridge.css", timeout=2).status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"api-server did not answer in time; see {self.root / 'airflow.log'}")

    def token(self, user: str) -> str:
        """A JWT for ``user`` from Airflow's own token endpoint."""
        answer = requests.post(f"{self.url}/auth/token", json={"username": user, "password": self.passwords[user]},
                               timeout=30)
        answer.raise_for_status()
        return str(answer.json()["access_token"])

    def stop(self) -> None:
        """Stop the API server (SIGTERM to its process group, then SIGKILL) and the clip server."""
        import signal

        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        if self.clips is not None:
            self.clips.shutdown()
            self.clips.server_close()
