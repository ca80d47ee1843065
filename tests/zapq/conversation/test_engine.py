from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from tests.zapq.conversation.messages import WEDNESDAY_10AM, burst, new_customer
from zapq.conversation.engine import (
    HISTORY_LIMIT,
    BookTestDrive,
    EngineReply,
    Handoff,
    OptOut,
    TestDriveDraft,
    with_turns,
)


def test_a_reply_survives_a_round_trip_through_json_with_its_actions_tagged():
    state = new_customer()
    state.pending_test_drive = TestDriveDraft(vehicle_id=3, day=dt.date(2025, 11, 22), awaiting="time")
    reply = EngineReply(
        text="ok",
        actions=[
            Handoff(reason="customer_request", summary="..."),
            OptOut(),
            BookTestDrive(None, WEDNESDAY_10AM),
        ],
        state=state,
        buttons=[("ver_carros", "Ver carros")],
    )

    encoded = msgspec.json.encode(reply)

    assert b'"type":"handoff"' in encoded and b'"type":"book_test_drive"' in encoded
    assert msgspec.json.decode(encoded, type=EngineReply) == reply


def test_whatsapp_button_limits_are_enforced():
    with pytest.raises(ValueError, match="at most 3"):
        EngineReply(text="x", state=new_customer(), buttons=[("a", "A"), ("b", "B"), ("c", "C"), ("d", "D")])
    with pytest.raises(ValueError, match="longer than 20"):
        EngineReply(text="x", state=new_customer(), buttons=[("a", "Um título comprido demais")])


def test_history_keeps_only_the_most_recent_turns_and_leaves_the_old_state_alone():
    first = new_customer()
    state = first
    for index in range(HISTORY_LIMIT):
        state = with_turns(state, burst(f"mensagem {index}"), f"resposta {index}")

    assert len(state.history) == HISTORY_LIMIT
    assert state.history[0].text == f"mensagem {HISTORY_LIMIT // 2}"
    assert state.history[-1].text == f"resposta {HISTORY_LIMIT - 1}"
    assert first.history == []
