"""Broker module for crash tests: the project's broker plus a slow actor that leaves traces.

Run as `dramatiq tests.support.crash_actors:boot`. Each attempt increments a Redis
counter before it sleeps; only a finished attempt writes its PostgreSQL row.
"""

from __future__ import annotations

import os
import time

import dramatiq
import redis

from actors import boot  # noqa: F401 (the entry point: `dramatiq <this module>:boot`)
from zapq.db.connection import thread_connection
from zapq.queues import DEFAULT
from zapq.settings import get_settings

LEDGER_DDL = (
    "CREATE TABLE IF NOT EXISTS crash_ledger ("
    " key text PRIMARY KEY, finished_by_pid integer NOT NULL, attempts integer NOT NULL)"
)


def attempts_key(key: str) -> str:
    return f"test:attempts:{key}"


@dramatiq.actor(queue_name=DEFAULT, max_retries=0)
def slow_write(key: str, hold_s: float) -> None:
    client = redis.Redis.from_url(get_settings().redis_url)
    attempts = int(client.incr(attempts_key(key)))
    time.sleep(hold_s)
    thread_connection().execute(
        "INSERT INTO crash_ledger (key, finished_by_pid, attempts) VALUES (%s, %s, %s)",
        (key, os.getpid(), attempts),
    )
