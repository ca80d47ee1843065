"""Retries that tell a dependency outage from a bad message.

Dramatiq's `Retries` gives every failure the same budget: a PostgreSQL restart that outlasts
a few backoffs sends perfectly good messages to the dead-letter queue. Here a failure that
`outage_of` attributes to a dependency is retried with capped exponential backoff for as
long as the outage lasts and never spends the budget; any other failure is Dramatiq's own.

Each process logs one line when a dependency goes down and one when the first message that
waited for it succeeds, instead of a traceback per attempt.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, cast

from dramatiq.broker import Broker, MessageProxy
from dramatiq.common import compute_backoff
from dramatiq.message import Message
from dramatiq.middleware import Retries

from middleware import metrics

logger = logging.getLogger(__name__)

#: Milliseconds: the longest wait between two attempts while a dependency is down.
DEFAULT_OUTAGE_MAX_BACKOFF = 30_000

#: Seconds to keep trying to queue a retry while the broker itself is unreachable.
ENQUEUE_PATIENCE_S = 30.0

#: Message options: the dependency a message last waited for, and how often it waited.
WAITED_FOR_OPTION = "zapq_waited_for"
OUTAGE_RETRIES_OPTION = "zapq_outage_retries"

OutageOf = Callable[[BaseException], str | None]


class DependencyStates:
    """Which dependencies this process saw down; logs each change once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._down_since: dict[str, float] = {}
        self._waits: dict[str, int] = {}

    def down(self, dependency: str, error: BaseException) -> None:
        with self._lock:
            self._waits[dependency] = self._waits.get(dependency, 0) + 1
            if dependency in self._down_since:
                return
            self._down_since[dependency] = time.monotonic()
        logger.error(
            "%s is unavailable (%s: %s): messages that need it are retried until it is back",
            dependency, type(error).__name__, _one_line(error),
        )  # fmt: skip

    def back(self, dependency: str) -> None:
        with self._lock:
            since = self._down_since.pop(dependency, None)
            waits = self._waits.pop(dependency, 0)
        if since is not None:
            logger.warning(
                "%s is available again after %.1f s; %d attempt(s) waited for it",
                dependency, time.monotonic() - since, waits,
            )  # fmt: skip

    def is_down(self, dependency: str) -> bool:
        with self._lock:
            return dependency in self._down_since


class OutageRetries(Retries):
    """Dramatiq's `Retries`, except that failures caused by an outage wait for the dependency.

    Parameters:
      outage_of: Names the dependency an exception says is unreachable, or None when the
        message itself is at fault. Its names label a metric: return a fixed set.
      outage_max_backoff: Cap, in milliseconds, on the wait between attempts during an outage.
        The first wait is `min_backoff`; each attempt doubles it, with jitter.
      **options: Dramatiq's `Retries` parameters, for every other failure.
    """

    def __init__(
        self,
        *,
        outage_of: OutageOf,
        outage_max_backoff: int = DEFAULT_OUTAGE_MAX_BACKOFF,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.outage_of = outage_of
        self.outage_max_backoff = outage_max_backoff
        self.dependencies = DependencyStates()
        _install_traceback_filter()

    def after_process_message(
        self, broker: Broker, message: MessageProxy, *, result: Any | None = None,
        exception: BaseException | None = None,
    ) -> None:  # fmt: skip
        waited_for = message.options.get(WAITED_FOR_OPTION)
        if exception is None:
            if waited_for:
                self.dependencies.back(waited_for)
            return
        actor = broker.get_actor(message.actor_name)
        throws = message.options.get("throws") or actor.options.get("throws")
        dependency = None if throws and isinstance(exception, throws) else self.outage_of(exception)
        if dependency is None:
            message.options.pop(WAITED_FOR_OPTION, None)
            super().after_process_message(broker, message, result=result, exception=exception)
            return
        self._wait_for(broker, message, dependency, exception)

    def _wait_for(
        self, broker: Broker, message: MessageProxy, dependency: str, exception: BaseException
    ) -> None:
        attempts = message.options.get(OUTAGE_RETRIES_OPTION, 0)
        message.options[OUTAGE_RETRIES_OPTION] = attempts + 1
        message.options[WAITED_FOR_OPTION] = dependency
        actor = broker.get_actor(message.actor_name)
        min_backoff = message.options.get("min_backoff", actor.options.get("min_backoff", self.min_backoff))
        _, delay = compute_backoff(attempts, factor=min_backoff, max_backoff=self.outage_max_backoff)
        self.dependencies.down(dependency, exception)
        metrics.count_outage_retry(message.actor_name, dependency)
        logger.debug(
            "message %s waits %d ms for %s (attempt %d)", message.message_id, delay, dependency, attempts + 1
        )
        _enqueue_patiently(broker, message, delay)


def _enqueue_patiently(broker: Broker, message: MessageProxy, delay: int) -> None:
    """Enqueue the retry, waiting out a broker outage for a while.

    The failure may be Redis itself: if the retry cannot be queued now, acking the message
    would lose it. Past the wait, the error propagates and the message stays unacked (the ack
    cannot reach Redis either), so the broker requeues it when its worker reconnects.
    """
    deadline = time.monotonic() + ENQUEUE_PATIENCE_S
    pause = 0.1
    while True:
        try:
            # A proxy, as Dramatiq's Retries passes it: it copies like the message it wraps.
            broker.enqueue(cast("Message[Any]", message), delay=delay)
            return
        except Exception:
            if time.monotonic() + pause > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 2.0)


def _install_traceback_filter() -> None:
    target = logging.getLogger("dramatiq.worker.WorkerThread")
    if not any(isinstance(f, _OutageTracebackFilter) for f in target.filters):
        target.addFilter(_OutageTracebackFilter())


class _OutageTracebackFilter(logging.Filter):
    """Demote Dramatiq's traceback for a failure an outage caused: its one line is logged above.

    Dramatiq logs it from the worker thread itself, before any after-hook; the thread knows its
    broker, so only a broker that has OutageRetries (and whose `outage_of` names the error) is
    affected, however many brokers a process holds.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is None or record.levelno < logging.ERROR:
            return True
        broker = getattr(threading.current_thread(), "broker", None)
        retries = next((m for m in getattr(broker, "middleware", ()) if isinstance(m, OutageRetries)), None)
        if retries is None or retries.outage_of(error) is None:
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        record.exc_info = None
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text[:300]
