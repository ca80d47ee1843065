"""Where a generic webhook event becomes a PostgreSQL row."""

from __future__ import annotations

from datetime import datetime

import dramatiq
from dramatiq.middleware import CurrentMessage

from actors.queues import DEFAULT, PRIORITY
from zapq.db.connection import thread_connection
from zapq.db.webhook_events import store_webhook_event as insert_event


@dramatiq.actor(queue_name=DEFAULT, priority=PRIORITY[DEFAULT])
def store_webhook_event(unique_id: str, body: str, received_at: str) -> None:
    """Store one event. Keyed by the Dramatiq message id, so a redelivery stores nothing new."""
    message = CurrentMessage.get_current_message()
    assert message is not None, "CurrentMessage middleware is part of the stack"
    insert_event(
        thread_connection(),
        message_id=message.message_id,
        unique_id=unique_id,
        body=body,
        received_at=datetime.fromisoformat(received_at),
    )
