"""The handoff inbox: a customer handed to a person waits there; released, the bot answers them again.

A real worker process runs zapq's actors; the Cloud API stand-in takes the replies and posts their
signed `sent` statuses back to the web app, as Meta does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psycopg
import pytest

from tests.support import meta_samples as meta
from tests.support.cloud_api_standin import CloudApiStandIn
from tests.support.http_peer import HttpPeer
from tests.support.whatsapp import APP_SECRET, post_signed, text
from tests.web.console.conftest import ConsolePage, console_jwt
from zapq.conversation.rules import HANDOFF_TEXT

ANA = meta.USER_WA_ID


@pytest.fixture
def cloud_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[CloudApiStandIn]:
    """Started before the web app and the worker, which read WHATSAPP_API_URL when they start."""
    from zapq.settings import get_settings
    from zapq.whatsapp.client import reset_token_circuit

    stand_in = CloudApiStandIn(APP_SECRET, status_delay_s=0.2).start()
    monkeypatch.setenv("WHATSAPP_API_URL", stand_in.url)
    get_settings.cache_clear()
    reset_token_circuit()
    yield stand_in
    stand_in.stop()


@pytest.fixture
def whatsapp_console(
    cloud_api: CloudApiStandIn, crm: HttpPeer, console: ConsolePage, worker_process: Callable[..., Any]
) -> ConsolePage:
    cloud_api.post_statuses_to(console.server.url + "/webhook/whatsapp")
    worker_process("actors", threads=4)
    return console


def say(console: ConsolePage, wamid: str, body: str) -> None:
    with httpx.Client(base_url=console.server.url, timeout=10) as client:
        answer = post_signed(client, meta.body_with_messages(text(wamid, body)))  # type: ignore[arg-type]
    assert answer.status_code == 200


def mode_of(db: psycopg.Connection) -> str | None:
    row = db.execute("SELECT mode FROM conversations WHERE wa_id = %s", (ANA,)).fetchone()
    return None if row is None else str(row[0])


def test_a_released_conversation_gets_the_bots_answer_to_the_customers_next_message(
    whatsapp_console: ConsolePage, cloud_api: CloudApiStandIn, db: psycopg.Connection,
    wait_until: Callable[..., None],
) -> None:  # fmt: skip
    console = whatsapp_console
    say(console, "wamid.h1", "quero falar com um atendente")
    wait_until(lambda: mode_of(db) == "human", timeout=20, what="the handoff")
    say(console, "wamid.h2", "alô? tem alguém aí?")
    wait_until(lambda: db.execute("SELECT count(*) FROM inbound_messages").fetchone() == (2,), timeout=20)

    console.login(console_jwt("agent", user="bia"))
    console.page.wait_for_selector("#page[data-page='conversations']")
    item = console.page.wait_for_selector(".inbox-item")
    shown = item.inner_text()
    assert meta.USER_NAME in shown and "•••• " + ANA[-4:] in shown and ANA not in shown
    assert "1 new message" in shown and "alô? tem alguém aí?" in shown
    assert ANA in db.execute("SELECT summary FROM handoffs").fetchone()[0]  # the CRM's copy has the number
    console.screenshot("conversations")
    console.screenshot("conversations-phone", phone=True)

    console.page.click(".inbox-item >> text=Transcript")
    console.page.wait_for_selector("#transcript li[data-direction='out']")
    # the stand-in posts the reply's `sent` status; the ledger shows it beside the bot's answer
    console.page.wait_for_selector("#transcript li[data-direction='out'] [data-status='sent']")
    assert HANDOFF_TEXT in console.page.inner_text("#transcript li[data-direction='out']")
    assert console.page.locator("#transcript li[data-direction='in']").count() == 2
    assert "CRM told (200)" in console.page.inner_text("#conv-handoffs")
    console.screenshot("conversations-transcript", phone=True)

    console.page.click("#conv-release")
    console.accept_next_confirm()
    console.page.wait_for_selector("#conv-mode >> text=the bot")
    assert mode_of(db) == "bot"
    say(console, "wamid.h3", "oi de novo, vocês têm Corolla?")
    wait_until(
        lambda: len(cloud_api.replies_by_recipient().get(ANA, [])) == 2, timeout=20, what="the bot's answer"
    )
    console.page.wait_for_selector("#transcript li[data-direction='out'] >> nth=1")
    assert console.page.locator("#transcript li").last.get_attribute("data-direction") == "out"
    assert console.console_errors == []

    actions = db.execute("SELECT actor, role, action, target, detail FROM console_actions").fetchall()
    conversation_id = str(db.execute("SELECT conversation_id FROM conversations").fetchone()[0])
    assert [row[:4] for row in actions] == [("bia", "agent", "conversation.release", conversation_id)]
    assert ANA not in str(actions)


def test_searching_by_name_or_number_finds_the_customer_in_either_mode(
    console_api: httpx.Client, db: psycopg.Connection
) -> None:
    db.execute(
        "INSERT INTO conversations"
        " (phone_number_id, wa_id, profile_name, mode, handed_off_at, last_inbound_at)"
        " VALUES ('100200300', '5511987654321', 'Ana Souza', 'human', now() - interval '5 minutes', now()),"
        " ('100200300', '5521912340000', 'Bruno 100%', 'bot', NULL, now()),"
        " ('100200300', '5531900001111', 'Carla', 'human', now() - interval '9 minutes', now())"
    )

    inbox = console_api.get("/api/console/conversations").json()["conversations"]
    assert [c["profile_name"] for c in inbox] == ["Carla", "Ana Souza"]  # the longest waiting first
    assert inbox[1]["customer_number"] == "•••• 4321" and "wa_id" not in inbox[1]

    def found(query: str) -> list[str]:
        answer = console_api.get("/api/console/conversations", params={"q": query})
        return [c["profile_name"] for c in answer.json()["conversations"]]

    assert found("souza") == ["Ana Souza"]
    assert found("1234") == ["Bruno 100%"]  # by digits of the number, in bot mode too
    assert found("+55 (21) 9123") == ["Bruno 100%"]
    assert found("100%") == ["Bruno 100%"]  # % is a character, not a wildcard
    assert found("%") == ["Bruno 100%"]
    assert found("55") == []  # fewer than four digits never match by number


def test_the_conversation_api_refuses_strangers_hostile_ids_and_unconfirmed_releases(
    console_api: httpx.Client, db: psycopg.Connection
) -> None:
    db.execute(
        "INSERT INTO conversations (phone_number_id, wa_id, mode) VALUES ('100200300', %s, 'bot')", (ANA,)
    )
    cid = str(db.execute("SELECT conversation_id FROM conversations").fetchone()[0])
    base = str(console_api.base_url)
    assert httpx.get(f"{base}/api/console/conversations").status_code == 401
    anonymous = httpx.post(f"{base}/api/console/conversations/{cid}/release", json={"confirm": True})
    assert anonymous.status_code == 401
    no_role = {"Authorization": f"Bearer {console_jwt(None)}"}
    assert console_api.get("/api/console/conversations", headers=no_role).status_code == 403
    agent = {"Authorization": f"Bearer {console_jwt('agent')}"}
    assert console_api.get(f"/api/console/conversations/{cid}", headers=agent).status_code == 200

    cases = {
        f"/api/console/conversations/{ANA}": "invalid_conversation_id",  # never by the number
        "/api/console/conversations/8c6fb5e4-8b59-4b1c-9d1f-2f3c2b8c1a1%27": "invalid_conversation_id",
        "/api/console/conversations?limit=-1": "invalid_parameter",
        "/api/console/conversations?q=" + "9" * 65: "invalid_parameter",
        "/api/console/conversations?q=%0A%00": "invalid_parameter",
    }
    for path, error in cases.items():
        answer = console_api.get(path)
        assert (answer.status_code, answer.json()["error"]) == (400, error), path
    missing = console_api.get("/api/console/conversations/8c6fb5e4-8b59-4b1c-9d1f-2f3c2b8c1a11")
    assert missing.status_code == 404 and missing.json()["error"] == "conversation_not_found"

    release = f"/api/console/conversations/{cid}/release"
    not_a_boolean = console_api.post(release, json={"confirm": "yes"})
    assert not_a_boolean.status_code == 400 and not_a_boolean.json()["error"] == "invalid_body"
    assert console_api.post(release, json={}).json()["error"] == "confirmation_required"
    already = console_api.post(release, json={"confirm": True})
    assert already.status_code == 409 and already.json()["error"] == "not_handed_off"
    assert db.execute("SELECT count(*) FROM console_actions").fetchone() == (0,)
