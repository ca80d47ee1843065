"""The Redis broker and its middleware stack, identical in every process that declares actors."""

from __future__ import annotations

import os
from collections.abc import Callable

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

from actors.queues import QUEUES
from middleware.flow_control import FlowControl
from middleware.outage_retries import OutageRetries
from middleware.redis_broker import FlowControlRedisBroker
from zapq.metrics_exposition import serve_worker_metrics
from zapq.outages import dependency_down
from zapq.runtime import remove_stale_metric_files
from zapq.settings import Settings

PERIODIC_SKIP_DELAY_S = 60


def flow_namespace(settings: Settings) -> str:
    """Flow-control keys live under the deployment's REDIS_NAMESPACE, like its queues."""
    return f"{settings.redis_namespace}:zapq"


def build_middleware(settings: Settings) -> list[Middleware]:
    # Dramatiq's Prometheus module reads its directory at import time, so it is set first.
    settings.prometheus_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_metric_files(settings.prometheus_dir)
    os.environ["dramatiq_prom_db"] = str(settings.prometheus_dir)  # noqa: SIM112 (dramatiq reads it lowercase)
    from dramatiq.middleware.prometheus import Prometheus

    class WorkerPrometheus(Prometheus):
        """Dramatiq's metrics, exposed by zapq's fork on METRICS_HOST:METRICS_PORT."""

        @property
        def forks(self) -> list[Callable[[], int]]:
            return [serve_worker_metrics]

    return [
        WorkerPrometheus(),
        AgeLimit(),
        TimeLimit(),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        # Before OutageRetries: Dramatiq runs after-hooks in reverse, so FlowControl sees whether
        # OutageRetries gave up on a message (failed for good) before it releases that message's keys.
        FlowControl(
            client=redis.Redis.from_url(settings.redis_url),
            namespace=flow_namespace(settings),
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
        CurrentMessage(),
        PeriodiqMiddleware(skip_delay=PERIODIC_SKIP_DELAY_S),
    ]


def build_broker(settings: Settings) -> FlowControlRedisBroker:
    # Dramatiq's RedisBroker, except that FlowControl acks the messages it let run together
    # with their success record (see middleware/redis_broker.py).
    broker = FlowControlRedisBroker(
        url=settings.redis_url,
        middleware=build_middleware(settings),
        namespace=settings.redis_namespace,
        heartbeat_timeout=int(settings.redis_heartbeat_timeout_s * 1000),
        maintenance_chance=settings.redis_maintenance_chance,
    )
    for queue_name in QUEUES:
        broker.declare_queue(queue_name)
    return broker
