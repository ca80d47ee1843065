"""Fixtures every zapq test builds on: real Redis, PostgreSQL, workers and HTTP peers.

Two layers, one suite. A test that asks for no server or process (`REAL_FIXTURES`; every fixture
that needs Redis or PostgreSQL depends on `settings`) and is not marked `processes` is marked
`unit` and runs without any: `make test-unit`. The
first test that needs servers boots them: embedded ones under var/test (var/test-gw<N> for each
pytest-xdist worker), or REDIS_URL and DATABASE_URL when given (those get flushed, so never
point them at real data). Each such test starts from an empty Redis and empty tables.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Short heartbeats and a maintenance sweep on every broker call, so a killed
# worker's messages come back within seconds instead of a minute.
TEST_ENVIRONMENT = {
    "REDIS_HEARTBEAT_TIMEOUT_S": "2",
    "REDIS_MAINTENANCE_CHANCE": "1000000",
    "RETRY_MIN_BACKOFF_MS": "100",
    "RETRY_MAX_BACKOFF_MS": "2000",
    "FLOW_LEASE_MS": "3000",
    "LOG_LEVEL": "INFO",
    # Bursts close after 1 s of quiet (2 s in production) so conversation tests stay quick.
    "DEBOUNCE_WINDOW_SECONDS": "1",
    "DEBOUNCE_MAX_WAIT_SECONDS": "5",
    "WHATSAPP_WEBHOOK_SECRET": "test-app-secret",
    "WHATSAPP_VERIFY_TOKEN": "test-verify-token",
    "WHATSAPP_ACCESS_TOKEN": "test-access-token",
    # Never Meta's: a port nothing listens on, unless a test's Graph API stand-in takes its place.
    "WHATSAPP_API_URL": "http://127.0.0.1:9/no-graph-api-in-tests",
    "WHATSAPP_PHONE_NUMBER_ID": "100200300",
    "ADMIN_API_TOKEN": "test-admin-token",
    "HANDOFF_WEBHOOK_SECRET": "test-crm-secret",
    "GENERIC_WEBHOOK_SECRET": "test-generic-secret",
}


def _test_environment() -> None:
    for name, value in TEST_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    os.environ["METRICS_PORT"] = "0"
    data_dir = os.environ.get("ZAPQ_DATA_DIR") or str(ROOT / "var" / "test")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    # Each xdist worker flushes its own Redis and truncates its own tables: its own servers.
    if worker and not data_dir.endswith(f"-{worker}"):
        data_dir = f"{data_dir}-{worker}"
    os.environ["ZAPQ_DATA_DIR"] = data_dir


# At import, not only in pytest_configure: pytest imports the conftest files of a directory named on
# its command line (tests/zapq/background/types, say) before configuring, and what they import may read
# settings then.
_test_environment()


def pytest_configure(config: pytest.Config) -> None:
    _test_environment()
    config.addinivalue_line("markers", "unit: needs no server (set by conftest; `make test-unit` runs these)")
    config.addinivalue_line("markers", "processes: starts real processes or servers of its own")


# What makes a test a real-server test: a fixture that starts or needs a server or a process.
REAL_FIXTURES = frozenset(
    {"settings", "restartable_redis", "tcp_proxy_factory", "http_peer", "worker_process"}
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        uses_real = REAL_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        if not uses_real and item.get_closest_marker("processes") is None:
            item.add_marker(pytest.mark.unit)


@pytest.hookimpl(trylast=True)  # after the session's fixtures are torn down
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stop the embedded servers before this process reports its session finished.

    Under pytest-xdist a worker reports it in its own sessionfinish (after this one), and the
    controller may exit, and its workers with it, any time after: a worker stopping its servers in
    pytest_unconfigure could be gone before its redis-server was (full runs left one behind).
    """
    from zapq.embedded.postgres_server import running_postgres
    from zapq.embedded.redis_server import running_redis

    # The data dir is this test process's alone: whatever runs there stops with it, whether this
    # process started it or one of its subprocesses did before it booted.
    data_dir = Path(os.environ["ZAPQ_DATA_DIR"])
    for server in (running_postgres(data_dir / "postgres"), running_redis(data_dir / "redis")):
        if server is not None:
            server.stop()


pytest_plugins = ["tests.support.fixtures"]


@pytest.fixture
def wait_until() -> Callable[..., None]:
    from tests.support.waiting import wait_until as wait

    return wait


@pytest.fixture
def tmp_data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
