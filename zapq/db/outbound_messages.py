"""The outbound ledger: messages zapq sends to WhatsApp, keyed by the caller's idempotency key.

Status only moves forward, in this order:

    pending < sent < failed < delivered < read

Webhooks arrive late and out of order, so each update is one UPDATE that applies only when the
new status ranks above the stored one: a late "delivered" never overwrites "read". "failed" ranks
above "sent" because Meta reports undeliverable messages after accepting them, and below
"delivered" because a message that reached the phone was not lost: a "failed" after "delivered"
or "read" is kept out (it should not happen), while "delivered" or "read" after "failed" wins.
Statuses outside the order (Meta's "played", "deleted", ...) change nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import msgspec
import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

PENDING = "pending"
SENT = "sent"
FAILED = "failed"
DELIVERED = "delivered"
READ = "read"

STATUS_RANK = {PENDING: 0, SENT: 1, FAILED: 2, DELIVERED: 3, READ: 4}

# The stored status's rank, for the WHERE clause of every update: built from STATUS_RANK so the
# order is written down once.
_STORED_RANK = (
    "CASE status " + " ".join(f"WHEN '{name}' THEN {rank}" for name, rank in STATUS_RANK.items()) + " END"
)

_COLUMNS = (
    "idempotency_key, phone_number_id, recipient, kind, body, wamid, status,"
    " error_code, error_title, created_at, sent_at, status_at"
)


class OutboundMessage(msgspec.Struct, frozen=True, kw_only=True):
    idempotency_key: str
    phone_number_id: str
    recipient: str
    kind: str
    body: Any
    wamid: str | None
    status: str
    error_code: int | None
    error_title: str | None
    created_at: datetime
    sent_at: datetime | None
    status_at: datetime | None

    @property
    def is_settled(self) -> bool:
        """True once the message was sent or failed for good: it must not be sent again."""
        return self.status != PENDING


def claim_send(
    connection: psycopg.Connection,
    idempotency_key: str,
    *,
    phone_number_id: str,
    recipient: str,
    kind: str,
    body: Mapping[str, Any] | None = None,
) -> OutboundMessage:
    """Insert a pending row for this key, or return the row already there.

    Inside a transaction the row stays locked until it ends, so a second claim of the same key
    waits and then sees the first one's outcome.
    """
    # DO UPDATE (a no-op) rather than DO NOTHING: it returns the existing row even when another
    # transaction inserted it after this statement's snapshot was taken.
    with connection.cursor(row_factory=class_row(OutboundMessage)) as cursor:
        cursor.execute(
            "INSERT INTO outbound_messages (idempotency_key, phone_number_id, recipient, kind, body)"
            " VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (idempotency_key) DO UPDATE SET idempotency_key = EXCLUDED.idempotency_key"
            f" RETURNING {_COLUMNS}",
            (idempotency_key, phone_number_id, recipient, kind, Jsonb(dict(body or {}))),
        )
        row = cursor.fetchone()
    assert row is not None, "INSERT ... ON CONFLICT DO UPDATE RETURNING always returns the row"
    return row


def find_outbound(connection: psycopg.Connection, idempotency_key: str) -> OutboundMessage | None:
    with connection.cursor(row_factory=class_row(OutboundMessage)) as cursor:
        cursor.execute(
            f"SELECT {_COLUMNS} FROM outbound_messages WHERE idempotency_key = %s", (idempotency_key,)
        )
        return cursor.fetchone()


def find_by_wamid(connection: psycopg.Connection, wamid: str) -> OutboundMessage | None:
    with connection.cursor(row_factory=class_row(OutboundMessage)) as cursor:
        cursor.execute(f"SELECT {_COLUMNS} FROM outbound_messages WHERE wamid = %s", (wamid,))
        return cursor.fetchone()


def record_sent(connection: psycopg.Connection, idempotency_key: str, wamid: str) -> bool:
    """Store the wamid Meta returned and mark the row sent; False when it was no longer pending."""
    cursor = connection.execute(
        "UPDATE outbound_messages SET wamid = %s, status = 'sent', sent_at = now(), status_at = now()"
        " WHERE idempotency_key = %s AND status = 'pending'",
        (wamid, idempotency_key),
    )
    return cursor.rowcount == 1


def record_failed(
    connection: psycopg.Connection, idempotency_key: str, error_code: int | None, error_title: str
) -> bool:
    """Mark a row failed with Graph's error code; False when its status already ranks above failed."""
    cursor = connection.execute(
        "UPDATE outbound_messages SET status = 'failed', error_code = %s, error_title = %s, status_at = now()"
        f" WHERE idempotency_key = %s AND {_STORED_RANK} < %s",
        (error_code, error_title, idempotency_key, STATUS_RANK[FAILED]),
    )
    return cursor.rowcount == 1


def apply_status(
    connection: psycopg.Connection,
    wamid: str,
    status: str,
    at: datetime,
    error_code: int | None = None,
    error_title: str | None = None,
) -> bool:
    """Apply a status webhook; True when it moved the row forward.

    False when the status is unknown, does not rank above the stored one, or no row has this
    wamid yet (a webhook can beat `record_sent`; the caller may retry it later).
    """
    rank = STATUS_RANK.get(status)
    if rank is None:
        return False
    cursor = connection.execute(
        "UPDATE outbound_messages SET status = %s, status_at = %s,"
        " error_code = COALESCE(%s, error_code), error_title = COALESCE(%s, error_title)"
        f" WHERE wamid = %s AND {_STORED_RANK} < %s",
        (status, at, error_code, error_title, wamid, rank),
    )
    return cursor.rowcount == 1
