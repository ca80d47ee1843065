from __future__ import annotations

import datetime as dt
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client import REGISTRY

from tests.support.http_peer import CannedResponse, HttpPeer
from tests.zapq.conversation.messages import WEDNESDAY_10AM, burst, new_customer, tap
from zapq.conversation.dealership import default_dealership
from zapq.conversation.engine import BookTestDrive, ConversationState, Handoff, OptOut, Turn
from zapq.conversation.llm import LLMEngine
from zapq.conversation.memory_inventory import InMemoryInventory
from zapq.conversation.rules import RuleBasedEngine

API_KEY = "sk-test-123"
MODEL = "gpt-4o-mini"


def completion(content: Any) -> dict[str, Any]:
    """An OpenAI chat completion whose message content is `content` (JSON-encoded unless a str)."""
    text = content if isinstance(content, str) else json.dumps(content)
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": MODEL,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
    }


def answer(
    reply: str, *, handoff: bool = False, reason: str | None = None, opt_out: bool = False
) -> CannedResponse:
    return CannedResponse(
        body=completion({"reply": reply, "handoff": handoff, "handoff_reason": reason, "opt_out": opt_out})
    )


def fallbacks(reason: str) -> float:
    return REGISTRY.get_sample_value("zapq_llm_fallbacks_total", {"reason": reason}) or 0.0


@pytest.fixture
def llm(http_peer: HttpPeer, inventory: InMemoryInventory, rules: RuleBasedEngine) -> Iterator[LLMEngine]:
    engine = LLMEngine(
        http_peer.url + "/v1/", API_KEY, MODEL, inventory, default_dealership(), fallback=rules, timeout_s=0.5
    )
    yield engine
    engine.close()


def test_the_request_carries_model_auth_history_and_inventory_facts(llm: LLMEngine, http_peer: HttpPeer):
    http_peer.enqueue(answer("Temos sim, o Corolla 2024 por R$ 139.990,00."))
    earlier = WEDNESDAY_10AM - dt.timedelta(minutes=5)
    state = ConversationState(
        wa_id="5511987654321",
        profile_name="Maria Silva",
        history=[Turn("customer", "oi", earlier), Turn("assistant", "Olá, Maria!", earlier)],
    )

    llm.reply(state, burst("vocês têm o Corolla 2024?", "é automático?"))

    [request] = http_peer.received()
    body = request.json()
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert body["model"] == MODEL
    assert body["response_format"] == {"type": "json_object"}
    system, facts, *history, burst_message = body["messages"]
    assert system["role"] == "system" and "nunca invente carros" in system["content"].lower()
    assert facts["role"] == "system"
    assert "Toyota Corolla XEi 2.0 2024, sedan, prata, R$ 139.990,00" in facts["content"]
    assert "Maria Silva" in facts["content"]
    assert len(facts["content"].splitlines()) <= 2 + 8  # context, heading, at most 8 cars
    assert history == [{"role": "user", "content": "oi"}, {"role": "assistant", "content": "Olá, Maria!"}]
    assert burst_message == {"role": "user", "content": "vocês têm o Corolla 2024?\né automático?"}


def test_the_models_reply_is_sent_and_remembered(llm: LLMEngine, http_peer: HttpPeer):
    http_peer.enqueue(answer("Temos sim, o Corolla 2024 por R$ 139.990,00. Quer agendar um test drive?"))

    reply = llm.reply(new_customer(), burst("tem corolla?"))

    assert reply.text == "Temos sim, o Corolla 2024 por R$ 139.990,00. Quer agendar um test drive?"
    assert reply.actions == []
    assert reply.state.history[-1].text == reply.text
    assert reply.state.facts["interest"] == "Toyota Corolla"


def test_a_handoff_flag_becomes_a_handoff_action(llm: LLMEngine, http_peer: HttpPeer):
    http_peer.enqueue(answer("Vou te passar para um consultor.", handoff=True, reason="financiamento"))

    reply = llm.reply(new_customer(), burst("quero simular um financiamento do hb20 com entrada de 20 mil"))

    [handoff] = reply.actions
    assert isinstance(handoff, Handoff)
    assert handoff.reason == "financiamento"
    assert "Interesse: Hyundai HB20." in handoff.summary


def test_a_request_for_a_person_is_honoured_when_the_model_misses_it(llm: LLMEngine, http_peer: HttpPeer):
    http_peer.enqueue(answer("Posso te ajudar com o que precisar!"))

    reply = llm.reply(new_customer(), burst("quero falar com um humano"))

    assert [type(action) for action in reply.actions] == [Handoff]
    assert "Um atendente vai falar com você em breve." in reply.text


def test_a_tap_on_the_person_button_hands_off_whatever_its_title_and_the_model_say(
    llm: LLMEngine, http_peer: HttpPeer
):
    http_peer.enqueue(answer("Posso te ajudar com o que precisar!"))

    reply = llm.reply(new_customer(), tap("falar_atendente", "Outro assunto"))

    assert [type(action) for action in reply.actions] == [Handoff]
    assert "Um atendente vai falar com você em breve." in reply.text


def test_a_tap_on_the_test_drive_button_goes_to_the_rules_without_the_model(
    llm: LLMEngine, http_peer: HttpPeer
):
    reply = llm.reply(new_customer(), tap("agendar_test_drive", "Dirigir um"))

    assert reply.text.startswith("Qual carro você quer testar?")
    assert reply.state.pending_test_drive is not None
    assert http_peer.received() == []


def test_a_stop_word_opts_out_without_asking_the_model(llm: LLMEngine, http_peer: HttpPeer):
    reply = llm.reply(new_customer(), burst("STOP"))

    assert reply.actions == [OptOut()]
    assert http_peer.received() == []


def test_an_opt_out_flag_from_the_model_is_honoured(llm: LLMEngine, http_peer: HttpPeer):
    http_peer.enqueue(answer("Tudo bem, não enviaremos mais mensagens.", opt_out=True))

    reply = llm.reply(new_customer(), burst("não quero mais receber mensagens de vocês"))

    assert reply.actions == [OptOut()]


def test_a_test_drive_is_booked_by_the_rules_without_the_model(
    llm: LLMEngine, http_peer: HttpPeer, inventory: InMemoryInventory
):
    reply = llm.reply(new_customer(), burst("quero agendar um test drive do corolla amanhã às 10h"))

    assert [type(action) for action in reply.actions] == [BookTestDrive]
    assert len(inventory.test_drives) == 1
    assert http_peer.received() == []


def test_a_slow_model_times_out_and_the_rules_answer(llm: LLMEngine, http_peer: HttpPeer):
    http_peer.enqueue(CannedResponse(body=completion({"reply": "tarde demais"}), delay_s=2.0))
    before = fallbacks("timeout")

    reply = llm.reply(new_customer(), burst("tem corolla 2024?"))

    assert "Toyota Corolla XEi 2.0 2024, prata, R$ 139.990,00" in reply.text
    assert fallbacks("timeout") == before + 1


def test_a_server_error_falls_back_to_the_rules(llm: LLMEngine, http_peer: HttpPeer):
    http_peer.enqueue(CannedResponse(status=500, body={"error": {"message": "overloaded"}}))
    before = fallbacks("http_status")

    reply = llm.reply(new_customer(), burst("tem hb20?"))

    assert "R$ 72.990,00" in reply.text
    assert fallbacks("http_status") == before + 1


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("isto não é uma resposta", "malformed"),
        ({"choices": []}, "malformed"),
        (completion("Claro! Temos o HB20."), "malformed"),
        (completion({"answer": "campo errado"}), "malformed"),
        (completion({"reply": "   "}), "empty"),
    ],
)
def test_an_unusable_answer_falls_back_to_the_rules(
    llm: LLMEngine, http_peer: HttpPeer, body: Any, reason: str
):
    http_peer.enqueue(CannedResponse(body=body))
    before = fallbacks(reason)

    reply = llm.reply(new_customer(), burst("tem hb20?"))

    assert "Hyundai HB20 Comfort 1.0 2022, prata, R$ 72.990,00" in reply.text
    assert fallbacks(reason) == before + 1


def test_an_unreachable_server_falls_back_to_the_rules(inventory: InMemoryInventory, rules: RuleBasedEngine):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    engine = LLMEngine(
        f"http://127.0.0.1:{closed_port}/v1", API_KEY, MODEL, inventory, default_dealership(), fallback=rules
    )
    before = fallbacks("transport")

    reply = engine.reply(new_customer(), burst("tem hb20?"))
    engine.close()

    assert "R$ 72.990,00" in reply.text
    assert fallbacks("transport") == before + 1
