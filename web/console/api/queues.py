"""`GET /api/console/queues`: depth per queue (ready, delayed, dead, in flight), live workers, and the
last 15 minutes of throughput and failures (`zapq.minute_counts`), read from Redis in two round trips.

"Workers alive" counts worker processes by their own heartbeat (`zapq.worker_heartbeat`): Dramatiq's
`__heartbeats__` also holds every web and scheduler process that enqueued lately. Those broker ids still
name the `__acks__` sets read for "in flight".

"In flight" is what workers fetched and have not acked (their `__acks__` sets: running or prefetched);
"delayed" is the delay queue plus what workers hold of it until its eta (retries waiting to run).
"""

from __future__ import annotations

from typing import Any

import redis.asyncio
from dramatiq.common import current_millis, dq_name
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from web.console.auth import Role, caller_or_refusal
from web.unavailable import BROKER, unavailable
from zapq.keyspace import (
    acks_key,
    dead_letter_key,
    delay_queue_key,
    heartbeat_key,
    minute_counts_key,
    queue_key,
    worker_heartbeats_key,
)
from zapq.minute_counts import DEAD, DONE, FAILED, MinuteTotals, span_minutes
from zapq.queues import QUEUES

CHART_MINUTES = 15


async def queues(request: Request) -> Response:
    caller = await caller_or_refusal(request, Role.ADMIN)
    if isinstance(caller, Response):
        return caller
    settings = request.app.state.settings
    client: redis.asyncio.Redis = request.app.state.enqueuer.client
    try:
        body = await queue_snapshot(
            client, settings.redis_namespace, int(settings.redis_heartbeat_timeout_s * 1000), current_millis()
        )
    except (redis.RedisError, OSError) as error:
        return unavailable(BROKER, error)
    return JSONResponse(body)


async def queue_snapshot(
    client: redis.asyncio.Redis, namespace: str, heartbeat_timeout_ms: int, now_ms: int
) -> dict[str, Any]:
    minutes = span_minutes(now_ms, CHART_MINUTES)
    pipeline = client.pipeline(transaction=False)
    pipeline.zrangebyscore(heartbeat_key(namespace), now_ms - heartbeat_timeout_ms, "+inf", withscores=True)
    pipeline.zcard(heartbeat_key(namespace))
    pipeline.zcount(worker_heartbeats_key(namespace), (now_ms - heartbeat_timeout_ms) / 1000, "+inf")
    for queue in QUEUES:
        pipeline.llen(queue_key(namespace, queue))
        pipeline.llen(delay_queue_key(namespace, queue))
        pipeline.zcard(dead_letter_key(namespace, queue))
    for minute in minutes:
        pipeline.hgetall(minute_counts_key(namespace, minute))
    replies = await pipeline.execute()
    alive: list[tuple[bytes, float]] = replies[0]
    registered = int(replies[1])
    worker_processes = int(replies[2])
    depths = replies[3 : 3 + 3 * len(QUEUES)]
    totals = MinuteTotals(minutes, replies[3 + 3 * len(QUEUES) :])

    workers = [worker.decode() for worker, _ in alive]
    held: list[int] = []
    if workers:
        pipeline = client.pipeline(transaction=False)
        for queue in QUEUES:
            for worker in workers:
                pipeline.scard(acks_key(namespace, worker, queue))
                pipeline.scard(acks_key(namespace, worker, dq_name(queue)))
        held = [int(count) for count in await pipeline.execute()]

    rows = []
    for index, queue in enumerate(QUEUES):
        ready, delayed, dead = (int(depth) for depth in depths[3 * index : 3 * index + 3])
        mine = held[index * 2 * len(workers) : (index + 1) * 2 * len(workers)]
        done, failed = totals.series(DONE, queue), totals.series(FAILED, queue)
        attempts = sum(done) + sum(failed)
        rows.append({
            "name": queue, "ready": ready, "delayed": delayed + sum(mine[1::2]), "dead": dead,
            "in_flight": sum(mine[0::2]), "done": done, "failed": failed,
            "dead_lettered": totals.series(DEAD, queue),
            "failure_rate": round(sum(failed) / attempts, 4) if attempts else 0.0,
        })  # fmt: skip
    return {
        "now_ms": now_ms,
        "minutes": minutes,
        "queues": rows,
        "workers": {
            "alive": worker_processes,
            "broker_ids_alive": len(workers),
            "registered": registered,
            "last_heartbeat_ms_ago": sorted(max(0, now_ms - int(score)) for _, score in alive),
        },
    }


ROUTES = [Route("/api/console/queues", queues, methods=["GET"])]
