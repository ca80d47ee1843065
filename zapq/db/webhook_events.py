"""Rows for events that came in through the generic webhook."""

from __future__ import annotations

from datetime import datetime

import psycopg


def store_webhook_event(
    connection: psycopg.Connection,
    *,
    message_id: str,
    unique_id: str,
    body: str,
    received_at: datetime,
    batch_id: str | None = None,
) -> bool:
    """Insert the event once per message id; return False when it was already stored."""
    cursor = connection.execute(
        "INSERT INTO webhook_events (message_id, unique_id, body, received_at, batch_id)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (message_id) DO NOTHING",
        (message_id, unique_id, body, received_at, batch_id),
    )
    return cursor.rowcount == 1


def count_webhook_events(connection: psycopg.Connection) -> int:
    row = connection.execute("SELECT count(*) FROM webhook_events").fetchone()
    return int(row[0]) if row else 0
