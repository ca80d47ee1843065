"""The worker's Prometheus metrics: Dramatiq's own counters, made the zapq way.

The same metric names and labels as Dramatiq's `Prometheus` middleware, which zapq cannot use
as it is: importing it creates a directory, and its exposition process reads its port from the
`dramatiq` main process's environment. Here the metrics are made on first use
(`zapq.metrics`), `prepare_metrics_dir` runs at boot, and `zapq.metrics_exposition` serves them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from dramatiq.broker import Broker, MessageProxy
from dramatiq.common import current_millis
from dramatiq.message import Message
from dramatiq.middleware import Middleware

from zapq import metrics
from zapq.metrics_exposition import serve_worker_metrics
from zapq.runtime import remove_stale_metric_files
from zapq.settings import Settings


def prepare_metrics_dir(settings: Settings) -> None:
    """Point prometheus_client at the shared directory, before anything imports it in this process."""
    directory = settings.prometheus_dir
    directory.mkdir(parents=True, exist_ok=True)
    remove_stale_metric_files(directory)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)


class WorkerMetrics(Middleware):
    """Counts messages processed, failed, retried and dead-lettered, and how long they took."""

    def __init__(self) -> None:
        # Touched by many worker threads, one single-step set or dict operation at a time, which
        # CPython makes atomic: no lock on the per-message path, as in Dramatiq's own middleware.
        self._delayed: set[str] = set()
        self._started_ms: dict[str, int] = {}

    @property
    def forks(self) -> list[Callable[[], int]]:
        return [serve_worker_metrics]

    def after_worker_boot(self, broker: Broker, worker: Any) -> None:
        """Every actor's counters at 0 from the start, so the first dead letter is an increase.

        A counter that appears already at 1 has no earlier sample: `increase()` over it is 0 and
        an alert on it would never fire for the first failure.
        """
        for actor_name in broker.get_declared_actors():
            labels = (broker.get_actor(actor_name).queue_name, actor_name)
            for counter in (metrics.messages_total, metrics.message_errors, metrics.message_retries,
                            metrics.message_rejects):  # fmt: skip
                counter().labels(*labels)
        metrics.whatsapp_token_invalid().set(0)

    def after_worker_shutdown(self, broker: Broker, worker: Any) -> None:
        directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if directory:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(os.getpid(), directory)

    def after_nack(self, broker: Broker, message: MessageProxy) -> None:
        metrics.message_rejects().labels(*_labels(message)).inc()

    def after_enqueue(self, broker: Broker, message: Message[Any], delay: int | None) -> None:
        if "retries" in message.options:
            metrics.message_retries().labels(*_labels(message)).inc()

    def before_delay_message(self, broker: Broker, message: MessageProxy) -> None:
        self._delayed.add(message.message_id)
        metrics.delayed_in_progress().labels(*_labels(message)).inc()

    def before_process_message(self, broker: Broker, message: MessageProxy) -> None:
        labels = _labels(message)
        self._started_ms[message.message_id] = current_millis()
        if message.message_id in self._delayed:
            self._delayed.discard(message.message_id)
            metrics.delayed_in_progress().labels(*labels).dec()
        metrics.messages_in_progress().labels(*labels).inc()

    def after_process_message(
        self, broker: Broker, message: MessageProxy, *, result: Any | None = None,
        exception: BaseException | None = None,
    ) -> None:  # fmt: skip
        labels = _labels(message)
        started = self._started_ms.pop(message.message_id, None)
        if started is None:  # skipped before it started (Dramatiq calls this for skips too)
            started = current_millis()
        else:
            metrics.messages_in_progress().labels(*labels).dec()
        metrics.message_duration().labels(*labels).observe(current_millis() - started)
        metrics.messages_total().labels(*labels).inc()
        if exception is not None:
            metrics.message_errors().labels(*labels).inc()

    def after_skip_message(self, broker: Broker, message: MessageProxy) -> None:
        self.after_process_message(broker, message)


def _labels(message: Message[Any] | MessageProxy) -> tuple[str, str]:
    return message.queue_name, message.actor_name
