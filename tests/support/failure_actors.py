"""Broker module for the failure-path tests: actors that record every run they make.

Run as `dramatiq tests.support.failure_actors:boot` (it also declares tests/support/flow_actors.py's
`effect` and `batch`, for the stress tests). Each run takes an attempt number from a
Redis counter per actor and key (so an actor can hold its first attempt long enough to
be killed, and finish a later one at once), then writes a row to `failure_runs` when it
starts and stamps it when it ends. The test reads the table to count runs, completions
and overlaps per key across worker processes.
"""

from __future__ import annotations

import os
import time
from typing import Any

import dramatiq
import redis
from dramatiq.middleware import CurrentMessage

from actors import boot  # noqa: F401 (the entry point: `dramatiq <this module>:boot`)

# The stress tests' actors (a PostgreSQL ledger per key and per batch), declared in this worker too.
from tests.support.flow_actors import batch, effect  # noqa: F401
from zapq.db.connection import thread_connection
from zapq.queues import DEFAULT
from zapq.settings import get_settings

HOUR_MS = 3_600_000

LEDGER_DDL = """
DROP TABLE IF EXISTS failure_runs, failure_batches, failure_releases;
CREATE TABLE failure_runs (
    id serial PRIMARY KEY, actor text NOT NULL, key text NOT NULL, attempt integer NOT NULL,
    pid integer NOT NULL, fence bigint, started_at double precision NOT NULL,
    finished_at double precision);
CREATE TABLE failure_batches (
    id serial PRIMARY KEY, batch_id text NOT NULL, user_id text NOT NULL, mids text[] NOT NULL,
    pid integer NOT NULL, flushed_at double precision, started_at double precision NOT NULL);
CREATE TABLE failure_releases (key text PRIMARY KEY);
"""

_clients: dict[int, redis.Redis] = {}


def attempts_key(actor_name: str, key: str) -> str:
    return f"test:failure:attempts:{actor_name}:{key}"


def _redis() -> redis.Redis:
    client = _clients.get(os.getpid())
    if client is None:
        client = _clients[os.getpid()] = redis.Redis.from_url(get_settings().redis_url)
    return client


def _begin(actor_name: str, key: str) -> tuple[int, int]:
    """Count the attempt and record the run's start; (row id, attempt number)."""
    attempt = int(_redis().incr(attempts_key(actor_name, key)))
    message = CurrentMessage.get_current_message()
    fence = message.options.get("zapq_fence") if message is not None else None
    row = (
        thread_connection()
        .execute(
            "INSERT INTO failure_runs (actor, key, attempt, pid, fence, started_at)"
            " VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
            (actor_name, key, attempt, os.getpid(), fence, time.time()),
        )
        .fetchone()
    )
    assert row is not None
    return int(row[0]), attempt


def _finish(run_id: int) -> None:
    thread_connection().execute(
        "UPDATE failure_runs SET finished_at = %s WHERE id = %s", (time.time(), run_id)
    )


@dramatiq.actor(queue_name=DEFAULT, throttle="key", throttle_limit=1, throttle_period=HOUR_MS, max_retries=0)
def throttled_hold(key: str, first_hold_s: float) -> None:
    """One run per key per hour; the first attempt holds `first_hold_s` (long enough to be killed)."""
    run_id, attempt = _begin("throttled_hold", key)
    if attempt == 1:
        time.sleep(first_hold_s)
    _finish(run_id)


@dramatiq.actor(
    queue_name=DEFAULT,
    debounce="user",
    idempotency_key="mid",
    throttle="user",
    throttle_limit=1,
    throttle_period=HOUR_MS,
    debounce_window=300,
    debounce_max_wait=2000,
    max_retries=0,
)
def throttled_burst(items: list[dict[str, Any]]) -> None:
    """One batch per user per hour; the user's first attempt holds the item's `hold_s`."""
    run_id, attempt = _begin("throttled_burst", str(items[0]["user"]))
    if attempt == 1:
        time.sleep(float(items[0]["hold_s"]))
    _record_batch(items)
    _finish(run_id)


@dramatiq.actor(queue_name=DEFAULT, idempotency_key="key", max_retries=0)
def idempotent_hold(key: str, hold_s: float) -> None:
    """A keyed effect that takes `hold_s` on every attempt."""
    run_id, _ = _begin("idempotent_hold", key)
    time.sleep(hold_s)
    _finish(run_id)


@dramatiq.actor(queue_name=DEFAULT, idempotency_key="key", lease_ms=500, max_retries=0)
def short_lease_hold(key: str, hold_s: float) -> None:
    """A keyed effect whose own lease (500 ms) is a sixth of the middleware's in tests (3000 ms)."""
    run_id, _ = _begin("short_lease_hold", key)
    time.sleep(hold_s)
    _finish(run_id)


@dramatiq.actor(queue_name=DEFAULT, idempotency_key="key", lease_ms=1000, max_retries=0)
def one_second_lease_hold(key: str, hold_s: float) -> None:
    """A keyed effect with a 1 s lease, for a worker whose middleware default is much longer."""
    run_id, _ = _begin("one_second_lease_hold", key)
    time.sleep(hold_s)
    _finish(run_id)


@dramatiq.actor(queue_name=DEFAULT, idempotency_key="key", max_retries=0)
def gated(key: str) -> None:
    """A keyed effect that runs until the test releases its key (`release`)."""
    run_id, _ = _begin("gated", key)
    _wait_for_release(key)
    _finish(run_id)


@dramatiq.actor(queue_name=DEFAULT, idempotency_key="key", lease_ms=10_000, max_retries=0)
def gated_long_lease(key: str) -> None:
    """`gated` with a 10 s lease: renewed every second, it cannot lapse during a 3 s outage."""
    run_id, _ = _begin("gated_long_lease", key)
    _wait_for_release(key)
    _finish(run_id)


def release(connection: Any, key: str) -> None:
    """Let every run of `key` of a gated actor finish."""
    connection.execute("INSERT INTO failure_releases (key) VALUES (%s) ON CONFLICT DO NOTHING", (key,))


def _wait_for_release(key: str, timeout_s: float = 30.0) -> None:
    connection = thread_connection()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if connection.execute("SELECT 1 FROM failure_releases WHERE key = %s", (key,)).fetchone():
            return
        time.sleep(0.05)


@dramatiq.actor(queue_name=DEFAULT, idempotency_key="key", max_retries=3, min_backoff=100, max_backoff=200)
def fail_once(key: str, hold_s: float) -> None:
    """A keyed effect whose first attempt fails after `hold_s`; a retry finishes at once."""
    run_id, attempt = _begin("fail_once", key)
    if attempt == 1:
        time.sleep(hold_s)
        raise RuntimeError(f"first attempt of {key} fails, as planned")
    _finish(run_id)


@dramatiq.actor(queue_name=DEFAULT, max_retries=0)
def occupy(key: str, hold_s: float) -> None:
    """Unrelated work that keeps a worker thread busy for `hold_s`."""
    run_id, _ = _begin("occupy", key)
    time.sleep(hold_s)
    _finish(run_id)


@dramatiq.actor(
    queue_name=DEFAULT,
    debounce="user",
    idempotency_key="mid",
    debounce_window=1000,
    debounce_max_wait=5000,
    max_retries=0,
)
def customer_burst(items: list[dict[str, Any]]) -> None:
    """A customer's burst of messages, answered once."""
    _record_batch(items)


def _record_batch(items: list[dict[str, Any]]) -> None:
    message = CurrentMessage.get_current_message()
    assert message is not None
    flushed_ms = message.options.get("zapq_flushed_at_ms")  # when the tick flushed the window
    thread_connection().execute(
        "INSERT INTO failure_batches (batch_id, user_id, mids, pid, flushed_at, started_at)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        (
            message.message_id, str(items[0]["user"]), [str(item["mid"]) for item in items], os.getpid(),
            None if flushed_ms is None else flushed_ms / 1000, time.time(),
        ),
    )  # fmt: skip
