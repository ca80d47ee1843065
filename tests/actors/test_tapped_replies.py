"""A customer who taps a reply button or list row that zapq sent gets the answer that choice means.

Real web app, real worker, real Redis and PostgreSQL; the Graph API is an HTTP server on 127.0.0.1.
Each tap is Meta's `interactive` message (`button_reply` or `list_reply`, replying to the wamid of
the message that held the choice), signed and posted to the webhook as Meta posts it. The engine acts
on the tapped id, so a row whose title does not say what it does still does it.
"""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest

from tests.support import meta_samples as meta
from tests.support.graph_api import GraphApi
from tests.support.whatsapp import post_messages, text
from zapq.conversation.reading import MenuChoice
from zapq.conversation.rules import HANDOFF_TEXT
from zapq.whatsapp.client import ListRow, ListSection, WhatsAppClient

ANA = meta.USER_WA_ID


def reply_text(send: dict[str, Any]) -> str:
    if send["type"] == "text":
        return str(send["text"]["body"])
    return str(send["interactive"]["body"]["text"])


def tapped(wamid: str, answers: str, interactive: dict[str, Any]) -> dict[str, Any]:
    """The webhook message for a tap on a choice of our message `answers`, sent now."""
    return meta.user_message(
        "interactive", interactive, wamid=wamid, timestamp=str(int(time.time())),
        context={"from": meta.DISPLAY_PHONE_NUMBER, "id": answers},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("choice", "answer_starts"),
    [
        (MenuChoice.SEE_CARS, "Alguns carros disponíveis agora:\n• Volkswagen Gol"),
        (MenuChoice.BOOK_TEST_DRIVE, "Qual carro você quer testar?"),
        (MenuChoice.TALK_TO_PERSON, HANDOFF_TEXT),
    ],
)
def test_tapping_a_menu_button_zapq_sent_gets_what_the_button_says(
    whatsapp, worker, graph_api: GraphApi, crm, inventory, db: psycopg.Connection, wait_until,
    choice: MenuChoice, answer_starts: str,
):  # fmt: skip
    post_messages(whatsapp, text("wamid.menu", "asdfgh"))
    wait_until(lambda: len(graph_api.sends()) == 1, timeout=10, what="the menu")
    (menu,) = graph_api.sends()
    buttons = [button["reply"] for button in menu["interactive"]["action"]["buttons"]]
    (button,) = [button for button in buttons if button["id"] == choice]

    tap = {"type": "button_reply", "button_reply": {"id": button["id"], "title": button["title"]}}
    post_messages(whatsapp, tapped("wamid.tap", graph_api.assigned[0], tap))

    wait_until(lambda: len(graph_api.sends()) == 2, timeout=10, what="the answer to the tap")
    assert reply_text(graph_api.sends()[1]).startswith(answer_starts)
    wait_until(lambda: db.execute("SELECT count(*) FROM conversation_turns").fetchone()[0] == 2, timeout=10)
    (stored,) = db.execute("SELECT kind, text FROM inbound_messages WHERE wamid = 'wamid.tap'").fetchall()
    assert stored == ("interactive", button["title"])
    handoffs = db.execute("SELECT count(*) FROM handoffs").fetchone()[0]
    assert handoffs == (1 if choice == MenuChoice.TALK_TO_PERSON else 0)


def test_choosing_a_list_row_zapq_sent_acts_on_the_row_id_not_its_title(
    whatsapp, worker, graph_api: GraphApi, inventory, wait_until
):
    rows = [
        ListRow(id=MenuChoice.BOOK_TEST_DRIVE, title="Dirigir um", description="Você escolhe o dia"),
        ListRow(id=MenuChoice.SEE_CARS, title="Mostrar"),
    ]
    with WhatsAppClient(graph_api.url, "test-token", meta.PHONE_NUMBER_ID) as client:
        our_list = client.send_list(ANA, "Como posso ajudar?", "Opções", [ListSection(rows=rows)])

    row = {"id": MenuChoice.BOOK_TEST_DRIVE, "title": "Dirigir um", "description": "Você escolhe o dia"}
    post_messages(whatsapp, tapped("wamid.row", our_list, {"type": "list_reply", "list_reply": row}))

    wait_until(lambda: len(graph_api.sends()) == 2, timeout=10, what="the answer to the row")
    assert reply_text(graph_api.sends()[1]).startswith("Qual carro você quer testar?")
