"""One log line when Redis stops answering, one when it answers again: not one per attempt."""

from __future__ import annotations

import logging
import threading
import time


class RedisHealth:
    def __init__(self, logger: logging.Logger, what: str) -> None:
        self.logger = logger
        self.what = what
        self._down_since: float | None = None
        self._failures = 0
        self._lock = threading.Lock()

    def failed(self, error: BaseException) -> None:
        with self._lock:
            self._failures += 1
            if self._down_since is not None:
                return
            self._down_since = time.monotonic()
        self.logger.warning("%s is unavailable (%s); waiting for it", self.what, error)

    def succeeded(self) -> None:
        if self._down_since is None:  # the common case: no lock
            return
        with self._lock:
            if self._down_since is None:
                return
            down_for, failures = time.monotonic() - self._down_since, self._failures
            self._down_since, self._failures = None, 0
        self.logger.warning(
            "%s is available again after %.1fs (%d failed calls)", self.what, down_for, failures
        )
