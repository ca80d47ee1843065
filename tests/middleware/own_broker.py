"""Brokers of a test's own: FlowControlRedisBroker + FlowControl + Retries on a Redis it chooses.

For tests that need middleware-wide FlowControl settings, a client that goes through a proxy, or
a Redis they may kill; the project broker (`broker` fixture) is shared by every other test.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dramatiq
import redis
from dramatiq.middleware import CurrentMessage, Middleware, Retries

from middleware.flow_control import FlowControl
from middleware.redis_broker import FlowControlRedisBroker


def build_flow_broker(
    url: str,
    *,
    namespace: str,
    client: redis.Redis | None = None,
    first: Middleware | None = None,
    broker_client: redis.Redis | None = None,
    **flow_options: Any,
) -> FlowControlRedisBroker:
    flow_control = FlowControl(
        client=client if client is not None else redis.Redis.from_url(url),
        namespace=f"{namespace}:zapq",
        **flow_options,
    )
    broker = FlowControlRedisBroker(
        url=None if broker_client else url,
        client=broker_client,
        namespace=namespace,
        middleware=[
            *([first] if first else []),
            flow_control,
            Retries(min_backoff=100, max_backoff=500),
            CurrentMessage(),
        ],
        heartbeat_timeout=60_000,  # one live worker: nobody may requeue its messages as a dead one's
    )
    broker.declare_queue("default")
    return broker


@contextmanager
def running_worker(broker: FlowControlRedisBroker, threads: int) -> Iterator[dramatiq.Worker]:
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=100)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()
        broker.close()
