"""What the console's handoff inbox reads: conversations a person has, a customer found by name or
number, and a conversation's transcript with each outbound message's delivery status.

Read-only. A conversation is named by its `conversation_id` (migration 0015), never by the
customer's number; handing one back to the bot is `store.release_to_bot`, as the admin API does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
import psycopg
from psycopg.rows import class_row

from zapq.db.like import literal_for_like

MIN_PHONE_DIGITS = 4
PHONE_DIGITS_SHOWN = 4


class ConversationSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A conversation as a list shows it; `wa_id` stays on the server (the API shows its last digits)."""

    conversation_id: str
    phone_number_id: str
    wa_id: str
    profile_name: str | None
    mode: str
    opted_out: bool
    last_inbound_at: datetime | None
    handed_off_at: datetime | None
    released_at: datetime | None
    #: The latest handoff's reason and summary (what the CRM was sent), and when the CRM took it.
    handoff_reason: str | None
    handoff_summary: str | None
    crm_notified_at: datetime | None
    crm_status: int | None
    #: The customer's latest message, and how many arrived since the handoff.
    last_inbound_text: str | None
    waiting_messages: int


class TranscriptLine(msgspec.Struct, frozen=True, kw_only=True):
    """One message of a conversation: `direction` "in" (the customer) or "out" (zapq)."""

    direction: str
    at: datetime
    kind: str
    text: str | None
    #: Outbound: pending, sent, delivered, read or failed (the ledger, moved by status webhooks).
    status: str | None
    status_at: datetime | None
    error_code: int | None
    error_title: str | None
    #: Inbound: too old to answer when it arrived.
    stale: bool


class HandoffLine(msgspec.Struct, frozen=True, kw_only=True):
    handoff_id: str
    reason: str
    summary: str
    created_at: datetime
    notified_at: datetime | None
    crm_status: int | None


_SUMMARY = """
    SELECT c.conversation_id::text AS conversation_id, c.phone_number_id, c.wa_id, c.profile_name, c.mode,
        c.opted_out, c.last_inbound_at, c.handed_off_at, c.released_at,
        h.reason AS handoff_reason, h.summary AS handoff_summary, h.notified_at AS crm_notified_at,
        h.crm_status, i.text AS last_inbound_text,
        (SELECT count(*) FROM inbound_messages w WHERE w.phone_number_id = c.phone_number_id
            AND w.wa_id = c.wa_id AND c.handed_off_at IS NOT NULL AND w.recorded_at > c.handed_off_at
        )::int AS waiting_messages
    FROM conversations c
    LEFT JOIN LATERAL (
        SELECT reason, summary, notified_at, crm_status FROM handoffs
        WHERE phone_number_id = c.phone_number_id AND wa_id = c.wa_id ORDER BY created_at DESC LIMIT 1
    ) h ON true
    LEFT JOIN LATERAL (
        SELECT text FROM inbound_messages
        WHERE phone_number_id = c.phone_number_id AND wa_id = c.wa_id ORDER BY sent_at DESC LIMIT 1
    ) i ON true
"""


def handoff_inbox(connection: psycopg.Connection[Any], *, limit: int) -> list[ConversationSummary]:
    """Conversations in human mode, the one waiting longest first."""
    with connection.cursor(row_factory=class_row(ConversationSummary)) as cursor:
        return cursor.execute(
            _SUMMARY + " WHERE c.mode = 'human' ORDER BY c.handed_off_at ASC NULLS FIRST, c.conversation_id"
            " LIMIT %s",
            (limit,),
        ).fetchall()


def find_customers(
    connection: psycopg.Connection[Any], text: str, *, limit: int
) -> list[ConversationSummary]:
    """Conversations whose customer's name holds `text`, or whose number holds its digits (4 or more)."""
    digits = "".join(ch for ch in text if ch.isdigit())
    name = "%" + literal_for_like(text) + "%"
    number = "%" + digits + "%" if len(digits) >= MIN_PHONE_DIGITS else None
    with connection.cursor(row_factory=class_row(ConversationSummary)) as cursor:
        return cursor.execute(
            _SUMMARY + " WHERE c.profile_name ILIKE %(name)s OR (%(number)s::text IS NOT NULL"
            " AND c.wa_id LIKE %(number)s)"
            " ORDER BY c.last_inbound_at DESC NULLS LAST, c.conversation_id LIMIT %(limit)s",
            {"name": name, "number": number, "limit": limit},
        ).fetchall()


def conversation(connection: psycopg.Connection[Any], conversation_id: str) -> ConversationSummary | None:
    with connection.cursor(row_factory=class_row(ConversationSummary)) as cursor:
        return cursor.execute(_SUMMARY + " WHERE c.conversation_id = %s", (conversation_id,)).fetchone()


def transcript(
    connection: psycopg.Connection[Any], phone_number_id: str, wa_id: str, *, limit: int
) -> list[TranscriptLine]:
    """The newest `limit` messages both ways, oldest first.

    In the order zapq took them: a customer's message by when it was stored (its WhatsApp time has
    whole seconds only, and a reply is always stored after the message it answers), a reply by when
    it was written; `at` shows the customer's WhatsApp time.
    """
    with connection.cursor(row_factory=class_row(TranscriptLine)) as cursor:
        rows = cursor.execute(
            """
            SELECT direction, at, kind, text, status, status_at, error_code, error_title, stale FROM (
                SELECT 'in' AS direction, sent_at AS at, recorded_at AS ordered_at, kind, text,
                    NULL AS status, NULL::timestamptz AS status_at, NULL::int AS error_code,
                    NULL AS error_title, stale
                FROM inbound_messages WHERE phone_number_id = %(number)s AND wa_id = %(wa_id)s
                UNION ALL
                SELECT 'out', created_at, created_at, kind,
                    COALESCE(body ->> 'text',
                        CASE WHEN body ? 'template' THEN 'template ' || (body ->> 'template') END),
                    status, status_at, error_code, error_title, false
                FROM outbound_messages WHERE phone_number_id = %(number)s AND recipient = %(wa_id)s
                ORDER BY ordered_at DESC LIMIT %(limit)s
            ) newest ORDER BY ordered_at, direction
            """,
            {"number": phone_number_id, "wa_id": wa_id, "limit": limit},
        ).fetchall()
    return rows


def handoffs(connection: psycopg.Connection[Any], phone_number_id: str, wa_id: str) -> list[HandoffLine]:
    """Every handoff of the conversation, newest first."""
    with connection.cursor(row_factory=class_row(HandoffLine)) as cursor:
        return cursor.execute(
            "SELECT handoff_id, reason, summary, created_at, notified_at, crm_status FROM handoffs"
            " WHERE phone_number_id = %s AND wa_id = %s ORDER BY created_at DESC",
            (phone_number_id, wa_id),
        ).fetchall()


def masked_number(wa_id: str) -> str:
    """What the console shows of a customer's number: its last digits, enough to tell two customers apart."""
    return "•••• " + wa_id[-PHONE_DIGITS_SHOWN:]
