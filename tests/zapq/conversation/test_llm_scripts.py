"""Customers talking to the LLM engine, turn by turn, over the demo stock in a real PostgreSQL.

Each turn is what the customer writes, what the scripted model does with it (tool calls, then a
text), and what the customer must get back. Whatever the model writes, the test drives in the
database are what the tools stored, and the customer is never told of one that does not exist.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import psycopg
import pytest
from prometheus_client import REGISTRY

from tests.support.http_peer import CannedResponse, HttpPeer
from tests.support.llm_standin import MODEL, LLMStandIn, ModelTurn, ToolUse, call, calls, says
from tests.zapq.conversation.messages import WEDNESDAY_10AM, burst, new_customer, stored
from zapq.conversation.dealership import default_dealership
from zapq.conversation.engine import (
    Action,
    BookTestDrive,
    CancelTestDrive,
    EngineReply,
    Handoff,
    RescheduleTestDrive,
)
from zapq.conversation.formatting import format_brl
from zapq.conversation.inventory import PostgresInventory
from zapq.conversation.llm import LLMEngine
from zapq.conversation.rules import RuleBasedEngine
from zapq.conversation.when import SAO_PAULO

SATURDAY_10AM = dt.datetime(2025, 11, 22, 10, 0, tzinfo=SAO_PAULO)
FRIDAY_3PM = dt.datetime(2025, 11, 21, 15, 0, tzinfo=SAO_PAULO)
PULSE, COROLLA, CIVIC = 13, 1, 5  # ids of the demo stock's Fiat Pulse, Toyota Corolla XEi, Honda Civic


@dataclass(frozen=True)
class Turn:
    """One burst, the model's part in answering it, and what the reply must and must not say."""

    customer: str
    model: tuple[ModelTurn, ...]
    says: tuple[str, ...] = ()
    never_says: tuple[str, ...] = ()
    actions: tuple[type[Action], ...] = ()


class Customer:
    """Plays turns against an engine, keeping the state between bursts as the caller stores it."""

    def __init__(self, engine: LLMEngine, standin: LLMStandIn) -> None:
        self.engine = engine
        self.standin = standin
        self.state = new_customer()
        self.replies: list[EngineReply] = []

    def play(self, turn: Turn, at: dt.datetime = WEDNESDAY_10AM) -> EngineReply:
        self.standin.script(*turn.model)
        reply = self.engine.reply(stored(self.state), burst(turn.customer, at=at))
        assert self.standin.pending() == 0, f"the engine left model turns unplayed after {turn.customer!r}"
        for text in turn.says:
            assert text in reply.text, f"{text!r} missing from the reply to {turn.customer!r}: {reply.text!r}"
        for text in turn.never_says:
            assert text.lower() not in reply.text.lower(), f"{text!r} in the reply to {turn.customer!r}"
        assert [type(action) for action in reply.actions] == list(turn.actions), reply.actions
        self.state = reply.state
        self.replies.append(reply)
        return reply


def fallbacks(reason: str) -> float:
    return REGISTRY.get_sample_value("zapq_llm_fallbacks_total", {"reason": reason}) or 0.0


def stored_test_drives(db: psycopg.Connection) -> list[tuple[int | None, dt.datetime, str, dt.datetime]]:
    rows = db.execute(
        "SELECT vehicle_id, starts_at, status, booked_starts_at FROM test_drives ORDER BY id"
    ).fetchall()
    return [(vehicle_id, starts_at, status, booked) for vehicle_id, starts_at, status, booked in rows]


def book(vehicle_id: int | None, date: str, time: str) -> ToolUse:
    arguments: dict[str, object] = {"date": date, "time": time}
    if vehicle_id is not None:
        arguments["vehicle_id"] = vehicle_id
    return call("book_test_drive", **arguments)


@pytest.fixture
def standin(http_peer: HttpPeer) -> LLMStandIn:
    return LLMStandIn(http_peer)


@pytest.fixture
def llm(standin: LLMStandIn, postgres_inventory: PostgresInventory) -> Iterator[LLMEngine]:
    dealership = default_dealership()
    rules = RuleBasedEngine(postgres_inventory, dealership)
    engine = LLMEngine(
        standin.url, "sk-test", MODEL, postgres_inventory, dealership, fallback=rules, timeout_s=2
    )
    yield engine
    engine.close()


@pytest.fixture
def customer(llm: LLMEngine, standin: LLMStandIn) -> Customer:
    return Customer(llm, standin)


def test_a_customer_finds_a_car_books_moves_and_cancels_a_test_drive(
    customer: Customer, standin: LLMStandIn, db: psycopg.Connection
):
    customer.play(
        Turn(
            "oi, tem SUV automático até 120 mil?",
            (
                calls(call("search_vehicles", body_type="suv", transmission="automatic", max_price=120000)),
                says("Temos sim! Chevrolet Spin por R$ 99.990,00 e Fiat Pulse por R$ 104.990,00."),
            ),
            says=("Fiat Pulse por R$ 104.990,00",),
        )
    )
    [found] = standin.results("search_vehicles")
    assert [(car["name"], car["price"]) for car in found["vehicles"][:2]] == [
        ("Chevrolet Spin Premier 1.8 7 lugares 2022", "R$ 99.990,00"),
        ("Fiat Pulse Audace 1.0 Turbo 2023", "R$ 104.990,00"),
    ]
    assert found["count"] == 5
    assert {(car["body_type"], car["transmission"]) for car in found["vehicles"]} == {("suv", "automatic")}

    customer.play(
        Turn(
            "o pulse é flex? quantos km?",
            (calls(call("get_vehicle", vehicle_id=PULSE)), says("É flex e automático, com 22.900 km.")),
            says=("22.900 km",),
        )
    )
    [pulse] = standin.results("get_vehicle")
    assert (pulse["vehicle"]["fuel"], pulse["vehicle"]["km"]) == ("flex", 22900)

    installment = default_dealership().financing.installment(Decimal(104990), Decimal(30000), 48)
    customer.play(
        Turn(
            "e a parcela com 30 mil de entrada em 48x?",
            (
                calls(call("simulate_financing", vehicle_id=PULSE, down_payment=30000, months=48)),
                says(
                    "Fica em torno de R$ 2.245,75 em 48x: simulação indicativa, sujeita a análise de crédito."
                ),
            ),
            says=("simulação indicativa",),
        )
    )
    [simulation] = standin.results("simulate_financing")
    assert simulation["indicative"] is True
    assert simulation["installments"] == [{"months": 48, "installment": format_brl(installment)}]

    customer.play(
        Turn(
            "quero fazer um test drive dele sábado às 10h",
            (
                calls(book(PULSE, "2025-11-22", "10:00")),
                says("Pronto! Agendei seu test drive do Fiat Pulse para sábado, 22/11, às 10:00."),
            ),
            says=("Agendei seu test drive do Fiat Pulse",),
            actions=(BookTestDrive,),
        )
    )
    assert stored_test_drives(db) == [(PULSE, SATURDAY_10AM, "booked", SATURDAY_10AM)]
    [booked] = standin.results("book_test_drive")
    assert booked["test_drive"]["when"] == "sábado, 22/11, às 10:00"

    customer.play(
        Turn(
            "tenho algum test drive marcado?",
            (says("Sim: o do Fiat Pulse está agendado para sábado, 22/11, às 10:00."),),
            says=("está agendado para sábado",),
        )
    )
    assert "id 1: sábado, 22/11, às 10:00, Fiat Pulse Audace 1.0 Turbo 2023" in standin.context()

    customer.play(
        Turn(
            "consigo mudar pra sábado às 14h?",
            (
                calls(call("reschedule_test_drive", test_drive_id=1, date="2025-11-22", time="14:00")),
                says("Às 14h a loja já fechou: aos sábados atendemos das 9h às 13h. Pode ser às 11h?"),
            ),
            says=("Pode ser às 11h?",),
        )
    )
    [refused] = standin.results("reschedule_test_drive")
    assert "fechada" in refused["error"] and "das 9h às 13h" in refused["error"]
    assert stored_test_drives(db) == [(PULSE, SATURDAY_10AM, "booked", SATURDAY_10AM)]

    customer.play(
        Turn(
            "pode ser sexta às 15h então",
            (
                calls(call("reschedule_test_drive", test_drive_id=1, date="2025-11-21", time="15:00")),
                says("Remarquei para sexta, 21/11, às 15:00."),
            ),
            says=("Remarquei para sexta",),
            actions=(RescheduleTestDrive,),
        )
    )
    assert stored_test_drives(db) == [(PULSE, FRIDAY_3PM, "rescheduled", SATURDAY_10AM)]
    assert customer.replies[-1].actions == [
        RescheduleTestDrive(
            test_drive_id=1, vehicle_id=PULSE, starts_at=FRIDAY_3PM, previous_starts_at=SATURDAY_10AM
        )
    ]

    customer.play(
        Turn(
            "acho que não vou conseguir ir, pode cancelar",
            (
                calls(call("list_my_test_drives")),
                calls(call("cancel_test_drive", test_drive_id=1)),
                says("Cancelei seu test drive de sexta. Quando quiser remarcar, é só chamar!"),
            ),
            says=("Cancelei",),
            actions=(CancelTestDrive,),
        )
    )
    assert stored_test_drives(db) == [(PULSE, FRIDAY_3PM, "cancelled", SATURDAY_10AM)]
    assert "test_drive" not in customer.state.facts

    customer.play(
        Turn(
            "qual o endereço de vocês mesmo?",
            (says("Ficamos na Av. Paulista, 1000, Bela Vista, São Paulo - SP."),),
            says=("Av. Paulista, 1000",),
        )
    )
    assert "Av. Paulista, 1000, Bela Vista, São Paulo - SP" in standin.system_prompt()

    handoff_reply = customer.play(
        Turn(
            "obrigado! quero falar com um vendedor sobre o preço",
            (
                calls(call("hand_off_to_person", reason="negociação", note="Quer negociar o Pulse")),
                says("Claro! Um consultor vai falar com você em breve."),
            ),
            actions=(Handoff,),
        )
    )
    [handoff] = handoff_reply.actions
    assert isinstance(handoff, Handoff)
    assert "Nenhum test drive ativo." in handoff.summary


def test_a_handoff_summary_lists_the_customers_bookings_as_stored(customer: Customer, db: psycopg.Connection):
    customer.play(
        Turn(
            "quero testar o corolla sábado às 10h",
            (
                calls(call("search_vehicles", model="Corolla")),
                calls(book(COROLLA, "2025-11-22", "10:00")),
                says("Pronto! Agendei o Corolla para sábado, 22/11, às 10:00."),
            ),
            actions=(BookTestDrive,),
        )
    )
    reply = customer.play(
        Turn(
            "quero falar com uma pessoa sobre o financiamento",
            (
                calls(call("hand_off_to_person", reason="financiamento", note="Quer financiar com 40 mil")),
                says("Claro! Um consultor vai falar com você em breve."),
            ),
            actions=(Handoff,),
        )
    )

    [handoff] = reply.actions
    assert isinstance(handoff, Handoff)
    assert handoff.reason == "financiamento"
    assert "Maria Silva (5511987654321) pediu para falar com um atendente." in handoff.summary
    assert (
        "Test drives ativos: id 1: sábado, 22/11, às 10:00, Toyota Corolla XEi 2.0 2024." in handoff.summary
    )
    assert "Nota do assistente: Quer financiar com 40 mil" in handoff.summary
    assert len(stored_test_drives(db)) == 1


def test_a_handoff_the_model_misses_still_lists_the_bookings(customer: Customer):
    customer.play(
        Turn(
            "agenda o civic pra sexta às 15h",
            (calls(book(CIVIC, "2025-11-21", "15:00")), says("Agendei o Civic para sexta, 21/11, às 15:00.")),
            actions=(BookTestDrive,),
        )
    )
    reply = customer.play(
        Turn(
            "quero falar com um atendente",
            (says("Posso ajudar com mais alguma coisa?"),),
            says=("Um atendente vai falar com você em breve.",),
            actions=(Handoff,),
        )
    )

    [handoff] = reply.actions
    assert isinstance(handoff, Handoff)
    assert (
        "Test drives ativos: id 1: sexta-feira, 21/11, às 15:00, Honda Civic EXL 2.0 2021." in handoff.summary
    )


def test_a_model_that_claims_a_booking_it_did_not_make_never_reaches_the_customer(
    customer: Customer, standin: LLMStandIn, db: psycopg.Connection
):
    before = fallbacks("unbacked_claim")

    customer.play(
        Turn(
            "quero fazer um test drive do corolla",
            (
                says("Pronto, agendei seu test drive do Corolla para amanhã às 10h!"),
                says("Agendado! Te esperamos amanhã às 10h."),
            ),
            says=("Qual dia fica bom para você?",),
            never_says=("agendei", "agendado"),
        )
    )

    assert stored_test_drives(db) == []
    assert fallbacks("unbacked_claim") == before + 1
    correction = standin.requests()[-1]["messages"][-1]
    assert correction["role"] == "system" and "nenhuma ferramenta fez isso" in correction["content"]
    assert customer.state.pending_test_drive is not None  # the rules took over the booking

    # The next burst goes to the model again, which finishes the rules' booking through the tool.
    customer.play(
        Turn(
            "amanhã às 10h",
            (
                calls(book(COROLLA, "2025-11-20", "10:00")),
                says("Pronto! Agendei seu test drive do Corolla para quinta-feira, 20/11, às 10:00."),
            ),
            says=("Agendei seu test drive do Corolla",),
            actions=(BookTestDrive,),
        )
    )
    assert "Um test drive estava sendo agendado (já dito: carro: Toyota Corolla XEi 2.0 2024)" in (
        standin.context()
    )
    assert customer.state.pending_test_drive is None
    thursday = dt.datetime(2025, 11, 20, 10, 0, tzinfo=SAO_PAULO)
    assert stored_test_drives(db) == [(COROLLA, thursday, "booked", thursday)]


def test_a_model_corrected_once_books_through_the_tool_and_may_then_say_so(
    customer: Customer, standin: LLMStandIn, db: psycopg.Connection
):
    customer.play(
        Turn(
            "pode marcar o civic sexta às 15h?",
            (
                says("Marquei para sexta às 15h!"),
                calls(book(CIVIC, "2025-11-21", "15:00")),
                says("Pronto! Agendei o Civic para sexta, 21/11, às 15:00."),
            ),
            says=("Pronto! Agendei o Civic para sexta, 21/11, às 15:00.",),
            never_says=("Marquei",),
            actions=(BookTestDrive,),
        )
    )

    assert stored_test_drives(db) == [(CIVIC, FRIDAY_3PM, "booked", FRIDAY_3PM)]


def test_a_model_that_claims_a_cancellation_it_did_not_make_leaves_the_booking_and_the_customer_informed(
    customer: Customer, db: psycopg.Connection
):
    customer.play(
        Turn(
            "agenda o civic pra sexta às 15h",
            (calls(book(CIVIC, "2025-11-21", "15:00")), says("Agendei o Civic para sexta, 21/11, às 15:00.")),
            actions=(BookTestDrive,),
        )
    )
    customer.play(
        Turn(
            "qual o telefone da loja?",
            (says("Cancelei seu test drive. O telefone é (11) 3000-0000."), says("Foi cancelado, ok?")),
            never_says=("cancelei", "cancelado"),
        )
    )

    assert stored_test_drives(db) == [(CIVIC, FRIDAY_3PM, "booked", FRIDAY_3PM)]


def test_bad_arguments_and_unknown_tools_get_errors_and_the_model_still_answers(
    customer: Customer, standin: LLMStandIn, db: psycopg.Connection
):
    before = sum(fallbacks(reason) for reason in ("malformed", "tool_loop", "unbacked_claim"))

    customer.play(
        Turn(
            "quero um test drive amanhã de manhã",
            (
                calls(
                    call("book_test_drive", date="amanhã", time="10h"),
                    call("fly_to_the_moon", speed="max"),
                    ToolUse("get_vehicle", "{not json"),
                    call("cancel_test_drive", test_drive_id=99),
                ),
                says("Claro! Qual horário amanhã? Atendemos das 9h às 18h."),
            ),
            says=("Qual horário amanhã?",),
        )
    )

    [bad_booking] = standin.results("book_test_drive")
    [unknown] = standin.results("fly_to_the_moon")
    [bad_json] = standin.results("get_vehicle")
    [not_theirs] = standin.results("cancel_test_drive")
    assert "argumentos inválidos para book_test_drive" in bad_booking["error"]
    assert "ferramenta desconhecida: 'fly_to_the_moon'" in unknown["error"]
    assert "argumentos inválidos para get_vehicle" in bad_json["error"]
    assert "não tem test drive ativo com id 99" in not_theirs["error"]
    assert stored_test_drives(db) == []
    assert sum(fallbacks(reason) for reason in ("malformed", "tool_loop", "unbacked_claim")) == before


def test_a_booking_stands_and_is_confirmed_when_the_model_fails_after_making_it(
    customer: Customer, db: psycopg.Connection
):
    before = fallbacks("http_status")

    customer.play(
        Turn(
            "agenda o corolla sábado às 10h",
            (calls(book(COROLLA, "2025-11-22", "10:00")), CannedResponse(status=500, body={"error": {}})),
            says=(
                "Seu test drive do Toyota Corolla XEi 2.0 2024 está agendado para sábado, 22/11, às 10:00.",
            ),
            actions=(BookTestDrive,),
        )
    )

    assert stored_test_drives(db) == [(COROLLA, SATURDAY_10AM, "booked", SATURDAY_10AM)]
    assert fallbacks("http_status") == before + 1


def test_the_same_burst_delivered_twice_books_one_test_drive(customer: Customer, db: psycopg.Connection):
    turn = Turn(
        "agenda o corolla sábado às 10h",
        (
            calls(book(COROLLA, "2025-11-22", "10:00")),
            says("Agendei o Corolla para sábado, 22/11, às 10:00."),
        ),
        actions=(BookTestDrive,),
    )
    state = customer.state

    customer.play(turn)
    customer.state = state  # the worker died before storing the state: the burst is read again
    customer.play(turn)

    assert stored_test_drives(db) == [(COROLLA, SATURDAY_10AM, "booked", SATURDAY_10AM)]


def test_a_booking_without_a_car_is_chosen_at_the_store(
    customer: Customer, standin: LLMStandIn, db: psycopg.Connection
):
    customer.play(
        Turn(
            "quero ir lá testar uns carros sexta às 15h, ainda não sei qual",
            (
                calls(book(None, "2025-11-21", "15:00")),
                says("Agendei para sexta, 21/11, às 15:00: na loja você escolhe o carro com um consultor."),
            ),
            actions=(BookTestDrive,),
        )
    )

    [booked] = standin.results("book_test_drive")
    assert booked["test_drive"]["vehicle"] == "a escolher na loja"
    assert stored_test_drives(db) == [(None, FRIDAY_3PM, "booked", FRIDAY_3PM)]
