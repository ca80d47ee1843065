"""The console under a real uvicorn, a real headless Chromium, tokens of each role, and screenshots.

A browser test asks for `console` (a `ConsolePage` on a fresh tab, the app served on 127.0.0.1)
and, for API tests, `console_api` (an httpx client with the admin token). Screenshots go to
var/test-artifacts/console/<name>.png (`console.screenshot("queues")`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import console_actors  # noqa: F401 (the test actors: the web knows them too)
from tests.support.browser import chromium
from tests.support.web_server import WebServer

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / "var" / "test-artifacts" / "console"
ADMIN_TOKEN = "test-admin-token"  # tests/conftest.py's ADMIN_API_TOKEN
JWT_SECRET = "test-console-jwt-secret-of-32-bytes!"
PHONE = {"width": 390, "height": 844}


def console_jwt(role: str | None, user: str = "ana", org: str = "dealer-1", ttl_s: float = 600) -> str:
    """A JWT signed with the test secret; `role` None gives a token without a role claim."""
    import time

    import jwt

    now = int(time.time())
    claims: dict[str, Any] = {"sub": user, "org": org, "iat": now, "exp": now + int(ttl_s)}
    if role is not None:
        claims["role"] = role
    return jwt.encode(claims, JWT_SECRET, algorithm="HS256")


@pytest.fixture
def console_server(monkeypatch: pytest.MonkeyPatch, start_web_server: Callable[[], WebServer]) -> WebServer:
    """The web app with the admin token and a JWT secret, so both kinds of login work."""
    from zapq.settings import get_settings

    monkeypatch.setenv("JWT_SECRET", JWT_SECRET)
    get_settings.cache_clear()
    return start_web_server()


@pytest.fixture
def console_api(console_server: WebServer) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=console_server.url, headers=headers, timeout=15) as client:
        yield client


@pytest.fixture
def console_worker(worker_process: Callable[..., Any]) -> Any:
    """A real `dramatiq` worker process running tests/support/console_actors.py's actors."""
    return worker_process("tests.support.console_actors", threads=2)


@pytest.fixture(scope="module")
def browser_context() -> Iterator[Any]:
    """One Chromium per test module (a fresh profile); each test gets its own tab.

    Not per session: Playwright's sync API keeps an event loop of its own while it is open, which the
    other tests of the same process need not meet.
    """
    with chromium() as context:
        yield context


class ConsolePage:
    """A tab on the console: `open`, `login`, `goto` a page, `screenshot`; `page` is Playwright's Page."""

    def __init__(self, page: Any, server: WebServer) -> None:
        self.page = page
        self.server = server
        self.console_errors: list[str] = []  # script errors; a refused request (a 401 shown) is not one
        page.on("console", self._console_message)
        page.on("pageerror", lambda error: self.console_errors.append(str(error)))

    def _console_message(self, message: Any) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.console_errors.append(message.text)

    def open(self) -> ConsolePage:
        self.page.goto(self.server.url + "/console")
        return self

    def login(self, token: str = ADMIN_TOKEN) -> ConsolePage:
        """Open the console and sign in; waits for the shell to show."""
        self.open()
        self.page.fill("#login-token", token)
        self.page.click("#login-submit")
        self.page.wait_for_selector("#app:not([hidden])")
        return self

    def goto(self, page_id: str, query: str = "") -> ConsolePage:
        self.page.goto(f"{self.server.url}/console#/{page_id}{'?' + query if query else ''}")
        self.page.wait_for_selector(f"#page[data-page='{page_id}']")
        return self

    def accept_next_confirm(self) -> None:
        """Press Confirm in the console's own confirmation dialog, once it opens."""
        self.page.wait_for_selector("#confirm-dialog[open]")
        self.page.click("#confirm-ok")

    def screenshot(self, name: str, *, phone: bool = False) -> Path:
        if not re.fullmatch(r"[a-z0-9-]+", name):
            raise ValueError(name)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.evaluate("window.scrollTo(0, 0)")  # the sticky top bar then sits at the top of the shot
        if phone:
            size = self.page.viewport_size
            self.page.set_viewport_size(PHONE)
            self.page.wait_for_timeout(200)
            self.page.screenshot(path=str(path), full_page=True)
            self.page.set_viewport_size(size)
        else:
            self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def console(browser_context: Any, console_server: WebServer) -> Iterator[ConsolePage]:
    page = browser_context.new_page()
    page.set_default_timeout(15_000)
    yield ConsolePage(page, console_server)
    page.close()
