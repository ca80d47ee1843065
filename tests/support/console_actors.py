"""Broker module for the console's tests: actors whose outcome a test controls through Redis.

Run as `dramatiq tests.support.console_actors:boot`. `flaky` fails (and, with no retries, is
dead-lettered at once) until its key's flag is set; `charge` is idempotent on its order id. Each
success counts a run in Redis, so a test sees what a worker did.
"""

from __future__ import annotations

import os

import dramatiq
import redis

from actors import boot  # noqa: F401 (the entry point: `dramatiq <this module>:boot`)
from zapq.queues import DEFAULT, LOW_PRIORITY
from zapq.settings import get_settings

_clients: dict[int, redis.Redis] = {}


class FlagNotSet(RuntimeError):
    pass


def flag_key(key: str) -> str:
    return f"test:console:flag:{key}"


def runs_key(actor_name: str, key: str) -> str:
    return f"test:console:runs:{actor_name}:{key}"


def _redis() -> redis.Redis:
    client = _clients.get(os.getpid())
    if client is None:
        client = _clients[os.getpid()] = redis.Redis.from_url(get_settings().redis_url)
    return client


@dramatiq.actor(queue_name=DEFAULT, max_retries=0)
def flaky(key: str) -> None:
    if not _redis().exists(flag_key(key)):
        raise FlagNotSet(f"the flag of {key} is not set")
    _redis().incr(runs_key("flaky", key))


@dramatiq.actor(queue_name=LOW_PRIORITY, idempotency_key="order_id", max_retries=0)
def charge(order_id: str) -> None:
    _redis().incr(runs_key("charge", order_id))
