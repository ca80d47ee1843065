"""The demo's Cloud API stand-in answers zapq's client as Graph does, shows what it got, reports like Meta."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.support.http_peer import HttpPeer
from zapq.demo.cloud_api import CloudApiStandIn
from zapq.whatsapp.client import ListRow, ListSection, WhatsAppClient, reset_token_circuit
from zapq.whatsapp.errors import AccessTokenInvalid
from zapq.whatsapp.signature import verify_signature

SECRET = "demo-app-secret"
TOKEN = "demo-token"
NUMBER = "100000000000001"
CUSTOMER = "5511987650000"


@pytest.fixture
def shown() -> list[str]:
    return []


@pytest.fixture
def standin(http_peer: HttpPeer, shown: list[str]) -> Iterator[CloudApiStandIn]:
    cloud_api = CloudApiStandIn(
        SECRET, access_token=TOKEN, webhook_url=f"{http_peer.url}/webhook/whatsapp", status_delay_s=0.05,
        show=shown.append,
    ).start()  # fmt: skip
    yield cloud_api
    cloud_api.stop()


@pytest.fixture
def client(standin: CloudApiStandIn) -> Iterator[WhatsAppClient]:
    with WhatsAppClient(standin.url, TOKEN, NUMBER) as whatsapp:
        yield whatsapp


def test_every_kind_of_send_gets_a_fresh_wamid_and_is_shown_as_a_person_reads_it(
    client: WhatsAppClient, standin: CloudApiStandIn, shown: list[str]
) -> None:
    client.mark_read_with_typing("wamid.in.1")
    wamids = [
        client.send_text(CUSTOMER, "Temos sim!\nHyundai HB20 2022"),
        client.send_buttons(CUSTOMER, "Como posso ajudar?", [("see", "Ver carros"), ("book", "Agendar")]),
        client.send_list(
            CUSTOMER, "Escolha um horário", "Horários",
            [ListSection([ListRow("sat-9", "Sábado 9h", "com o Pedro"), ListRow("sat-10", "Sábado 10h")])],
        ),
        client.send_template(CUSTOMER, "retomar_conversa", "pt_BR"),
    ]  # fmt: skip

    assert len(set(wamids)) == 4 and all(wamid.startswith("wamid.") for wamid in wamids)
    assert [message.kind for message in standin.sent()] == ["text", "buttons", "list", "template"]
    assert standin.read_receipts == 1
    screen = "\n".join(shown)
    for expected in (
        "read wamid.in.1, typing...", "| Temos sim!", "| Hyundai HB20 2022", "|   1) Ver carros",
        "|   2) Agendar", "| [Horários]", "|   1) Sábado 9h (com o Pedro)",
        "template retomar_conversa (pt_BR)",
    ):  # fmt: skip
        assert expected in screen, screen


def test_a_send_is_answered_in_graphs_shape(standin: CloudApiStandIn) -> None:
    message = {"messaging_product": "whatsapp", "to": CUSTOMER, "type": "text", "text": {"body": "oi"}}
    answer = httpx.post(
        f"{standin.url}/v21.0/{NUMBER}/messages", json=message, headers={"authorization": f"Bearer {TOKEN}"}
    )

    assert answer.status_code == 200
    [sent] = standin.sent()
    assert answer.json() == {
        "messaging_product": "whatsapp",
        "contacts": [{"input": CUSTOMER, "wa_id": CUSTOMER}],
        "messages": [{"id": sent.wamid}],
    }


def test_each_send_is_reported_sent_then_delivered_in_webhooks_signed_with_the_app_secret(
    client: WhatsAppClient, http_peer: HttpPeer, wait_until: Callable[..., None]
) -> None:
    wamid = client.send_text(CUSTOMER, "olá")

    wait_until(lambda: len(http_peer.received("/webhook/whatsapp")) == 2, timeout=5, what="two statuses")
    reports = []
    for posted in http_peer.received("/webhook/whatsapp"):
        assert verify_signature(SECRET, posted.body, posted.headers["x-hub-signature-256"])
        value = json.loads(posted.body)["entry"][0]["changes"][0]["value"]
        assert value["metadata"]["phone_number_id"] == NUMBER
        reports += [(status["id"], status["status"], status["recipient_id"]) for status in value["statuses"]]
    assert reports == [(wamid, "sent", CUSTOMER), (wamid, "delivered", CUSTOMER)]


def test_a_wrong_token_is_refused_with_graphs_invalid_token_error(standin: CloudApiStandIn) -> None:
    try:
        with (
            WhatsAppClient(standin.url, "not-the-token", NUMBER) as impostor,
            pytest.raises(AccessTokenInvalid),
        ):
            impostor.send_text(CUSTOMER, "oi")
    finally:
        reset_token_circuit()
    probe = httpx.get(f"{standin.url}/me", headers={"authorization": "Bearer not-the-token"})

    assert probe.status_code == 401 and probe.json()["error"]["code"] == 190
    assert standin.sent() == []
    assert httpx.get(f"{standin.url}/me", headers={"authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_a_long_poll_for_a_customers_messages_returns_as_soon_as_one_is_sent(
    client: WhatsAppClient, standin: CloudApiStandIn
) -> None:
    polled: list[httpx.Response] = []
    poll = threading.Thread(
        target=lambda: polled.append(
            httpx.get(
                f"{standin.url}/demo/conversations/{CUSTOMER}", params={"after": 0, "wait": 20}, timeout=30
            )
        )
    )
    started = time.monotonic()
    poll.start()
    time.sleep(0.3)
    client.send_buttons(CUSTOMER, "Como posso ajudar?", [("see", "Ver carros")])
    poll.join(timeout=10)

    assert time.monotonic() - started < 5
    [message] = polled[0].json()["messages"]
    assert message["choices"] == [{"id": "see", "title": "Ver carros", "description": None}]
    later = httpx.get(f"{standin.url}/demo/conversations/{CUSTOMER}", params={"after": message["seq"]})
    assert later.json() == {"messages": []}
    assert httpx.get(f"{standin.url}/demo/conversations/5511000000000").json() == {"messages": []}


@pytest.mark.parametrize(
    ("method", "path", "content", "status"),
    [
        ("POST", f"/{NUMBER}/messages", b"{not json", 400),
        ("POST", f"/{NUMBER}/messages", b'{"type": "text", "to": "../etc"}', 400),
        ("POST", "/abc/messages", b"{}", 404),
        ("POST", f"/{NUMBER}/other", b"{}", 404),
        ("GET", "/demo/conversations/not-digits", b"", 404),
        ("GET", f"/demo/conversations/{CUSTOMER}?after=x", b"", 400),
        ("GET", f"/demo/conversations/{CUSTOMER}?wait=999", b"", 400),
    ],
    ids=["bad-json", "bad-recipient", "bad-number", "bad-path", "bad-customer", "bad-after", "long-wait"],
)
def test_malformed_requests_get_an_error_naming_what_is_wrong(
    standin: CloudApiStandIn, method: str, path: str, content: bytes, status: int
) -> None:
    answer = httpx.request(
        method, f"{standin.url}{path}", content=content, headers={"authorization": f"Bearer {TOKEN}"}
    )

    assert answer.status_code == status
    assert "error" in answer.json()
    assert standin.sent() == []
