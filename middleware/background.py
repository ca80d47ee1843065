"""The two threads each worker process runs: lease renewal and the flow-control tick."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)

#: A failing tick is logged once when it starts failing, then at most this often, with a count.
FAILURE_LOG_INTERVAL_S = 60.0


class Ticker(threading.Thread):
    """Call `tick` every `interval()` seconds (or when woken) until stopped; failures are never fatal.

    Failures are logged when they start, at most once a minute while they go on (with how
    many were not logged), and when ticks succeed again: a Redis outage is a few lines, not
    one traceback per tick.
    """

    def __init__(self, name: str, interval: Callable[[], float], tick: Callable[[], None]) -> None:
        super().__init__(name=name, daemon=True)
        self.interval = interval
        self.tick = tick
        self.stopped = threading.Event()
        self._woken = threading.Event()
        self._failing_since: float | None = None
        self._last_logged = 0.0
        self._unlogged = 0

    def run(self) -> None:
        while True:
            self._woken.wait(self.interval())
            self._woken.clear()
            if self.stopped.is_set():
                return
            try:
                self.tick()
            except Exception as error:
                self._failed(error)
            else:
                if self._failing_since is not None:
                    logger.warning(
                        "%s recovered after %.1fs", self.name, time.monotonic() - self._failing_since
                    )
                    self._failing_since = None

    def _failed(self, error: Exception) -> None:
        now = time.monotonic()
        if self._failing_since is None:
            self._failing_since = self._last_logged = now
            self._unlogged = 0
            logger.warning("%s tick failed: %s; retrying", self.name, error, exc_info=True)
        elif now - self._last_logged >= FAILURE_LOG_INTERVAL_S:
            logger.warning("%s still failing: %s (%d failures not logged)", self.name, error, self._unlogged)
            self._last_logged, self._unlogged = now, 0
        else:
            self._unlogged += 1

    def wake(self) -> None:
        """Tick now rather than at the end of the current interval."""
        self._woken.set()

    def stop(self) -> None:
        self.stopped.set()
        self._woken.set()
