from __future__ import annotations

from datetime import UTC, datetime

import psycopg

from actors.webhook_events import store_webhook_event


def test_event_is_stored_once_even_when_its_message_is_delivered_twice(
    broker, worker, db: psycopg.Connection
) -> None:
    message = store_webhook_event.message("lead-7", "oi", datetime.now(UTC).isoformat())
    broker.enqueue(message)
    broker.enqueue(message)  # same message id, as a redelivery would carry

    broker.join("default", timeout=10_000)
    worker.join()
    rows = db.execute("SELECT unique_id, body, message_id FROM webhook_events").fetchall()
    assert rows == [("lead-7", "oi", message.message_id)]
