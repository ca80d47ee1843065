"""The web app under a real uvicorn on 127.0.0.1, in a thread of the test process.

For what only a real HTTP server shows: bodies that arrive slowly, in chunks, or never whole,
clients that hang up, and many connections at once. Running in-process lets a test read the
app's metrics and state directly.
"""

from __future__ import annotations

import socket
import threading
import time

import uvicorn
from starlette.applications import Starlette

STARTUP_TIMEOUT_S = 15.0


class WebServer:
    def __init__(self, app: Starlette) -> None:
        self.app = app
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        # log_config=None: uvicorn's records reach the root logger, so caplog sees any traceback.
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def open_connections(self) -> int:
        return len(self._server.server_state.connections)

    def start(self) -> WebServer:
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)
        self._socket.close()
