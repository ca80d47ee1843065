"""Flatten a WhatsApp webhook body into the events zapq acts on.

One POST may carry several entries (business accounts), each with several changes (business
phone numbers), each with messages from several users and statuses of several of our messages.
`parse_notification` walks all of them and returns one flat list of each.

`InboundMessage` and `StatusUpdate` travel as Dramatiq actor arguments: send `event.to_dict()`
(plain JSON types, datetimes as RFC 3339 strings) and rebuild with `InboundMessage.from_dict(...)`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Self, TypeVar

import msgspec

from zapq.struct_types import prepare
from zapq.whatsapp.payloads import (
    WHATSAPP_OBJECT,
    ChangeValue,
    Contact,
    Message,
    Metadata,
    Status,
    UnsupportedBody,
    WebhookError,
    notification_decoder,
)

UNSUPPORTED = "unsupported"

# Only the `messages` field carries user messages and statuses; other subscriptions
# (template reviews, account updates, ...) are not ours to interpret and are ignored.
MESSAGES_FIELD = "messages"

StructT = TypeVar("StructT", bound=msgspec.Struct)
BodyFields = dict[str, Any]


class InvalidPayload(Exception):
    """The body is not a WhatsApp webhook notification at all: invalid JSON, wrong `object`, no `entry`."""


class Event(msgspec.Struct, frozen=True):
    """Base of the flat events: converts to and from the plain dict an actor argument must be."""

    def to_dict(self) -> dict[str, Any]:
        return msgspec.to_builtins(self)

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> Self:
        return msgspec.convert(value, cls)


class AdReferral(Event, frozen=True):
    """The Click to WhatsApp ad or post the user came from."""

    source_url: str | None = None
    source_id: str | None = None
    source_type: str | None = None
    headline: str | None = None
    body: str | None = None
    media_type: str | None = None
    ctwa_clid: str | None = None


class SharedContact(Event, frozen=True):
    """A contact card the user shared (someone else's name and phone numbers)."""

    name: str | None = None
    phones: tuple[str, ...] = ()


class InboundMessage(Event, frozen=True):
    """A message a WhatsApp user (`wa_id`) sent to our business number (`phone_number_id`).

    `kind` is Meta's message type (text, image, audio, video, document, sticker, location,
    contacts, interactive, button, reaction) or `unsupported` for anything else. `text` is what a
    conversation engine should read: the text body, a media caption, the title of the tapped
    button or list row, the reaction emoji, the shared contacts; None when there is nothing.
    For a reaction, `context_wamid` is the message reacted to, and `text` None means the user
    removed their reaction.
    """

    phone_number_id: str
    wa_id: str
    wamid: str
    sent_at: datetime
    kind: str
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


class StatusUpdate(Event, frozen=True):
    """A status change (sent, delivered, read, failed, played, or any newer one) of a message we sent."""

    phone_number_id: str
    wamid: str
    status: str
    at: datetime
    recipient_id: str | None = None
    error_code: int | None = None
    error_title: str | None = None
    error_details: str | None = None


class PlatformError(Event, frozen=True):
    """An error Meta reports about the business number or app rather than about one message."""

    phone_number_id: str | None
    code: int | None = None
    title: str | None = None
    details: str | None = None


class Notification(msgspec.Struct):
    """Everything one webhook body said. `skipped` has one line per piece that could not be used."""

    messages: list[InboundMessage] = []
    statuses: list[StatusUpdate] = []
    errors: list[PlatformError] = []
    skipped: list[str] = []


# Converted back from actor arguments in worker threads: see zapq/struct_types.py.
prepare(InboundMessage, StatusUpdate)


def parse_notification(raw_body: bytes) -> Notification:
    """Decode and flatten a webhook body.

    Raises InvalidPayload when the body is not JSON or not a WhatsApp notification. A malformed
    message, status or change inside a valid notification is left out and named in `skipped`;
    a message whose identifiers are fine but whose body is not is kept, as `unsupported`.
    """
    try:
        envelope = notification_decoder.decode(raw_body)
    except msgspec.ValidationError:
        # Something has an unexpected type; decode again piece by piece so that only the piece
        # that is wrong is lost, and `skipped` says which.
        return _parse_piece_by_piece(raw_body)
    except msgspec.DecodeError as error:
        raise InvalidPayload(f"body is not valid JSON: {error}") from None
    _require_whatsapp_object(envelope.object)
    notification = Notification()
    for entry_index, entry in enumerate(envelope.entry):
        for change_index, change in enumerate(entry.changes):
            if change.field == MESSAGES_FIELD:
                where = f"entry[{entry_index}].changes[{change_index}]"
                _collect_change(notification, where, change.value)
    return notification


def _require_whatsapp_object(value: object) -> None:
    if value is None:
        raise InvalidPayload("`object` is missing: not a WhatsApp webhook notification")
    if value != WHATSAPP_OBJECT:
        raise InvalidPayload(f"`object` is {value!r}, expected {WHATSAPP_OBJECT!r}")


def _parse_piece_by_piece(raw_body: bytes) -> Notification:
    try:
        document = msgspec.json.decode(raw_body)
    except msgspec.DecodeError as error:
        raise InvalidPayload(f"body is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise InvalidPayload(f"body is a JSON {type(document).__name__}, expected an object")
    _require_whatsapp_object(document.get("object"))
    entries = document.get("entry")
    if not isinstance(entries, list):
        raise InvalidPayload("`entry` is missing or not a list")

    notification = Notification()
    for entry_index, entry in enumerate(entries):
        changes = entry.get("changes") if isinstance(entry, dict) else None
        if not isinstance(changes, list):
            notification.skipped.append(f"entry[{entry_index}]: `changes` is missing or not a list")
            continue
        for change_index, change in enumerate(changes):
            where = f"entry[{entry_index}].changes[{change_index}]"
            if not isinstance(change, dict):
                notification.skipped.append(f"{where}: not an object")
            elif change.get("field") == MESSAGES_FIELD:
                value = _change_value_piece_by_piece(change.get("value"), where, notification.skipped)
                _collect_change(notification, where, value)
    return notification


def _change_value_piece_by_piece(value: object, where: str, skipped: list[str]) -> ChangeValue | None:
    if not isinstance(value, dict):
        return None
    metadata = None
    try:
        metadata = msgspec.convert(value.get("metadata"), Metadata | None)
    except msgspec.ValidationError as error:
        skipped.append(f"{where}.value.metadata: {error}")
    return ChangeValue(
        metadata=metadata,
        contacts=_convert_each(value.get("contacts"), Contact, f"{where}.value.contacts", skipped),
        messages=_convert_messages(value.get("messages"), f"{where}.value.messages", skipped),
        statuses=_convert_each(value.get("statuses"), Status, f"{where}.value.statuses", skipped),
        errors=_convert_each(value.get("errors"), WebhookError, f"{where}.value.errors", skipped),
    )


def _convert_each(items: object, item_type: type[StructT], where: str, skipped: list[str]) -> list[StructT]:
    if items is None:
        return []
    if not isinstance(items, list):
        skipped.append(f"{where}: expected a list, got {type(items).__name__}")
        return []
    converted = []
    for index, item in enumerate(items):
        try:
            converted.append(msgspec.convert(item, item_type))
        except msgspec.ValidationError as error:
            skipped.append(f"{where}[{index}]: {error}")
    return converted


class _MessageIdentity(msgspec.Struct):
    from_: str = msgspec.field(name="from")
    id: str
    timestamp: str | int
    type: object = None


def _convert_messages(items: object, where: str, skipped: list[str]) -> list[Message]:
    """Like `_convert_each`, but a message whose body is malformed is kept as `unsupported`.

    The user did write to us, and an unsupported message still lets the conversation answer.
    """
    if not isinstance(items, list):
        return _convert_each(items, Message, where, skipped)
    messages = []
    for index, item in enumerate(items):
        try:
            messages.append(msgspec.convert(item, Message))
            continue
        except msgspec.ValidationError as error:
            body_error = error
        try:
            identity = msgspec.convert(item, _MessageIdentity)
        except msgspec.ValidationError as error:
            skipped.append(f"{where}[{index}]: {error}")
            continue
        skipped.append(
            f"{where}[{index}] ({identity.id}): {body_error}; kept as unsupported, without its body"
        )
        messages.append(
            Message(
                from_=identity.from_,
                id=identity.id,
                timestamp=identity.timestamp,
                type=UNSUPPORTED,
                unsupported=UnsupportedBody(type=identity.type if isinstance(identity.type, str) else None),
            )
        )
    return messages


def _collect_change(notification: Notification, where: str, value: ChangeValue | None) -> None:
    if value is None:
        notification.skipped.append(f"{where}: `value` is missing or not an object")
        return
    phone_number_id = value.metadata.phone_number_id if value.metadata else None
    notification.errors.extend(
        PlatformError(
            phone_number_id, code=error.code, title=error.title or error.message, details=error.details
        )
        for error in value.errors
    )
    if not phone_number_id:
        if value.messages or value.statuses:
            notification.skipped.append(
                f"{where}: no metadata.phone_number_id, so {len(value.messages)} message(s) and"
                f" {len(value.statuses)} status(es) cannot be attributed to a business number"
            )
        return

    profile_names = {
        contact.wa_id: contact.profile.name for contact in value.contacts if contact.wa_id and contact.profile
    }
    # Named by wamid, not position: the piece-by-piece path has already dropped malformed items.
    for message in value.messages:
        try:
            notification.messages.append(_inbound_message(phone_number_id, message, profile_names))
        except ValueError as error:
            notification.skipped.append(f"{where}.value.messages ({message.id or 'empty id'}): {error}")
    for status in value.statuses:
        try:
            notification.statuses.append(_status_update(phone_number_id, status))
        except ValueError as error:
            notification.skipped.append(f"{where}.value.statuses ({status.id or 'empty id'}): {error}")


def _utc_from_unix_seconds(timestamp: str | int) -> datetime:
    try:
        return datetime.fromtimestamp(int(timestamp), tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise ValueError(f"timestamp {timestamp!r} is not unix seconds") from None


def _status_update(phone_number_id: str, status: Status) -> StatusUpdate:
    if not status.id:
        raise ValueError("status has an empty `id`")
    first_error = status.errors[0] if status.errors else None
    return StatusUpdate(
        phone_number_id=phone_number_id,
        wamid=status.id,
        status=status.status,
        at=_utc_from_unix_seconds(status.timestamp),
        recipient_id=status.recipient_id,
        error_code=first_error.code if first_error else None,
        error_title=(first_error.title or first_error.message) if first_error else None,
        error_details=first_error.details if first_error else None,
    )


def _inbound_message(
    phone_number_id: str, message: Message, profile_names: dict[str, str | None]
) -> InboundMessage:
    if not message.id:
        raise ValueError("message has an empty `id`")
    if not message.from_:
        raise ValueError("message has an empty `from`")
    sent_at = _utc_from_unix_seconds(message.timestamp)

    read_body = _BODY_READERS.get(message.type)
    body_fields = read_body(message) if read_body else None
    if body_fields is None:
        kind = UNSUPPORTED
        body_fields = {"unsupported_type": _unsupported_type(message)}
    else:
        kind = message.type

    context = message.context
    referral = message.referral
    fields: dict[str, Any] = {
        "context_wamid": context.id if context else None,
        "forwarded": bool(context and (context.forwarded or context.frequently_forwarded)),
        "referral": AdReferral(
            source_url=referral.source_url,
            source_id=referral.source_id,
            source_type=referral.source_type,
            headline=referral.headline,
            body=referral.body,
            media_type=referral.media_type,
            ctwa_clid=referral.ctwa_clid,
        )
        if referral
        else None,
    }
    fields.update(body_fields)
    return InboundMessage(
        phone_number_id=phone_number_id,
        wa_id=message.from_,
        wamid=message.id,
        sent_at=sent_at,
        kind=kind,
        profile_name=profile_names.get(message.from_),
        **fields,
    )


def _unsupported_type(message: Message) -> str | None:
    if message.unsupported and message.unsupported.type:
        return message.unsupported.type
    if message.type == "interactive" and message.interactive:
        return f"interactive.{message.interactive.type}"
    if message.type and message.type != UNSUPPORTED:
        return message.type
    return None


def _read_text(message: Message) -> BodyFields | None:
    return {"text": message.text.body or None} if message.text else None


def _media_reader(kind: str) -> Callable[[Message], BodyFields | None]:
    def read_media(message: Message) -> BodyFields | None:
        media = getattr(message, kind)
        if media is None:
            return None
        return {
            "text": media.caption or None,
            "media_id": media.id,
            "media_mime_type": media.mime_type,
            "media_filename": media.filename,
            "voice": media.voice,
        }

    return read_media


def _read_location(message: Message) -> BodyFields | None:
    location = message.location
    if location is None:
        return None
    return {
        "latitude": location.latitude,
        "longitude": location.longitude,
        "location_name": location.name,
        "location_address": location.address,
    }


def _read_contacts(message: Message) -> BodyFields | None:
    if not message.contacts:
        return None
    shared = tuple(
        SharedContact(
            name=card.name.formatted_name if card.name else None,
            phones=tuple(number for phone in card.phones if (number := phone.phone or phone.wa_id)),
        )
        for card in message.contacts
    )
    lines = [
        ": ".join(part for part in (contact.name, ", ".join(contact.phones)) if part) for contact in shared
    ]
    return {"shared_contacts": shared, "text": "\n".join(line for line in lines if line) or None}


def _read_interactive(message: Message) -> BodyFields | None:
    interactive = message.interactive
    reply = (interactive.button_reply or interactive.list_reply) if interactive else None
    if reply is None:
        return None
    return {"text": reply.title or None, "reply_id": reply.id}


def _read_template_button(message: Message) -> BodyFields | None:
    button = message.button
    if button is None:
        return None
    return {"text": button.text or None, "reply_id": button.payload}


def _read_reaction(message: Message) -> BodyFields | None:
    reaction = message.reaction
    if reaction is None:
        return None
    return {"text": reaction.emoji or None, "context_wamid": reaction.message_id}


_BODY_READERS: dict[str, Callable[[Message], BodyFields | None]] = {
    "text": _read_text,
    "image": _media_reader("image"),
    "audio": _media_reader("audio"),
    "video": _media_reader("video"),
    "document": _media_reader("document"),
    "sticker": _media_reader("sticker"),
    "location": _read_location,
    "contacts": _read_contacts,
    "interactive": _read_interactive,
    "button": _read_template_button,
    "reaction": _read_reaction,
}
