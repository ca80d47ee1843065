"""Broker module for the duplicates benchmark: one small job, bare and idempotent, on separate queues.

Each run records its key (`HINCRBY bench:dup:runs:<variant> <key> 1`) and counts itself
(`INCR bench:dup:total:<variant>`) after its work, so the benchmark sees which keys ran and how often.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import dramatiq
import redis

from actors import boot  # noqa: F401 (the entry point: `dramatiq <this module>:boot`)
from zapq.settings import get_settings

WORK_S = 0.002  # long enough that a duplicate a few positions behind finds its key still running

VARIANTS: dict[str, dict[str, object]] = {
    "bare": {},
    "idempotent": {"idempotency_key": "key"},
}

_redis = redis.Redis.from_url(get_settings().redis_url)


def runs_key(variant: str) -> str:
    return f"bench:dup:runs:{variant}"


def total_key(variant: str) -> str:
    return f"bench:dup:total:{variant}"


def queue_name(variant: str) -> str:
    return f"bench_dup_{variant}"


def _job(variant: str) -> Callable[[str], None]:
    def job(key: str) -> None:
        time.sleep(WORK_S)
        pipe = _redis.pipeline(transaction=False)
        pipe.hincrby(runs_key(variant), key, 1)
        pipe.incr(total_key(variant))
        pipe.execute()

    return job


for _name, _options in VARIANTS.items():
    dramatiq.actor(  # type: ignore[call-overload]
        _job(_name), actor_name=queue_name(_name), queue_name=queue_name(_name), **_options
    )
