"""Dramatiq's at-least-once delivery, proven on zapq's broker set-up with real worker processes."""

from __future__ import annotations

import psycopg
import redis

from tests.support.crash_actors import LEDGER_DDL, attempts_key, slow_write


def test_message_of_a_sigkilled_worker_is_redelivered_to_a_new_worker(
    broker, worker_process, db: psycopg.Connection, redis_client: redis.Redis, wait_until
) -> None:  # `broker`: this process sends, so its broker must point at the test's Redis
    db.execute(LEDGER_DDL)
    first = worker_process("tests.support.crash_actors", threads=2)
    slow_write.send("order-1", 3.0)
    wait_until(lambda: redis_client.get(attempts_key("order-1")) == b"1", timeout=15, what="first attempt")

    first.kill()
    second = worker_process("tests.support.crash_actors", threads=2)

    # Heartbeat timeout is 2 s in tests; the sweep then puts the unacked message back.
    wait_until(
        lambda: db.execute("SELECT 1 FROM crash_ledger WHERE key = 'order-1'").fetchone(),
        timeout=30,
        what="the redelivered message to finish",
    )
    finished_by, attempts = db.execute(
        "SELECT finished_by_pid, attempts FROM crash_ledger WHERE key = 'order-1'"
    ).fetchone()
    assert attempts == 2
    assert finished_by in second.child_pids()
