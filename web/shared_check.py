"""A check run once for every caller that asks while it runs, and its answer reused for a moment.

128 probes at once then cost one round trip to each dependency, not 128 connections.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class SharedCheck(Generic[T]):
    """`await shared()` runs `check` (single-flight) or returns an answer at most `max_age_s` old.

    `check` should not raise: an exception is passed to every waiting caller, and not cached.
    """

    def __init__(self, check: Callable[[], Awaitable[T]], *, max_age_s: float) -> None:
        self.check = check
        self.max_age_s = max_age_s
        self._latest: tuple[T, float] | None = None
        self._running: asyncio.Task[T] | None = None

    async def __call__(self) -> T:
        if self._latest is not None and time.monotonic() - self._latest[1] < self.max_age_s:
            return self._latest[0]
        if self._running is None:
            self._running = asyncio.get_running_loop().create_task(self._run())
        # Shielded: a caller that goes away must not cancel the check the others are waiting for.
        return await asyncio.shield(self._running)

    async def _run(self) -> T:
        try:
            answer = await self.check()
            self._latest = (answer, time.monotonic())
            return answer
        finally:
            self._running = None
