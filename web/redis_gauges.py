"""Read at each scrape of the web's /metrics: whether worker processes live, and Redis's memory.

The web asks because no worker can report its own absence, and the web answers webhooks while
every worker is down. Redis not answering leaves these gauges NaN (unknown), never a stale value.
"""

from __future__ import annotations

import math
import time

import redis
import redis.asyncio

from zapq import metrics
from zapq.keyspace import worker_heartbeats_key
from zapq.settings import Settings


async def refresh_redis_gauges(client: redis.asyncio.Redis, settings: Settings) -> None:
    key = worker_heartbeats_key(settings.redis_namespace)
    now = time.time()
    try:
        pipe = client.pipeline(transaction=False)
        pipe.zrevrange(key, 0, 0, withscores=True)
        pipe.zcount(key, now - settings.redis_heartbeat_timeout_s, "+inf")
        pipe.info("memory")
        newest, alive, memory = await pipe.execute()
    except (redis.RedisError, OSError):
        for gauge in (metrics.worker_heartbeat_age, metrics.workers_alive, metrics.redis_memory_used,
                      metrics.redis_memory_max):  # fmt: skip
            gauge().set(math.nan)
        return
    metrics.worker_heartbeat_age().set(max(0.0, now - float(newest[0][1])) if newest else math.inf)
    metrics.workers_alive().set(int(alive))
    metrics.redis_memory_used().set(int(memory.get("used_memory", 0)))
    metrics.redis_memory_max().set(int(memory.get("maxmemory", 0)))
