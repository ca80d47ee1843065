"""A private redis-server a test may SIGKILL and bring back on the same port with its data.

The session's embedded Redis is shared by every test, so crashing it is off limits. This one
belongs to a single test: `appendfsync always` means every write Redis has answered is on
disk before the kill, so what comes back after `restart()` is exactly what clients were told.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
from pathlib import Path
from types import TracebackType

import redis

from tests.support.waiting import wait_until
from zapq.embedded.redis_server import redis_server_binary

STARTUP_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0


class RestartableRedis:
    """redis-server on 127.0.0.1 with its AOF, log and port fixed for its whole life."""

    def __init__(self, directory: Path, *, port: int | None = None) -> None:
        self.directory = directory
        self._port = port if port is not None else _free_loopback_port()
        self.log_path = directory / "redis-server.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self._port}/0"

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("redis-server was never started")
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = STARTUP_TIMEOUT_S) -> RestartableRedis:
        """Start the server (loading the AOF left in `directory`) and wait until PING answers."""
        if self.running:
            raise RuntimeError(f"redis-server already running, pid {self.pid}")
        self.directory.mkdir(parents=True, exist_ok=True)
        command = [
            str(redis_server_binary()),
            "--bind", "127.0.0.1",
            "--port", str(self._port),
            "--protected-mode", "no",
            "--dir", str(self.directory),
            "--appendonly", "yes",
            "--appendfsync", "always",
            "--save", "",
            "--daemonize", "no",
        ]  # fmt: skip
        with self.log_path.open("ab") as log:
            # Own session: a Ctrl-C aimed at pytest must not reach it, nor its kill reach pytest.
            self._process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        try:
            wait_until(self._answers_ping, timeout=timeout, what=f"redis-server on port {self._port}")
        except AssertionError:
            self.kill()
            raise RuntimeError(f"redis-server did not start; log:\n{self._log_tail()}") from None
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown, no final fsync; returns once the process is reaped."""
        if self._process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            self._process.send_signal(signal.SIGKILL)
        self._process.wait()

    def restart(self, timeout: float = STARTUP_TIMEOUT_S) -> RestartableRedis:
        """Start again on the same port and directory (stopping it first if it still runs)."""
        if self.running:
            self.stop()
        return self.start(timeout=timeout)

    def stop(self) -> None:
        """SIGTERM (Redis fsyncs and exits), SIGKILL if it is not gone in time."""
        if self._process is None or self._process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()

    def __enter__(self) -> RestartableRedis:
        return self if self.running else self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def _answers_ping(self) -> bool:
        if self._process is None or self._process.poll() is not None:
            raise AssertionError("redis-server exited")  # stop waiting: it will never answer
        client = redis.Redis(host="127.0.0.1", port=self._port, socket_connect_timeout=0.2, socket_timeout=1)
        try:
            return bool(client.ping())
        except redis.RedisError:  # refused while binding, LOADING while it replays the AOF
            return False
        finally:
            client.close()

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_bytes()[-4000:].decode(errors="replace")
        except OSError:
            return "(no log)"


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
