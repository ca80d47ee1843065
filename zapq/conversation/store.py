"""Conversations in PostgreSQL: who the customer is, who answers them, and what was said.

Every write here is keyed (by wamid, batch id or handoff id) or monotonic, so a
redelivered burst writes nothing twice and a late one moves nothing backwards.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from typing import Any

import msgspec
import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from zapq.conversation.engine import ConversationState
from zapq.db.poison import PoisonBin
from zapq.struct_types import prepare
from zapq.whatsapp.events import InboundMessage, to_wire

BOT = "bot"
HUMAN = "human"


class Conversation(msgspec.Struct, frozen=True, kw_only=True):
    phone_number_id: str
    wa_id: str
    profile_name: str | None
    last_inbound_at: datetime | None
    mode: str
    opted_out: bool
    engine_state: Any
    last_batch_id: str | None
    last_turn: Any

    def state(self) -> ConversationState:
        """The engine's state, or a fresh one; the profile name is always the latest Meta sent, and
        `opted_out` is this row's (the engine tells a returning customer they receive messages again)."""
        if self.engine_state:
            state = msgspec.convert(self.engine_state, ConversationState)
        else:
            state = ConversationState(wa_id=self.wa_id)
        return msgspec.structs.replace(
            state, profile_name=self.profile_name or state.profile_name, opted_out=self.opted_out
        )


prepare(ConversationState)  # converted in worker threads: see zapq/struct_types.py

_COLUMNS = (
    "phone_number_id, wa_id, profile_name, last_inbound_at, mode, opted_out, engine_state,"
    " last_batch_id, last_turn"
)


@contextmanager
def conversation_lock(connection: psycopg.Connection, phone_number_id: str, wa_id: str) -> Iterator[None]:
    """Serialise the bursts of one conversation across every worker.

    A burst arriving while the previous one is answered opens its own debounce window and
    may flush before that answer is sent; it waits here, then reads the state the first one
    saved. A session advisory lock (not a transaction) so the ledger's own commits are not
    held back; a killed worker's connection closes and PostgreSQL releases the lock. A worker
    whose host vanished sends no close: its session ends, and the lock with it, within
    DATABASE_DEAD_PEER_S (`zapq.db.dead_peers`).
    """
    key = f"conversation:{phone_number_id}:{wa_id}"
    connection.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (key,))
    try:
        yield
    finally:
        if not connection.closed and not connection.broken:
            connection.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (key,))


def touch_conversation(
    connection: psycopg.Connection,
    phone_number_id: str,
    wa_id: str,
    *,
    profile_name: str | None,
    last_inbound_at: datetime,
) -> Conversation:
    """Create the conversation or refresh its profile name and 24 h window; return it."""
    with connection.cursor(row_factory=class_row(Conversation)) as cursor:
        cursor.execute(
            "INSERT INTO conversations (phone_number_id, wa_id, profile_name, last_inbound_at)"
            " VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (phone_number_id, wa_id) DO UPDATE SET"
            " profile_name = COALESCE(EXCLUDED.profile_name, conversations.profile_name),"
            " last_inbound_at = GREATEST(conversations.last_inbound_at, EXCLUDED.last_inbound_at),"
            " updated_at = now()"
            f" RETURNING {_COLUMNS}",
            (phone_number_id, wa_id, profile_name, last_inbound_at),
        )
        row = cursor.fetchone()
    assert row is not None, "INSERT ... ON CONFLICT DO UPDATE RETURNING always returns the row"
    return row


def record_inbound(
    connection: psycopg.Connection,
    batch_id: str,
    messages: Sequence[InboundMessage],
    stale: set[str],
    poison: PoisonBin,
) -> list[InboundMessage]:
    """Store every message of a burst once; return them, less any PostgreSQL refused (set aside)."""
    recorded = []
    for message in messages:
        row = _inbound_row(batch_id, message, message.wamid in stale)
        if poison.attempt(message.wamid, to_wire(message), partial(_insert_inbound, connection, row)):
            recorded.append(message)
    return recorded


def _insert_inbound(connection: psycopg.Connection, row: tuple[Any, ...]) -> None:
    connection.execute(
        "INSERT INTO inbound_messages"
        " (phone_number_id, wamid, wa_id, kind, text, sent_at, batch_id, stale, payload)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (phone_number_id, wamid) DO NOTHING",
        row,
    )


def _inbound_row(batch_id: str, message: InboundMessage, stale: bool) -> tuple[Any, ...]:
    return (
        message.phone_number_id, message.wamid, message.wa_id, message.kind, message.text,
        message.sent_at, batch_id, stale, Jsonb(to_wire(message)),
    )  # fmt: skip


def save_turn_outcome(
    connection: psycopg.Connection,
    conversation: Conversation,
    batch_id: str,
    state: ConversationState,
    turn: dict[str, Any],
    *,
    opted_out: bool,
    handoff: tuple[str, str, str] | None,
    opted_in: bool = False,
) -> None:
    """After the reply went out: the engine's new state, opt-out or -in, handoff and the turn, in one commit.

    `opted_in` clears an earlier opt-out (the customer wrote to us again); `opted_out` wins if both are
    given. `handoff` is (handoff_id, reason, summary). `last_batch_id` marks the burst as done, so a
    redelivered burst skips the engine and only re-sends what must follow (see `last_turn`).
    """
    handing_off = handoff is not None
    values = (
        Jsonb(msgspec.to_builtins(state)), batch_id, Jsonb(turn), opted_out, opted_in and not opted_out,
        opted_out, handing_off, handing_off, conversation.phone_number_id, conversation.wa_id,
    )  # fmt: skip
    with connection.transaction():
        connection.execute(
            "UPDATE conversations SET engine_state = %s, last_batch_id = %s, last_turn = %s,"
            " opted_out = (opted_out OR %s) AND NOT %s,"
            " opted_out_at = CASE WHEN %s AND NOT opted_out THEN now() ELSE opted_out_at END,"
            " mode = CASE WHEN %s THEN 'human' ELSE mode END,"
            " handed_off_at = CASE WHEN %s THEN now() ELSE handed_off_at END,"
            " updated_at = now()"
            " WHERE phone_number_id = %s AND wa_id = %s",
            values,
        )
        if handoff is not None:
            handoff_id, reason, summary = handoff
            connection.execute(
                "INSERT INTO handoffs (handoff_id, phone_number_id, wa_id, reason, summary)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (handoff_id) DO NOTHING",
                (handoff_id, conversation.phone_number_id, conversation.wa_id, reason, summary),
            )


def release_to_bot(connection: psycopg.Connection, wa_id: str, phone_number_id: str | None = None) -> int:
    """Hand a customer's conversations (on one business number, or all) back to the bot."""
    cursor = connection.execute(
        "UPDATE conversations SET mode = 'bot', released_at = now(), updated_at = now()"
        " WHERE wa_id = %s AND (%s::text IS NULL OR phone_number_id = %s)",
        (wa_id, phone_number_id, phone_number_id),
    )
    return cursor.rowcount


class HandoffRecord(msgspec.Struct, frozen=True, kw_only=True):
    handoff_id: str
    phone_number_id: str
    wa_id: str
    reason: str
    summary: str
    created_at: datetime
    notified_at: datetime | None


def find_handoff(connection: psycopg.Connection, handoff_id: str) -> HandoffRecord | None:
    with connection.cursor(row_factory=class_row(HandoffRecord)) as cursor:
        cursor.execute(
            "SELECT handoff_id, phone_number_id, wa_id, reason, summary, created_at, notified_at"
            " FROM handoffs WHERE handoff_id = %s",
            (handoff_id,),
        )
        return cursor.fetchone()


def mark_handoff_notified(connection: psycopg.Connection, handoff_id: str, crm_status: int) -> None:
    connection.execute(
        "UPDATE handoffs SET notified_at = COALESCE(notified_at, now()), crm_status = %s"
        " WHERE handoff_id = %s",
        (crm_status, handoff_id),
    )


def record_turn(connection: psycopg.Connection, turn: dict[str, Any]) -> bool:
    """Store the analytics record of one answered burst; False when it was already there."""
    cursor = connection.execute(
        "INSERT INTO conversation_turns (batch_id, phone_number_id, wa_id, inbound_wamids, inbound_text,"
        " reply_text, reply_status, engine, actions, first_inbound_at, replied_at)"
        " VALUES (%(batch_id)s, %(phone_number_id)s, %(wa_id)s, %(inbound_wamids)s, %(inbound_text)s,"
        " %(reply_text)s, %(reply_status)s, %(engine)s, %(actions)s, %(first_inbound_at)s, %(replied_at)s)"
        " ON CONFLICT (batch_id) DO NOTHING",
        {**turn, "actions": Jsonb(turn["actions"])},
    )
    return cursor.rowcount == 1
