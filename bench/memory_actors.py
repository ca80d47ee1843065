"""Broker module for the Redis memory benchmark: an actor shaped like `process_message`.

Debounced per user, idempotent per message id, remembered for 8 days like WhatsApp's wamids.
Each batch counts the items it saw in `bench:memory:seen` (deleted before memory is measured).
"""

from __future__ import annotations

from typing import Any

import dramatiq
import redis

from actors import boot  # noqa: F401 (the entry point: `dramatiq <this module>:boot`)
from zapq.settings import get_settings

SEEN_KEY = "bench:memory:seen"
QUEUE = "bench_memory"

_redis = redis.Redis.from_url(get_settings().redis_url)


@dramatiq.actor(
    queue_name=QUEUE,
    debounce="user",
    idempotency_key="mid",
    debounce_window=200,
    debounce_max_wait=2000,
    idempotency_ttl=8 * 24 * 3600 * 1000,
)
def bench_process_message(messages: list[dict[str, Any]]) -> None:
    pipe = _redis.pipeline(transaction=False)
    pipe.hincrby(SEEN_KEY, "items", len(messages))
    pipe.hincrby(SEEN_KEY, "batches", 1)
    pipe.execute()
