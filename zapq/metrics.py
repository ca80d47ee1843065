"""Every Prometheus metric zapq defines, in one place, made one way: on first use.

Not at import: prometheus_client chooses where values live (in memory, or files under
PROMETHEUS_MULTIPROC_DIR that the worker's exposition process sums) when it is first imported,
and a worker sets that directory when it boots, after its modules are imported. So each metric
here is a function that imports prometheus_client and builds the metric the first time it is
called, under one lock (two threads building one metric would register it twice).

The web's metrics go to the web's own registry (`web_registry()`), exposed at its `/metrics`;
the others to the default one, which the worker's exposition process serves. Flow control
keeps its own in `middleware/metrics.py`, made the same way, so that package stands alone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

T = TypeVar("T")

_building = threading.RLock()


def _on_first_use(build: Callable[[], T]) -> Callable[[], T]:
    made: list[T] = []

    def metric() -> T:
        if not made:
            with _building:
                if not made:
                    made.append(build())
        return made[0]

    metric.__doc__ = build.__doc__
    return metric


def _registry(for_web: bool) -> dict[str, Any]:
    return {"registry": web_registry()} if for_web else {}


def counter(
    name: str, documentation: str, labels: tuple[str, ...] = (), *, web: bool = False
) -> Callable[[], Counter]:
    def build() -> Counter:
        from prometheus_client import Counter

        return Counter(name, documentation, labels, **_registry(web))

    return _on_first_use(build)


def gauge(
    name: str, documentation: str, labels: tuple[str, ...] = (), *, mode: str = "livesum", web: bool = False
) -> Callable[[], Gauge]:
    def build() -> Gauge:
        from prometheus_client import Gauge

        options: dict[str, Any] = {"multiprocess_mode": mode, **_registry(web)}
        return Gauge(name, documentation, labels, **options)

    return _on_first_use(build)


def histogram(
    name: str, documentation: str, labels: tuple[str, ...], buckets: tuple[float, ...], *, web: bool = False
) -> Callable[[], Histogram]:
    def build() -> Histogram:
        from prometheus_client import Histogram

        return Histogram(name, documentation, labels, buckets=buckets, **_registry(web))

    return _on_first_use(build)


@_on_first_use
def web_registry() -> CollectorRegistry:
    """The web process's registry: only the web's own metrics, not the default collectors."""
    from prometheus_client import CollectorRegistry

    return CollectorRegistry()


# The web (labels from fixed sets: see web/metrics.py).
http_requests = counter(
    "zapq_http_requests_total", "HTTP requests answered.", ("method", "route", "status"), web=True
)
http_latency = histogram(
    "zapq_http_request_duration_seconds", "Time to answer an HTTP request.", ("method", "route"),
    (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5), web=True,
)  # fmt: skip
enqueued = counter(
    "zapq_enqueued_messages_total", "Messages handed to the broker.", ("queue_name", "actor_name"), web=True
)
enqueue_failures = counter(
    "zapq_enqueue_failures_total",
    "Messages the broker could not take (answered 503).",
    ("actor_name",),
    web=True,
)

# The web, read from Redis at each scrape (web/redis_gauges.py): what no worker can say about itself.
worker_heartbeat_age = gauge(
    "zapq_worker_heartbeat_age_seconds",
    "Seconds since the freshest worker process heartbeat (+Inf: none ever seen).",
    web=True,
)
workers_alive = gauge(
    "zapq_worker_processes_alive",
    "Worker processes whose heartbeat is younger than REDIS_HEARTBEAT_TIMEOUT_S.",
    web=True,
)
redis_memory_used = gauge("zapq_redis_memory_used_bytes", "Redis's used_memory (INFO memory).", web=True)
redis_memory_max = gauge(
    "zapq_redis_memory_max_bytes", "Redis's maxmemory (INFO memory); 0 when unlimited.", web=True
)

# Workers: Dramatiq's own metrics, same names as its Prometheus middleware (zapq/worker_metrics.py).
_MESSAGE = ("queue_name", "actor_name")
messages_total = counter("dramatiq_messages_total", "The total number of messages processed.", _MESSAGE)
message_errors = counter("dramatiq_message_errors_total", "The total number of errored messages.", _MESSAGE)
message_retries = counter("dramatiq_message_retries_total", "The total number of retried messages.", _MESSAGE)
message_rejects = counter(
    "dramatiq_message_rejects_total", "The total number of dead-lettered messages.", _MESSAGE
)
messages_in_progress = gauge("dramatiq_messages_inprogress", "The number of messages in progress.", _MESSAGE)
delayed_in_progress = gauge(
    "dramatiq_delayed_messages_inprogress", "The number of delayed messages in memory.", _MESSAGE
)
message_duration = histogram(
    "dramatiq_message_duration_milliseconds", "The time spent processing messages.", _MESSAGE,
    (5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000, 30000, 60000, 600000, 900000,
     float("inf")),
)  # fmt: skip

# Workers: zapq's domain.
conversation_events = counter(
    "zapq_conversation_events_total", "Bursts by outcome, stale messages and handoffs.", ("event",)
)
poison_items = counter(
    "zapq_poison_items_total", "Items set aside because they failed on their own.", ("actor_name",)
)
whatsapp_send_errors = counter(
    "zapq_whatsapp_send_errors_total", "Failed Cloud API requests, by Graph error code.", ("code",)
)
whatsapp_token_invalid = gauge(
    "zapq_whatsapp_token_invalid", "1 while the Graph API rejects the access token and sending is stopped.",
    mode="livemax",
)  # fmt: skip
reply_latency = histogram(
    "zapq_reply_latency_seconds",
    "Time from a burst's first message (Meta's timestamp) to the Cloud API taking its reply.",
    (),
    (0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 5, 6, 8, 10, 12, 15, 20, 30, 60, 120, 300),
)
llm_fallbacks = counter(
    "zapq_llm_fallbacks_total",
    "Replies the LLM could not give, answered by the fallback engine instead.",
    ("reason",),
)
reengagement_sent = counter(
    "zapq_reengagement_sent_total",
    "Re-engagement sends by campaign and outcome (sent, refused, deferred, skipped_...).",
    ("campaign_type", "outcome"),
)
reengagement_conversions = counter(
    "zapq_reengagement_conversions_total",
    "Customers who wrote within 72 h of a re-engagement message, by campaign.",
    ("campaign_type",),
)

# Workers: the minute's snapshot (actors/metrics_snapshots.py). The latest value wins, whichever
# worker process took the snapshot: alert on a growing queue, a dead letter, a stuck exporter.
_LATEST = "mostrecent"
queue_messages = gauge(
    "zapq_queue_messages", "Messages in a broker queue: ready, delayed (retries, eta) or dead-lettered.",
    ("queue_name", "state"), mode=_LATEST,
)  # fmt: skip
messages_in_flight = gauge(
    "zapq_messages_in_flight", "Messages workers have taken and not yet acknowledged.", mode=_LATEST
)
conversations_active = gauge(
    "zapq_conversations_active_1h", "Conversations with a customer message in the last hour.", mode=_LATEST
)
bursts_answered_recently = gauge(
    "zapq_bursts_answered_last_minute", "Bursts answered in the last minute.", mode=_LATEST
)
reply_latency_median = gauge(
    "zapq_reply_latency_median_5m_seconds",
    "Median time from a burst's first message to its reply, over the last 5 minutes.",
    mode=_LATEST,
)
reengagement_sent_recently = gauge(
    "zapq_reengagement_sent_last_minute", "Re-engagement messages sent in the last minute.", mode=_LATEST
)
analytics_unexported = gauge(
    "zapq_analytics_unexported_turns", "Answered turns staged in PostgreSQL, not yet in DuckDB.", mode=_LATEST
)
analytics_export_lag = gauge(
    "zapq_analytics_export_lag_seconds",
    "Age of the oldest answered turn not yet in DuckDB (0: none waiting).",
    mode=_LATEST,
)
analytics_exported = counter("zapq_analytics_exported_turns_total", "Turns appended to the DuckDB file.")

embeddings = counter(
    "zapq_embeddings_total",
    "Texts `generate_embeddings` embedded, or found already embedded, by kind.",
    ("kind", "outcome"),
)
