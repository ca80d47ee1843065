"""Each worker process says, every few seconds, that it is alive: what the web's /metrics reads.

Dramatiq's own `__heartbeats__` cannot tell whether any worker lives: every process that
enqueues (the web taking webhooks, the scheduler) beats there too, so a web busy with traffic
would keep it fresh with every worker gone. Here only worker processes beat, from a daemon
thread started when the worker boots, into one zset (`{ns}:workers`: host:pid -> unix time).
A stopped worker takes itself out; a killed one ages, and members a day old are pruned.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from typing import Any

import redis
from dramatiq.broker import Broker
from dramatiq.middleware import Middleware

logger = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 5.0
PRUNE_AFTER_S = 86_400.0


class WorkerHeartbeat(Middleware):
    """Beats into `key` every `interval_s` from each worker process (never the web or the scheduler)."""

    def __init__(self, *, key: str, interval_s: float = DEFAULT_INTERVAL_S) -> None:
        self.key = key
        self.interval_s = interval_s
        self.member = f"{socket.gethostname()}:{os.getpid()}"
        self._stopped = threading.Event()
        self._client: redis.Redis | None = None

    def after_worker_boot(self, broker: Broker, worker: Any) -> None:
        self.member = f"{socket.gethostname()}:{os.getpid()}"  # the worker process's, not its parent's
        self._client = getattr(broker, "client", None)
        if self._client is None:
            return
        self._stopped.clear()
        threading.Thread(target=self._beat_until_stopped, name="zapq-heartbeat", daemon=True).start()

    def before_worker_shutdown(self, broker: Broker, worker: Any) -> None:
        self._stopped.set()
        if self._client is not None:
            with contextlib.suppress(redis.RedisError):  # else it ages out
                self._client.zrem(self.key, self.member)

    def _beat_until_stopped(self) -> None:
        while not self._stopped.is_set():
            self.beat()
            self._stopped.wait(self.interval_s)

    def beat(self) -> None:
        assert self._client is not None
        now = time.time()
        try:
            with self._client.pipeline(transaction=False) as pipe:
                pipe.zadd(self.key, {self.member: now})
                pipe.zremrangebyscore(self.key, 0, now - PRUNE_AFTER_S)
                pipe.execute()
        except redis.RedisError as error:  # Redis down: every message says so already
            logger.debug("worker heartbeat not written: %s", error)
