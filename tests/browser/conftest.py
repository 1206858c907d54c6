"""Fixtures of the browser tests: one real Airflow API server with the plugin for this package,
one headless Chromium (Debian's ``chromium``), one signed-in browser context per role."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.server import PagesServer
from tests.conftest import IN_CI

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "guides" / "screenshots"


@pytest.fixture(scope="package")
def pages_server() -> Iterator[PagesServer]:
    """The API server with seeded hrbridge state (stopped after the package's tests)."""
    root = Path(tempfile.mkdtemp(prefix="hrbridge-pages-"))
    server = PagesServer(root)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Headless Chromium from the system package (Playwright's own download is not used)."""
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


class SignedIn:
    """Browser contexts signed in through Airflow's login page, one per user (made on first use)."""

    def __init__(self, server: PagesServer, browser: Any) -> None:
        self.server, self.browser = server, browser
        self.states: dict[str, Any] = {}

    def page(self, user: str, *, locale: str = "zh-CN", timezone: str = "Asia/Shanghai") -> Any:
        """A new page of a context signed in as ``user`` (language and time zone of the browser)."""
        if user not in self.states:
            context = self.browser.new_context(locale=locale, timezone_id=timezone)
            page = context.new_page()
            page.goto(f"{self.server.url}/hrbridge/")
            page.get_by_label("Username").fill(user)
            page.get_by_label("Password").fill(self.server.passwords[user])
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{self.server.url}/hrbridge/**")
            self.states[user] = context.storage_state()
            context.close()
        context = self.browser.new_context(locale=locale, timezone_id=timezone, storage_state=self.states[user],
                                           viewport={"width": 1100, "height": 760}, accept_downloads=True)
        return context.new_page()


@pytest.fixture(scope="package")
def signed_in(pages_server: PagesServer, browser: Any) -> SignedIn:
    """Sign-in helper shared by the package's tests."""
    return SignedIn(pages_server, browser)


def open_page(page: Any, server: PagesServer, path: str) -> Any:
    """Open ``/hrbridge{path}`` and wait until the time-zone cookie has settled (one reload at most)."""
    page.goto(f"{server.url}/hrbridge{path}")
    page.wait_for_function("() => document.body && document.body.dataset.tz === "
                           "Intl.DateTimeFormat().resolvedOptions().timeZone || document.title.includes('403')",
                           timeout=15_000)
    page.wait_for_load_state("load")
    return page


def screenshot(page: Any, name: str) -> Path:
    """Save the visible page as ``docs/guides/screenshots/<name>.png`` for the role guides."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path
