"""The two threads each worker process runs: lease renewal and the debounce flusher."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)


class Ticker(threading.Thread):
    """Call `tick` every `interval_s` until stopped; a failing tick is logged, never fatal."""

    def __init__(self, name: str, interval_s: float, tick: Callable[[], None]) -> None:
        super().__init__(name=name, daemon=True)
        self.interval_s = interval_s
        self.tick = tick
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval_s):
            try:
                self.tick()
            except Exception:
                logger.warning("%s tick failed; retrying in %.2fs", self.name, self.interval_s, exc_info=True)

    def stop(self) -> None:
        self.stopped.set()
