"""Prometheus counters for every decision, created on first use.

Created lazily because Dramatiq worker processes set PROMETHEUS_MULTIPROC_DIR at
process boot; a metric created before that would never reach the exposition server.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_metrics: dict[str, Any] = {}

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


def _get() -> dict[str, Any]:
    if not _metrics:
        with _lock:
            if not _metrics:
                try:
                    import prometheus_client as prom
                except ImportError:  # metrics are optional for the library
                    _metrics["disabled"] = True
                    return _metrics
                _metrics["decisions"] = prom.Counter(
                    "zapq_flow_decisions_total",
                    "Flow-control decisions, by actor and outcome.",
                    ["actor_name", "outcome"],
                )
                _metrics["outage_retries"] = prom.Counter(
                    "zapq_outage_retries_total",
                    "Attempts that failed because a dependency was down, retried without spending retries.",
                    ["actor_name", "dependency"],
                )
                _metrics["flush_delay"] = prom.Histogram(
                    "zapq_debounce_flush_delay_seconds",
                    "Seconds from a batch's last message to its flush onto the queue.",
                    ["actor_name"],
                    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 2.5, 3, 5, 10, 15, 30),
                )
    return _metrics


def count(actor_name: str, outcome: str, amount: int = 1) -> None:
    metrics = _get()
    if "decisions" in metrics:
        metrics["decisions"].labels(actor_name, outcome).inc(amount)


def observe_flush_delay(actor_name: str, seconds: float) -> None:
    metrics = _get()
    if "flush_delay" in metrics:
        metrics["flush_delay"].labels(actor_name).observe(seconds)


def count_outage_retry(actor_name: str, dependency: str) -> None:
    metrics = _get()
    if "outage_retries" in metrics:
        metrics["outage_retries"].labels(actor_name, dependency).inc()
