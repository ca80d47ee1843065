"""The raw webhook schema: Meta's samples decode, and what zapq does not know is not an error."""

from __future__ import annotations

import msgspec
import pytest

from tests.support.meta_samples import (
    PHONE_NUMBER_ID,
    USER_NAME,
    USER_WA_ID,
    WAMID,
    body_with_messages,
    body_with_statuses,
    encode,
    entry,
    messages_change,
    notification,
    status,
    user_message,
)
from zapq.whatsapp.payloads import notification_decoder


def test_text_sample_decodes_into_envelope_metadata_contacts_and_message():
    body = body_with_messages(user_message("text", {"body": "Does it come in another color?"}))

    decoded = notification_decoder.decode(body)

    (change,) = decoded.entry[0].changes
    assert (decoded.object, change.field) == ("whatsapp_business_account", "messages")
    assert change.value is not None and change.value.metadata is not None
    assert change.value.metadata.phone_number_id == PHONE_NUMBER_ID
    assert change.value.contacts[0].profile is not None
    assert change.value.contacts[0].profile.name == USER_NAME
    (message,) = change.value.messages
    assert (message.from_, message.id, message.type) == (USER_WA_ID, WAMID, "text")
    assert message.text is not None and message.text.body == "Does it come in another color?"


def test_unknown_fields_and_message_types_decode_without_error():
    future_message = user_message(
        "hologram",
        {"frames": 24},
        identity={"acknowledged": True, "hash": "Sjvjlx8G6Z0="},
        brand_new_field=[1],
    )
    change = messages_change(messages=[future_message])
    change["value"]["something_new"] = {"nested": True}

    decoded = notification_decoder.decode(encode(notification(entry(change))))

    (message,) = decoded.entry[0].changes[0].value.messages
    assert (message.type, message.text, message.image) == ("hologram", None, None)


def test_status_sample_keeps_conversation_and_pricing():
    decoded = notification_decoder.decode(body_with_statuses(status("sent")))

    (sent,) = decoded.entry[0].changes[0].value.statuses
    assert sent.conversation is not None and sent.conversation.origin is not None
    assert sent.conversation.origin.type == "service"
    assert sent.pricing is not None and (sent.pricing.billable, sent.pricing.category) == (True, "service")


def test_error_details_are_read_from_error_data():
    error = {"code": 131051, "title": "Message type unknown", "error_data": {"details": "not supported"}}
    decoded = notification_decoder.decode(
        body_with_messages(user_message("unsupported", {"type": "edit"}, errors=[error]))
    )

    (message,) = decoded.entry[0].changes[0].value.messages
    assert (message.errors[0].code, message.errors[0].details) == (131051, "not supported")
    assert message.unsupported is not None and message.unsupported.type == "edit"


@pytest.mark.parametrize("missing", ["from", "id", "timestamp"])
def test_message_without_an_identifier_does_not_decode(missing):
    message = user_message("text", {"body": "oi"})
    del message[missing]

    with pytest.raises(msgspec.ValidationError, match=f"`{missing}`"):
        notification_decoder.decode(body_with_messages(message))
