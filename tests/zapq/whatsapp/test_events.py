"""The events' one vocabulary of message kinds, and their wire form as actor arguments."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from tests.support.meta_samples import DISPLAY_PHONE_NUMBER, OUR_WAMID, body_with_messages, user_message
from zapq.whatsapp.events import MESSAGE_KINDS, InboundMessage, StatusUpdate, from_wire, to_wire
from zapq.whatsapp.inbound import parse_notification

SENT_AT = datetime(2025, 6, 8, 20, 59, 43, tzinfo=UTC)

# One body of every message type Meta sends that zapq reads (Meta's `messages` webhook reference).
META_BODIES: dict[str, Any] = {
    "text": {"body": "oi"},
    "image": {"id": "2754859441498128", "mime_type": "image/jpeg", "caption": "Esse aqui"},
    "audio": {"id": "1003383421387256", "mime_type": "audio/ogg; codecs=opus", "voice": True},
    "video": {"id": "1200564827812", "mime_type": "video/mp4"},
    "document": {"id": "1090385279226521", "filename": "cnh.pdf", "mime_type": "application/pdf"},
    "sticker": {"id": "1347519529765543", "mime_type": "image/webp", "animated": False},
    "location": {"latitude": -23.561414, "longitude": -46.655881, "name": "MASP"},
    "contacts": [{"name": {"formatted_name": "Carlos Souza"}, "phones": [{"phone": "+55 11 91234-5678"}]}],
    "interactive": {"type": "button_reply", "button_reply": {"id": "ver_carros", "title": "Ver carros"}},
    "button": {"payload": "lead-interessado", "text": "Quero saber mais"},
    "reaction": {"message_id": OUR_WAMID, "emoji": "👍"},
}

# An `InboundMessage` exactly as the previous release put it on the queue (`to_dict()`).
PREVIOUS_RELEASE_ITEM = {
    "phone_number_id": "106540352242922", "wa_id": "5511987654321",
    "wamid": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
    "sent_at": "2025-06-08T20:59:43Z", "kind": "interactive", "profile_name": "Ana Souza",
    "text": "Ver carros", "reply_id": "ver_carros", "media_id": None, "media_mime_type": None,
    "media_filename": None, "voice": False, "latitude": None, "longitude": None, "location_name": None,
    "location_address": None, "shared_contacts": [], "context_wamid": OUR_WAMID, "forwarded": False,
    "referral": None, "unsupported_type": None,
}  # fmt: skip


def test_every_kind_but_unsupported_is_a_message_type_meta_sends_and_the_parser_reads():
    assert set(META_BODIES) == MESSAGE_KINDS - {"unsupported"}


@pytest.mark.parametrize("message_type", sorted(META_BODIES))
def test_each_meta_message_type_is_read_as_the_kind_of_the_same_name(message_type: str):
    body = body_with_messages(user_message(message_type, META_BODIES[message_type]))

    (message,) = parse_notification(body).messages

    assert message.kind == message_type


@pytest.mark.parametrize("tap", ["button_reply", "list_reply"])
def test_a_tapped_button_or_list_row_is_one_kind_interactive_with_its_id(tap: str):
    interactive = {"type": tap, tap: {"id": "agendar_test_drive", "title": "Agendar test drive"}}
    tapped = user_message("interactive", interactive, context={"from": DISPLAY_PHONE_NUMBER, "id": OUR_WAMID})

    (message,) = parse_notification(body_with_messages(tapped)).messages

    assert (message.kind, message.reply_id, message.text) == (
        "interactive",
        "agendar_test_drive",
        "Agendar test drive",
    )


def test_an_item_queued_by_the_previous_release_is_read_and_the_wire_shape_is_unchanged():
    message = from_wire(InboundMessage, json.loads(json.dumps(PREVIOUS_RELEASE_ITEM)))

    assert (message.kind, message.reply_id, message.sent_at) == ("interactive", "ver_carros", SENT_AT)
    assert json.loads(json.dumps(to_wire(message))) == PREVIOUS_RELEASE_ITEM


def test_a_status_update_travels_with_its_time_as_rfc_3339():
    update = StatusUpdate(phone_number_id="106540352242922", wamid=OUR_WAMID, status="read", at=SENT_AT)

    carried = json.loads(json.dumps(to_wire(update)))

    assert carried["at"] == "2025-06-08T20:59:43Z"
    assert from_wire(StatusUpdate, carried) == update


@pytest.mark.parametrize("kind", ["button_reply", "list_reply", "TEXT", ""])
def test_an_item_whose_kind_is_not_in_the_vocabulary_is_refused(kind: str):
    with pytest.raises(msgspec.ValidationError, match=r"\$.kind"):
        from_wire(InboundMessage, {**PREVIOUS_RELEASE_ITEM, "kind": kind})
