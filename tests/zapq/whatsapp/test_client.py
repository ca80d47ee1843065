"""WhatsAppClient against a real HTTP server standing in for the Graph API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client import REGISTRY

from tests.support.graph_api import CUSTOMER, GraphApi, accepted
from tests.support.http_peer import CannedResponse, HttpPeer, RecordedRequest
from zapq.whatsapp.client import ListRow, ListSection, WhatsAppClient, reset_token_circuit
from zapq.whatsapp.errors import AccessTokenInvalid, PermanentSendError

PHONE_NUMBER_ID = "106540352242922"
TOKEN = "EAAJB-test-token"


TOKEN_EXPIRED = CannedResponse(
    status=401,
    body={
        "error": {
            "message": "Error validating access token: Session has expired.",
            "type": "OAuthException",
            "code": 190,
            "error_subcode": 463,
            "fbtrace_id": "AvgS9Q2nU4b",
        }
    },
)


@pytest.fixture
def whatsapp(http_peer: HttpPeer) -> Iterator[WhatsAppClient]:
    http_peer.default = accepted("wamid.default")
    with WhatsAppClient(f"{http_peer.url}/v21.0", TOKEN, PHONE_NUMBER_ID, timeout_s=2) as client:
        yield client


def only_request(http_peer: HttpPeer) -> RecordedRequest:
    assert len(http_peer.requests) == 1
    return http_peer.requests[0]


def message_to_customer(kind: str, content: dict[str, Any]) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": CUSTOMER,
        "type": kind,
        kind: content,
    }


def test_send_text_posts_to_the_numbers_messages_edge_with_the_bearer_token(
    whatsapp: WhatsAppClient, http_peer: HttpPeer
) -> None:
    http_peer.enqueue(accepted("wamid.HBgLNTUxMTk4NzY1NDMyMRUCABEYEjk"))

    wamid = whatsapp.send_text(CUSTOMER, "Oi! O Onix 2022 ainda está disponível.")

    request = only_request(http_peer)
    assert (request.method, request.path) == ("POST", f"/v21.0/{PHONE_NUMBER_ID}/messages")
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["content-type"] == "application/json"
    assert request.json() == message_to_customer(
        "text", {"body": "Oi! O Onix 2022 ainda está disponível.", "preview_url": False}
    )
    assert wamid == "wamid.HBgLNTUxMTk4NzY1NDMyMRUCABEYEjk"


def test_send_text_as_a_reply_quotes_the_customers_message(
    whatsapp: WhatsAppClient, http_peer: HttpPeer
) -> None:
    whatsapp.send_text(
        CUSTOMER, "Veja: https://loja.example/onix", preview_url=True, reply_to="wamid.question"
    )

    body = only_request(http_peer).json()
    assert body["context"] == {"message_id": "wamid.question"}
    assert body["text"] == {"body": "Veja: https://loja.example/onix", "preview_url": True}


def test_send_buttons_sends_reply_buttons_with_ids_and_titles(
    whatsapp: WhatsAppClient, http_peer: HttpPeer
) -> None:
    http_peer.enqueue(accepted("wamid.buttons"))

    wamid = whatsapp.send_buttons(
        CUSTOMER,
        "Quer agendar um test drive?",
        [("test_drive_yes", "Sim, quero"), ("test_drive_no", "Agora não")],
        footer="Concessionária Exemplo",
    )

    assert only_request(http_peer).json() == message_to_customer(
        "interactive",
        {
            "type": "button",
            "body": {"text": "Quer agendar um test drive?"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": "test_drive_yes", "title": "Sim, quero"}},
                    {"type": "reply", "reply": {"id": "test_drive_no", "title": "Agora não"}},
                ]
            },
            "footer": {"text": "Concessionária Exemplo"},
        },
    )
    assert wamid == "wamid.buttons"


def test_send_list_sends_sections_and_rows(whatsapp: WhatsAppClient, http_peer: HttpPeer) -> None:
    http_peer.enqueue(accepted("wamid.list"))
    sections = [
        ListSection(title="Hatch", rows=[ListRow("onix", "Onix 2022", "1.0 turbo, 32 mil km")]),
        ListSection(title="SUV", rows=[ListRow("tracker", "Tracker 2021")]),
    ]

    wamid = whatsapp.send_list(
        CUSTOMER, "Qual modelo te interessa?", "Ver modelos", sections, header="Estoque"
    )

    assert only_request(http_peer).json() == message_to_customer(
        "interactive",
        {
            "type": "list",
            "body": {"text": "Qual modelo te interessa?"},
            "action": {
                "button": "Ver modelos",
                "sections": [
                    {
                        "title": "Hatch",
                        "rows": [{"id": "onix", "title": "Onix 2022", "description": "1.0 turbo, 32 mil km"}],
                    },
                    {"title": "SUV", "rows": [{"id": "tracker", "title": "Tracker 2021"}]},
                ],
            },
            "header": {"type": "text", "text": "Estoque"},
        },
    )
    assert wamid == "wamid.list"


def test_send_template_names_the_template_its_language_and_parameters(
    whatsapp: WhatsAppClient, http_peer: HttpPeer
) -> None:
    http_peer.enqueue(accepted("wamid.template"))
    components = [{"type": "body", "parameters": [{"type": "text", "text": "Ana"}]}]

    wamid = whatsapp.send_template(CUSTOMER, "retomar_conversa", "pt_BR", components)

    assert only_request(http_peer).json() == message_to_customer(
        "template", {"name": "retomar_conversa", "language": {"code": "pt_BR"}, "components": components}
    )
    assert wamid == "wamid.template"


def test_mark_read_marks_the_customers_message(whatsapp: WhatsAppClient, http_peer: HttpPeer) -> None:
    http_peer.enqueue(CannedResponse(body={"success": True}))

    whatsapp.mark_read("wamid.from_customer")

    request = only_request(http_peer)
    assert request.path == f"/v21.0/{PHONE_NUMBER_ID}/messages"
    assert request.json() == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.from_customer",
    }


def test_mark_read_with_typing_shows_the_typing_indicator(
    whatsapp: WhatsAppClient, http_peer: HttpPeer
) -> None:
    http_peer.enqueue(CannedResponse(body={"success": True}))

    whatsapp.mark_read_with_typing("wamid.from_customer")

    assert only_request(http_peer).json() == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.from_customer",
        "typing_indicator": {"type": "text"},
    }


def test_an_answer_without_a_message_id_is_not_taken_as_sent(
    whatsapp: WhatsAppClient, http_peer: HttpPeer
) -> None:
    http_peer.enqueue(CannedResponse(body={"messaging_product": "whatsapp"}))

    with pytest.raises(PermanentSendError, match="no message id"):
        whatsapp.send_text(CUSTOMER, "Oi")


def rows(count: int) -> list[ListRow]:
    return [ListRow(f"row-{number}", f"Opção {number}") for number in range(count)]


@pytest.mark.parametrize(
    ("send", "complaint"),
    [
        (
            lambda c: c.send_buttons(CUSTOMER, "Escolha", [("a", "A"), ("b", "B"), ("c", "C"), ("d", "D")]),
            "1 to 3 buttons",
        ),
        (lambda c: c.send_buttons(CUSTOMER, "Escolha", []), "1 to 3 buttons"),
        (lambda c: c.send_buttons(CUSTOMER, "Escolha", [("a", "x" * 21)]), "button title must be 1 to 20"),
        (lambda c: c.send_buttons(CUSTOMER, "Escolha", [("a", "Sim"), ("a", "Não")]), "repeated: a"),
        (
            lambda c: c.send_list(CUSTOMER, "Escolha", "x" * 21, [ListSection(rows(1))]),
            "button text must be 1 to 20",
        ),
        (lambda c: c.send_list(CUSTOMER, "Escolha", "Ver", [ListSection(rows(11))]), "1 to 10 rows"),
        (
            lambda c: c.send_list(
                CUSTOMER, "Escolha", "Ver", [ListSection(rows(6), "A"), ListSection(rows(5), "B")]
            ),
            "1 to 10 rows",
        ),
        (
            lambda c: c.send_list(CUSTOMER, "Escolha", "Ver", [ListSection([ListRow("a", "x" * 25)])]),
            "row title",
        ),
        (
            lambda c: c.send_list(CUSTOMER, "Escolha", "Ver", [ListSection([ListRow("a", "A", "x" * 73)])]),
            "description must be 0 to 72",
        ),
        (
            lambda c: c.send_list(CUSTOMER, "Escolha", "Ver", [ListSection(rows(1), "x" * 25)]),
            "section title",
        ),
        (
            lambda c: c.send_list(
                CUSTOMER, "Escolha", "Ver", [ListSection(rows(1)), ListSection([ListRow("z", "Z")])]
            ),
            "needs a title",
        ),
    ],
)
def test_limits_are_refused_before_anything_is_sent(
    whatsapp: WhatsAppClient, http_peer: HttpPeer, send: Any, complaint: str
) -> None:
    with pytest.raises(ValueError, match=complaint):
        send(whatsapp)

    assert http_peer.requests == []


def test_limits_at_the_edge_are_accepted(whatsapp: WhatsAppClient, http_peer: HttpPeer) -> None:
    whatsapp.send_buttons(CUSTOMER, "Escolha", [("a", "x" * 20), ("b", "B"), ("c", "C")])
    whatsapp.send_list(
        CUSTOMER, "Escolha", "x" * 20, [ListSection([ListRow("a", "y" * 24, "z" * 72)], "s" * 24)]
    )

    assert len(http_peer.requests) == 2


def token_invalid_gauge() -> float | None:
    return REGISTRY.get_sample_value("zapq_whatsapp_token_invalid")


def test_a_rejected_token_stops_every_send_without_calling_the_api(
    whatsapp: WhatsAppClient, http_peer: HttpPeer
) -> None:
    http_peer.enqueue(TOKEN_EXPIRED)
    with pytest.raises(AccessTokenInvalid):
        whatsapp.send_text(CUSTOMER, "Oi")

    with pytest.raises(AccessTokenInvalid, match="rejected earlier"):
        whatsapp.send_text(CUSTOMER, "Oi de novo")
    with (
        WhatsAppClient(f"{http_peer.url}/v21.0", TOKEN, PHONE_NUMBER_ID) as other_client,
        pytest.raises(AccessTokenInvalid),
    ):
        other_client.mark_read("wamid.any")

    assert len(http_peer.requests) == 1
    assert token_invalid_gauge() == 1


def test_reset_token_circuit_lets_sends_through_again(whatsapp: WhatsAppClient, http_peer: HttpPeer) -> None:
    http_peer.enqueue(TOKEN_EXPIRED)
    with pytest.raises(AccessTokenInvalid):
        whatsapp.send_text(CUSTOMER, "Oi")

    reset_token_circuit()

    assert whatsapp.send_text(CUSTOMER, "Oi") == "wamid.default"
    assert token_invalid_gauge() == 0


def test_a_new_token_closes_the_circuit(whatsapp: WhatsAppClient, http_peer: HttpPeer) -> None:
    http_peer.enqueue(TOKEN_EXPIRED)
    with pytest.raises(AccessTokenInvalid):
        whatsapp.send_text(CUSTOMER, "Oi")

    whatsapp.access_token = "EAAJB-renewed-token"

    assert whatsapp.send_text(CUSTOMER, "Oi") == "wamid.default"
    assert http_peer.requests[-1].headers["authorization"] == "Bearer EAAJB-renewed-token"
    assert token_invalid_gauge() == 0


@pytest.mark.parametrize(
    "hostile", ["1065?x=1", "1065\x00", "1065/../../me", "1065#x", "1065%2Fx", "", "1" * 33, "١٠٦٥", "1065\n"]
)
def test_a_phone_number_id_that_is_not_digits_is_refused_before_any_request(
    graph_api: GraphApi, hostile: str
) -> None:
    with pytest.raises(ValueError, match="phone_number_id must be 1 to 32 digits"):
        WhatsAppClient(f"{graph_api.url}/v21.0", TOKEN, hostile)

    assert graph_api.peer.requests == []


def test_the_token_only_ever_goes_to_the_numbers_messages_path(graph_api: GraphApi) -> None:
    with WhatsAppClient(f"{graph_api.url}/v21.0", TOKEN, PHONE_NUMBER_ID, timeout_s=2) as client:
        client.send_text(CUSTOMER, "Oi")
        client.send_buttons(CUSTOMER, "Escolha", [("ver_carros", "Ver carros")])
        client.mark_read_with_typing("wamid.x?y=1/../../me")
        client.send_text("1065?x=1", "Oi")  # other values go in the JSON body, never the URL
        with pytest.raises(AttributeError):
            client.phone_number_id = "1065?x=1"  # type: ignore[misc]
        client.send_text(CUSTOMER, "Oi de novo")

    assert [(request.path, request.headers["authorization"]) for request in graph_api.peer.requests] == [
        (f"/v21.0/{PHONE_NUMBER_ID}/messages", f"Bearer {TOKEN}")
    ] * 5
