"""Bursts of customer messages as the engine receives them, on a fixed clock."""

from __future__ import annotations

import datetime as dt

import msgspec

from zapq.conversation.engine import ConversationState
from zapq.whatsapp.events import InboundMessage, MessageKind

# A Wednesday, 10:00 in São Paulo (UTC-3).
WEDNESDAY_10AM = dt.datetime(2025, 11, 19, 13, 0, tzinfo=dt.UTC)
WA_ID = "5511987654321"
BUSINESS_NUMBER = "106540352242922"


def message(
    wamid: str, kind: MessageKind, text: str | None, at: dt.datetime, reply_id: str | None = None
) -> InboundMessage:
    return InboundMessage(
        phone_number_id=BUSINESS_NUMBER, wa_id=WA_ID, wamid=wamid, sent_at=at, kind=kind, text=text,
        reply_id=reply_id,
    )  # fmt: skip


def burst(*texts: str, at: dt.datetime = WEDNESDAY_10AM, kind: MessageKind = "text") -> list[InboundMessage]:
    """Messages one second apart, the last one sent at `at`."""
    count = len(texts)
    return [
        message(f"wamid.{at.timestamp():.0f}.{i}", kind, text, at - dt.timedelta(seconds=count - 1 - i))
        for i, text in enumerate(texts)
    ]


def media(kind: MessageKind, caption: str | None = None, at: dt.datetime = WEDNESDAY_10AM) -> InboundMessage:
    return message(f"wamid.{kind}.{at.timestamp():.0f}", kind, caption, at)


def tap(reply_id: str, title: str, at: dt.datetime = WEDNESDAY_10AM) -> list[InboundMessage]:
    """A burst of one tap on a reply button or list row, as the parser reads Meta's `interactive` message."""
    return [message(f"wamid.tap.{at.timestamp():.0f}", "interactive", title, at, reply_id=reply_id)]


def new_customer(profile_name: str | None = "Maria Silva") -> ConversationState:
    return ConversationState(wa_id=WA_ID, profile_name=profile_name)


def stored(state: ConversationState) -> ConversationState:
    """The state after a round trip through JSON, as the caller keeps it between bursts."""
    return msgspec.json.decode(msgspec.json.encode(state), type=ConversationState)
