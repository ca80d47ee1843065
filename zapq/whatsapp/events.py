"""What a WhatsApp webhook tells zapq, as the web, the actors and the conversation engines all read it.

`zapq.whatsapp.inbound` makes these events from a webhook body; the web enqueues them; the conversation
actor stores them and hands them to an engine. This module imports nothing of zapq's, so every layer
shares this one vocabulary instead of retyping it.

Dramatiq carries actor arguments as JSON, so an event travels as `to_wire(event)`: plain JSON types,
datetimes as RFC 3339 strings. `from_wire(InboundMessage, item)` reads one back. The shape is the one
earlier releases sent (`event.to_dict()`), so a burst queued before an upgrade is still answered.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeGuard, TypeVar, cast, get_args

import msgspec

MessageKind = Literal[
    "text",
    "image",
    "audio",
    "video",
    "document",
    "sticker",
    "location",
    "contacts",
    "interactive",
    "button",
    "reaction",
    "unsupported",
]
"""Meta's message `type`, or `unsupported` for a type zapq does not read or a body it could not read.

`interactive` is a tap on a reply button or a list row of a message we sent (Meta's
`interactive.button_reply` and `interactive.list_reply`); `button` is a tap on a template's quick-reply
button. Both carry the tapped id in `reply_id` and its title in `text`.
"""

MESSAGE_KINDS: frozenset[MessageKind] = frozenset(get_args(MessageKind))


def is_message_kind(value: str) -> TypeGuard[MessageKind]:
    return value in MESSAGE_KINDS


class AdReferral(msgspec.Struct, frozen=True):
    """The Click to WhatsApp ad or post the user came from."""

    source_url: str | None = None
    source_id: str | None = None
    source_type: str | None = None
    headline: str | None = None
    body: str | None = None
    media_type: str | None = None
    ctwa_clid: str | None = None


class SharedContact(msgspec.Struct, frozen=True):
    """A contact card the user shared (someone else's name and phone numbers)."""

    name: str | None = None
    phones: tuple[str, ...] = ()


class InboundMessage(msgspec.Struct, frozen=True):
    """A message a WhatsApp user (`wa_id`) sent to our business number (`phone_number_id`).

    `text` is what a conversation engine should read: the text body, a media caption, the title of
    the tapped button or list row, the reaction emoji, the shared contacts; None when there is
    nothing. `reply_id` is the id of what was tapped. For a reaction, `context_wamid` is the
    message reacted to, and `text` None means the user removed their reaction.
    """

    phone_number_id: str
    wa_id: str
    wamid: str
    sent_at: datetime
    kind: MessageKind
    profile_name: str | None = None
    text: str | None = None
    reply_id: str | None = None
    media_id: str | None = None
    media_mime_type: str | None = None
    media_filename: str | None = None
    voice: bool = False
    latitude: float | None = None
    longitude: float | None = None
    location_name: str | None = None
    location_address: str | None = None
    shared_contacts: tuple[SharedContact, ...] = ()
    context_wamid: str | None = None
    forwarded: bool = False
    referral: AdReferral | None = None
    unsupported_type: str | None = None

    @property
    def removes_reaction(self) -> bool:
        return self.kind == "reaction" and self.text is None


class StatusUpdate(msgspec.Struct, frozen=True):
    """A status change (sent, delivered, read, failed, played, or any newer one) of a message we sent."""

    phone_number_id: str
    wamid: str
    status: str
    at: datetime
    recipient_id: str | None = None
    error_code: int | None = None
    error_title: str | None = None
    error_details: str | None = None


class PlatformError(msgspec.Struct, frozen=True):
    """An error Meta reports about the business number or app rather than about one message."""

    phone_number_id: str | None
    code: int | None = None
    title: str | None = None
    details: str | None = None


EventT = TypeVar("EventT", InboundMessage, StatusUpdate)


class Wire(dict[str, Any], Generic[EventT]):
    """An event as an actor argument, made by `to_wire` only. At run time it is a plain dict."""


def to_wire(event: EventT) -> Wire[EventT]:
    return cast("Wire[EventT]", msgspec.to_builtins(event))


def from_wire(event_type: type[EventT], item: Wire[EventT]) -> EventT:
    """The event `item` carries; msgspec.ValidationError when it carries none (a poison item)."""
    return msgspec.convert(item, event_type)


# Worker threads convert these concurrently; msgspec must build its type information while the
# importing process has one thread (zapq/struct_types.py says why).
for _event_type in (InboundMessage, StatusUpdate):
    msgspec.json.Decoder(_event_type)
