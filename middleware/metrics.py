"""Prometheus metrics of flow control, each made on first use.

Not at import: prometheus_client chooses where values live when it is first imported, and
Dramatiq worker processes set PROMETHEUS_MULTIPROC_DIR at process boot, after importing their
modules; a metric made before that never reaches the exposition server. The same way as
zapq's own (`zapq/metrics.py`), kept here so that the package stands alone. Without
prometheus_client installed, counting does nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

_lock = threading.Lock()

#: Called with every count as well (actor_name, outcome, amount): for an application that keeps its
#: own tally where its other processes can read it (zapq's console). Must be cheap and never raise.
_count_listeners: list[Callable[[str, str, int], None]] = []

OUTCOMES = (
    "duplicate_skipped",
    "duplicate_waited",
    "dedup_dropped",
    "debounce_merged",
    "batch_flushed",
    "throttled_dropped",
    "throttled_delayed",
    "lease_expired",
    "lease_lost",
    "released_after_failure",
    "batch_items_missing",
    "waiters_woken",
    "throttle_unparked",
)


def _on_first_use(build: Callable[[], Any]) -> Callable[[], Any]:
    made: list[Any] = []

    def metric() -> Any:
        if not made:
            with _lock:
                if not made:
                    try:
                        made.append(build())
                    except ImportError:  # metrics are optional for the library
                        made.append(None)
        return made[0]

    return metric


@_on_first_use
def _decisions() -> Any:
    from prometheus_client import Counter

    return Counter(
        "zapq_flow_decisions_total",
        "Flow-control decisions, by actor and outcome.",
        ["actor_name", "outcome"],
    )


@_on_first_use
def _outage_retries() -> Any:
    from prometheus_client import Counter

    return Counter(
        "zapq_outage_retries_total",
        "Attempts that failed because a dependency was down, retried without spending retries.",
        ["actor_name", "dependency"],
    )


@_on_first_use
def _flush_delay() -> Any:
    from prometheus_client import Histogram

    return Histogram(
        "zapq_debounce_flush_delay_seconds",
        "Seconds from a batch's last message to its flush onto the queue.",
        ["actor_name"],
        buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 2.5, 3, 5, 10, 15, 30),
    )


def count(actor_name: str, outcome: str, amount: int = 1) -> None:
    decisions = _decisions()
    if decisions is not None:
        decisions.labels(actor_name, outcome).inc(amount)
    for listener in _count_listeners:
        listener(actor_name, outcome, amount)


def add_count_listener(listener: Callable[[str, str, int], None]) -> None:
    if listener not in _count_listeners:
        _count_listeners.append(listener)


def remove_count_listener(listener: Callable[[str, str, int], None]) -> None:
    if listener in _count_listeners:
        _count_listeners.remove(listener)


def observe_flush_delay(actor_name: str, seconds: float) -> None:
    histogram = _flush_delay()
    if histogram is not None:
        histogram.labels(actor_name).observe(seconds)


def count_outage_retry(actor_name: str, dependency: str) -> None:
    retries = _outage_retries()
    if retries is not None:
        retries.labels(actor_name, dependency).inc()
