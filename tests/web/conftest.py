"""Fixtures of the web tests: the app under a real uvicorn."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from dramatiq.brokers.redis import RedisBroker

from tests.support.web_server import WebServer


@pytest.fixture
def start_web_server(broker: RedisBroker) -> Iterator[Callable[[], WebServer]]:
    """Start the web app (created now, from this test's settings) under uvicorn; stopped at teardown."""
    from web.app import create_app

    started: list[WebServer] = []

    def start() -> WebServer:
        server = WebServer(create_app()).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def web_server(start_web_server: Callable[[], WebServer]) -> WebServer:
    return start_web_server()
