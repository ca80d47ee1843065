"""A worker SIGKILLed at any point of a reply: the customer gets exactly one reply, never two, never none.

Real `dramatiq` worker processes; the Graph API stand-in holds its answer so the kill lands
where the test wants it: before the reply is sent (during the typing indicator), while the
send's request is at Meta, and after the reply was recorded.
"""

from __future__ import annotations

import time

import pytest

from tests.support import meta_samples as meta
from tests.support.graph_api import GraphApi
from tests.support.whatsapp import post_messages, post_signed, text

ANA = meta.USER_WA_ID


def outbound(db) -> list[tuple]:
    return db.execute("SELECT wamid, status FROM outbound_messages").fetchall()


@pytest.mark.parametrize("moment", ["before_the_send", "during_the_send", "after_the_send"])
def test_a_killed_worker_never_causes_a_double_or_a_lost_reply(
    moment, whatsapp, graph_api: GraphApi, worker_process, db, wait_until
):
    env = {"WHATSAPP_API_URL": graph_api.url}
    if moment == "before_the_send":
        graph_api.receipt_delay_s = 10.0
    elif moment == "during_the_send":
        graph_api.send_delay_s = 10.0
    first = worker_process("actors", processes=1, threads=4, env=env)

    post_messages(whatsapp, text("wamid.k1", "oi"), text("wamid.k2", "vocês têm Corolla?"))
    if moment == "before_the_send":
        wait_until(lambda: graph_api.read_receipts(), timeout=15, what="the typing indicator")
    elif moment == "during_the_send":
        wait_until(lambda: graph_api.sends(), timeout=15, what="the send to reach Meta")
    else:
        wait_until(
            lambda: [row[1] for row in outbound(db)] == ["sent"], timeout=15, what="the recorded reply"
        )
    first.kill()
    graph_api.receipt_delay_s = graph_api.send_delay_s = 0.0

    if moment == "during_the_send":
        # Meta accepted the message whose answer the dead worker never read, and says so.
        status = meta.status("sent", wamid=graph_api.assigned[0], timestamp=str(int(time.time())))
        status["recipient_id"] = ANA
        post_signed(whatsapp, meta.body_with_statuses(status))
    worker_process("actors", processes=1, threads=4, env=env)

    wait_until(lambda: [row[1] for row in outbound(db)] == ["sent"], timeout=30, what="one recorded reply")
    wait_until(
        lambda: db.execute("SELECT count(*) FROM conversation_turns").fetchone()[0] == 1,
        timeout=30,
        what="the burst to finish",
    )
    time.sleep(2.0)
    assert len(graph_api.sends()) == 1
    assert outbound(db) == [(graph_api.assigned[0], "sent")]
