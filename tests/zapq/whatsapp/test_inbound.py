"""parse_notification: every message and status of a webhook body, flattened into typed events."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tests.support.meta_samples import (
    DISPLAY_PHONE_NUMBER,
    OUR_WAMID,
    PHONE_NUMBER_ID,
    SENT_AT_UNIX,
    USER_NAME,
    USER_WA_ID,
    WAMID,
    body_with_changes,
    body_with_messages,
    body_with_statuses,
    contact,
    encode,
    entry,
    messages_change,
    notification,
    status,
    user_message,
)
from zapq.whatsapp.events import InboundMessage, StatusUpdate, from_wire, to_wire
from zapq.whatsapp.inbound import InvalidPayload, parse_notification

SENT_AT = datetime(2025, 6, 8, 20, 59, 43, tzinfo=UTC)
MEDIA_SHA256 = "81d3bd8a8db4868c9520ed47186e8b7c5789e61ff79f7f834be6950b808a90d3"


def only_message(raw_body: bytes) -> InboundMessage:
    parsed = parse_notification(raw_body)
    assert parsed.skipped == []
    assert len(parsed.messages) == 1
    return parsed.messages[0]


def test_text_message_carries_sender_business_number_and_time():
    message = only_message(
        body_with_messages(user_message("text", {"body": "Oi! O Onix 2022 ainda está disponível?"}))
    )

    assert message == InboundMessage(
        phone_number_id=PHONE_NUMBER_ID,
        wa_id=USER_WA_ID,
        wamid=WAMID,
        sent_at=SENT_AT,
        kind="text",
        profile_name=USER_NAME,
        text="Oi! O Onix 2022 ainda está disponível?",
    )


def test_image_gives_its_media_id_and_caption_as_text():
    image = {
        "caption": "Esse aqui",
        "mime_type": "image/jpeg",
        "sha256": MEDIA_SHA256,
        "id": "2754859441498128",
    }

    message = only_message(body_with_messages(user_message("image", image)))

    assert (message.kind, message.media_id, message.media_mime_type) == (
        "image",
        "2754859441498128",
        "image/jpeg",
    )
    assert message.text == "Esse aqui"


def test_voice_note_is_audio_flagged_as_voice_with_no_text():
    audio = {
        "mime_type": "audio/ogg; codecs=opus",
        "sha256": MEDIA_SHA256,
        "id": "1003383421387256",
        "voice": True,
    }

    message = only_message(body_with_messages(user_message("audio", audio)))

    assert (message.kind, message.media_id, message.voice) == ("audio", "1003383421387256", True)
    assert message.media_mime_type == "audio/ogg; codecs=opus"
    assert message.text is None


def test_video_gives_its_media_id_and_caption():
    video = {
        "caption": "O barulho no motor",
        "mime_type": "video/mp4",
        "sha256": MEDIA_SHA256,
        "id": "1200564827812",
    }

    message = only_message(body_with_messages(user_message("video", video)))

    assert (message.kind, message.media_id, message.text) == ("video", "1200564827812", "O barulho no motor")


def test_document_gives_its_filename():
    document = {
        "caption": "Minha CNH",
        "filename": "cnh.pdf",
        "mime_type": "application/pdf",
        "sha256": MEDIA_SHA256,
        "id": "1090385279226521",
    }

    message = only_message(body_with_messages(user_message("document", document)))

    assert (message.kind, message.media_id, message.media_filename) == (
        "document",
        "1090385279226521",
        "cnh.pdf",
    )
    assert message.text == "Minha CNH"


def test_sticker_is_media_without_text():
    sticker = {"mime_type": "image/webp", "sha256": MEDIA_SHA256, "id": "1347519529765543", "animated": False}

    message = only_message(body_with_messages(user_message("sticker", sticker)))

    assert (message.kind, message.media_id, message.text) == ("sticker", "1347519529765543", None)


def test_location_gives_coordinates_name_and_address():
    location = {
        "latitude": -23.561414,
        "longitude": -46.655881,
        "name": "MASP",
        "address": "Av. Paulista, 1578 - Bela Vista, São Paulo",
        "url": "https://masp.org.br",
    }

    message = only_message(body_with_messages(user_message("location", location)))

    assert message.kind == "location"
    assert (message.latitude, message.longitude) == (-23.561414, -46.655881)
    assert (message.location_name, message.location_address) == (
        "MASP",
        "Av. Paulista, 1578 - Bela Vista, São Paulo",
    )


def test_shared_contact_cards_become_names_with_phones_and_readable_text():
    cards = [
        {
            "name": {"formatted_name": "Carlos Souza", "first_name": "Carlos", "last_name": "Souza"},
            "phones": [
                {"phone": "+55 11 91234-5678", "wa_id": "5511912345678", "type": "CELL"},
                {"phone": "+55 11 3333-4444", "type": "WORK"},
            ],
            "emails": [{"email": "carlos@example.com", "type": "WORK"}],
        },
        {"name": {"formatted_name": "Oficina do Zé"}, "phones": [{"wa_id": "5511955554444"}]},
    ]

    message = only_message(body_with_messages(user_message("contacts", cards)))

    assert message.kind == "contacts"
    assert [(card.name, card.phones) for card in message.shared_contacts] == [
        ("Carlos Souza", ("+55 11 91234-5678", "+55 11 3333-4444")),
        ("Oficina do Zé", ("5511955554444",)),
    ]
    assert message.text == "Carlos Souza: +55 11 91234-5678, +55 11 3333-4444\nOficina do Zé: 5511955554444"


def test_reply_button_tap_reads_as_its_title_with_its_id():
    interactive = {
        "type": "button_reply",
        "button_reply": {"id": "agendar-test-drive", "title": "Agendar test drive"},
    }
    tapped = user_message("interactive", interactive, context={"from": DISPLAY_PHONE_NUMBER, "id": OUR_WAMID})

    message = only_message(body_with_messages(tapped))

    assert (message.kind, message.text, message.reply_id) == (
        "interactive",
        "Agendar test drive",
        "agendar-test-drive",
    )
    assert message.context_wamid == OUR_WAMID


def test_list_row_choice_reads_as_its_title_with_its_id():
    interactive = {
        "type": "list_reply",
        "list_reply": {
            "id": "suv-compacto",
            "title": "SUV compacto",
            "description": "Tracker, T-Cross, Creta",
        },
    }

    message = only_message(body_with_messages(user_message("interactive", interactive)))

    assert (message.kind, message.text, message.reply_id) == ("interactive", "SUV compacto", "suv-compacto")


def test_template_quick_reply_reads_as_its_text_with_its_payload():
    tapped = user_message(
        "button",
        {"text": "Quero saber mais", "payload": "lead-interessado"},
        context={"from": DISPLAY_PHONE_NUMBER, "id": OUR_WAMID},
    )

    message = only_message(body_with_messages(tapped))

    assert (message.kind, message.text, message.reply_id, message.context_wamid) == (
        "button",
        "Quero saber mais",
        "lead-interessado",
        OUR_WAMID,
    )


def test_reaction_reads_as_its_emoji_and_points_at_the_message_reacted_to():
    message = only_message(
        body_with_messages(user_message("reaction", {"message_id": OUR_WAMID, "emoji": "👍"}))
    )

    assert (message.kind, message.text, message.context_wamid) == ("reaction", "👍", OUR_WAMID)
    assert not message.removes_reaction


@pytest.mark.parametrize("reaction", [{"message_id": OUR_WAMID}, {"message_id": OUR_WAMID, "emoji": ""}])
def test_reaction_without_emoji_is_a_removal(reaction):
    message = only_message(body_with_messages(user_message("reaction", reaction)))

    assert message.removes_reaction
    assert (message.text, message.context_wamid) == (None, OUR_WAMID)


def test_unsupported_message_names_what_the_user_sent():
    unsupported = user_message(
        "unsupported",
        {"type": "poll_creation"},
        errors=[
            {
                "code": 131051,
                "title": "Message type unknown",
                "message": "Message type unknown",
                "error_data": {"details": "Message type is currently not supported."},
            }
        ],
    )

    message = only_message(body_with_messages(unsupported))

    assert (message.kind, message.unsupported_type, message.text) == ("unsupported", "poll_creation", None)


@pytest.mark.parametrize(
    ("message_type", "body"),
    [("unknown", None), ("order", {"catalog_id": "1", "product_items": [{"product_retailer_id": "x"}]})],
)
def test_message_type_zapq_does_not_read_is_delivered_as_unsupported(message_type, body):
    message = only_message(body_with_messages(user_message(message_type, body)))

    assert (message.kind, message.unsupported_type, message.wamid, message.wa_id) == (
        "unsupported",
        message_type,
        WAMID,
        USER_WA_ID,
    )


def test_known_type_without_its_body_is_unsupported_rather_than_empty():
    message = only_message(body_with_messages(user_message("image")))

    assert (message.kind, message.unsupported_type, message.media_id) == ("unsupported", "image", None)


@pytest.mark.parametrize("forward_flag", ["forwarded", "frequently_forwarded"])
def test_forwarded_messages_are_flagged(forward_flag):
    forwarded = user_message("text", {"body": "Olha essa oferta"}, context={forward_flag: True})

    message = only_message(body_with_messages(forwarded))

    assert message.forwarded
    assert message.context_wamid is None


def test_message_from_a_click_to_whatsapp_ad_keeps_the_ad_it_came_from():
    from_ad = user_message(
        "text",
        {"body": "Olá! Quero mais informações sobre o Onix."},
        referral={
            "source_url": "https://fb.me/3cr4Wqqkv",
            "source_id": "120226305854810726",
            "source_type": "ad",
            "body": "Onix 2022 a partir de R$ 69.990",
            "headline": "Feirão de seminovos",
            "media_type": "image",
            "image_url": "https://scontent.xx.fbcdn.net/v/t45.1600-4/ad.jpg",
            "ctwa_clid": "Aff-n8ZTODiE79d22KtAwQKj9e_mIEOOj27vDVwFjN80dp4_0NiNhEgpGo0AHemvu",
            "welcome_message": {"text": "Olá! Como podemos ajudar?"},
        },
    )

    message = only_message(body_with_messages(from_ad))

    assert message.referral is not None
    assert message.referral.source_url == "https://fb.me/3cr4Wqqkv"
    assert message.referral.headline == "Feirão de seminovos"
    assert (message.referral.source_type, message.referral.source_id) == ("ad", "120226305854810726")
    assert message.referral.ctwa_clid is not None and message.referral.ctwa_clid.startswith(
        "Aff-n8ZTODiE79d22KtAwQKj9e_mIEOOj27vDVwFjN80dp4_0NiNhEgpGo0AHemvu"
    )
    assert message.text == "Olá! Quero mais informações sobre o Onix."


def test_profile_name_is_matched_by_sender_and_none_when_absent():
    body = body_with_messages(
        user_message("text", {"body": "oi"}, wamid="wamid.A", sender="5511911110000"),
        user_message("text", {"body": "olá"}, wamid="wamid.B", sender="5521922220000"),
        contacts=[contact("5521922220000", "Bruno Lima"), contact("5511999999999", "Someone Else")],
    )

    messages = parse_notification(body).messages

    assert [(message.wa_id, message.profile_name) for message in messages] == [
        ("5511911110000", None),
        ("5521922220000", "Bruno Lima"),
    ]


@pytest.mark.parametrize("state", ["sent", "delivered", "read", "played", "deleted"])
def test_status_changes_of_our_messages_keep_their_status_string(state):
    parsed = parse_notification(body_with_statuses(status(state)))

    assert parsed.statuses == [
        StatusUpdate(
            phone_number_id=PHONE_NUMBER_ID,
            wamid=OUR_WAMID,
            status=state,
            at=SENT_AT,
            recipient_id=USER_WA_ID,
        )
    ]
    assert parsed.messages == []


def test_failed_status_carries_the_first_error():
    failed = {
        "id": OUR_WAMID,
        "status": "failed",
        "timestamp": "1749416390",
        "recipient_id": USER_WA_ID,
        "errors": [
            {
                "code": 131047,
                "title": "Re-engagement message",
                "message": "Re-engagement message",
                "error_data": {
                    "details": "Message failed to send because more than 24 hours have passed since the"
                    " customer last replied to this number."
                },
                "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
            }
        ],
    }

    (update,) = parse_notification(body_with_statuses(failed)).statuses

    assert (update.status, update.error_code, update.error_title) == (
        "failed",
        131047,
        "Re-engagement message",
    )
    assert update.error_details is not None and "24 hours" in update.error_details
    assert update.at == datetime(2025, 6, 8, 20, 59, 50, tzinfo=UTC)


def test_errors_about_the_business_number_are_reported_with_it():
    rate_limited = {
        "code": 130429,
        "title": "Rate limit hit",
        "message": "Rate limit hit",
        "error_data": {"details": "Message failed to send because there were too many messages sent"},
        "href": "/documentation/business-messaging/whatsapp/support/error-codes",
    }

    parsed = parse_notification(body_with_changes(messages_change(errors=[rate_limited])))

    (error,) = parsed.errors
    assert (error.phone_number_id, error.code, error.title) == (PHONE_NUMBER_ID, 130429, "Rate limit hit")
    assert error.details == "Message failed to send because there were too many messages sent"
    assert parsed.messages == [] and parsed.statuses == []


def test_every_entry_change_message_and_status_of_one_post_is_delivered_in_order():
    store_sp, store_rj = "106540352242922", "110200345501442"
    body = encode(
        notification(
            entry(
                messages_change(
                    phone_number_id=store_sp,
                    contacts=[contact("5511911110000", "Ana"), contact("5511922220000", "Bruno")],
                    messages=[
                        user_message("text", {"body": "a1"}, wamid="wamid.a1", sender="5511911110000"),
                        user_message("text", {"body": "b1"}, wamid="wamid.b1", sender="5511922220000"),
                        user_message("text", {"body": "a2"}, wamid="wamid.a2", sender="5511911110000"),
                    ],
                ),
                messages_change(
                    phone_number_id=store_sp, statuses=[status("delivered", wamid="wamid.ours1")]
                ),
                messages_change(
                    phone_number_id=store_rj,
                    contacts=[contact("5521933330000", "Carla")],
                    messages=[user_message("text", {"body": "c1"}, wamid="wamid.c1", sender="5521933330000")],
                ),
                account_id="102290129340398",
            ),
            entry(
                messages_change(
                    phone_number_id="120000777000111",
                    contacts=[contact("5531944440000", "Davi")],
                    messages=[user_message("text", {"body": "d1"}, wamid="wamid.d1", sender="5531944440000")],
                    statuses=[status("read", wamid="wamid.ours2"), status("sent", wamid="wamid.ours3")],
                ),
                messages_change(phone_number_id=store_rj, statuses=[status("read", wamid="wamid.ours4")]),
                account_id="230000999000222",
            ),
        )
    )

    parsed = parse_notification(body)

    assert [(m.phone_number_id, m.wa_id, m.profile_name, m.text) for m in parsed.messages] == [
        (store_sp, "5511911110000", "Ana", "a1"),
        (store_sp, "5511922220000", "Bruno", "b1"),
        (store_sp, "5511911110000", "Ana", "a2"),
        (store_rj, "5521933330000", "Carla", "c1"),
        ("120000777000111", "5531944440000", "Davi", "d1"),
    ]
    assert [(s.phone_number_id, s.wamid, s.status) for s in parsed.statuses] == [
        (store_sp, "wamid.ours1", "delivered"),
        ("120000777000111", "wamid.ours2", "read"),
        ("120000777000111", "wamid.ours3", "sent"),
        (store_rj, "wamid.ours4", "read"),
    ]
    assert parsed.skipped == []


def test_changes_of_other_subscriptions_are_ignored():
    template_review = {
        "value": {
            "event": "APPROVED",
            "message_template_id": 1689556908129832,
            "message_template_name": "oferta_seminovos",
            "message_template_language": "pt_BR",
            "reason": "NONE",
        },
        "field": "message_template_status_update",
    }
    body = body_with_changes(
        template_review, messages_change(messages=[user_message("text", {"body": "oi"})])
    )

    parsed = parse_notification(body)

    assert [message.text for message in parsed.messages] == ["oi"]
    assert parsed.skipped == []


@pytest.mark.parametrize(
    "raw_body", [b"{not json", b"", b'{"object": "whatsapp_business_account", "entry": [', b"\xff"]
)
def test_body_that_is_not_json_is_rejected(raw_body):
    with pytest.raises(InvalidPayload, match="not valid JSON"):
        parse_notification(raw_body)


@pytest.mark.parametrize("other_object", ["page", "instagram", "whatsapp"])
def test_webhook_of_another_product_is_rejected_naming_it(other_object):
    body = notification(entry(messages_change(messages=[user_message("text", {"body": "oi"})])))
    body["object"] = other_object

    with pytest.raises(InvalidPayload, match=f"'{other_object}'"):
        parse_notification(encode(body))


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ({"entry": []}, "`object` is missing"),
        ({"unique_id": "u1", "message": "oi"}, "`object` is missing"),
        ([{"object": "whatsapp_business_account"}], "expected an object"),
        ({"object": 5, "entry": []}, "`object` is 5"),
        ({"object": "whatsapp_business_account"}, "`entry` is missing"),
        ({"object": "whatsapp_business_account", "entry": {"id": "1"}}, "`entry` is missing or not a list"),
    ],
)
def test_body_that_is_not_a_whatsapp_notification_is_rejected_saying_why(body, complaint):
    with pytest.raises(InvalidPayload, match=complaint):
        parse_notification(encode(body))


@pytest.mark.parametrize("missing", ["id", "from", "timestamp"])
def test_message_missing_an_identifier_is_skipped_with_a_reason_and_others_survive(missing):
    broken = user_message("text", {"body": "perdida"}, wamid="wamid.broken")
    del broken[missing]
    body = body_with_messages(
        user_message("text", {"body": "primeira"}, wamid="wamid.first"),
        broken,
        user_message("text", {"body": "última"}, wamid="wamid.last"),
    )

    parsed = parse_notification(body)

    assert [message.text for message in parsed.messages] == ["primeira", "última"]
    (reason,) = parsed.skipped
    assert "messages[1]" in reason and f"`{missing}`" in reason


@pytest.mark.parametrize("timestamp", ["", "yesterday", "1749416383.5", "9" * 30])
def test_message_with_an_unreadable_timestamp_is_skipped_with_a_reason(timestamp):
    body = body_with_messages(user_message("text", {"body": "oi"}, timestamp=timestamp))

    parsed = parse_notification(body)

    assert parsed.messages == []
    (reason,) = parsed.skipped
    assert WAMID in reason and "not unix seconds" in reason


def test_message_with_an_empty_id_is_skipped_with_a_reason():
    parsed = parse_notification(body_with_messages(user_message("text", {"body": "oi"}, wamid="")))

    assert parsed.messages == []
    assert any("empty `id`" in reason for reason in parsed.skipped)


def test_message_with_a_mistyped_body_is_delivered_as_unsupported_and_the_problem_named():
    body = body_with_messages(
        user_message("location", {"latitude": "south", "longitude": -46.6}, wamid="wamid.weird"),
        user_message("text", {"body": "segunda"}, wamid="wamid.fine"),
    )

    parsed = parse_notification(body)

    assert [(m.wamid, m.kind, m.unsupported_type) for m in parsed.messages] == [
        ("wamid.weird", "unsupported", "location"),
        ("wamid.fine", "text", None),
    ]
    assert parsed.messages[1].profile_name == USER_NAME
    (reason,) = parsed.skipped
    assert "wamid.weird" in reason and "latitude" in reason


def test_one_malformed_message_does_not_change_how_the_rest_of_the_body_decodes():
    good = [
        user_message("text", {"body": "oi"}, wamid="wamid.1", referral={"source_url": "https://fb.me/x"}),
        user_message("reaction", {"message_id": OUR_WAMID}, wamid="wamid.2"),
        user_message("audio", {"id": "55", "voice": True}, wamid="wamid.3", context={"id": OUR_WAMID}),
    ]
    clean = parse_notification(body_with_messages(*good))
    malformed = {"from": 5511, "id": ["not", "a", "string"], "timestamp": SENT_AT_UNIX, "type": "text"}

    with_malformed = parse_notification(body_with_messages(good[0], malformed, *good[1:]))

    assert with_malformed.messages == clean.messages
    assert len(with_malformed.skipped) == 1


def test_malformed_status_is_skipped_and_the_others_kept():
    body = body_with_statuses(
        status("delivered", wamid="wamid.ok1"),
        {"id": "wamid.bad", "status": None, "timestamp": SENT_AT_UNIX},
        status("read", wamid="wamid.ok2"),
    )

    parsed = parse_notification(body)

    assert [update.wamid for update in parsed.statuses] == ["wamid.ok1", "wamid.ok2"]
    (reason,) = parsed.skipped
    assert "statuses[1]" in reason and "status" in reason


def test_change_without_business_number_is_skipped_saying_what_was_lost():
    change = messages_change(messages=[user_message("text", {"body": "oi"})], statuses=[status("read")])
    del change["value"]["metadata"]
    other = messages_change(messages=[user_message("text", {"body": "ok"}, wamid="wamid.ok")])

    parsed = parse_notification(body_with_changes(change, other))

    assert [message.wamid for message in parsed.messages] == ["wamid.ok"]
    (reason,) = parsed.skipped
    assert "changes[0]" in reason and "phone_number_id" in reason and "1 message(s)" in reason


@pytest.mark.parametrize("broken_value", [None, "text", [1, 2]])
def test_change_with_a_broken_value_is_skipped_and_the_next_change_read(broken_value):
    broken = {"field": "messages", "value": broken_value}
    if broken_value is None:
        del broken["value"]
    other = messages_change(messages=[user_message("text", {"body": "ok"})])

    parsed = parse_notification(body_with_changes(broken, other))

    assert [message.text for message in parsed.messages] == ["ok"]
    assert parsed.skipped == ["entry[0].changes[0]: `value` is missing or not an object"]


@pytest.mark.parametrize("broken_entry", [{"id": "230000999000222"}, {"id": "1", "changes": "nope"}, "entry"])
def test_entry_without_changes_is_skipped_and_the_next_entry_read(broken_entry):
    body = notification(broken_entry, entry(messages_change(messages=[user_message("text", {"body": "ok"})])))

    parsed = parse_notification(encode(body))

    assert [message.text for message in parsed.messages] == ["ok"]
    assert parsed.skipped == ["entry[0]: `changes` is missing or not a list"]


def test_mistyped_contact_only_costs_the_profile_name():
    body = body_with_messages(user_message("text", {"body": "oi"}), contacts=[{"wa_id": 5511987654321}])

    parsed = parse_notification(body)

    assert [(m.text, m.profile_name) for m in parsed.messages] == [("oi", None)]
    assert len(parsed.skipped) == 1 and "contacts[0]" in parsed.skipped[0]


def test_inbound_message_survives_the_json_trip_of_an_actor_argument():
    rich = user_message(
        "contacts",
        [{"name": {"formatted_name": "Carlos"}, "phones": [{"phone": "+55 11 91234-5678"}]}],
        context={"id": OUR_WAMID, "forwarded": True},
        referral={"source_url": "https://fb.me/x", "headline": "Feirão", "ctwa_clid": "Aff-1"},
    )
    message = only_message(body_with_messages(rich))

    carried = json.loads(json.dumps(to_wire(message)))

    assert carried["sent_at"] == "2025-06-08T20:59:43Z"
    assert from_wire(InboundMessage, carried) == message


def test_status_update_survives_the_json_trip_of_an_actor_argument():
    (update,) = parse_notification(body_with_statuses(status("played"))).statuses

    assert from_wire(StatusUpdate, json.loads(json.dumps(to_wire(update)))) == update


def test_each_problem_in_one_body_is_reported_once():
    no_sender = user_message("text", {"body": "sem remetente"}, wamid="wamid.nosender")
    del no_sender["from"]
    body = body_with_messages(
        no_sender,
        user_message("location", {"latitude": "south"}, wamid="wamid.weird"),
        user_message("text", {"body": "quando?"}, wamid="wamid.undated", timestamp="yesterday"),
        user_message("text", {"body": "ok"}, wamid="wamid.fine"),
    )

    parsed = parse_notification(body)

    assert [(m.wamid, m.kind) for m in parsed.messages] == [
        ("wamid.weird", "unsupported"),
        ("wamid.fine", "text"),
    ]
    assert len(parsed.skipped) == 3
    assert "messages[0]" in parsed.skipped[0] and "`from`" in parsed.skipped[0]
    assert "wamid.weird" in parsed.skipped[1]
    assert "wamid.undated" in parsed.skipped[2]
