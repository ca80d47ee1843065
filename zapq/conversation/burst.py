"""Answer one debounced burst of a customer's WhatsApp messages: once, in order, never twice.

`answer_burst` is the whole turn, in the order that keeps it safe when the actor is
retried or its worker is killed at any step:

1. lock the conversation (bursts of one customer never overlap), record every message,
   refresh the profile name and the 24 h window;
2. leave out stale messages (Meta retrying after an outage) and, in human mode, stop;
3. mark the last message read with the typing indicator, ask the engine, send the reply
   through the outbound ledger (`send_once`, keyed by the batch id: a retry never sends it
   twice), falling back to the template outside the 24 h window;
4. save the engine's state, opt-out and handoff with the burst's id in one commit, then hand
   the analytics turn and the handoff notice to their actors.

A burst redelivered after step 4 committed finds its id on the conversation and only repeats
the hand-offs of step 4, which their actors de-duplicate.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import psycopg
import redis

from zapq import metrics
from zapq.conversation.engine import (
    BookTestDrive,
    ConversationEngine,
    ConversationState,
    EngineReply,
    Handoff,
    OptIn,
    OptOut,
)
from zapq.conversation.store import (
    HUMAN,
    Conversation,
    conversation_lock,
    find_handoff,
    record_inbound,
    save_turn_outcome,
    touch_conversation,
)
from zapq.customer_ids import customer_tag
from zapq.db.outbound_messages import find_outbound
from zapq.db.poison import ITEM_ERRORS, PoisonBin, is_item_error
from zapq.reengagement.conversions import note_campaign_replies
from zapq.whatsapp.client import WhatsAppClient
from zapq.whatsapp.errors import AccessTokenInvalid, WhatsAppSendError
from zapq.whatsapp.events import InboundMessage, Wire, from_wire
from zapq.whatsapp.pacing import Pacer, paced
from zapq.whatsapp.sender import SendResult, send_once

logger = logging.getLogger(__name__)


@dataclass
class BurstServices:
    """What a burst needs; the actor builds it from settings, tests may build their own."""

    connection: psycopg.Connection
    redis: redis.Redis
    client_for: Callable[[str], WhatsAppClient]  # business phone_number_id -> client
    engine: ConversationEngine
    engine_name: str
    pacer: Pacer
    stale_after: timedelta
    template_name: str
    template_language: str
    on_turn: Callable[[dict[str, Any]], None]  # hands the analytics record on
    on_handoff: Callable[[str], None]  # hands a handoff id to the notifier
    actor_name: str = "process_message"  # names the source of poison items set aside
    after_outage: bool = False  # this attempt waited for PostgreSQL or Redis (see `send_once`)


class BurstOutcome(msgspec.Struct, frozen=True):
    """What happened to a burst.

    `answered`, `stale`, `human_mode`, `nothing_to_say`, `poison` (every message set aside) or `repeated`.
    """

    outcome: str
    reply: SendResult | None = None


def answer_burst(
    services: BurstServices, batch_id: str, items: Sequence[Wire[InboundMessage]]
) -> BurstOutcome:
    """Answer a burst of one customer on one business number, `items` as the actor received them.

    A message that cannot be read or stored is set aside as poison (`zapq.db.poison`) and the
    burst is answered without it: one strange message never costs the customer their answer.
    """
    poison = PoisonBin(services.connection, services.actor_name, batch_id)
    messages = sorted(_readable(poison, items), key=lambda m: m.sent_at)
    if not messages:
        logger.warning("burst %s skipped: none of its %d message(s) could be read", batch_id, len(items))
        return _finish(services, "poison" if poison.set_aside_ids else "nothing_to_say")
    first = messages[0]
    customer = customer_tag(first.wa_id)
    connection = services.connection
    with conversation_lock(connection, first.phone_number_id, first.wa_id):
        now = datetime.now(UTC)
        stale = {m.wamid for m in messages if now - m.sent_at > services.stale_after}
        conversation = _touch(services, messages)
        messages = record_inbound(connection, batch_id, messages, stale, poison)
        note_campaign_replies(connection, first.phone_number_id, first.wa_id, [m.sent_at for m in messages])
        if conversation.last_batch_id == batch_id:
            logger.info("burst %s customer=%s skipped: duplicate, answered before", batch_id, customer)
            _repeat_handoffs(services, conversation, batch_id)
            return BurstOutcome("repeated")
        if stale:
            _count("stale_messages", len(stale))
            logger.warning(
                "burst %s customer=%s skipped %d stale message(s): older than %s: %s",
                batch_id, customer, len(stale), services.stale_after, ", ".join(sorted(stale)),
            )  # fmt: skip
        fresh = [m for m in messages if m.wamid not in stale]
        if not fresh:
            return _finish(services, "stale" if messages else "poison")
        if conversation.mode == HUMAN:
            logger.info(
                "burst %s customer=%s skipped: human mode, a person has the conversation", batch_id, customer
            )
            return _finish(services, "human_mode")
        return _answer(services, conversation, batch_id, fresh)


def _readable(poison: PoisonBin, items: Sequence[Wire[InboundMessage]]) -> list[InboundMessage]:
    messages: list[InboundMessage] = []

    def read(item: Wire[InboundMessage]) -> None:
        messages.append(from_wire(InboundMessage, item))

    for item in items:
        wamid = item.get("wamid") if isinstance(item, dict) else None
        poison.attempt(wamid, item, functools.partial(read, item), savepoint=False)
    return messages


def _touch(services: BurstServices, messages: Sequence[InboundMessage]) -> Conversation:
    """Create or refresh the conversation; a profile name PostgreSQL refuses is left out, not fatal."""
    first = messages[0]
    profile_name = next((m.profile_name for m in reversed(messages) if m.profile_name), None)

    def touch(name: str | None) -> Conversation:
        return touch_conversation(
            services.connection, first.phone_number_id, first.wa_id,
            profile_name=name, last_inbound_at=messages[-1].sent_at,
        )  # fmt: skip

    if profile_name is None:
        return touch(None)
    try:
        with services.connection.transaction():
            return touch(profile_name)
    except ITEM_ERRORS as error:
        if not is_item_error(error):
            raise
        logger.warning(
            "profile name of customer=%s not stored (%s): %s",
            customer_tag(first.wa_id),
            type(error).__name__,
            error,
        )
        return touch(None)


def _answer(
    services: BurstServices, conversation: Conversation, batch_id: str, fresh: list[InboundMessage]
) -> BurstOutcome:
    client = services.client_for(conversation.phone_number_id)
    if find_outbound(services.connection, reply_key(batch_id)) is None:  # not after a crash that replied
        _show_typing(client, fresh[-1])
    before = conversation.state()
    reply = services.engine.reply(before, fresh)
    _log_answer(services, conversation, batch_id, len(fresh), before, reply)
    sent = _send_reply(services, client, conversation.wa_id, batch_id, reply)
    if sent is not None and sent.requested_now and not sent.failed:
        # From the customer's first message of the burst (Meta's clock) to the Cloud API taking the reply.
        metrics.reply_latency().observe(max(0.0, (datetime.now(UTC) - fresh[0].sent_at).total_seconds()))
    handoff = next((action for action in reply.actions if isinstance(action, Handoff)), None)
    turn = _turn_record(services, conversation, batch_id, fresh, reply, sent)
    save_turn_outcome(
        services.connection,
        conversation,
        batch_id,
        reply.state,
        turn,
        opted_out=any(isinstance(action, OptOut) for action in reply.actions),
        handoff=(batch_id, handoff.reason, handoff.summary) if handoff else None,
        opted_in=any(isinstance(action, OptIn) for action in reply.actions),
    )
    services.on_turn(turn)
    if handoff is not None:
        _count("handoffs")
        services.on_handoff(batch_id)
    return _finish(services, "answered" if reply.text else "nothing_to_say", sent)


def _log_answer(
    services: BurstServices,
    conversation: Conversation,
    batch_id: str,
    message_count: int,
    before: ConversationState,
    reply: EngineReply,
) -> None:
    """The story's middle line: the burst, what the engine understood and which cars it shows."""
    customer = customer_tag(conversation.wa_id)
    if not reply.text:
        logger.info(
            "burst %s customer=%s answered %d message(s): nothing to say", batch_id, customer, message_count
        )
        return
    logger.info(
        "burst %s customer=%s answered %d message(s): intent=%s vehicles=%s engine=%s",
        batch_id, customer, message_count, reply.intent or "-", _vehicles(before, reply) or "-",
        services.engine_name,
    )  # fmt: skip


def _vehicles(before: ConversationState, reply: EngineReply) -> str:
    """Ids of the cars the reply lists (the rules engine's `shown` fact, when this reply set it) or books."""
    shown = reply.state.facts.get("shown", "")
    ids = shown.split(",") if shown and shown != before.facts.get("shown", "") else []
    ids += [
        str(action.vehicle_id)
        for action in reply.actions
        if isinstance(action, BookTestDrive)
        and action.vehicle_id is not None
        and str(action.vehicle_id) not in ids
    ]
    return ",".join(ids)


def reply_key(batch_id: str) -> str:
    """The outbound ledger's key for a burst's reply: one reply per burst, whatever the retries."""
    return f"reply:{batch_id}"


def _show_typing(client: WhatsAppClient, last: InboundMessage) -> None:
    """Blue ticks and "typing…" are a courtesy: a failure is logged, never a reason not to answer."""
    try:
        client.mark_read_with_typing(last.wamid)
    except AccessTokenInvalid:
        raise  # the reply cannot go either; Retries brings the burst back later
    except WhatsAppSendError as error:
        logger.warning("could not mark %s read: %s", last.wamid, error)


def _send_reply(
    services: BurstServices,
    client: WhatsAppClient,
    recipient: str,
    batch_id: str,
    reply: EngineReply,
) -> SendResult | None:
    if not reply.text:
        return None
    key = reply_key(batch_id)
    body: dict[str, Any] = {"text": reply.text, "buttons": reply.buttons}
    if reply.buttons:
        kind = "buttons"

        def send() -> str:
            return client.send_buttons(recipient, reply.text, reply.buttons)
    else:
        kind = "text"

        def send() -> str:
            return client.send_text(recipient, reply.text)

    result = send_once(
        services.connection,
        client,
        key,
        recipient,
        kind,
        _paced(services, client, recipient, send),
        body=body,
        after_outage=services.after_outage,
    )
    if result.outside_service_window:
        return _send_template(services, client, recipient, batch_id) or result
    return result


def _send_template(
    services: BurstServices, client: WhatsAppClient, recipient: str, batch_id: str
) -> SendResult | None:
    """Error 131047: more than 24 h since the customer wrote, so only a template can reach them."""
    if not services.template_name:
        logger.warning(
            "customer=%s is outside the 24 h window and WHATSAPP_TEMPLATE_NAME is unset",
            customer_tag(recipient),
        )
        return None

    def send() -> str:
        return client.send_template(recipient, services.template_name, services.template_language)

    return send_once(
        services.connection, client, f"{reply_key(batch_id)}:template", recipient, "template",
        _paced(services, client, recipient, send), body={"template": services.template_name},
        after_outage=services.after_outage,
    )  # fmt: skip


def _paced(
    services: BurstServices, client: WhatsAppClient, recipient: str, send: Callable[[], str]
) -> Callable[[], str]:
    return paced(services.pacer, services.redis, client.phone_number_id, recipient, send)


def _turn_record(
    services: BurstServices,
    conversation: Conversation,
    batch_id: str,
    fresh: list[InboundMessage],
    reply: EngineReply,
    sent: SendResult | None,
) -> dict[str, Any]:
    return {
        "batch_id": batch_id,
        "phone_number_id": conversation.phone_number_id,
        "wa_id": conversation.wa_id,
        "inbound_wamids": [m.wamid for m in fresh],
        "inbound_text": "\n".join(m.text or f"[{m.kind}]" for m in fresh),
        "reply_text": reply.text,
        "reply_status": sent.status if sent else "none",
        "engine": services.engine_name,
        "actions": msgspec.to_builtins(reply.actions),
        "first_inbound_at": fresh[0].sent_at.isoformat(),
        "replied_at": datetime.now(UTC).isoformat(),
        # For analytics (zapq/analytics): what was asked, in which kinds of message, and which
        # cars the reply listed (the engine's "shown" fact, when this reply changed it).
        "intent": reply.intent,
        "inbound_kinds": [m.kind for m in fresh],
        "vehicle_ids": _vehicles_shown(conversation.state().facts, reply.state.facts),
    }


def _vehicles_shown(before: dict[str, str], after: dict[str, str]) -> list[int]:
    shown = after.get("shown", "")
    if shown == before.get("shown", ""):
        return []
    return [int(part) for part in shown.split(",") if part.isdigit()]


def _repeat_handoffs(services: BurstServices, conversation: Conversation, batch_id: str) -> None:
    """The burst was answered and saved before its worker died: pass on what followed, again."""
    if conversation.last_turn:
        services.on_turn(conversation.last_turn)
    handoff = find_handoff(services.connection, batch_id)
    if handoff is not None and handoff.notified_at is None:
        services.on_handoff(batch_id)


def _finish(services: BurstServices, outcome: str, reply: SendResult | None = None) -> BurstOutcome:
    _count(f"bursts_{outcome}")
    return BurstOutcome(outcome, reply)


def _count(event: str, amount: int = 1) -> None:
    metrics.conversation_events().labels(event).inc(amount)
