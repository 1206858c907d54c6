"""Every cell of role × resource × action, called directly on the API server outside any page:
a denied cell answers 403 with no data, an allowed one is let through (table-driven from roles.yaml,
with the seed's decisions also written out by hand below so a wrong roles.yaml fails too)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import requests

from plugins.hrbridge_pages.access import load_access
from tests.browser.server import ROLE_OF, USERS

ACCESS = load_access(Path(__file__).resolve().parents[2] / "configs" / "roles.yaml")

# (method, path under /hrbridge, body, resource, action): every page, API call and download.
ENDPOINTS = [
    ("GET", "/validation", None, "validation.run", "read"),
    ("GET", "/validation/runs/vr-3", None, "validation.run", "read"),
    ("GET", "/api/validation/runs", None, "validation.run", "read"),
    ("GET", "/validation/runs/vr-3/data-docs/index.html", None, "validation.run", "read"),
    ("GET", "/validation/runs/vr-3/data-docs/static/styles/data_docs_default_styles.css", None, "validation.run",
     "read"),
    ("GET", "/api/validation/quarantine?run=vr-3", None, "validation.quarantine", "read"),
    ("POST", "/api/validation/requeue", {"run_id": "vr-1"}, "validation.quarantine", "run"),
    ("GET", "/candidates", None, "candidate.basic", "read"),
    ("GET", "/candidates/C-100", None, "candidate.basic", "read"),
    ("GET", "/api/candidates", None, "candidate.basic", "read"),
    ("GET", "/api/candidates/C-100", None, "candidate.basic", "read"),
    ("GET", "/api/candidates/C-100/clips", None, "interview.video", "read"),
    ("POST", "/api/candidates/C-100/results/R-100/score", {"score": "not a number"}, "interview.scores", "write"),
    ("GET", "/archive", None, "archive.portrait", "read"),
    ("GET", "/archive/p-own", None, "archive.portrait", "read"),
    ("GET", "/api/archive/p-own", None, "archive.portrait", "read"),
    ("GET", "/feedback", None, "feedback.proposals", "read"),
    ("POST", "/api/feedback/1/decision", {"decision": "maybe"}, "feedback.proposals", "write"),
    ("GET", "/migration", None, "migration.report", "read"),
    ("GET", "/migration/runs/mig-demo", None, "migration.report", "read"),
    ("GET", "/api/migration/runs", None, "migration.report", "read"),
    ("GET", "/api/migration/runs/mig-demo/quarantine.csv", None, "migration.quarantine", "read"),
    ("GET", "/api/migration/runs/mig-demo/quarantine.xlsx", None, "migration.quarantine", "read"),
    ("GET", "/deletion-log", None, "deletion_log", "read"),
    ("GET", "/deletion-log/entries/1", None, "deletion_log", "read"),
    ("GET", "/api/deletion-log/entries", None, "deletion_log", "read"),
    ("POST", "/api/deletion-log/verify", None, "audit.verify", "run"),
    ("GET", "/api/deletion-log/export.csv", None, "audit.export", "read"),
    ("GET", "/api/deletion-log/export.json", None, "audit.export", "read"),
    ("GET", "/deletion-log/holds", None, "retention.holds", "read"),
    ("GET", "/api/retention/holds", None, "retention.holds", "read"),
    ("GET", "/api/retention/requests", None, "retention.requests", "read"),
    ("GET", "/api/artefacts/migration/mig-demo/report.json", None, "migration.report", "read"),
    ("GET", "/api/artefacts/audit-export/deletion-log_seed.csv", None, "audit.export", "read"),
]

# The seed's permission model, written out by hand: (role, resource, action) cells that must be denied.
MUST_DENY = [
    ("hr_specialist", "interview.video", "read"), ("hiring_manager", "interview.scores", "write"),
    ("admin", "candidate.basic", "read"), ("admin", "interview.scores", "read"), ("admin", "archive.portrait", "read"),
    ("auditor", "candidate.basic", "read"), ("auditor", "interview.scores", "read"),
    ("auditor", "validation.quarantine", "read"), ("auditor", "migration.quarantine", "read"),
    ("hr_specialist", "deletion_log", "read"), ("hiring_manager", "validation.run", "read"),
]


@pytest.mark.parametrize(("role", "resource", "action"), MUST_DENY)
def test_seed_decisions_hold_in_roles_yaml(role: str, resource: str, action: str) -> None:
    assert not ACCESS.policy.allows(role, resource, action)


@pytest.fixture(scope="module")
def tokens(pages_server) -> dict[str, str]:
    return {user: pages_server.token(user) for user in USERS}


@pytest.mark.parametrize(("user", "endpoint"), list(itertools.product(USERS, ENDPOINTS)),
                         ids=lambda v: v if isinstance(v, str) else f"{v[0]} {v[1]}")
def test_cell(pages_server, tokens, user: str, endpoint: tuple) -> None:
    method, path, body, resource, action = endpoint
    role = ROLE_OF[user]
    allowed = role is not None and ACCESS.policy.allows(role, resource, action)
    answer = requests.request(method, f"{pages_server.url}/hrbridge{path}", json=body, timeout=60,
                              headers={"Authorization": f"Bearer {tokens[user]}", "Accept": "application/json"})
    if allowed:
        # 400: a deliberately invalid body got past the permission check; 404: no artefact store yet.
        expected = (200, 400, 404) if "/api/artefacts/" in path else (200, 400)
        assert answer.status_code in expected, (user, path, answer.status_code, answer.text[:200])
    else:
        assert answer.status_code == 403, (user, path, answer.status_code)
        assert answer.json() == {"detail": "forbidden"}


def test_no_token_gets_401_on_api_and_the_login_page_on_pages(pages_server) -> None:
    assert requests.get(f"{pages_server.url}/hrbridge/api/candidates", timeout=30).status_code == 401
    page = requests.get(f"{pages_server.url}/hrbridge/candidates", timeout=30, allow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/auth/login?next=/hrbridge/candidates")


def test_a_forged_token_or_identity_header_changes_nothing(pages_server, tokens) -> None:
    forged = tokens["nobody"][:-4] + ("AAAA" if not tokens["nobody"].endswith("AAAA") else "BBBB")
    assert requests.get(f"{pages_server.url}/hrbridge/api/candidates", timeout=30,
                        headers={"Authorization": f"Bearer {forged}"}).status_code in (401, 403)
    spoofed = requests.get(f"{pages_server.url}/hrbridge/api/candidates", timeout=30,
                           headers={"Authorization": f"Bearer {tokens['nobody']}", "X-Remote-User": "hr.demo",
                                    "Cookie": "hrb_role=hr_specialist"})
    assert spoofed.status_code == 403


def test_cross_origin_post_is_refused(pages_server, tokens) -> None:
    answer = requests.post(f"{pages_server.url}/hrbridge/api/deletion-log/verify", timeout=30,
                           headers={"Authorization": f"Bearer {tokens['auditor.demo']}", "Origin": "http://evil.test"})
    assert answer.status_code == 403


def test_hiring_manager_cannot_open_a_candidate_of_another_requisition(pages_server, tokens) -> None:
    headers = {"Authorization": f"Bearer {tokens['manager.demo']}"}
    own = requests.get(f"{pages_server.url}/hrbridge/api/candidates/C-100", headers=headers, timeout=30)
    other = requests.get(f"{pages_server.url}/hrbridge/api/candidates/C-200", headers=headers, timeout=30)
    listed = requests.get(f"{pages_server.url}/hrbridge/api/candidates", headers=headers, timeout=30).json()
    assert own.status_code == 200 and other.status_code == 403 and other.json() == {"detail": "forbidden"}
    assert {row["candidate_id"] for row in listed} == {"C-100", "C-300"}
    assert requests.get(f"{pages_server.url}/hrbridge/api/archive/p-other", headers=headers, timeout=30).status_code == 403
