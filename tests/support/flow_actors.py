"""Broker module for the flow-control stress test: actors whose side effects land in a PostgreSQL ledger.

Run as `dramatiq tests.support.flow_actors:boot`. Each side effect is one transaction
guarded by a unique constraint; a second completion of the same key is not an
error for the actor (real actors are written that way too) but is recorded in
`flow_recompletions`, so the test can tell what happened.
"""

from __future__ import annotations

import json
import os
import random
import time

import dramatiq
import psycopg
from dramatiq.middleware import CurrentMessage

from actors import boot  # noqa: F401 (declares on the project broker; the entry point: `...:boot`)
from zapq.db.connection import thread_connection
from zapq.queues import DEFAULT

MAX_ITEMS = 8
WINDOW_MS = 300
MAX_WAIT_MS = 1500

LEDGER_DDL = """
DROP TABLE IF EXISTS flow_ledger, flow_batches, flow_batch_items, flow_recompletions;
CREATE TABLE flow_ledger (
    key text PRIMARY KEY, pid integer NOT NULL, finished_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE flow_batches (
    batch_id text PRIMARY KEY, user_id text NOT NULL, size integer NOT NULL, pid integer NOT NULL,
    first_sent double precision NOT NULL, opened_at double precision NOT NULL,
    flushed_at double precision NOT NULL);
CREATE TABLE flow_batch_items (mid text PRIMARY KEY, batch_id text NOT NULL);
CREATE TABLE flow_recompletions (
    key text NOT NULL, pid integer NOT NULL, at timestamptz NOT NULL DEFAULT now());
"""


@dramatiq.actor(queue_name=DEFAULT, idempotency_key="key", max_retries=5, min_backoff=100, max_backoff=500)
def effect(key: str) -> None:
    time.sleep(random.uniform(0, 0.02))
    connection = thread_connection()
    inserted = connection.execute(
        "INSERT INTO flow_ledger (key, pid) VALUES (%s, %s) ON CONFLICT DO NOTHING", (key, os.getpid())
    ).rowcount
    if not inserted:
        connection.execute("INSERT INTO flow_recompletions (key, pid) VALUES (%s, %s)", (key, os.getpid()))


@dramatiq.actor(
    queue_name=DEFAULT,
    debounce="user",
    idempotency_key="mid",
    debounce_window=WINDOW_MS,
    debounce_max_wait=MAX_WAIT_MS,
    debounce_max_items=MAX_ITEMS,
    max_retries=5,
    min_backoff=100,
    max_backoff=500,
)
def batch(items: list[dict[str, object]]) -> None:
    message = CurrentMessage.get_current_message()
    assert message is not None
    batch_id = message.message_id
    flushed_at = message.options["zapq_flushed_at_ms"] / 1000
    opened_at = message.options["zapq_window_opened_at_ms"] / 1000
    time.sleep(random.uniform(0, 0.03))
    connection = thread_connection()
    try:
        with connection.transaction():
            connection.execute(
                "INSERT INTO flow_batches VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (batch_id, items[0]["user"], len(items), os.getpid(),
                 min(float(item["sent"]) for item in items), opened_at, flushed_at),  # type: ignore[arg-type]
            )  # fmt: skip
            with connection.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO flow_batch_items (mid, batch_id) VALUES (%s, %s)",
                    [(item["mid"], batch_id) for item in items],
                )
    except psycopg.errors.UniqueViolation:
        connection.execute(
            "INSERT INTO flow_recompletions (key, pid) VALUES (%s, %s)",
            (json.dumps([batch_id, [item["mid"] for item in items]]), os.getpid()),
        )
