"""Where generic webhook events become PostgreSQL rows, a debounced batch per `unique_id` at a time."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

import dramatiq
import psycopg
from dramatiq.middleware import CurrentMessage

from zapq.db.connection import thread_connection
from zapq.db.poison import PoisonBin
from zapq.db.webhook_events import store_webhook_event as insert_event
from zapq.queues import DEFAULT, PRIORITY
from zapq.settings import declaring_settings

_settings = declaring_settings()


@dramatiq.actor(
    queue_name=DEFAULT,
    priority=PRIORITY[DEFAULT],
    debounce="unique_id",
    debounce_window=int(_settings.debounce_window_seconds * 1000),
    debounce_max_wait=int(_settings.debounce_max_wait_seconds * 1000),
    idempotency_key="event_id",
)
def store_webhook_events(events: list[dict[str, Any]]) -> None:
    """Store a burst of one sender's events, in arrival order, as one batch.

    Send one `{"event_id", "unique_id", "message", "received_at"}` per event. Each row is
    keyed by its event id, so a redelivered batch stores nothing new. An event PostgreSQL
    refuses is set aside as poison (`zapq.db.poison`); the rest of the batch is stored.
    """
    current = CurrentMessage.get_current_message()
    assert current is not None, "CurrentMessage middleware is part of the stack"
    connection = thread_connection()
    poison = PoisonBin(connection, store_webhook_events.actor_name, current.message_id)
    with connection.transaction():
        for event in events:
            poison.attempt(_event_id(event), event, partial(_store, connection, current.message_id, event))


def _event_id(event: Any) -> object:
    return event.get("event_id") if isinstance(event, dict) else None


def _store(connection: psycopg.Connection, batch_id: str, event: dict[str, Any]) -> None:
    insert_event(
        connection,
        message_id=event["event_id"],
        unique_id=event["unique_id"],
        body=event["message"],
        received_at=datetime.fromisoformat(event["received_at"]),
        batch_id=batch_id,
    )
