"""The Redis broker and its middleware stack, identical in every process that declares actors.

Building it connects to nothing: a process imports `actors` (declaring the actors on this
broker) before it knows where Redis is when Redis is embedded, and `bind_broker` points the
broker's clients at the URL that boot resolved.
"""

from __future__ import annotations

import redis
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    CurrentMessage,
    Middleware,
    Pipelines,
    ShutdownNotifications,
    TimeLimit,
)
from periodiq import PeriodiqMiddleware

from middleware.correlation import CorrelationIds
from middleware.flow_control import FlowControl
from middleware.outage_retries import OutageRetries
from middleware.redis_broker import FlowControlRedisBroker, same_server
from zapq.dead_letter_errors import DeadLetterErrors
from zapq.keyspace import worker_heartbeats_key, zapq_namespace
from zapq.minute_counts import MinuteCounts
from zapq.outages import dependency_down
from zapq.queues import QUEUES
from zapq.settings import Settings
from zapq.worker_heartbeat import DEFAULT_INTERVAL_S, WorkerHeartbeat
from zapq.worker_metrics import WorkerMetrics

PERIODIC_SKIP_DELAY_S = 60
#: Where the broker points until boot resolves Redis: a socket that is never there.
UNRESOLVED_REDIS_URL = "unix:///nonexistent/zapq-redis-unresolved-boot-the-process-first"


def build_middleware(settings: Settings) -> list[Middleware]:
    return [
        WorkerMetrics(),
        MinuteCounts(namespace=settings.redis_namespace),
        DeadLetterErrors(namespace=settings.redis_namespace),
        WorkerHeartbeat(
            key=worker_heartbeats_key(settings.redis_namespace),
            # Several beats within the timeout, so one late beat does not count a worker as gone.
            interval_s=min(DEFAULT_INTERVAL_S, settings.redis_heartbeat_timeout_s / 3),
        ),
        AgeLimit(),
        TimeLimit(),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        # Before OutageRetries: Dramatiq runs after-hooks in reverse, so FlowControl sees whether
        # OutageRetries gave up on a message (failed for good) before it releases that message's keys.
        FlowControl(
            client=redis_client(settings.redis_url),
            namespace=zapq_namespace(settings.redis_namespace),
            lease_ms=settings.flow_lease_ms,
            idempotency_ttl=int(settings.idempotency_ttl_s * 1000),
        ),
        OutageRetries(
            outage_of=dependency_down,
            outage_max_backoff=settings.outage_retry_max_backoff_ms,
            max_retries=settings.retry_max,
            min_backoff=settings.retry_min_backoff_ms,
            max_backoff=settings.retry_max_backoff_ms,
        ),
        # After FlowControl, which gives a batch its merged messages' correlation ids.
        CorrelationIds(),
        CurrentMessage(),
        PeriodiqMiddleware(skip_delay=PERIODIC_SKIP_DELAY_S),
    ]


def build_broker(settings: Settings) -> FlowControlRedisBroker:
    # Dramatiq's RedisBroker, except that FlowControl acks the messages it let run together
    # with their success record (see middleware/redis_broker.py).
    broker = FlowControlRedisBroker(
        client=redis_client(settings.redis_url),
        middleware=build_middleware(settings),
        namespace=settings.redis_namespace,
        heartbeat_timeout=int(settings.redis_heartbeat_timeout_s * 1000),
        maintenance_chance=settings.redis_maintenance_chance,
    )
    for queue_name in QUEUES:
        broker.declare_queue(queue_name)
    return broker


def redis_client(url: str) -> redis.Redis:
    """A client for `url`, or, before boot resolved it, one that fails loudly until `bind_broker`."""
    return redis.Redis.from_url(url or UNRESOLVED_REDIS_URL)


def bind_broker(broker: FlowControlRedisBroker, redis_url: str) -> None:
    """Point the broker's Redis clients (Dramatiq's and FlowControl's) at `redis_url`."""
    clients = [broker.client] + [m.client for m in broker.middleware if isinstance(m, FlowControl)]
    target = redis.Redis.from_url(redis_url)
    for client in clients:
        if not same_server(client, target):
            old, client.connection_pool = client.connection_pool, target.connection_pool
            old.disconnect()
