"""WhatsApp conversations: answer each customer's burst once, and track what happened to our messages."""

from __future__ import annotations

import functools
import logging
import random
from typing import Any

import dramatiq
import psycopg
from dramatiq.middleware import CurrentMessage

from actors.analytics import save_session_to_duckdb
from actors.embeddings import embed_inbound_texts
from actors.handoff import notify_human_handoff
from middleware.outage_retries import WAITED_FOR_OPTION
from zapq.customer_ids import customer_tag
from zapq.db.connection import thread_connection
from zapq.db.poison import PoisonBin
from zapq.queues import DEFAULT, PRIORITY
from zapq.settings import declaring_settings, get_settings
from zapq.whatsapp.errors import AccessTokenInvalid, RetryableSendError
from zapq.whatsapp.events import InboundMessage, StatusUpdate, Wire, from_wire

logger = logging.getLogger(__name__)

# Meta redelivers a webhook for up to 7 days: a wamid must be remembered longer than that.
WAMID_MEMORY_MS = 8 * 24 * 3600 * 1000

# A rate limit, a 5xx or an attempt in doubt (up to IN_DOUBT_WAIT_S) clears within minutes;
# a revoked token needs an operator, so those retries are spaced out.
REPLY_RETRIES = 20
TOKEN_RETRY_DELAY_MS = 5 * 60 * 1000

_settings = declaring_settings()


def conversation_key(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """The debounce window: one customer (`wa_id`) writing to one business number."""
    message: Wire[InboundMessage] = args[0]
    return f"{message['phone_number_id']}/{message['wa_id']}"


def wamid_key(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """A message's identity: Meta's wamid on the business number that received it."""
    message: Wire[InboundMessage] = args[0]
    return f"{message['phone_number_id']}/{message['wamid']}"


class RetryReply(dramatiq.Retry):
    """The Cloud API asked to wait (rate limit, 5xx, an attempt in doubt, a revoked token).

    Retried after Meta's suggested delay, more often than other failures: the reply is still
    owed, and giving up would drop the whole burst.
    """


def retry_when(retries: int, exception: BaseException) -> bool:
    limit = REPLY_RETRIES if isinstance(exception, RetryReply) else get_settings().retry_max
    return retries < limit


@dramatiq.actor(
    queue_name=DEFAULT,
    priority=PRIORITY[DEFAULT],
    retry_when=retry_when,
    debounce=conversation_key,
    debounce_window=int(_settings.debounce_window_seconds * 1000),
    debounce_max_wait=int(_settings.debounce_max_wait_seconds * 1000),
    idempotency_key=wamid_key,
    idempotency_ttl=WAMID_MEMORY_MS,
)
def process_message(messages: list[Wire[InboundMessage]]) -> None:
    """Answer a customer's burst. Send one `to_wire(message)` per message; it runs once per burst."""
    # Worker-only code, imported here: the web imports this module only to send to the actor.
    from actors.services import burst_services
    from zapq.conversation.burst import answer_burst

    current = CurrentMessage.get_current_message()
    assert current is not None, "CurrentMessage middleware is part of the stack"
    services = burst_services(
        get_settings(),
        on_turn=save_session_to_duckdb.send,
        on_handoff=notify_human_handoff.send,
        after_outage=bool(current.options.get(WAITED_FOR_OPTION)),
    )
    try:
        outcome = answer_burst(services, current.message_id, messages)
    except AccessTokenInvalid as error:
        logger.critical(
            "burst %s waits: the WhatsApp access token was rejected (%s)", current.message_id, error
        )
        raise RetryReply(str(error), delay=TOKEN_RETRY_DELAY_MS) from error
    except RetryableSendError as error:
        # Meta's suggested wait when it gave one, else Retries' own exponential backoff.
        delay = (
            None if error.retry_after_s is None else int(error.retry_after_s * 1000) + random.randint(0, 500)
        )
        raise RetryReply(str(error), delay=delay) from error
    # The story's lines (answered, skipped, sent, failed) come from answer_burst and send_once.
    logger.debug("burst %s of %d message(s): %s", current.message_id, len(messages), outcome.outcome)
    # Stored and committed by now: their text goes to semantic search (low priority, each text once).
    embed_inbound_texts(messages)


@dramatiq.actor(queue_name=DEFAULT, priority=PRIORITY[DEFAULT])
def apply_message_status(status: Wire[StatusUpdate]) -> None:
    """Move an outbound message's status forward (never back: a late "delivered" leaves "read").

    A status PostgreSQL refuses is set aside as poison rather than retried: it would fail again.
    """
    connection = thread_connection()
    poison = PoisonBin(connection, apply_message_status.actor_name, None)
    poison.attempt(status.get("wamid"), status, functools.partial(_apply_status, connection, status))


def _apply_status(connection: psycopg.Connection, status: Wire[StatusUpdate]) -> None:
    from zapq.db.outbound_messages import record_status  # worker-only, as above

    update = from_wire(StatusUpdate, status)
    if update.status == "failed":  # Meta took the message, then could not deliver it
        logger.warning(
            "message %s to customer=%s failed at Meta: code=%s: %s", update.wamid,
            customer_tag(update.recipient_id) if update.recipient_id else "-",
            update.error_code if update.error_code is not None else "-", update.error_title or "",
        )  # fmt: skip
    record_status(
        connection,
        wamid=update.wamid,
        phone_number_id=update.phone_number_id,
        recipient_id=update.recipient_id,
        status=update.status,
        at=update.at,
        error_code=update.error_code,
        error_title=update.error_title,
    )
