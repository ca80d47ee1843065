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
def _rank_of(column: str) -> str:
    return (
        f"CASE {column} "
        + " ".join(f"WHEN '{name}' THEN {rank}" for name, rank in STATUS_RANK.items())
        + " END"
    )


_STORED_RANK = _rank_of("status")

_COLUMNS = (
    "idempotency_key, phone_number_id, recipient, kind, body, wamid, status,"
    " error_code, error_title, created_at, sent_at, status_at, attempted_at, doubt_seen_at"
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
    attempted_at: datetime | None = None
    doubt_seen_at: datetime | None = None

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


def start_attempt(connection: psycopg.Connection, idempotency_key: str, previous: datetime | None) -> bool:
    """Commit that a request is about to leave; False when another caller started one meanwhile."""
    cursor = connection.execute(
        "UPDATE outbound_messages SET attempted_at = clock_timestamp(), doubt_seen_at = NULL"
        " WHERE idempotency_key = %s AND status = 'pending' AND attempted_at IS NOT DISTINCT FROM %s",
        (idempotency_key, previous),
    )
    return cursor.rowcount == 1


def note_doubt_seen(connection: psycopg.Connection, idempotency_key: str) -> datetime:
    """Record (once per attempt) when a retry back from an outage first found the attempt unfinished."""
    row = connection.execute(
        "UPDATE outbound_messages SET doubt_seen_at = COALESCE(doubt_seen_at, clock_timestamp())"
        " WHERE idempotency_key = %s RETURNING doubt_seen_at",
        (idempotency_key,),
    ).fetchone()
    assert row is not None, "the row was claimed before"
    seen: datetime = row[0]
    return seen


def clear_attempt(connection: psycopg.Connection, idempotency_key: str) -> None:
    """Meta answered with an error: the attempt certainly sent nothing."""
    connection.execute(
        "UPDATE outbound_messages SET attempted_at = NULL WHERE idempotency_key = %s AND status = 'pending'",
        (idempotency_key,),
    )


def record_sent(connection: psycopg.Connection, idempotency_key: str, wamid: str) -> bool:
    """Store the wamid Meta returned and mark the row sent; False when it was no longer pending.

    A status webhook that arrived before this (kept in `unmatched_statuses`) is applied now.
    """
    cursor = connection.execute(
        "UPDATE outbound_messages SET wamid = %s, status = 'sent', sent_at = now(), status_at = now()"
        " WHERE idempotency_key = %s AND status = 'pending'",
        (wamid, idempotency_key),
    )
    if cursor.rowcount != 1:
        return False
    apply_unmatched_statuses(connection, wamid)
    return True


def adopt_unmatched_send(
    connection: psycopg.Connection,
    idempotency_key: str,
    *,
    phone_number_id: str,
    recipient: str,
    since: datetime,
    skew_s: float = 30.0,
) -> str | None:
    """Give a pending row the wamid of an unclaimed status webhook to its recipient since `since`.

    The request of an attempt whose answer was lost did reach Meta if Meta then reported a
    message to that recipient that no row claims; that message is this one. Returns the wamid.
    """
    row = connection.execute(
        "WITH candidate AS ("
        "  SELECT u.wamid FROM unmatched_statuses u"
        "  WHERE u.phone_number_id = %s AND u.recipient_id = %s"
        "    AND u.at >= %s - make_interval(secs => %s)"
        "    AND NOT EXISTS (SELECT 1 FROM outbound_messages o WHERE o.wamid = u.wamid)"
        "  ORDER BY u.at LIMIT 1)"
        " UPDATE outbound_messages SET wamid = candidate.wamid, status = 'sent', sent_at = now(),"
        "   status_at = now()"
        " FROM candidate WHERE idempotency_key = %s AND status = 'pending'"
        " RETURNING candidate.wamid",
        (phone_number_id, recipient, since, skew_s, idempotency_key),
    ).fetchone()
    if row is None:
        return None
    apply_unmatched_statuses(connection, row[0])
    return str(row[0])


def record_status(
    connection: psycopg.Connection,
    *,
    wamid: str,
    phone_number_id: str,
    recipient_id: str | None,
    status: str,
    at: datetime,
    error_code: int | None = None,
    error_title: str | None = None,
) -> None:
    """Apply a status webhook to its message, or keep it until the message's row appears.

    A status for a wamid the ledger does not hold yet (its send's commit is still on the way,
    or its worker died before recording it) waits in `unmatched_statuses`.
    """
    if not apply_status(connection, wamid, status, at, error_code, error_title):
        keep_unmatched_status(
            connection, wamid=wamid, phone_number_id=phone_number_id, recipient_id=recipient_id,
            status=status, at=at, error_code=error_code, error_title=error_title,
        )  # fmt: skip


def keep_unmatched_status(
    connection: psycopg.Connection,
    *,
    wamid: str,
    phone_number_id: str,
    recipient_id: str | None,
    status: str,
    at: datetime,
    error_code: int | None = None,
    error_title: str | None = None,
) -> None:
    """Keep a status for a wamid not in the ledger, then apply it if its row appeared meanwhile.

    A wamid the ledger holds is not kept (its status was older than the stored one, or outside
    the order). Whichever of this and `record_sent` commits second sees the other's write, so
    the status is never left behind.
    """
    rank = STATUS_RANK.get(status, -1)
    connection.execute(
        "INSERT INTO unmatched_statuses"
        " (wamid, phone_number_id, recipient_id, status, at, error_code, error_title)"
        " SELECT %s::text, %s::text, %s::text, %s::text, %s::timestamptz, %s::integer, %s::text"
        " WHERE NOT EXISTS (SELECT 1 FROM outbound_messages WHERE wamid = %s)"
        " ON CONFLICT (wamid) DO UPDATE SET status = EXCLUDED.status, at = EXCLUDED.at,"
        "   error_code = COALESCE(EXCLUDED.error_code, unmatched_statuses.error_code),"
        "   error_title = COALESCE(EXCLUDED.error_title, unmatched_statuses.error_title)"
        f" WHERE %s > {_rank_of('unmatched_statuses.status')}",
        (wamid, phone_number_id, recipient_id, status, at, error_code, error_title, wamid, rank),
    )
    apply_unmatched_statuses(connection, wamid)


def apply_unmatched_statuses(connection: psycopg.Connection, wamid: str) -> None:
    """Move a kept status onto its ledger row, if the row exists now."""
    row = connection.execute(
        "SELECT status, at, error_code, error_title FROM unmatched_statuses"
        " WHERE wamid = %s AND EXISTS (SELECT 1 FROM outbound_messages WHERE wamid = %s)",
        (wamid, wamid),
    ).fetchone()
    if row is None:
        return
    apply_status(connection, wamid, row[0], row[1], row[2], row[3])
    connection.execute("DELETE FROM unmatched_statuses WHERE wamid = %s", (wamid,))


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
