"""Fixtures every zapq test builds on: real Redis, PostgreSQL, workers and HTTP peers.

The session starts embedded servers under var/test (or uses REDIS_URL and
DATABASE_URL when given: those get flushed, so never point them at real data).
Each test starts from an empty Redis and empty tables.
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
    "ZAPQ_DATA_DIR": str(ROOT / "var" / "test"),
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
    "WHATSAPP_PHONE_NUMBER_ID": "100200300",
    "ADMIN_API_TOKEN": "test-admin-token",
    "HANDOFF_WEBHOOK_SECRET": "test-crm-secret",
    "GENERIC_WEBHOOK_SECRET": "test-generic-secret",
}


def pytest_configure(config: pytest.Config) -> None:
    for name, value in TEST_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    os.environ["METRICS_PORT"] = "0"
    from zapq.runtime import boot

    boot()


def pytest_unconfigure(config: pytest.Config) -> None:
    from zapq.runtime import booted_services

    booted_services().stop_started()


pytest_plugins = ["tests.support.fixtures"]


@pytest.fixture
def wait_until() -> Callable[..., None]:
    from tests.support.waiting import wait_until as wait

    return wait


@pytest.fixture
def tmp_data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
