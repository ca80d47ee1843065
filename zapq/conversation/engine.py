"""The one interface between a conversation and whatever writes the replies.

A caller (an actor holding a debounced burst of WhatsApp messages) passes the
conversation's state and the new messages, as the webhook parser made them
(`zapq.whatsapp.events.InboundMessage`); the engine answers with one reply, the
actions the caller must carry out, and the state to store for next time. Every type
here is a msgspec Struct, so the state can be stored as JSON and read back.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal, Protocol

import msgspec

from zapq.whatsapp.events import InboundMessage

HISTORY_LIMIT = 20
MAX_BUTTONS = 3
MAX_BUTTON_TITLE_CHARS = 20


class Turn(msgspec.Struct, frozen=True):
    role: Literal["customer", "assistant"]
    text: str
    at: dt.datetime


class TestDriveDraft(msgspec.Struct):
    """A test drive being booked, one slot per answer.

    `any_vehicle` means the customer will choose the car at the store; `awaiting` is the
    slot asked for last, so a bare answer ("sábado", "tanto faz") fills the right one.
    """

    __test__ = False  # not a pytest test class, despite the name

    vehicle_id: int | None = None
    any_vehicle: bool = False
    day: dt.date | None = None
    time: dt.time | None = None
    awaiting: Literal["vehicle", "day", "time"] | None = None


class BookingChangeDraft(msgspec.Struct):
    """A booked test drive being moved or cancelled, across turns.

    `test_drive_id` is None until the customer said which booking (they have several);
    `day`/`time` are the new slot of a reschedule, filled one answer at a time.
    """

    action: Literal["reschedule", "cancel"]
    test_drive_id: int | None = None
    day: dt.date | None = None
    time: dt.time | None = None
    awaiting: Literal["booking", "slot"] | None = None


class TradeInDraft(msgspec.Struct):
    """The customer's own car offered in part-exchange, one slot per answer, for a person to value."""

    make: str | None = None
    model: str | None = None
    year: int | None = None
    km: int | None = None
    awaiting: Literal["car", "year", "km"] | None = None


class ConversationState(msgspec.Struct):
    """What the engine knows about one customer between bursts.

    `facts` holds small strings the engine wants back next time (the last model asked
    about, the cars of interest); its keys belong to the engine that wrote them.
    `opted_out` is set by the caller from the conversation's row before each burst, so the
    engine knows that a customer writing again is coming back (see `OptIn`).
    """

    wa_id: str
    profile_name: str | None = None
    history: list[Turn] = []
    pending_test_drive: TestDriveDraft | None = None
    facts: dict[str, str] = {}
    opted_out: bool = False
    booking_change: BookingChangeDraft | None = None
    trade_in: TradeInDraft | None = None


class Handoff(msgspec.Struct, frozen=True, tag="handoff"):
    """Hand the conversation to a person; `summary` is what they should read first."""

    reason: str
    summary: str


class OptOut(msgspec.Struct, frozen=True, tag="opt_out"):
    """The customer asked for no more messages."""


class OptIn(msgspec.Struct, frozen=True, tag="opt_in"):
    """A customer who had opted out wrote to us again: they receive messages again."""


class BookTestDrive(msgspec.Struct, frozen=True, tag="book_test_drive"):
    """A test drive the engine has booked (already stored); for calendars and CRMs to pick up."""

    vehicle_id: int | None
    starts_at: dt.datetime


class RescheduleTestDrive(msgspec.Struct, frozen=True, tag="reschedule_test_drive"):
    """A test drive the engine has moved (already stored) from `previous_starts_at` to `starts_at`."""

    test_drive_id: int
    vehicle_id: int | None
    starts_at: dt.datetime
    previous_starts_at: dt.datetime


class CancelTestDrive(msgspec.Struct, frozen=True, tag="cancel_test_drive"):
    """A test drive the engine has cancelled (already stored); `starts_at` is the slot it freed."""

    test_drive_id: int
    vehicle_id: int | None
    starts_at: dt.datetime


Action = Handoff | OptOut | OptIn | BookTestDrive | RescheduleTestDrive | CancelTestDrive


class EngineReply(msgspec.Struct, kw_only=True):
    """The answer to one burst. Empty `text` means send nothing (a batch of reactions only).

    `buttons` are (id, title) pairs for WhatsApp reply buttons: at most 3, titles at most 20 chars.
    `intent` names what the burst asked for (greeting, search, price, test-drive, handoff, opt-out,
    fallback...), for logs and analytics; "" when the engine does not say.
    """

    text: str
    actions: list[Action] = []
    state: ConversationState
    buttons: list[tuple[str, str]] = []
    intent: str = ""

    def __post_init__(self) -> None:
        if len(self.buttons) > MAX_BUTTONS:
            raise ValueError(f"WhatsApp allows at most {MAX_BUTTONS} reply buttons, got {len(self.buttons)}")
        for _, title in self.buttons:
            if len(title) > MAX_BUTTON_TITLE_CHARS:
                raise ValueError(f"button title longer than {MAX_BUTTON_TITLE_CHARS} chars: {title!r}")


class ConversationEngine(Protocol):
    def reply(self, state: ConversationState, batch: list[InboundMessage]) -> EngineReply: ...


def with_turns(
    state: ConversationState, batch: list[InboundMessage], reply_text: str, **changes: object
) -> ConversationState:
    """A copy of `state` with the batch and the reply appended to a bounded history, plus `changes`."""
    turns = list(state.history)
    turns.extend(
        Turn("customer", message.text or f"[{message.kind}]", message.sent_at)
        for message in batch
        if message.kind != "reaction"
    )
    if reply_text:
        answered_at = batch[-1].sent_at if batch else dt.datetime.now(dt.UTC)
        turns.append(Turn("assistant", reply_text, answered_at))
    fields: dict[str, object] = {"history": turns[-HISTORY_LIMIT:], "facts": dict(state.facts)}
    fields.update(changes)
    return msgspec.structs.replace(state, **fields)
