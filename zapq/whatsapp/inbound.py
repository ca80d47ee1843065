"""Flatten a WhatsApp webhook body into the events zapq acts on, with every id and text made safe.

One POST may carry several entries (business accounts), each with several changes (business
phone numbers), each with messages from several users and statuses of several of our messages.
`parse_notification` walks all of them and returns one flat list of each.

Every value is checked here, at the edge, so that one strange value costs its own piece only
(named in `skipped`) and never fails a customer's whole burst in the worker (`sanitize.py` says why):

| field | rule | when it fails |
|---|---|---|
| `metadata.phone_number_id` | digits, 1 to 32 | the whole change is left out: it cannot be attributed |
| message `from` (`wa_id`) | digits, 1 to 32 | the message is left out |
| message and status `id` (wamid) | `[A-Za-z0-9_.=:+/-]`, 1 to 256 | the message or status is left out |
| status `status` | `[A-Za-z0-9_.-]`, 1 to 64 | the status is left out |
| `timestamp` | unix seconds from 2009-01-01 to a day from now | the message or status is left out |
| `recipient_id`, `ctwa_clid` | `[A-Za-z0-9_.=:+/-]`, 1 to 128 / 1024 | None, named in `skipped` |
| `context_wamid` (context `id`, reaction `message_id`) | as a wamid | None, named in `skipped` |
| `media_id`, referral `source_id` | `[A-Za-z0-9_.-]`, 1 to 128 | None, named in `skipped` |
| `reply_id` (button or row id, template payload) | no C0 control, DEL, surrogate; 1 to 1024 | as above |
| error `code` | fits a PostgreSQL integer | None; the raw value leads the title: `[code 1099511627776] ...` |
| latitude, longitude | finite, within ±90 / ±180 | None |
| free text | cut to its length; C0 controls but tab, CR, LF, and lone surrogates become U+FFFD | never |

Free text lengths: message `text` (body, caption, tapped title, reaction, shared contacts), referral
body and error details 4096 (what WhatsApp lets a user type); profile name and shared contact names
256; location name and address, media filename, referral headline and error title 1024; referral
`source_url` 2048; mime type, referral source and media type, unsupported type and contact phones 128.
A contacts message keeps its first 20 cards and 10 phones per card.

`Notification` keeps the first 20 platform errors and the first 20 `skipped` lines; it counts the
rest (`errors_dropped`, `skipped_dropped`), and its last lines say how many were not kept.

The body is decoded once into plain values and walked once: each entry, change, message, status and
error is converted to its `payloads` Struct on its own, then read into the events of
`zapq.whatsapp.events`, each message type by its body reader (at the end of this module).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final, TypedDict, TypeVar

import msgspec

from zapq.whatsapp.events import (
    AdReferral,
    InboundMessage,
    MessageKind,
    PlatformError,
    SharedContact,
    StatusUpdate,
    is_message_kind,
)
from zapq.whatsapp.payloads import (
    WHATSAPP_OBJECT,
    ChangeValue,
    Contact,
    Message,
    Metadata,
    Status,
    UnsupportedBody,
    WebhookError,
)
from zapq.whatsapp.sanitize import IdRule, clean_text, pg_integer, replace_lone_surrogates, shown

UNSUPPORTED: Final = "unsupported"

# Only the `messages` field carries user messages and statuses; other subscriptions
# (template reviews, account updates, ...) are not ours to interpret and are ignored.
MESSAGES_FIELD = "messages"

PHONE_NUMBER_ID = IdRule("phone_number_id", "[0-9]", 32)
WA_ID = IdRule("wa_id (`from`)", "[0-9]", 32)
WAMID = IdRule("wamid (`id`)", "[A-Za-z0-9_.=:+/-]", 256)
STATUS_VALUE = IdRule("`status`", "[A-Za-z0-9_.-]", 64)
RECIPIENT_ID = IdRule("recipient_id", "[A-Za-z0-9_.=:+/-]", 128)
CONTEXT_WAMID = IdRule("context_wamid", WAMID.charset, WAMID.max_chars)
MEDIA_ID = IdRule("media_id", "[A-Za-z0-9_.-]", 128)
REPLY_ID = IdRule("reply_id", r"[^\x00-\x1f\x7f\ud800-\udfff]", 1024)
REFERRAL_SOURCE_ID = IdRule("referral source_id", "[A-Za-z0-9_.-]", 128)
CTWA_CLID = IdRule("referral ctwa_clid", "[A-Za-z0-9_.=:+/-]", 1024)

TEXT_CHARS = 4096
NAME_CHARS = 256
LABEL_CHARS = 1024
URL_CHARS = 2048
TOKEN_CHARS = 128
MAX_SHARED_CONTACTS = 20
MAX_PHONES_PER_CONTACT = 10

MAX_KEPT_ERRORS = 20
MAX_KEPT_SKIPPED = 20
MAX_SKIPPED_LINE_CHARS = 500

EARLIEST_TIMESTAMP = datetime(2009, 1, 1, tzinfo=UTC)  # WhatsApp's founding: nothing is older
FUTURE_LEEWAY = timedelta(days=1)
_UNIX_SECONDS = re.compile("[0-9]{1,12}")
_MAX_JSON_INT_DIGITS = 40

StructT = TypeVar("StructT", bound=msgspec.Struct)


class InvalidPayload(Exception):
    """The body is not a WhatsApp webhook notification at all: invalid JSON, wrong `object`, no `entry`."""


class Notification(msgspec.Struct):
    """Everything one webhook body said. `skipped` has one line per piece that could not be used.

    `errors` and `skipped` are bounded (one body could carry 100,000 of either): what did not fit
    is counted in `errors_dropped` and `skipped_dropped`.
    """

    messages: list[InboundMessage] = []
    statuses: list[StatusUpdate] = []
    errors: list[PlatformError] = []
    skipped: list[str] = []
    errors_dropped: int = 0
    skipped_dropped: int = 0

    def skip(self, line: str) -> None:
        if len(self.skipped) < MAX_KEPT_SKIPPED:
            self.skipped.append(line[:MAX_SKIPPED_LINE_CHARS])
        else:
            self.skipped_dropped += 1

    def report(self, error: PlatformError) -> None:
        if len(self.errors) < MAX_KEPT_ERRORS:
            self.errors.append(error)
        else:
            self.errors_dropped += 1

    def close(self) -> None:
        """Say in `skipped` what the bounds left out; the last line is always the count of lines."""
        if self.errors_dropped:
            self.skip(
                f"{self.errors_dropped} more platform error(s) not kept: only the first {MAX_KEPT_ERRORS} are"
            )
        if self.skipped_dropped:
            self.skipped.append(
                f"{self.skipped_dropped} more part(s) left out, not listed: only the first"
                f" {MAX_KEPT_SKIPPED} are"
            )


def parse_notification(raw_body: bytes) -> Notification:
    """Decode and flatten a webhook body.

    Raises InvalidPayload when the body is not JSON or not a WhatsApp notification. Anything else
    goes to `skipped`: a malformed message, status or change inside a valid notification is left
    out and named; a message whose identifiers are fine but whose body is not is kept, as
    `unsupported`; an optional id that breaks its rule is dropped and named.
    """
    try:
        notification = _walk(_decode(raw_body), datetime.now(UTC))
    except RecursionError:
        raise InvalidPayload("body is nested too deeply") from None
    notification.close()
    return notification


def _decode(raw_body: bytes) -> object:
    """The body as plain Python values, or InvalidPayload naming what msgspec found wrong.

    Each piece is converted to its Struct later, on its own, so that a value of an unexpected type
    costs that piece only and `skipped` says which. The standard library's decoder accepts lone
    surrogate escapes (`"\\udc80"`, valid JSON grammar, which msgspec refuses) and, given `parse_int`,
    integers of any length. NaN and Infinity are still refused: they are not JSON.
    """
    try:
        return msgspec.json.decode(raw_body)
    except msgspec.DecodeError as error:
        strict_error = error
    try:
        document = json.loads(
            raw_body.decode("utf-8"), parse_int=_bounded_int, parse_constant=_refuse_constant
        )
    except ValueError:  # also UnicodeDecodeError and json.JSONDecodeError
        raise InvalidPayload(f"body is not valid JSON: {strict_error}") from None
    # msgspec raises UnicodeEncodeError on a lone surrogate (in a key, or a value it must
    # convert), so they become U+FFFD here, as every text would later.
    return replace_lone_surrogates(document)


def _bounded_int(digits: str) -> int | str:
    # Longer integers stay text, which no int field accepts: that piece alone is skipped.
    return int(digits) if len(digits) <= _MAX_JSON_INT_DIGITS else digits


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _walk(document: object, now: datetime) -> Notification:
    """Every entry, every `messages` change in it, and every message, status and error in that."""
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
            notification.skip(f"entry[{entry_index}]: `changes` is missing or not a list")
            continue
        for change_index, change in enumerate(changes):
            where = f"entry[{entry_index}].changes[{change_index}]"
            if not isinstance(change, dict):
                notification.skip(f"{where}: not an object")
            elif change.get("field") == MESSAGES_FIELD:
                value = _change_value(change.get("value"), where, notification)
                _collect_change(notification, where, value, now)
    return notification


def _require_whatsapp_object(value: object) -> None:
    if value is None:
        raise InvalidPayload("`object` is missing: not a WhatsApp webhook notification")
    if value != WHATSAPP_OBJECT:
        raise InvalidPayload(f"`object` is {shown(value)}, expected {WHATSAPP_OBJECT!r}")


def _change_value(value: object, where: str, notification: Notification) -> ChangeValue | None:
    """A change's `value`, each of its items converted on its own: a malformed one is named and left out."""
    if not isinstance(value, dict):
        return None
    metadata = None
    try:
        metadata = msgspec.convert(value.get("metadata"), Metadata | None)
    except msgspec.ValidationError as error:
        notification.skip(f"{where}.value.metadata: {error}")
    return ChangeValue(
        metadata=metadata,
        contacts=_convert_each(value.get("contacts"), Contact, f"{where}.value.contacts", notification),
        messages=_convert_messages(value.get("messages"), f"{where}.value.messages", notification),
        statuses=_convert_each(value.get("statuses"), Status, f"{where}.value.statuses", notification),
        errors=_convert_each(value.get("errors"), WebhookError, f"{where}.value.errors", notification),
    )


def _convert_each(
    items: object, item_type: type[StructT], where: str, notification: Notification
) -> list[StructT]:
    if items is None:
        return []
    if not isinstance(items, list):
        notification.skip(f"{where}: expected a list, got {type(items).__name__}")
        return []
    converted = []
    for index, item in enumerate(items):
        try:
            converted.append(msgspec.convert(item, item_type))
        except msgspec.ValidationError as error:
            notification.skip(f"{where}[{index}]: {error}")
    return converted


class _MessageIdentity(msgspec.Struct):
    from_: str = msgspec.field(name="from")
    id: str
    timestamp: str | int
    type: object = None


def _convert_messages(items: object, where: str, notification: Notification) -> list[Message]:
    """Like `_convert_each`, but a message whose body is malformed is kept as `unsupported`.

    The user did write to us, and an unsupported message still lets the conversation answer.
    """
    if not isinstance(items, list):
        return _convert_each(items, Message, where, notification)
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
            notification.skip(f"{where}[{index}]: {error}")
            continue
        notification.skip(
            f"{where}[{index}] ({shown(identity.id)}): {body_error}; kept as unsupported, without its body"
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


def _collect_change(notification: Notification, where: str, value: ChangeValue | None, now: datetime) -> None:
    if value is None:
        notification.skip(f"{where}: `value` is missing or not an object")
        return
    phone_number_id = value.metadata.phone_number_id if value.metadata else None
    if phone_number_id and not PHONE_NUMBER_ID.matches(phone_number_id):
        notification.skip(
            f"{where}: left out whole, {len(value.messages)} message(s), {len(value.statuses)} status(es)"
            f" and {len(value.errors)} error(s): metadata.phone_number_id {shown(phone_number_id)}"
            f" is not {PHONE_NUMBER_ID.describe()}, so they cannot be attributed to a business number"
        )
        return
    for error in value.errors:
        code, title, details = _error_fields(error)
        notification.report(PlatformError(phone_number_id or None, code=code, title=title, details=details))
    if not phone_number_id:
        if value.messages or value.statuses:
            notification.skip(
                f"{where}: no metadata.phone_number_id, so {len(value.messages)} message(s) and"
                f" {len(value.statuses)} status(es) cannot be attributed to a business number"
            )
        return

    profile_names = {
        contact.wa_id: contact.profile.name for contact in value.contacts if contact.wa_id and contact.profile
    }
    # Named by wamid, not position: `_change_value` has already dropped malformed items.
    for message in value.messages:
        name = f"{where}.value.messages ({shown(message.id) if message.id else 'empty id'})"
        dropped: list[str] = []
        try:
            notification.messages.append(
                _inbound_message(phone_number_id, message, profile_names, now, dropped)
            )
        except ValueError as error:
            notification.skip(f"{name}: {error}")
            continue
        for reason in dropped:
            notification.skip(f"{name}: kept without its {reason}")
    for status in value.statuses:
        name = f"{where}.value.statuses ({shown(status.id) if status.id else 'empty id'})"
        dropped = []
        try:
            notification.statuses.append(_status_update(phone_number_id, status, now, dropped))
        except ValueError as error:
            notification.skip(f"{name}: {error}")
            continue
        for reason in dropped:
            notification.skip(f"{name}: kept without its {reason}")


def _optional_id(rule: IdRule, value: str | None, dropped: list[str]) -> str | None:
    """`value` when it is absent or matches `rule`; otherwise None, and the reason in `dropped`."""
    if not value or rule.matches(value):
        return value or None
    dropped.append(f"{rule.what}: {shown(value)} is not {rule.describe()}")
    return None


def _utc_from_unix_seconds(timestamp: str | int, now: datetime) -> datetime:
    if isinstance(timestamp, str):
        seconds = int(timestamp) if _UNIX_SECONDS.fullmatch(timestamp) else None
    else:
        seconds = timestamp
    if seconds is not None and EARLIEST_TIMESTAMP.timestamp() <= seconds <= (now + FUTURE_LEEWAY).timestamp():
        return datetime.fromtimestamp(seconds, tz=UTC)
    earliest = f"{EARLIEST_TIMESTAMP:%Y-%m-%d}"
    raise ValueError(f"timestamp {shown(timestamp)} is not unix seconds from {earliest} to a day from now")


def _error_fields(error: WebhookError | None) -> tuple[int | None, str | None, str | None]:
    """An error's code (None unless a PostgreSQL integer holds it), title and details."""
    if error is None:
        return None, None, None
    title = error.title or error.message
    code = pg_integer(error.code)
    if code is None and error.code is not None:
        title = f"[code {shown(error.code)}] {title or ''}".rstrip()
    return code, clean_text(title, LABEL_CHARS), clean_text(error.details, TEXT_CHARS)


def _status_update(phone_number_id: str, status: Status, now: datetime, dropped: list[str]) -> StatusUpdate:
    if not status.id:
        raise ValueError("status has an empty `id`")
    code, title, details = _error_fields(status.errors[0] if status.errors else None)
    return StatusUpdate(
        phone_number_id=phone_number_id,
        wamid=WAMID.check(status.id),
        status=STATUS_VALUE.check(status.status),
        at=_utc_from_unix_seconds(status.timestamp, now),
        recipient_id=_optional_id(RECIPIENT_ID, status.recipient_id, dropped),
        error_code=code,
        error_title=title,
        error_details=details,
    )


def _inbound_message(
    phone_number_id: str,
    message: Message,
    profile_names: dict[str, str | None],
    now: datetime,
    dropped: list[str],
) -> InboundMessage:
    if not message.id:
        raise ValueError("message has an empty `id`")
    if not message.from_:
        raise ValueError("message has an empty `from`")
    wamid = WAMID.check(message.id)
    wa_id = WA_ID.check(message.from_)
    sent_at = _utc_from_unix_seconds(message.timestamp, now)

    kind: MessageKind = message.type if is_message_kind(message.type) else UNSUPPORTED
    read_body = _BODY_READERS.get(kind)
    body = read_body(message, dropped) if read_body else None
    if body is None:
        kind = UNSUPPORTED
        body = {"unsupported_type": clean_text(_unsupported_type(message), TOKEN_CHARS)}

    context = message.context
    # The body comes last: a reaction's `context_wamid` is the message reacted to.
    fields: _Fields = {
        "context_wamid": _optional_id(CONTEXT_WAMID, context.id, dropped) if context else None,
        "forwarded": bool(context and (context.forwarded or context.frequently_forwarded)),
        "referral": _ad_referral(message, dropped),
    }
    fields.update(body)
    return InboundMessage(
        phone_number_id=phone_number_id,
        wa_id=wa_id,
        wamid=wamid,
        sent_at=sent_at,
        kind=kind,
        profile_name=clean_text(profile_names.get(wa_id), NAME_CHARS) or None,
        **fields,
    )


def _ad_referral(message: Message, dropped: list[str]) -> AdReferral | None:
    referral = message.referral
    if referral is None:
        return None
    return AdReferral(
        source_url=clean_text(referral.source_url, URL_CHARS),
        source_id=_optional_id(REFERRAL_SOURCE_ID, referral.source_id, dropped),
        source_type=clean_text(referral.source_type, TOKEN_CHARS),
        headline=clean_text(referral.headline, LABEL_CHARS),
        body=clean_text(referral.body, TEXT_CHARS),
        media_type=clean_text(referral.media_type, TOKEN_CHARS),
        ctwa_clid=_optional_id(CTWA_CLID, referral.ctwa_clid, dropped),
    )


def _unsupported_type(message: Message) -> str | None:
    if message.unsupported and message.unsupported.type:
        return message.unsupported.type
    if message.type == "interactive" and message.interactive:
        return f"interactive.{message.interactive.type}"
    if message.type and message.type != UNSUPPORTED:
        return message.type
    return None


def _text(value: str | None) -> str | None:
    return clean_text(value, TEXT_CHARS) or None


def _coordinate(value: float | None, limit: float) -> float | None:
    return value if value is not None and math.isfinite(value) and -limit <= value <= limit else None


class _Fields(TypedDict, total=False):
    """The fields of an `InboundMessage` that its body and context give."""

    text: str | None
    reply_id: str | None
    media_id: str | None
    media_mime_type: str | None
    media_filename: str | None
    voice: bool
    latitude: float | None
    longitude: float | None
    location_name: str | None
    location_address: str | None
    shared_contacts: tuple[SharedContact, ...]
    context_wamid: str | None
    forwarded: bool
    referral: AdReferral | None
    unsupported_type: str | None


# Reads the body of one kind of message; None when the body the type names is absent.
BodyReader = Callable[[Message, list[str]], _Fields | None]


def _read_text(message: Message, dropped: list[str]) -> _Fields | None:
    return {"text": _text(message.text.body)} if message.text else None


def _media_reader(kind: MessageKind) -> BodyReader:
    def read_media(message: Message, dropped: list[str]) -> _Fields | None:
        media = getattr(message, kind)
        if media is None:
            return None
        return {
            "text": _text(media.caption),
            "media_id": _optional_id(MEDIA_ID, media.id, dropped),
            "media_mime_type": clean_text(media.mime_type, TOKEN_CHARS),
            "media_filename": clean_text(media.filename, LABEL_CHARS),
            "voice": media.voice,
        }

    return read_media


def _read_location(message: Message, dropped: list[str]) -> _Fields | None:
    location = message.location
    if location is None:
        return None
    return {
        "latitude": _coordinate(location.latitude, 90),
        "longitude": _coordinate(location.longitude, 180),
        "location_name": clean_text(location.name, LABEL_CHARS),
        "location_address": clean_text(location.address, LABEL_CHARS),
    }


def _read_contacts(message: Message, dropped: list[str]) -> _Fields | None:
    if not message.contacts:
        return None
    shared = tuple(
        SharedContact(
            name=clean_text(card.name.formatted_name, NAME_CHARS) if card.name else None,
            phones=tuple(
                clean_text(number, TOKEN_CHARS) or ""
                for phone in card.phones[:MAX_PHONES_PER_CONTACT]
                if (number := phone.phone or phone.wa_id)
            ),
        )
        for card in message.contacts[:MAX_SHARED_CONTACTS]
    )
    lines = [
        ": ".join(part for part in (contact.name, ", ".join(contact.phones)) if part) for contact in shared
    ]
    return {"shared_contacts": shared, "text": _text("\n".join(line for line in lines if line))}


def _read_interactive(message: Message, dropped: list[str]) -> _Fields | None:
    interactive = message.interactive
    reply = (interactive.button_reply or interactive.list_reply) if interactive else None
    if reply is None:
        return None
    return {"text": _text(reply.title), "reply_id": _optional_id(REPLY_ID, reply.id, dropped)}


def _read_template_button(message: Message, dropped: list[str]) -> _Fields | None:
    button = message.button
    if button is None:
        return None
    return {"text": _text(button.text), "reply_id": _optional_id(REPLY_ID, button.payload, dropped)}


def _read_reaction(message: Message, dropped: list[str]) -> _Fields | None:
    reaction = message.reaction
    if reaction is None:
        return None
    return {
        "text": _text(reaction.emoji),
        "context_wamid": _optional_id(CONTEXT_WAMID, reaction.message_id, dropped),
    }


_BODY_READERS: dict[MessageKind, BodyReader] = {
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
