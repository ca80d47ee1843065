"""A strange message never costs a customer their answer: it is set aside, the burst is answered.

These messages bypass the webhook's validation (which cleans such values at the edge), as a
message queued by an older release or another producer would: the worker is the last line.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg

from actors.conversation import apply_message_status, process_message
from tests.support import meta_samples as meta
from tests.support.graph_api import GraphApi
from zapq.whatsapp.events import InboundMessage, to_wire

BUSINESS = "100200300"


def message(wamid: str, text: str, **fields: Any) -> dict[str, Any]:
    return to_wire(
        InboundMessage(
            phone_number_id=BUSINESS, wa_id=meta.USER_WA_ID, wamid=wamid, sent_at=datetime.now(UTC),
            kind="text", text=text, **fields,
        )
    )  # fmt: skip


def test_a_burst_with_a_poison_message_is_answered_once_without_it(
    broker, worker, graph_api: GraphApi, inventory, db: psycopg.Connection, wait_until
) -> None:
    burst = [
        message("wamid.good-1", "oi"),
        message("wamid.bad", "a NUL \x00 PostgreSQL refuses", profile_name="Ana\x00"),
        {"phone_number_id": BUSINESS, "wa_id": meta.USER_WA_ID, "wamid": "wamid.unreadable"},  # no sent_at
        message("wamid.good-2", "vocês têm o Corolla?"),
    ]
    for item in burst:
        process_message.send(item)

    wait_until(lambda: len(graph_api.sends()) == 1, timeout=15, what="the reply to the burst")
    broker.join("default", timeout=15_000)
    worker.join()
    assert [send["to"] for send in graph_api.sends()] == [meta.USER_WA_ID]
    recorded = db.execute("SELECT wamid FROM inbound_messages ORDER BY wamid").fetchall()
    assert recorded == [("wamid.good-1",), ("wamid.good-2",)]
    poison = db.execute("SELECT actor_name, item_id FROM poison_items ORDER BY item_id").fetchall()
    assert poison == [("process_message", "wamid.bad"), ("process_message", "wamid.unreadable")]
    assert db.execute("SELECT count(*) FROM conversation_turns").fetchone()[0] in (0, 1)  # analytics is async


def test_a_status_postgresql_refuses_is_set_aside_not_retried(
    broker, worker, db: psycopg.Connection, wait_until
) -> None:
    status = {
        "phone_number_id": BUSINESS, "wamid": "wamid.ours", "status": "failed",
        "at": datetime.now(UTC).isoformat(), "recipient_id": meta.USER_WA_ID,
        "error_code": 2**40, "error_title": "code out of range",
    }  # fmt: skip
    apply_message_status.send(status)

    wait_until(lambda: db.execute("SELECT count(*) FROM poison_items").fetchone()[0] == 1, timeout=15)
    broker.join("default", timeout=10_000)
    worker.join()
    assert db.execute("SELECT actor_name, item_id FROM poison_items").fetchone() == (
        "apply_message_status",
        "wamid.ours",
    )
    assert broker.client.zcard("dramatiq:default.XQ") == 0
