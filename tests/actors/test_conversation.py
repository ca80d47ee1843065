"""The WhatsApp pipeline end to end: signed webhooks in, one reply per burst out, handoff and statuses.

Real web app, real worker, real Redis and PostgreSQL; the Graph API and the CRM are HTTP
servers on 127.0.0.1. Bursts close after 1 s of quiet here (DEBOUNCE_WINDOW_SECONDS in conftest).
"""

from __future__ import annotations

import time

import psycopg
import pytest

from tests.support import meta_samples as meta
from tests.support.graph_api import GraphApi, graph_error
from tests.support.quiet import wait_until_quiet
from tests.support.whatsapp import post_messages, post_signed, text
from zapq.conversation.rules import HANDOFF_TEXT
from zapq.settings import get_settings
from zapq.whatsapp.signature import verify_signature

ANA = meta.USER_WA_ID
BRUNO = "5521999990000"


def reply_text(send: dict) -> str:
    if send["type"] == "text":
        return send["text"]["body"]
    if send["type"] == "interactive":
        return send["interactive"]["body"]["text"]
    return ""


def outbound(db: psycopg.Connection) -> list[tuple]:
    return db.execute(
        "SELECT recipient, kind, status, error_code FROM outbound_messages ORDER BY id"
    ).fetchall()


def test_a_burst_gets_one_reply_and_a_message_5s_later_gets_another(
    whatsapp, worker, graph_api: GraphApi, inventory, db, wait_until
):
    started = time.monotonic()
    for wamid, body in [
        ("wamid.1", "oi"),
        ("wamid.2", "tudo bem?"),
        ("wamid.3", "vocês têm o Corolla 2024?"),
    ]:
        assert post_messages(whatsapp, text(wamid, body)).status_code == 200
        time.sleep(0.3)

    wait_until(lambda: len(graph_api.sends()) == 1, timeout=10, what="the reply to the burst")
    first = graph_api.sends()[0]
    assert first["to"] == ANA
    answer = reply_text(first)
    assert "Ana" in answer and "Corolla" in answer  # the greeting and the question, in one reply
    receipts = graph_api.read_receipts()
    assert receipts[-1]["message_id"] == "wamid.3" and receipts[-1]["typing_indicator"] == {"type": "text"}

    time.sleep(max(0.0, 5.0 - (time.monotonic() - started)))
    assert len(graph_api.sends()) == 1
    post_messages(whatsapp, text("wamid.4", "qual o preço do Corolla?"))

    wait_until(lambda: len(graph_api.sends()) == 2, timeout=10, what="the second reply")
    assert "139.990" in reply_text(graph_api.sends()[1])
    wait_until(lambda: db.execute("SELECT count(*) FROM conversation_turns").fetchone()[0] == 2)
    turns = db.execute("SELECT inbound_wamids FROM conversation_turns ORDER BY replied_at").fetchall()
    assert turns == [(["wamid.1", "wamid.2", "wamid.3"],), (["wamid.4"],)]


def test_the_same_post_delivered_three_times_gets_one_reply(
    whatsapp, broker, worker, graph_api: GraphApi, db, wait_until
):
    body = meta.body_with_messages(text("wamid.dup", "oi"))
    post_signed(whatsapp, body)
    post_signed(whatsapp, body)
    wait_until(lambda: len(graph_api.sends()) == 1, timeout=10)
    assert post_signed(whatsapp, body).status_code == 200  # Meta retrying after the reply went out

    wait_until_quiet(broker)
    assert len(graph_api.sends()) == 1
    assert db.execute("SELECT count(*) FROM inbound_messages").fetchone()[0] == 1


def test_two_users_in_one_post_get_one_reply_each(whatsapp, broker, worker, graph_api: GraphApi, wait_until):
    post_messages(
        whatsapp,
        text("wamid.a", "oi"),
        text("wamid.b", "bom dia", sender=BRUNO),
        contacts=[meta.contact(), meta.contact(BRUNO, "Bruno Lima")],
    )

    wait_until(lambda: len(graph_api.sends()) == 2, timeout=10)
    wait_until_quiet(broker)
    assert sorted(send["to"] for send in graph_api.sends()) == sorted([ANA, BRUNO])
    assert "Bruno" in reply_text(graph_api.replies_to(BRUNO)[0])


def test_a_429_then_200_delivers_one_reply(whatsapp, broker, worker, graph_api: GraphApi, db, wait_until):
    graph_api.fail_sends(graph_error(130429, http_status=429))
    post_messages(whatsapp, text("wamid.r", "oi"))

    wait_until(lambda: [row[2] for row in outbound(db)] == ["sent"], timeout=15, what="the retried reply")
    wait_until_quiet(broker)
    assert len(graph_api.sends()) == 2  # the refused attempt and the one that went through
    assert len(outbound(db)) == 1


def test_outside_the_24h_window_the_template_is_sent(
    whatsapp, worker, graph_api: GraphApi, db, wait_until, monkeypatch
):
    monkeypatch.setenv("WHATSAPP_TEMPLATE_NAME", "retomar_atendimento")
    get_settings.cache_clear()
    graph_api.fail_sends(graph_error(131047))
    post_messages(whatsapp, text("wamid.w", "oi"))

    wait_until(lambda: len(outbound(db)) == 2, timeout=10)
    wait_until(lambda: outbound(db)[1][2] == "sent", timeout=10)
    assert [row[2:] for row in outbound(db)] == [("failed", 131047), ("sent", None)]
    assert outbound(db)[1][:2] == (ANA, "template")
    template = graph_api.sends()[1]
    assert template["type"] == "template" and template["template"]["name"] == "retomar_atendimento"


def test_an_undeliverable_reply_is_recorded_and_not_retried(
    whatsapp, broker, worker, graph_api: GraphApi, db, wait_until
):
    graph_api.fail_sends(graph_error(131026))
    post_messages(whatsapp, text("wamid.u", "oi"))

    wait_until(lambda: [row[2:] for row in outbound(db)] == [("failed", 131026)], timeout=10)
    wait_until_quiet(broker)
    assert len(graph_api.sends()) == 1


def test_stale_messages_are_recorded_but_not_answered(
    whatsapp, broker, worker, graph_api: GraphApi, db, wait_until
):
    two_days_ago = time.time() - 2 * 86_400
    post_messages(whatsapp, text("wamid.old", "oi", sent_at=two_days_ago))

    wait_until(lambda: db.execute("SELECT stale FROM inbound_messages").fetchall() == [(True,)], timeout=10)
    wait_until_quiet(broker)
    assert graph_api.sends() == []


def test_handoff_silences_the_bot_tells_the_crm_and_release_brings_the_bot_back(
    whatsapp, broker, worker, graph_api: GraphApi, crm, db, wait_until
):
    post_messages(whatsapp, text("wamid.h1", "quero falar com um atendente"))

    wait_until(lambda: len(crm.received("/handoffs")) == 1, timeout=10, what="the CRM notice")
    assert reply_text(graph_api.sends()[0]) == HANDOFF_TEXT
    notice = crm.received("/handoffs")[0]
    assert verify_signature("test-crm-secret", notice.body, notice.headers["x-zapq-signature-256"])
    assert notice.json()["wa_id"] == ANA and ANA in notice.json()["summary"]

    post_messages(whatsapp, text("wamid.h2", "alô? tem alguém aí?"))
    wait_until(lambda: db.execute("SELECT count(*) FROM inbound_messages").fetchone()[0] == 2, timeout=10)
    wait_until_quiet(broker)
    assert len(graph_api.sends()) == 1  # the bot stays silent while a person has the conversation

    release = f"/api/conversations/{ANA}/release"
    assert whatsapp.post(release).status_code == 401
    assert whatsapp.post(release, headers={"authorization": "Bearer nope"}).status_code == 401
    released = whatsapp.post(release, headers={"authorization": "Bearer test-admin-token"})
    assert released.status_code == 200 and released.json()["mode"] == "bot"

    post_messages(whatsapp, text("wamid.h3", "oi de novo"))
    wait_until(lambda: len(graph_api.sends()) == 2, timeout=10, what="the bot answering again")
    assert len(crm.received("/handoffs")) == 1


def test_release_of_an_unknown_conversation_is_404(whatsapp):
    response = whatsapp.post(
        "/api/conversations/5500000000000/release", headers={"authorization": "Bearer test-admin-token"}
    )

    assert response.status_code == 404
    assert response.json()["error"] == "conversation_not_found"


def test_a_failing_crm_is_retried_until_it_takes_the_notice(whatsapp, worker, graph_api, crm, db, wait_until):
    from tests.support.http_peer import CannedResponse

    crm.enqueue(CannedResponse(status=503), CannedResponse(status=500))
    post_messages(whatsapp, text("wamid.c1", "falar com atendente"))

    wait_until(lambda: len(crm.received("/handoffs")) == 3, timeout=15, what="two retries")
    wait_until(lambda: db.execute("SELECT crm_status FROM handoffs").fetchone() == (200,), timeout=5)


def test_a_crm_down_longer_than_the_retry_budget_still_gets_the_notice(
    whatsapp, worker, graph_api, crm, db, wait_until
):
    from tests.support.http_peer import CannedResponse

    crm.enqueue(*[CannedResponse(status=503)] * 5)  # notify_human_handoff has max_retries=3
    post_messages(whatsapp, text("wamid.c2", "falar com atendente"))

    wait_until(lambda: db.execute("SELECT crm_status FROM handoffs").fetchone() == (200,), timeout=30)
    assert len(crm.received("/handoffs")) == 6


def test_status_updates_never_go_backwards(whatsapp, broker, worker, graph_api: GraphApi, db, wait_until):
    post_messages(whatsapp, text("wamid.s", "oi"))
    wait_until(lambda: [row[2] for row in outbound(db)] == ["sent"], timeout=10)
    wamid = db.execute("SELECT wamid FROM outbound_messages").fetchone()[0]

    now = str(int(time.time()))
    post_signed(whatsapp, meta.body_with_statuses(meta.status("read", wamid=wamid, timestamp=now)))
    wait_until(lambda: outbound(db)[0][2] == "read", timeout=10)
    post_signed(whatsapp, meta.body_with_statuses(meta.status("delivered", wamid=wamid, timestamp=now)))
    post_signed(whatsapp, meta.body_with_statuses(meta.status("sent", wamid=wamid, timestamp=now)))

    wait_until_quiet(broker)
    assert outbound(db)[0][2] == "read"


def test_a_failed_status_records_its_error_code(whatsapp, worker, graph_api: GraphApi, db, wait_until):
    post_messages(whatsapp, text("wamid.f", "oi"))
    wait_until(lambda: [row[2] for row in outbound(db)] == ["sent"], timeout=10)
    wamid = db.execute("SELECT wamid FROM outbound_messages").fetchone()[0]
    failed = meta.status("failed", wamid=wamid, timestamp=str(int(time.time())))
    failed["errors"] = [{"code": 131026, "title": "Message undeliverable"}]

    post_signed(whatsapp, meta.body_with_statuses(failed))

    wait_until(lambda: outbound(db)[0][2:] == ("failed", 131026), timeout=10)


def completion(text: str) -> dict:
    """A chat completion whose final text is `text` (no tool call)."""
    return {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]}


@pytest.fixture
def llm_peer(monkeypatch):
    from tests.support.http_peer import HttpPeer

    peer = HttpPeer().start()
    monkeypatch.setenv("CONVERSATION_ENGINE", "llm")
    monkeypatch.setenv("OPENAI_BASE_URL", f"{peer.url}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("LLM_TIMEOUT_S", "1")
    get_settings.cache_clear()
    yield peer
    peer.stop()


def test_the_llm_engine_writes_the_reply_when_configured(
    whatsapp, worker, graph_api: GraphApi, llm_peer, inventory, wait_until
):
    from tests.support.http_peer import CannedResponse

    llm_peer.enqueue(CannedResponse(body=completion("Temos sim o Corolla 2024 por R$ 139.990,00!")))
    post_messages(whatsapp, text("wamid.l1", "oi"), text("wamid.l2", "tem corolla 2024?"))

    wait_until(lambda: len(graph_api.sends()) == 1, timeout=10)
    assert reply_text(graph_api.sends()[0]) == "Temos sim o Corolla 2024 por R$ 139.990,00!"
    request = llm_peer.received("/v1/chat/completions")[0]
    assert request.headers["authorization"] == "Bearer sk-test"
    assert "tem corolla 2024?" in request.body.decode()


def test_a_failing_llm_still_gets_the_customer_an_answer_from_the_rules(
    whatsapp, worker, graph_api: GraphApi, llm_peer, inventory, wait_until
):
    from tests.support.http_peer import CannedResponse

    llm_peer.enqueue(CannedResponse(status=500, body={"error": {"message": "overloaded"}}))
    post_messages(whatsapp, text("wamid.l3", "vocês têm o Corolla 2024?"))

    wait_until(lambda: len(graph_api.sends()) == 1, timeout=10)
    assert "Corolla" in reply_text(graph_api.sends()[0])
