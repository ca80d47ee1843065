from __future__ import annotations

from datetime import UTC, datetime

import psycopg

from actors.webhook_events import store_webhook_events


def _event(event_id: str, unique_id: str, text: str) -> dict[str, str]:
    return {
        "event_id": event_id,
        "unique_id": unique_id,
        "message": text,
        "received_at": datetime.now(UTC).isoformat(),
    }


def test_an_event_sent_twice_is_stored_once(broker, worker, db: psycopg.Connection, wait_until) -> None:
    store_webhook_events.send(_event("e1", "lead-7", "oi"))
    store_webhook_events.send(_event("e1", "lead-7", "oi"))  # a redelivery carries the same event id
    store_webhook_events.send(_event("e2", "lead-7", "tudo bem?"))

    wait_until(lambda: db.execute("SELECT count(*) FROM webhook_events").fetchone()[0] == 2, timeout=15)
    broker.join("default", timeout=10_000)
    worker.join()
    rows = db.execute("SELECT message_id, body FROM webhook_events ORDER BY id").fetchall()
    assert rows == [("e1", "oi"), ("e2", "tudo bem?")]
    assert db.execute("SELECT count(DISTINCT batch_id) FROM webhook_events").fetchone()[0] == 1


def test_a_poison_event_is_set_aside_and_its_batch_mates_are_stored(
    broker, worker, db: psycopg.Connection, wait_until
) -> None:
    store_webhook_events.send(_event("good-1", "lead-9", "oi"))
    store_webhook_events.send(_event("bad-\x00-nul", "lead-9", "a NUL \x00 PostgreSQL refuses"))
    store_webhook_events.send(_event("good-2", "lead-9", "tudo bem?"))

    wait_until(lambda: db.execute("SELECT count(*) FROM poison_items").fetchone()[0] == 1, timeout=15)
    broker.join("default", timeout=10_000)
    worker.join()
    stored = db.execute("SELECT message_id FROM webhook_events ORDER BY id").fetchall()
    assert stored == [("good-1",), ("good-2",)]
    actor_name, item_id, error, item = db.execute(
        "SELECT actor_name, item_id, error, item FROM poison_items"
    ).fetchone()
    assert (actor_name, item_id) == ("store_webhook_events", "bad-\\u0000-nul")
    assert "DataError" in error
    assert '"message": "a NUL \\u0000 PostgreSQL refuses"' in item
