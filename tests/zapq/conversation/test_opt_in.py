"""Opting out and back in through the whole pipeline: the stored row says what the customer was told."""

from __future__ import annotations

import psycopg

from tests.support import meta_samples as meta
from tests.support.graph_api import GraphApi
from tests.support.whatsapp import post_messages, text


def opted_out(db: psycopg.Connection) -> bool:
    row = db.execute("SELECT opted_out FROM conversations WHERE wa_id = %s", (meta.USER_WA_ID,)).fetchone()
    assert row is not None
    return bool(row[0])


def reply_text(send: dict) -> str:
    return send["text"]["body"] if send["type"] == "text" else send["interactive"]["body"]["text"]


def test_a_customer_who_opted_out_and_writes_again_is_told_and_stored_as_opted_back_in(
    whatsapp, worker, graph_api: GraphApi, inventory, db: psycopg.Connection, wait_until
):
    post_messages(whatsapp, text("wamid.out", "não quero mais receber mensagens"))
    wait_until(lambda: len(graph_api.sends()) == 1, timeout=10, what="the opt-out confirmation")
    assert "você não vai mais receber mensagens nossas" in reply_text(graph_api.sends()[0])
    wait_until(lambda: opted_out(db), timeout=10, what="the opt-out stored")

    post_messages(whatsapp, text("wamid.back", "oi, tem HB20?"))
    wait_until(lambda: len(graph_api.sends()) == 2, timeout=10, what="the answer to the returning customer")

    answer = reply_text(graph_api.sends()[1])
    assert "Você voltou a receber nossas mensagens" in answer and "Hyundai HB20" in answer
    wait_until(lambda: not opted_out(db), timeout=10, what="the opt-in stored")

    post_messages(whatsapp, text("wamid.again", "PARAR"))
    wait_until(lambda: len(graph_api.sends()) == 3, timeout=10, what="the second opt-out")
    wait_until(lambda: opted_out(db), timeout=10, what="the second opt-out stored")
