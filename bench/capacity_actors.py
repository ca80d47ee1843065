"""Broker module of the capacity benchmark's saturation run: no-op actors with zapq's real options.

`burst_sink` carries `process_message`'s flow control (a debounce window per customer, then
idempotency per wamid), `task_sink` a background run's (idempotency per task, no retries), so
Redis does a burst's and a task's work and the Python around it does as little as it can.
Each finished unit INCRs a counter: one command, counted out of the figures.
"""

from __future__ import annotations

from typing import Any

import dramatiq
import redis

from actors import boot  # noqa: F401 (the entry point: `dramatiq <this module>:boot`)
from zapq.settings import get_settings

BURSTS_DONE = "bench:capacity:bursts"
TASKS_DONE = "bench:capacity:tasks"
WINDOW_MS = 300

_redis = redis.Redis.from_url(get_settings().redis_url)


def _customer(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    return str(args[0]["wa_id"])


def _wamid(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    return str(args[0]["wamid"])


def _task(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    return str(args[0]["task_id"])


@dramatiq.actor(
    queue_name="bench_capacity_bursts", debounce=_customer, debounce_window=WINDOW_MS,
    debounce_max_wait=5_000, idempotency_key=_wamid,
)  # fmt: skip
def burst_sink(messages: list[dict[str, str]]) -> None:
    _redis.incr(BURSTS_DONE)


@dramatiq.actor(queue_name="bench_capacity_tasks", idempotency_key=_task, max_retries=0)
def task_sink(task: dict[str, str]) -> None:
    _redis.incr(TASKS_DONE)
