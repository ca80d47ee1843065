"""A burst queued by the previous release, still waiting when the new workers start, is answered.

The web hands each message to `process_message` as `to_wire(message)`; the items below are written out
exactly as the previous release queued them (`InboundMessage.to_dict()`), so a change of shape that
would strand an in-flight burst fails here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg

from actors.conversation import process_message
from tests.support import meta_samples as meta
from tests.support.graph_api import GraphApi


def previous_release_item(wamid: str, text: str) -> dict[str, Any]:
    return {
        "phone_number_id": meta.PHONE_NUMBER_ID, "wa_id": meta.USER_WA_ID, "wamid": wamid,
        "sent_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"), "kind": "text",
        "profile_name": "Ana Souza", "text": text, "reply_id": None, "media_id": None,
        "media_mime_type": None, "media_filename": None, "voice": False, "latitude": None,
        "longitude": None, "location_name": None, "location_address": None, "shared_contacts": [],
        "context_wamid": None, "forwarded": False, "referral": None, "unsupported_type": None,
    }  # fmt: skip


def test_a_burst_queued_by_the_previous_release_gets_one_reply(
    broker, worker, graph_api: GraphApi, inventory, db: psycopg.Connection, wait_until
) -> None:
    for wamid, text in [("wamid.old-1", "oi"), ("wamid.old-2", "vocês têm o Corolla 2024?")]:
        process_message.send(previous_release_item(wamid, text))

    wait_until(lambda: len(graph_api.sends()) == 1, timeout=15, what="the reply to the burst")
    body = graph_api.sends()[0]["interactive"]["body"]["text"]
    assert body.startswith("Olá, Ana!") and "Corolla" in body
    recorded = db.execute("SELECT wamid, kind FROM inbound_messages ORDER BY wamid").fetchall()
    assert recorded == [("wamid.old-1", "text"), ("wamid.old-2", "text")]
    assert db.execute("SELECT count(*) FROM poison_items").fetchone()[0] == 0
