"""A strange value in one message of a burst costs nothing: the burst is answered once, every message kept.

Real web app, real worker, real Redis and PostgreSQL; the Graph API is an HTTP server on 127.0.0.1.
Before the edge cleaned values, a NUL in one text failed the whole burst in the worker (PostgreSQL
refuses NUL), which retried and dead-lettered while Meta, already answered 200, never resent.
"""

from __future__ import annotations

import json
import time

from tests.support import meta_samples as meta
from tests.support.graph_api import GraphApi
from tests.support.quiet import wait_until_quiet
from tests.support.whatsapp import post_signed, text
from zapq.whatsapp.client import MAX_BUTTONS_BODY

ANA = meta.USER_WA_ID
STRANGE_NAME = "\x00Ana\udc80" + "ã" * 1000


def signed_body(wamid: str, body: str, profile_name: str) -> bytes:
    """One message, encoded as Meta may: every non-ASCII character escaped, lone surrogates too."""
    change = meta.messages_change(messages=[text(wamid, body)], contacts=[meta.contact(ANA, profile_name)])
    return json.dumps(meta.notification(meta.entry(change))).encode()


def test_a_nul_and_a_strange_profile_name_in_one_message_still_get_the_burst_one_reply(
    whatsapp, broker, worker, graph_api: GraphApi, inventory, db, wait_until
):
    for wamid, body, profile_name in [
        ("wamid.h1", "oi", "Ana Souza"),
        ("wamid.h2", "vocês têm o Corolla 2024?", "Ana Souza"),
        ("wamid.h3", "quero\x00 ver", STRANGE_NAME),
    ]:
        assert post_signed(whatsapp, signed_body(wamid, body, profile_name)).status_code == 200
        time.sleep(0.3)

    wait_until(lambda: len(graph_api.sends()) == 1, timeout=10, what="the reply to the burst")
    wait_until_quiet(broker)
    (reply,) = graph_api.replies_to(ANA)
    assert reply["type"] == "interactive"
    body = reply["interactive"]["body"]["text"]
    assert body.startswith("Olá, \ufffdAna\ufffdããã") and "Corolla" in body
    assert len(body) <= MAX_BUTTONS_BODY
    recorded = db.execute("SELECT wamid, text FROM inbound_messages ORDER BY wamid").fetchall()
    assert recorded == [
        ("wamid.h1", "oi"),
        ("wamid.h2", "vocês têm o Corolla 2024?"),
        ("wamid.h3", "quero\ufffd ver"),
    ]
    (profile_name,) = db.execute("SELECT profile_name FROM conversations").fetchone()
    assert profile_name == "\ufffdAna\ufffd" + "ã" * 251
