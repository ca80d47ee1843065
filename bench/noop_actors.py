"""Broker module for the middleware benchmark: the same no-op actor under each feature set.

Each variant has its own queue so a variant's messages can be placed on it at once.
"""

from __future__ import annotations

import time

import dramatiq
import redis

from actors import boot  # noqa: F401 (the entry point: `dramatiq <this module>:boot`)
from zapq.settings import get_settings

BURST = 5  # debounced variants: messages per user, flushed at max_items

_redis = redis.Redis.from_url(get_settings().redis_url)


def _noop(*args: object, **kwargs: object) -> None:
    return None


VARIANTS: dict[str, dict[str, object]] = {
    "bare": {},
    "idempotency": {"idempotency_key": "key"},
    "debounce": {"debounce": "user", "debounce_max_items": BURST, "debounce_window": 60_000},
    "dedup": {"dedup": 600_000},
    "throttle": {"throttle": "key", "throttle_limit": 1_000_000, "throttle_period": 600_000},
    "all": {
        "idempotency_key": "key",
        "debounce": "user",
        "debounce_max_items": BURST,
        "debounce_window": 60_000,
        "dedup": 600_000,
        "throttle": "user",
        "throttle_limit": 1_000_000,
        "throttle_period": 600_000,
    },
}

for _name, _options in VARIANTS.items():
    dramatiq.actor(_noop, actor_name=f"bench_{_name}", queue_name=f"bench_{_name}", **_options)  # type: ignore[call-overload]


@dramatiq.actor(queue_name="bench_latency", debounce="user", debounce_window=500, debounce_max_wait=10_000)
def bench_latency(items: list[dict[str, float]]) -> None:
    """Records how long after the window closed (last message + 500 ms) the batch started."""
    _redis.rpush("bench:flush-lateness", time.time() - (items[-1]["sent"] + 0.5))
