"""The WhatsApp Cloud API webhook body as Meta sends it, decoded into msgspec Structs.

Only what a notification cannot do without is required: the envelope's `object` and `entry`, an
entry's `changes`, a message's `from`/`id`/`timestamp`, a status's `id`/`status`/`timestamp`, a
change's `metadata.phone_number_id`. Everything else has a default, and unknown fields are
ignored, so the fields and message types Meta adds later decode fine.
`zapq.whatsapp.inbound` converts each piece of a body (a message, a status, ...) to these on its own,
so a malformed piece costs only itself, and reads them into the events of `zapq.whatsapp.events`.
`notification_decoder` decodes a whole well-formed body at once, for tests and tools.
"""

from __future__ import annotations

import msgspec

WHATSAPP_OBJECT = "whatsapp_business_account"


class ErrorData(msgspec.Struct):
    details: str | None = None


class WebhookError(msgspec.Struct):
    """One entry of an `errors` array, on a change value, a message or a status."""

    code: int | None = None
    title: str | None = None
    message: str | None = None
    error_data: ErrorData | None = None
    href: str | None = None

    @property
    def details(self) -> str | None:
        return self.error_data.details if self.error_data else None


class Metadata(msgspec.Struct):
    phone_number_id: str
    display_phone_number: str | None = None


class Profile(msgspec.Struct):
    name: str | None = None


class Contact(msgspec.Struct):
    """The sender's profile, listed beside the messages of a change."""

    wa_id: str | None = None
    profile: Profile | None = None


class MessageContext(msgspec.Struct):
    """Present when the message replies to, or was forwarded from, another message."""

    id: str | None = None
    from_: str | None = msgspec.field(default=None, name="from")
    forwarded: bool = False
    frequently_forwarded: bool = False


class Referral(msgspec.Struct):
    """Present when the user wrote from a Click to WhatsApp ad or post."""

    source_url: str | None = None
    source_id: str | None = None
    source_type: str | None = None
    headline: str | None = None
    body: str | None = None
    media_type: str | None = None
    image_url: str | None = None
    video_url: str | None = None
    thumbnail_url: str | None = None
    ctwa_clid: str | None = None


class TextBody(msgspec.Struct):
    body: str = ""


class Media(msgspec.Struct):
    """The body of image, audio, video, document and sticker messages; fetch it by `id`."""

    id: str | None = None
    mime_type: str | None = None
    sha256: str | None = None
    caption: str | None = None
    filename: str | None = None
    url: str | None = None
    voice: bool = False
    animated: bool = False


class Location(msgspec.Struct):
    latitude: float | None = None
    longitude: float | None = None
    name: str | None = None
    address: str | None = None
    url: str | None = None


class ContactName(msgspec.Struct):
    formatted_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None


class ContactPhone(msgspec.Struct):
    phone: str | None = None
    wa_id: str | None = None
    type: str | None = None


class ContactCard(msgspec.Struct):
    """One card of a `contacts` message (a contact the user shared, not the sender)."""

    name: ContactName | None = None
    phones: list[ContactPhone] = []


class ButtonReply(msgspec.Struct):
    id: str | None = None
    title: str | None = None


class ListReply(msgspec.Struct):
    id: str | None = None
    title: str | None = None
    description: str | None = None


class Interactive(msgspec.Struct):
    type: str | None = None
    button_reply: ButtonReply | None = None
    list_reply: ListReply | None = None


class TemplateButton(msgspec.Struct):
    """A tap on a template's quick-reply button (message type `button`)."""

    payload: str | None = None
    text: str | None = None


class Reaction(msgspec.Struct):
    """`emoji` is absent (or empty) when the user removes an earlier reaction."""

    message_id: str | None = None
    emoji: str | None = None


class UnsupportedBody(msgspec.Struct):
    type: str | None = None


class Message(msgspec.Struct):
    """One message a WhatsApp user sent to the business; the body field named by `type` is set."""

    from_: str = msgspec.field(name="from")
    id: str
    timestamp: str | int
    type: str = ""
    context: MessageContext | None = None
    referral: Referral | None = None
    errors: list[WebhookError] = []
    text: TextBody | None = None
    image: Media | None = None
    audio: Media | None = None
    video: Media | None = None
    document: Media | None = None
    sticker: Media | None = None
    location: Location | None = None
    contacts: list[ContactCard] = []
    interactive: Interactive | None = None
    button: TemplateButton | None = None
    reaction: Reaction | None = None
    unsupported: UnsupportedBody | None = None


class ConversationOrigin(msgspec.Struct):
    type: str | None = None


class Conversation(msgspec.Struct):
    id: str | None = None
    expiration_timestamp: str | int | None = None
    origin: ConversationOrigin | None = None


class Pricing(msgspec.Struct):
    billable: bool | None = None
    pricing_model: str | None = None
    category: str | None = None
    type: str | None = None


class Status(msgspec.Struct):
    """A status change of a message the business sent: sent, delivered, read, failed, played, ..."""

    id: str
    status: str
    timestamp: str | int
    recipient_id: str | None = None
    conversation: Conversation | None = None
    pricing: Pricing | None = None
    errors: list[WebhookError] = []


class ChangeValue(msgspec.Struct):
    messaging_product: str | None = None
    metadata: Metadata | None = None
    contacts: list[Contact] = []
    messages: list[Message] = []
    statuses: list[Status] = []
    errors: list[WebhookError] = []


class Change(msgspec.Struct):
    field: str = ""
    value: ChangeValue | None = None


class Entry(msgspec.Struct):
    """One WhatsApp Business Account's changes."""

    changes: list[Change]
    id: str | None = None


class WebhookNotification(msgspec.Struct):
    """The whole POST body. One body may carry many entries, each with many changes."""

    object: str
    entry: list[Entry]


notification_decoder = msgspec.json.Decoder(WebhookNotification)
