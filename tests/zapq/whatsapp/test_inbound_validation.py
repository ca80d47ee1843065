"""parse_notification at the edge: one strange value in a signed body costs its own piece, never the burst.

Every event it produces must be storable as it is: no NUL or other C0 control (but tab, CR, LF), no
lone surrogate, texts within their lengths, ids within their character sets and lengths, integers that
a PostgreSQL `integer` holds. The property test checks that against PostgreSQL itself.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import msgspec
import psycopg
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from psycopg.types.json import Jsonb

from tests.support.meta_samples import (
    OUR_WAMID,
    PHONE_NUMBER_ID,
    USER_WA_ID,
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
from zapq.whatsapp.events import InboundMessage, PlatformError, StatusUpdate, from_wire, to_wire
from zapq.whatsapp.inbound import MAX_KEPT_ERRORS, MAX_KEPT_SKIPPED, InvalidPayload, parse_notification

NOW_UNIX = str(int(time.time()))

# The rules, restated here as the specification the events must meet.
DIGITS = re.compile("[0-9]{1,32}")
WAMID = re.compile("[A-Za-z0-9_.=:+/-]{1,256}")
ID_RULES = {
    "phone_number_id": DIGITS,
    "wa_id": DIGITS,
    "wamid": WAMID,
    "context_wamid": WAMID,
    "status": re.compile("[A-Za-z0-9_.-]{1,64}"),
    "recipient_id": re.compile("[A-Za-z0-9_.=:+/-]{1,128}"),
    "media_id": re.compile("[A-Za-z0-9_.-]{1,128}"),
    "source_id": re.compile("[A-Za-z0-9_.-]{1,128}"),
    "ctwa_clid": re.compile("[A-Za-z0-9_.=:+/-]{1,1024}"),
    "reply_id": re.compile(r"[^\x00-\x1f\x7f\ud800-\udfff]{1,1024}"),
}
TEXT_CAPS = {
    "text": 4096,
    "body": 4096,
    "error_details": 4096,
    "details": 4096,
    "profile_name": 256,
    "name": 256,
    "location_name": 1024,
    "location_address": 1024,
    "media_filename": 1024,
    "headline": 1024,
    "error_title": 1024,
    "title": 1024,
    "source_url": 2048,
    "media_mime_type": 128,
    "source_type": 128,
    "media_type": 128,
    "unsupported_type": 128,
    "phones": 128,
    "kind": 32,
    "sent_at": 40,
    "at": 40,
}
UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
PG_INTEGER = range(-(2**31), 2**31)


def encode_with_escapes(body: Any) -> bytes:
    """JSON as Meta could send it: non-ASCII as \\u escapes, so lone surrogates survive as `\\udc80`."""
    return json.dumps(body).encode()


def assert_storable(field: str, value: Any) -> None:
    if isinstance(value, dict):
        for name, inner in value.items():
            assert_storable(name, inner)
    elif isinstance(value, list | tuple):
        for inner in value:
            assert_storable(field, inner)
    elif isinstance(value, str):
        assert not UNSTORABLE.search(value), (field, value[:80])
        if field in ID_RULES:
            assert ID_RULES[field].fullmatch(value), (field, value[:80])
        else:
            assert len(value) <= TEXT_CAPS[field], (field, len(value))
    elif isinstance(value, int) and not isinstance(value, bool):
        assert value in PG_INTEGER, (field, value)


def as_stored(event: InboundMessage | StatusUpdate | PlatformError) -> Any:
    """An event as an actor argument and a jsonb payload carry it; a platform error as it is logged."""
    return msgspec.to_builtins(event) if isinstance(event, PlatformError) else to_wire(event)


def assert_every_event_is_storable(parsed: Any) -> None:
    for event in [*parsed.messages, *parsed.statuses, *parsed.errors]:
        assert_storable(type(event).__name__, as_stored(event))
    assert len(parsed.errors) <= MAX_KEPT_ERRORS
    assert len(parsed.skipped) <= MAX_KEPT_SKIPPED + 1
    for line in parsed.skipped:
        assert not UNSTORABLE.search(line) and "\n" not in line and len(line) <= 500


hostile_char = st.one_of(
    st.characters(),
    st.sampled_from(
        ["\x00", "\x01", "\x1b", "\x7f", "\ud800", "\udc80", "\n", "\t", "?", "/", "#", "%", "."]
    ),
)
hostile_text = st.one_of(
    st.text(hostile_char, max_size=40),
    st.builds(
        lambda text, times: text * times, st.text(hostile_char, min_size=1, max_size=8), st.integers(1, 700)
    ),
    st.sampled_from(
        ["", "1065?x=1", "1065\x00", "../../me", "a" * 10_000, "wamid." + "A" * 300, "\udc80" * 5]
    ),
)
hostile_int = st.one_of(st.integers(), st.integers(-(2**80), 2**80), st.just(2**40))
hostile_value = st.one_of(hostile_text, hostile_int, st.none())


def sometimes_valid(
    valid: st.SearchStrategy[Any], hostile: st.SearchStrategy[Any] = hostile_text
) -> st.SearchStrategy[Any]:
    """Valid four times in five, so that most examples get as far as cleaning the texts."""
    return st.integers(0, 4).flatmap(lambda roll: valid if roll else hostile)


digits = st.from_regex(r"[0-9]{1,15}", fullmatch=True)
wamids = st.from_regex(r"wamid\.[A-Za-z0-9+/=]{1,60}", fullmatch=True)
timestamps = sometimes_valid(
    st.sampled_from([NOW_UNIX, int(NOW_UNIX)]), st.one_of(st.integers(), hostile_text, st.just("9" * 5000))
)
message_types = st.sampled_from(
    ["text", "image", "audio", "document", "location", "contacts", "interactive", "button", "reaction"]
)


@st.composite
def hostile_message(draw: st.DrawFn) -> dict[str, Any]:
    text = hostile_text
    kind = draw(sometimes_valid(message_types))
    bodies = {
        "text": {"body": draw(text)},
        "image": {"id": draw(text), "caption": draw(text), "mime_type": draw(text)},
        "audio": {"id": draw(sometimes_valid(digits)), "voice": True, "mime_type": draw(text)},
        "document": {"id": draw(text), "filename": draw(text), "caption": draw(text)},
        "location": {
            "latitude": draw(st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.none())),
            "longitude": draw(st.floats(allow_nan=False, allow_infinity=False)),
            "name": draw(text),
            "address": draw(text),
        },
        "contacts": [
            {"name": {"formatted_name": draw(text)}, "phones": [{"phone": draw(text)}, {"wa_id": draw(text)}]}
        ]
        * draw(st.integers(1, 30)),
        "interactive": {"type": "button_reply", "button_reply": {"id": draw(text), "title": draw(text)}},
        "button": {"payload": draw(text), "text": draw(text)},
        "reaction": {"message_id": draw(text), "emoji": draw(text)},
    }
    message = user_message(
        kind,
        bodies.get(kind, {"type": draw(text)}),
        wamid=draw(sometimes_valid(wamids, hostile_value)),
        sender=draw(sometimes_valid(digits, hostile_value)),
        timestamp=draw(timestamps),
        context={"id": draw(text), "forwarded": True},
        referral={
            "source_url": draw(text),
            "source_id": draw(text),
            "source_type": draw(text),
            "headline": draw(text),
            "body": draw(text),
            "media_type": draw(text),
            "ctwa_clid": draw(text),
        },
    )
    if kind == "unsupported":
        message["unsupported"] = {"type": draw(text)}
    return message


@st.composite
def hostile_error(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "code": draw(st.one_of(hostile_int, hostile_value)),
        "title": draw(hostile_text),
        "message": draw(hostile_text),
        "error_data": {"details": draw(hostile_text)},
    }


@st.composite
def hostile_status(draw: st.DrawFn) -> dict[str, Any]:
    update = status(
        draw(sometimes_valid(st.sampled_from(["sent", "delivered", "read", "failed"]), hostile_value)),
        wamid=draw(sometimes_valid(wamids, hostile_value)),
        recipient_id=draw(sometimes_valid(digits, hostile_value)),
        timestamp=draw(timestamps),
    )
    update["errors"] = draw(st.lists(hostile_error(), max_size=2))
    return update


@st.composite
def hostile_body(draw: st.DrawFn) -> bytes:
    messages = draw(st.lists(hostile_message(), min_size=1, max_size=3))
    contacts = [contact(str(message["from"]), draw(hostile_text)) for message in messages]
    change = messages_change(
        messages=messages,
        contacts=contacts,
        statuses=draw(st.lists(hostile_status(), max_size=3)),
        errors=draw(st.lists(hostile_error(), max_size=3)),
        phone_number_id=draw(sometimes_valid(st.just(PHONE_NUMBER_ID), hostile_value)),
    )
    return encode_with_escapes(notification(entry(change)))


@pytest.fixture(scope="module")
def pg(settings: Any) -> Iterator[psycopg.Connection]:
    with psycopg.connect(settings.database_url, autocommit=True) as connection:
        yield connection


@hypothesis_settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(raw_body=hostile_body())
def test_hostile_values_in_every_field_never_raise_and_every_event_is_storable(
    pg: psycopg.Connection, raw_body: bytes
) -> None:
    parsed = parse_notification(raw_body)

    assert_every_event_is_storable(parsed)
    for event in [*parsed.messages, *parsed.statuses, *parsed.errors]:
        # PostgreSQL itself: jsonb refuses NUL and anything that is not UTF-8.
        pg.execute("SELECT %s::jsonb", (Jsonb(as_stored(event)),))


@pytest.mark.parametrize("where", ["text", "caption", "profile name"])
def test_nul_in_a_text_is_replaced_and_the_message_kept(where: str) -> None:
    dirty = "oi\x00 tudo\x1bbem?\ttab\r\nlinha"
    if where == "text":
        message = user_message("text", {"body": dirty})
    else:
        message = user_message("image", {"id": "2754859441498128", "caption": dirty})
    name = dirty if where == "profile name" else "Ana"

    parsed = parse_notification(body_with_messages(message, contacts=[contact(USER_WA_ID, name)]))

    assert parsed.skipped == []
    (kept,) = parsed.messages
    cleaned = "oi\ufffd tudo\ufffdbem?\ttab\r\nlinha"
    assert (kept.profile_name if where == "profile name" else kept.text) == cleaned


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("from", "5511\x00987654321"),
        ("id", "wamid.A\x00"),
        ("id", "wamid." + "A" * 10_000),
        ("from", "+55 11"),
    ],
)
def test_a_message_whose_sender_or_wamid_is_unusable_is_skipped_and_its_siblings_kept(
    field: str, value: str
) -> None:
    broken = user_message("text", {"body": "perdida"}, wamid="wamid.broken")
    broken[field] = value
    body = body_with_messages(
        user_message("text", {"body": "primeira"}, wamid="wamid.first"),
        broken,
        user_message("text", {"body": "última"}, wamid="wamid.last"),
    )

    parsed = parse_notification(body)

    assert [message.text for message in parsed.messages] == ["primeira", "última"]
    (reason,) = parsed.skipped
    assert ("wa_id" if field == "from" else "wamid") in reason
    assert "\x00" not in reason and len(reason) < 500


@pytest.mark.parametrize(
    ("field", "value"), [("status", "delivered\x00"), ("id", "wamid.B\x00"), ("status", "x" * 100)]
)
def test_a_status_with_an_unusable_value_or_wamid_is_skipped_and_its_siblings_kept(
    field: str, value: str
) -> None:
    broken = status("read", wamid="wamid.broken")
    broken[field] = value

    parsed = parse_notification(
        body_with_statuses(status("delivered", wamid="wamid.ok1"), broken, status("read", wamid="wamid.ok2"))
    )

    assert [update.wamid for update in parsed.statuses] == ["wamid.ok1", "wamid.ok2"]
    (reason,) = parsed.skipped
    assert "statuses" in reason and ("`status`" if field == "status" else "wamid") in reason


def test_a_status_whose_recipient_is_unusable_is_kept_without_it() -> None:
    parsed = parse_notification(body_with_statuses(status("read", recipient_id="5511\x00")))

    (update,) = parsed.statuses
    assert (update.status, update.recipient_id) == ("read", None)
    (reason,) = parsed.skipped
    assert "kept without its recipient_id" in reason


@pytest.mark.parametrize("phone_number_id", ["1065?x=1", "1065\x00", "1065/../me", "1" * 33, "١٠٦٥"])
def test_a_change_whose_business_number_is_unusable_is_skipped_whole_and_the_next_change_read(
    phone_number_id: str,
) -> None:
    hostile = messages_change(
        messages=[user_message("text", {"body": "oi"}, wamid="wamid.lost")],
        statuses=[status("read")],
        errors=[{"code": 130429, "title": "Rate limit hit"}],
        phone_number_id=phone_number_id,
    )
    fine = messages_change(messages=[user_message("text", {"body": "ok"}, wamid="wamid.ok")])

    parsed = parse_notification(body_with_changes(hostile, fine))

    assert [(m.phone_number_id, m.wamid) for m in parsed.messages] == [(PHONE_NUMBER_ID, "wamid.ok")]
    assert parsed.statuses == [] and parsed.errors == []
    (reason,) = parsed.skipped
    assert "changes[0]" in reason and "phone_number_id" in reason
    assert "1 message(s), 1 status(es) and 1 error(s)" in reason


def test_a_profile_name_of_a_thousand_characters_is_cut_to_256() -> None:
    parsed = parse_notification(
        body_with_messages(user_message("text", {"body": "oi"}), contacts=[contact(USER_WA_ID, "Ana" * 400)])
    )

    (message,) = parsed.messages
    assert message.profile_name == ("Ana" * 400)[:256]


def test_a_text_of_3_mib_is_cut_to_what_whatsapp_allows() -> None:
    huge = "carro " * (3 * 1024 * 1024 // 6)

    (message,) = parse_notification(body_with_messages(user_message("text", {"body": huge}))).messages

    assert message.text == huge[:4096]


def test_an_error_code_beyond_a_postgresql_integer_is_none_with_the_raw_value_in_the_title() -> None:
    failed = status("failed")
    failed["errors"] = [{"code": 2**40, "title": "Weird", "error_data": {"details": "no"}}]
    body = body_with_changes(
        messages_change(statuses=[failed], errors=[{"code": -(2**40), "title": "Also weird"}])
    )

    parsed = parse_notification(body)

    (update,) = parsed.statuses
    assert (update.error_code, update.error_title, update.error_details) == (
        None,
        "[code 1099511627776] Weird",
        "no",
    )
    assert parsed.errors == [
        PlatformError(PHONE_NUMBER_ID, code=None, title="[code -1099511627776] Also weird")
    ]
    assert parsed.skipped == []


def test_an_integer_too_long_for_any_decoder_costs_only_its_own_piece() -> None:
    endless = b"1" + b"0" * 5000
    fine = encode(status("read", wamid="wamid.ok"))
    body = (
        b'{"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages", "value": '
        b'{"metadata": {"phone_number_id": "'
        + PHONE_NUMBER_ID.encode()
        + b'"}, "statuses": ['
        + fine
        + b', {"id": "wamid.odd", "status": "failed", "timestamp": "1749416383", "errors": [{"code": '
        + endless
        + b"}]}]}}]}]}"
    )

    parsed = parse_notification(body)

    assert [update.wamid for update in parsed.statuses] == ["wamid.ok"]
    (reason,) = parsed.skipped
    assert "statuses[1]" in reason


@pytest.mark.parametrize("where", ["text", "wamid", "profile name"])
def test_a_lone_surrogate_escape_costs_only_its_own_value(where: str) -> None:
    lone = "oi \udc80 ok"
    message = user_message("text", {"body": lone if where == "text" else "oi"}, wamid="wamid.odd")
    if where == "wamid":
        message["id"] = "wamid.\udc80"
    name = lone if where == "profile name" else "Ana"
    sibling = user_message("text", {"body": "ok"}, wamid="wamid.ok")
    body = encode_with_escapes(
        notification(
            entry(messages_change(messages=[message, sibling], contacts=[contact(USER_WA_ID, name)]))
        )
    )
    assert b"\\udc80" in body

    parsed = parse_notification(body)

    assert_every_event_is_storable(parsed)
    if where == "wamid":
        assert [m.wamid for m in parsed.messages] == ["wamid.ok"]
        assert len(parsed.skipped) == 1
    else:
        assert [m.wamid for m in parsed.messages] == ["wamid.odd", "wamid.ok"]
        first = parsed.messages[0]
        assert (first.text if where == "text" else first.profile_name) == "oi \ufffd ok"


@pytest.mark.parametrize(
    ("timestamp", "survives"),
    [
        ("1230768000", True),
        ("1230767999", False),
        (str(int(time.time()) + 3 * 86_400), False),
        (2**40, False),
    ],
    ids=["2009-01-01", "before-2009", "in-three-days", "2**40"],  # the same in every xdist worker
)
def test_a_timestamp_outside_2009_to_tomorrow_costs_the_message(timestamp: Any, survives: bool) -> None:
    parsed = parse_notification(body_with_messages(user_message("text", {"body": "oi"}, timestamp=timestamp)))

    assert len(parsed.messages) == int(survives)
    if survives:
        assert parsed.messages[0].sent_at == datetime(2009, 1, 1, tzinfo=UTC)
    else:
        (reason,) = parsed.skipped
        assert "not unix seconds" in reason


def test_unusable_optional_ids_are_dropped_and_named_and_the_message_kept() -> None:
    tapped = user_message(
        "interactive",
        {"type": "button_reply", "button_reply": {"id": "ver\x00carros", "title": "Ver carros"}},
        context={"id": "wamid.\x00ours"},
    )
    image = user_message("image", {"id": "../../me?x=1", "caption": "foto"}, wamid="wamid.img")

    parsed = parse_notification(body_with_messages(tapped, image))

    assert [(m.text, m.reply_id, m.context_wamid, m.media_id) for m in parsed.messages] == [
        ("Ver carros", None, None, None),
        ("foto", None, None, None),
    ]
    assert [reason.split(": kept without its ")[1].split(":")[0] for reason in parsed.skipped] == [
        "reply_id",
        "context_wamid",
        "media_id",
    ]


def test_coordinates_off_the_globe_are_dropped() -> None:
    location = {"latitude": 91.0, "longitude": -1e300, "name": "MASP"}

    (message,) = parse_notification(body_with_messages(user_message("location", location))).messages

    assert (message.latitude, message.longitude, message.location_name) == (None, None, "MASP")


def test_a_contacts_message_keeps_its_first_20_cards() -> None:
    cards = [
        {"name": {"formatted_name": f"Pessoa {n}"}, "phones": [{"phone": str(n)}] * 50} for n in range(500)
    ]

    (message,) = parse_notification(body_with_messages(user_message("contacts", cards))).messages

    assert len(message.shared_contacts) == 20
    assert all(len(card.phones) == 10 for card in message.shared_contacts)


def test_a_hundred_thousand_platform_errors_keep_twenty_and_count_the_rest() -> None:
    errors = [{"code": 130429, "title": f"Rate limit hit {n}"} for n in range(100_000)]

    parsed = parse_notification(body_with_changes(messages_change(errors=errors)))

    assert [error.title for error in parsed.errors] == [f"Rate limit hit {n}" for n in range(MAX_KEPT_ERRORS)]
    assert parsed.errors_dropped == 100_000 - MAX_KEPT_ERRORS
    assert parsed.skipped == [
        f"{100_000 - MAX_KEPT_ERRORS} more platform error(s) not kept: only the first 20 are"
    ]


def test_thousands_of_broken_pieces_keep_twenty_lines_and_end_with_the_count() -> None:
    broken = [
        user_message("text", {"body": "x"}, wamid=f"wamid.{n}", sender="not digits") for n in range(5000)
    ]
    fine = user_message("text", {"body": "ok"}, wamid="wamid.ok")

    parsed = parse_notification(body_with_messages(*broken, fine))

    assert [m.wamid for m in parsed.messages] == ["wamid.ok"]
    assert len(parsed.skipped) == MAX_KEPT_SKIPPED + 1
    assert parsed.skipped_dropped == 5000 - MAX_KEPT_SKIPPED
    assert (
        parsed.skipped[-1]
        == f"{5000 - MAX_KEPT_SKIPPED} more part(s) left out, not listed: only the first 20 are"
    )


def test_a_body_nested_too_deeply_is_refused_as_invalid_not_crashed_on() -> None:
    deep = (
        b'{"object": "whatsapp_business_account", "entry": [], "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    )

    with pytest.raises(InvalidPayload, match="nested too deeply"):
        parse_notification(deep)


def test_the_object_of_a_foreign_body_is_named_briefly() -> None:
    with pytest.raises(InvalidPayload) as raised:
        parse_notification(encode(notification()).replace(b"whatsapp_business_account", b"x" * 1_000_000))

    assert len(str(raised.value)) < 200


def test_events_cleaned_at_the_edge_survive_the_json_trip_of_an_actor_argument() -> None:
    message = user_message("text", {"body": "oi\x00"}, context={"id": OUR_WAMID})

    (kept,) = parse_notification(body_with_messages(message)).messages

    assert from_wire(InboundMessage, json.loads(json.dumps(to_wire(kept)))) == kept
    (update,) = parse_notification(body_with_statuses(status("read"))).statuses
    assert from_wire(StatusUpdate, json.loads(json.dumps(to_wire(update)))) == update
