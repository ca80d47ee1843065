"""The background-task API under a real uvicorn, with tokens, a worker, and helpers to wait on tasks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.support import background_types  # noqa: F401 (the test task types: the web accepts them)
from tests.support.waiting import wait_until
from tests.support.web_server import WebServer
from tests.support.worker_process import WorkerProcess
from zapq.tokens import make_token

JWT_SECRET = "test-jwt-secret-of-at-least-32-bytes!"
ORG_A, ORG_B = "org-a", "org-b"
API = "/api/background"
WORKER = "tests.support.background_worker"


@pytest.fixture
def jwt_secret(monkeypatch: pytest.MonkeyPatch) -> str:
    from zapq.settings import get_settings

    monkeypatch.setenv("JWT_SECRET", JWT_SECRET)
    get_settings.cache_clear()
    return JWT_SECRET


def token(org: str = ORG_A, user: str = "user-1", *, admin: bool = False, ttl_s: float = 600) -> str:
    return make_token(JWT_SECRET, organization_id=org, user_id=user, admin=admin, ttl_s=ttl_s)


def bearer(org: str = ORG_A, **options: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(org, **options)}"}


@pytest.fixture
def api_server(jwt_secret: str, start_web_server: Callable[[], WebServer]) -> WebServer:
    return start_web_server()


@pytest.fixture
def api(api_server: WebServer) -> Iterator[httpx.Client]:
    """A client of org A's user-1; pass other headers for other callers."""
    with httpx.Client(base_url=api_server.url + API, headers=bearer(), timeout=10) as client:
        yield client


@pytest.fixture
def task_worker(settings, worker_process: Callable[..., WorkerProcess]) -> WorkerProcess:  # type: ignore[no-untyped-def]
    return worker_process(WORKER, threads=4)


def wait_for_status(
    client: httpx.Client, task_id: str, *statuses: str, timeout: float = 20
) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def reached() -> bool:
        seen.update(client.get(f"/tasks/{task_id}").json())
        return seen.get("status") in statuses

    wait_until(reached, timeout=timeout, what=f"task {task_id} to be {' or '.join(statuses)}")
    return seen
