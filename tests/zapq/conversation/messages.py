"""Bursts of customer messages as the engine receives them, on a fixed clock."""

from __future__ import annotations

import datetime as dt

import msgspec

from zapq.conversation.engine import ConversationState, IncomingText

# A Wednesday, 10:00 in São Paulo (UTC-3).
WEDNESDAY_10AM = dt.datetime(2025, 11, 19, 13, 0, tzinfo=dt.UTC)
WA_ID = "5511987654321"


def burst(*texts: str, at: dt.datetime = WEDNESDAY_10AM, kind: str = "text") -> list[IncomingText]:
    """Messages one second apart, the last one sent at `at`."""
    count = len(texts)
    return [
        IncomingText(
            wamid=f"wamid.{at.timestamp():.0f}.{index}",
            kind=kind,
            text=text,
            sent_at=at - dt.timedelta(seconds=count - 1 - index),
        )
        for index, text in enumerate(texts)
    ]


def media(kind: str, caption: str | None = None, at: dt.datetime = WEDNESDAY_10AM) -> IncomingText:
    return IncomingText(wamid=f"wamid.{kind}.{at.timestamp():.0f}", kind=kind, text=caption, sent_at=at)


def new_customer(profile_name: str | None = "Maria Silva") -> ConversationState:
    return ConversationState(wa_id=WA_ID, profile_name=profile_name)


def stored(state: ConversationState) -> ConversationState:
    """The state after a round trip through JSON, as the caller keeps it between bursts."""
    return msgspec.json.decode(msgspec.json.encode(state), type=ConversationState)
