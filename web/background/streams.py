"""Task streams (SSE): one poller per web process reads new events for every open stream.

Each stream subscribes with the number of the last event its client has; the poller asks
PostgreSQL, every `poll_interval_s` and only while some stream is open, for the events after
the lowest number each watched task's streams have, in one query, and hands each stream the
events it lacks. A thousand clients cost one query per tick, not a thousand query loops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from zapq.background import store
from zapq.background.records import TaskEvent

logger = logging.getLogger(__name__)

ERROR_BACKOFF_S = 1.0

RunQuery = Callable[..., Awaitable[Any]]


class TooManyStreams(Exception):
    pass


class Subscription:
    __slots__ = ("cursor", "events", "task_id")

    def __init__(self, task_id: str, cursor: int) -> None:
        self.task_id = task_id
        #: The number of the last event handed to this stream.
        self.cursor = cursor
        self.events: asyncio.Queue[TaskEvent] = asyncio.Queue()


class StreamHub:
    def __init__(self, run: RunQuery, *, poll_interval_s: float, max_clients: int) -> None:
        self.run = run
        self.poll_interval_s = poll_interval_s
        self.max_clients = max_clients
        self._by_task: dict[str, set[Subscription]] = {}
        self._count = 0
        self._poller: asyncio.Task[None] | None = None

    @property
    def open_streams(self) -> int:
        return self._count

    def subscribe(self, task_id: str, cursor: int) -> Subscription:
        if self._count >= self.max_clients:
            raise TooManyStreams
        subscription = Subscription(task_id, cursor)
        self._by_task.setdefault(task_id, set()).add(subscription)
        self._count += 1
        if self._poller is None or self._poller.done():
            self._poller = asyncio.get_running_loop().create_task(self._poll())
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        streams = self._by_task.get(subscription.task_id)
        if streams is None or subscription not in streams:
            return
        streams.discard(subscription)
        self._count -= 1
        if not streams:
            del self._by_task[subscription.task_id]

    async def _poll(self) -> None:
        while self._by_task:
            cursors = [
                (task_id, min(s.cursor for s in streams)) for task_id, streams in self._by_task.items()
            ]
            try:
                events: list[TaskEvent] = await self.run(store.events_after, cursors)
            except Exception as error:  # PostgreSQL away: streams wait, the poller goes on
                logger.warning("task streams: reading events failed: %s: %s", type(error).__name__, error)
                await asyncio.sleep(ERROR_BACKOFF_S)
                continue
            for event in events:
                for subscription in self._by_task.get(event.task_id, ()):
                    if event.seq > subscription.cursor:
                        subscription.cursor = event.seq
                        subscription.events.put_nowait(event)
            await asyncio.sleep(self.poll_interval_s)

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
