"""The LLM engine's contract with the model and its safety nets, over the in-memory stock.

The booking scripts over PostgreSQL are in test_llm_tools.py.
"""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from prometheus_client import REGISTRY

from tests.support.http_peer import CannedResponse, HttpPeer
from tests.support.llm_standin import MODEL, LLMStandIn, call, calls, completion, says
from tests.zapq.conversation.messages import WEDNESDAY_10AM, burst, new_customer, tap
from zapq.conversation.dealership import Dealership, Financing, OpeningHours, default_dealership
from zapq.conversation.engine import ConversationState, Handoff, OptIn, OptOut, TestDriveDraft, Turn
from zapq.conversation.llm import MAX_MODEL_CALLS, MAX_TOOL_CALLS_PER_MESSAGE, LLMEngine
from zapq.conversation.llm_tools import TOOL_ARGUMENTS
from zapq.conversation.memory_inventory import InMemoryInventory
from zapq.conversation.rules import RuleBasedEngine

API_KEY = "sk-test-123"


def fallbacks(reason: str) -> float:
    return REGISTRY.get_sample_value("zapq_llm_fallbacks_total", {"reason": reason}) or 0.0


@pytest.fixture
def standin(http_peer: HttpPeer) -> LLMStandIn:
    return LLMStandIn(http_peer)


@pytest.fixture
def llm(standin: LLMStandIn, inventory: InMemoryInventory, rules: RuleBasedEngine) -> Iterator[LLMEngine]:
    engine = LLMEngine(
        standin.url + "/", API_KEY, MODEL, inventory, default_dealership(), fallback=rules, timeout_s=0.5
    )
    yield engine
    engine.close()


def test_the_request_carries_model_auth_tools_context_history_and_the_burst(
    llm: LLMEngine, standin: LLMStandIn, http_peer: HttpPeer
):
    standin.script(says("Temos sim, o Corolla 2024 por R$ 139.990,00."))
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
    assert body["tool_choice"] == "auto"
    assert [tool["function"]["name"] for tool in body["tools"]] == list(TOOL_ARGUMENTS)
    system, context, *history, burst_message = body["messages"]
    assert system["role"] == "system" and "nunca invente carros" in system["content"].lower()
    assert context["role"] == "system"
    assert "Agora: quarta-feira, 19/11/2025 10:00" in context["content"]
    assert "sábado 2025-11-22" in context["content"]
    assert "Maria Silva" in context["content"]
    assert "Toyota Corolla" in context["content"] and "Hyundai HB20" in context["content"]
    assert "Test drives ativos do cliente: nenhum." in context["content"]
    assert history == [{"role": "user", "content": "oi"}, {"role": "assistant", "content": "Olá, Maria!"}]
    assert burst_message == {"role": "user", "content": "vocês têm o Corolla 2024?\né automático?"}


def test_the_tools_schema_is_strict_and_requires_the_slot_of_a_booking(llm: LLMEngine, standin: LLMStandIn):
    standin.script(says("Olá!"))

    llm.reply(new_customer(), burst("oi"))

    tools = {tool["function"]["name"]: tool["function"] for tool in standin.requests()[0]["tools"]}
    book = tools["book_test_drive"]["parameters"]
    assert book["required"] == ["date", "time"]
    assert book["additionalProperties"] is False
    assert set(tools["search_vehicles"]["parameters"]["properties"]) >= {
        "make", "model", "year", "max_price", "body_type", "transmission", "fuel", "max_km", "colour",
        "min_seats", "order",
    }  # fmt: skip
    assert set(tools["search_vehicles"]["parameters"]["properties"]["order"]["enum"]) == {
        "cheapest", "dearest", "newest", "least_km",
    }  # fmt: skip


def test_the_system_prompt_holds_the_configured_dealership_facts(
    standin: LLMStandIn, inventory: InMemoryInventory, rules: RuleBasedEngine
):
    dealership = Dealership(
        name="Auto Sul Veículos",
        address="Rua das Flores, 42, Curitiba - PR",
        phone="(41) 3333-4444",
        opening_hours=OpeningHours.parse("seg-sex 08:00-17:30; sab 08:00-12:00"),
        documents="CNH e comprovante de residência",
        financing=Financing(
            partners=("Banco do Brasil", "Sicredi"),
            monthly_rate_pct=Decimal("1.49"),
            terms_months=(12, 24, 36),
            min_down_payment_pct=30,
        ),
    )
    engine = LLMEngine(standin.url, API_KEY, MODEL, inventory, dealership, fallback=rules, timeout_s=0.5)
    standin.script(says("Ficamos na Rua das Flores, 42, em Curitiba."))

    reply = engine.reply(new_customer(), burst("onde vocês ficam?"))
    engine.close()

    prompt = standin.system_prompt()
    assert reply.text == "Ficamos na Rua das Flores, 42, em Curitiba."
    assert "assistente virtual da Auto Sul Veículos" in prompt
    assert "Rua das Flores, 42, Curitiba - PR" in prompt
    assert "(41) 3333-4444" in prompt
    assert "de segunda a sexta, das 8h às 17h30, e aos sábados, das 8h às 12h" in prompt
    assert "CNH e comprovante de residência" in prompt
    assert "Banco do Brasil, Sicredi" in prompt
    assert "1.49% ao mês, prazos de 12, 24, 36 meses, entrada mínima de 30%" in prompt
    assert "simulação indicativa" in prompt


def test_the_models_text_is_sent_and_remembered(llm: LLMEngine, standin: LLMStandIn):
    standin.script(
        calls(call("search_vehicles", model="Corolla")),
        says("Temos sim, o Corolla 2024 por R$ 139.990,00. Quer agendar um test drive?"),
    )

    reply = llm.reply(new_customer(), burst("tem corolla?"))

    assert reply.text == "Temos sim, o Corolla 2024 por R$ 139.990,00. Quer agendar um test drive?"
    assert reply.actions == []
    assert reply.state.history[-1].text == reply.text
    assert reply.state.facts["interest"] == "Toyota Corolla"


def test_a_handoff_tool_call_becomes_a_handoff_action_with_the_models_note(
    llm: LLMEngine, standin: LLMStandIn
):
    standin.script(
        calls(call("hand_off_to_person", reason="financiamento", note="Quer financiar o HB20 com 20 mil")),
        says("Vou te passar para um consultor, ele fala com você em breve."),
    )

    reply = llm.reply(new_customer(), burst("quero simular um financiamento do hb20 com entrada de 20 mil"))

    [handoff] = reply.actions
    assert isinstance(handoff, Handoff)
    assert handoff.reason == "financiamento"
    assert "Interesse: Hyundai HB20." in handoff.summary
    assert "Nota do assistente: Quer financiar o HB20 com 20 mil" in handoff.summary
    assert "Nenhum test drive ativo." in handoff.summary
    assert reply.text == "Vou te passar para um consultor, ele fala com você em breve."


def test_a_request_for_a_person_is_honoured_when_the_model_misses_it(llm: LLMEngine, standin: LLMStandIn):
    standin.script(says("Posso te ajudar com o que precisar!"))

    reply = llm.reply(new_customer(), burst("quero falar com um humano"))

    assert [type(action) for action in reply.actions] == [Handoff]
    assert "Um atendente vai falar com você em breve." in reply.text


def test_a_tap_on_the_person_button_hands_off_whatever_its_title_and_the_model_say(
    llm: LLMEngine, standin: LLMStandIn
):
    standin.script(says("Posso te ajudar com o que precisar!"))

    reply = llm.reply(new_customer(), tap("falar_atendente", "Outro assunto"))

    assert [type(action) for action in reply.actions] == [Handoff]
    assert "Um atendente vai falar com você em breve." in reply.text


def test_a_tap_on_the_test_drive_button_is_answered_by_the_model(llm: LLMEngine, standin: LLMStandIn):
    standin.script(says("Claro! Qual carro você quer testar, e que dia fica bom?"))

    reply = llm.reply(new_customer(), tap("agendar_test_drive", "Dirigir um"))

    assert reply.text == "Claro! Qual carro você quer testar, e que dia fica bom?"
    assert standin.requests()[0]["messages"][-1] == {"role": "user", "content": "Dirigir um"}


def test_a_stop_word_opts_out_without_asking_the_model(llm: LLMEngine, http_peer: HttpPeer):
    reply = llm.reply(new_customer(), burst("STOP"))

    assert reply.actions == [OptOut()]
    assert http_peer.received() == []


def test_an_opt_out_tool_call_is_honoured(llm: LLMEngine, standin: LLMStandIn):
    standin.script(
        calls(call("opt_out_of_messages")),
        says("Tudo bem, você não vai mais receber mensagens nossas."),
    )

    reply = llm.reply(new_customer(), burst("não quero mais receber mensagens de vocês"))

    assert reply.actions == [OptOut()]


def test_a_customer_who_opted_out_and_writes_again_is_opted_back_in_and_told_so(
    llm: LLMEngine, standin: LLMStandIn
):
    standin.script(says("Temos o Onix por R$ 79.990,00."))
    opted_out = msgspec.structs.replace(new_customer(), opted_out=True)

    reply = llm.reply(opted_out, burst("oi, ainda tem o Onix?"))

    assert reply.actions == [OptIn()]
    assert reply.text.startswith("Que bom ter você de volta! Você voltou a receber nossas mensagens")
    assert "Onix por R$ 79.990,00" in reply.text
    assert reply.state.opted_out is False


def test_a_rules_draft_is_handed_to_the_model_and_dropped_once_it_answers(
    llm: LLMEngine, standin: LLMStandIn
):
    standin.script(says("Que horário fica bom no sábado? Atendemos das 9h às 13h."))
    state = ConversationState(
        wa_id="5511987654321",
        pending_test_drive=TestDriveDraft(vehicle_id=1, day=dt.date(2025, 11, 22), awaiting="time"),
    )

    reply = llm.reply(state, burst("que horas vocês abrem?"))

    assert (
        "Um test drive estava sendo agendado (já dito: carro: Toyota Corolla XEi 2.0 2024;"
        " dia: sábado, 22/11 (2025-11-22))" in standin.context()
    )
    assert reply.state.pending_test_drive is None


def test_a_message_with_too_many_tool_calls_runs_only_the_first_ones(llm: LLMEngine, standin: LLMStandIn):
    standin.script(
        calls(*[call("search_vehicles", model="HB20")] * (MAX_TOOL_CALLS_PER_MESSAGE + 1)),
        says("Temos o HB20 por R$ 72.990,00."),
    )

    reply = llm.reply(new_customer(), burst("tem hb20?"))

    results = standin.results("search_vehicles")
    assert [("vehicles" in result) for result in results] == [True] * MAX_TOOL_CALLS_PER_MESSAGE + [False]
    assert "muitas ferramentas numa só mensagem" in results[-1]["error"]
    assert reply.text == "Temos o HB20 por R$ 72.990,00."


def test_a_slow_model_times_out_and_the_rules_answer(llm: LLMEngine, standin: LLMStandIn):
    standin.script(CannedResponse(body=completion("tarde demais"), delay_s=2.0))
    before = fallbacks("timeout")

    reply = llm.reply(new_customer(), burst("tem corolla 2024?"))

    assert "Toyota Corolla XEi 2.0 2024, prata, R$ 139.990,00" in reply.text
    assert fallbacks("timeout") == before + 1


def test_a_server_error_falls_back_to_the_rules(llm: LLMEngine, standin: LLMStandIn):
    standin.script(CannedResponse(status=500, body={"error": {"message": "overloaded"}}))
    before = fallbacks("http_status")

    reply = llm.reply(new_customer(), burst("tem hb20?"))

    assert "R$ 72.990,00" in reply.text
    assert fallbacks("http_status") == before + 1


def test_a_rules_draft_survives_a_failed_model_call(llm: LLMEngine, standin: LLMStandIn):
    standin.script(CannedResponse(status=503, body={"error": {"message": "busy"}}))
    state = ConversationState(
        wa_id="5511987654321",
        pending_test_drive=TestDriveDraft(vehicle_id=1, day=dt.date(2025, 11, 22), awaiting="time"),
    )

    reply = llm.reply(state, burst("10h"))

    assert "Pronto! Seu test drive do Toyota Corolla XEi 2.0 2024 está agendado para sábado" in reply.text


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("isto não é uma resposta", "malformed"),
        ({"choices": []}, "malformed"),
        ({"choices": [{"message": {"content": 42}}]}, "malformed"),
        ({"choices": [{"message": {"tool_calls": [{"id": "c1"}]}}]}, "malformed"),
        (completion("   "), "empty"),
        (completion(None), "empty"),
    ],
    ids=["not-json", "no-choices", "content-not-text", "tool-call-without-function", "blank", "null"],
)
def test_an_unusable_answer_falls_back_to_the_rules(
    llm: LLMEngine, standin: LLMStandIn, body: Any, reason: str
):
    standin.script(CannedResponse(body=body))
    before = fallbacks(reason)

    reply = llm.reply(new_customer(), burst("tem hb20?"))

    assert "Hyundai HB20 Comfort 1.0 2022, prata, R$ 72.990,00" in reply.text
    assert fallbacks(reason) == before + 1


def test_a_model_that_never_stops_calling_tools_is_cut_off_and_the_rules_answer(
    llm: LLMEngine, standin: LLMStandIn
):
    standin.script(*[calls(call("search_vehicles", model="HB20"))] * (MAX_MODEL_CALLS + 1))
    before = fallbacks("tool_loop")

    reply = llm.reply(new_customer(), burst("tem hb20?"))

    requests = standin.requests()
    assert len(requests) == MAX_MODEL_CALLS
    assert [request["tool_choice"] for request in requests] == ["auto"] * (MAX_MODEL_CALLS - 1) + ["none"]
    assert "Hyundai HB20 Comfort 1.0 2022, prata, R$ 72.990,00" in reply.text
    assert fallbacks("tool_loop") == before + 1


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
