"""WhatsApp conversations: answer each customer's burst once, and track what happened to our messages."""

from __future__ import annotations

import logging
from typing import Any

import dramatiq
from dramatiq.middleware import CurrentMessage

from actors.analytics import record_turn
from actors.handoff import notify_human_handoff
from actors.queues import DEFAULT, PRIORITY
from actors.services import burst_services
from zapq.conversation.burst import answer_burst
from zapq.db.connection import thread_connection
from zapq.db.outbound_messages import apply_status, find_by_wamid
from zapq.settings import get_settings
from zapq.whatsapp.inbound import StatusUpdate

logger = logging.getLogger(__name__)

# Meta redelivers a webhook for up to 7 days: a wamid must be remembered longer than that.
WAMID_MEMORY_MS = 8 * 24 * 3600 * 1000
STATUS_RETRIES = 5

_settings = get_settings()


def conversation_key(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """The debounce window: one customer (`wa_id`) writing to one business number."""
    message = args[0]
    return f"{message['phone_number_id']}/{message['wa_id']}"


def wamid_key(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """A message's identity: Meta's wamid on the business number that received it."""
    message = args[0]
    return f"{message['phone_number_id']}/{message['wamid']}"


@dramatiq.actor(
    queue_name=DEFAULT,
    priority=PRIORITY[DEFAULT],
    debounce=conversation_key,
    debounce_window=int(_settings.debounce_window_seconds * 1000),
    debounce_max_wait=int(_settings.debounce_max_wait_seconds * 1000),
    idempotency_key=wamid_key,
    idempotency_ttl=WAMID_MEMORY_MS,
)
def process_message(messages: list[dict[str, Any]]) -> None:
    """Answer a customer's burst. Send one `InboundMessage.to_dict()` per message; it runs once per burst."""
    current = CurrentMessage.get_current_message()
    assert current is not None, "CurrentMessage middleware is part of the stack"
    services = burst_services(
        get_settings(),
        on_turn=record_turn.send,
        on_handoff=notify_human_handoff.send,
    )
    outcome = answer_burst(services, current.message_id, messages)
    logger.info("burst %s of %d message(s): %s", current.message_id, len(messages), outcome.outcome)


class StatusBeforeSend(Exception):
    """A status webhook for a wamid not in the ledger yet: the send's commit may still be on its way."""


@dramatiq.actor(queue_name=DEFAULT, priority=PRIORITY[DEFAULT], max_retries=STATUS_RETRIES, min_backoff=500)
def apply_message_status(status: dict[str, Any]) -> None:
    """Move an outbound message's status forward (never back: a late "delivered" leaves "read")."""
    update = StatusUpdate.from_dict(status)
    connection = thread_connection()
    if apply_status(
        connection, update.wamid, update.status, update.at, update.error_code, update.error_title
    ):
        return
    if find_by_wamid(connection, update.wamid) is not None:
        return  # older than what is stored, or a status outside the order (e.g. "played")
    current = CurrentMessage.get_current_message()
    retries = current.options.get("retries", 0) if current else STATUS_RETRIES
    if retries < STATUS_RETRIES:
        raise StatusBeforeSend(f"no outbound message {update.wamid} yet")
    logger.info("status %s for %s: not a message zapq sent, ignored", update.status, update.wamid)
