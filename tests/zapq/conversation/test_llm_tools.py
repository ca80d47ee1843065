"""The LLM engine's tools on their own, over the in-memory stock: what the model may ask, what it gets back.

The same tools over PostgreSQL, inside whole conversations, are in test_llm_scripts.py.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest

from tests.zapq.conversation.messages import WA_ID, WEDNESDAY_10AM
from zapq.conversation.dealership import default_dealership
from zapq.conversation.engine import BookTestDrive, CancelTestDrive, RescheduleTestDrive
from zapq.conversation.formatting import format_brl
from zapq.conversation.llm_protocol import FunctionCall, ToolCall
from zapq.conversation.llm_tools import MAX_DAYS_AHEAD, TOOL_SPECS, BurstTools
from zapq.conversation.memory_inventory import InMemoryInventory
from zapq.conversation.when import SAO_PAULO, local_now

SATURDAY_10AM = dt.datetime(2025, 11, 22, 10, 0, tzinfo=SAO_PAULO)
FRIDAY_3PM = dt.datetime(2025, 11, 21, 15, 0, tzinfo=SAO_PAULO)
COROLLA, RESERVED_COROLLA, PULSE = 1, 2, 13


def tools_for(inventory: InMemoryInventory, wa_id: str = WA_ID) -> BurstTools:
    return BurstTools(wa_id, local_now(WEDNESDAY_10AM), inventory, default_dealership())


def run(tools: BurstTools, name: str, arguments: dict[str, Any] | str | None = None) -> Any:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments or {})
    return json.loads(tools.run(ToolCall(id="call_1", function=FunctionCall(name=name, arguments=text))))


def test_every_tool_is_offered_with_a_closed_object_schema():
    for spec in TOOL_SPECS:
        function = spec["function"]
        assert spec["type"] == "function"
        assert function["description"], function["name"]
        assert function["parameters"]["type"] == "object"
        assert function["parameters"]["additionalProperties"] is False


@pytest.mark.parametrize(
    ("arguments", "first_cars"),
    [
        ({"fuel": "electric"}, ["BYD Dolphin EV 95 cv 2024"]),
        ({"min_seats": 7, "order": "dearest"}, ["Toyota SW4 SRX 2.8 diesel 4x4 7 lugares 2022"]),
        ({"colour": "Amarelo"}, ["Peugeot 208 Griffe 1.0 Turbo 2024"]),
        (
            {"body_type": "pickup", "transmission": "manual"},
            ["Volkswagen Saveiro Robust 1.6 cabine simples 2021"],
        ),
        (
            {"max_km": 8000, "order": "least_km"},
            ["Peugeot 208 Griffe 1.0 Turbo 2024", "BYD Dolphin EV 95 cv 2024"],
        ),
        ({"make": "VW", "model": "tcross"}, ["Volkswagen T-Cross Comfortline 1.0 TSI 2024"]),
        ({"make": "Volkswagen", "model": "t cross"}, ["Volkswagen T-Cross Comfortline 1.0 TSI 2024"]),
        ({"model": "Corolla", "year": 2024, "max_price": 140000.0}, ["Toyota Corolla XEi 2.0 2024"]),
    ],
    ids=["electric", "seven-seats-dearest", "colour", "manual-pickup", "least-km", "make-alias", "model-key",
         "year-and-budget"],
)  # fmt: skip
def test_a_search_applies_every_filter_and_order_it_is_given(
    inventory: InMemoryInventory, arguments: dict[str, Any], first_cars: list[str]
):
    result = run(tools_for(inventory), "search_vehicles", arguments)

    assert [car["name"] for car in result["vehicles"]][: len(first_cars) or None] == first_cars


def test_a_search_result_carries_what_the_customer_may_ask_with_the_price_written_out(
    inventory: InMemoryInventory,
):
    [corolla] = run(tools_for(inventory), "search_vehicles", {"model": "corolla", "limit": 1})["vehicles"]

    assert corolla == {
        "id": COROLLA,
        "name": "Toyota Corolla XEi 2.0 2024",
        "year": 2024,
        "price": "R$ 139.990,00",
        "colour": "prata",
        "body_type": "sedan",
        "transmission": "automatic",
        "fuel": "flex",
        "km": 12400,
        "seats": 5,
        "status": "available",
        "description": corolla["description"],
    }
    assert "CVT" in corolla["description"]


@pytest.mark.parametrize(
    ("name", "arguments", "error"),
    [
        ("search_vehicles", {"limit": 11}, "argumentos inválidos para search_vehicles"),
        ("search_vehicles", {"body_type": "van"}, "argumentos inválidos"),
        ("search_vehicles", {"order": "random"}, "argumentos inválidos"),
        ("search_vehicles", {"sort": "price"}, "unknown field `sort`"),
        ("get_vehicle", {"vehicle_id": "um"}, "argumentos inválidos para get_vehicle"),
        ("get_vehicle", {"vehicle_id": 999}, "não existe carro com id 999"),
        ("get_vehicle", "[1, 2]", "argumentos inválidos"),
        ("book_test_drive", {"date": "2025-11-22"}, "missing required field `time`"),
        ("book_test_drive", {"date": "22/11", "time": "10:00"}, "argumentos inválidos"),
        ("book_test_drive", {"date": "2025-11-22", "time": "25:00"}, "argumentos inválidos"),
        ("hand_off_to_person", {"reason": ""}, "argumentos inválidos"),
        ("drop_tables", {}, "ferramenta desconhecida: 'drop_tables'"),
    ],
    ids=["limit", "body-type", "order", "unknown-field", "id-type", "no-such-car", "not-an-object",
         "missing-time", "date-format", "hour", "empty-reason", "unknown-tool"],
)  # fmt: skip
def test_a_bad_call_gets_an_error_the_model_can_read_and_changes_nothing(
    inventory: InMemoryInventory, name: str, arguments: dict[str, Any] | str, error: str
):
    tools = tools_for(inventory)

    result = run(tools, name, arguments)

    assert error in result["error"]
    assert (tools.changes, tools.handoff, inventory.test_drives) == ([], None, [])


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"date": "2025-11-19", "time": "09:00"}, "esse horário já passou"),
        ({"date": "2025-11-23", "time": "10:00"}, "a loja não abre em domingo, 23/11"),
        ({"date": "2025-11-22", "time": "13:00"}, "em sábado, 22/11 atendemos das 9h às 13h"),
        ({"date": "2025-11-20", "time": "08:59"}, "a loja está fechada nesse horário"),
        ({"date": "2026-02-02", "time": "10:00"}, f"próximos {MAX_DAYS_AHEAD} dias"),
        ({"date": "2025-11-22", "time": "10:00", "vehicle_id": RESERVED_COROLLA}, "não está mais disponível"),
        ({"date": "2025-11-22", "time": "10:00", "vehicle_id": 999}, "não existe carro com id 999"),
    ],
    ids=["past", "closed-day", "closing-time", "before-opening", "too-far", "reserved-car", "no-such-car"],
)
def test_a_booking_outside_what_the_store_can_take_is_refused_and_not_stored(
    inventory: InMemoryInventory, arguments: dict[str, Any], error: str
):
    tools = tools_for(inventory)

    result = run(tools, "book_test_drive", arguments)

    assert error in result["error"]
    assert (tools.changes, inventory.test_drives) == ([], [])


def test_a_booking_is_stored_reported_and_confirmed_from_the_row(inventory: InMemoryInventory):
    tools = tools_for(inventory)

    result = run(tools, "book_test_drive", {"date": "2025-11-22", "time": "10:00", "vehicle_id": COROLLA})

    assert result == {
        "ok": True,
        "test_drive": {
            "id": 1,
            "status": "booked",
            "vehicle": "Toyota Corolla XEi 2.0 2024",
            "vehicle_id": COROLLA,
            "date": "2025-11-22",
            "time": "10:00",
            "when": "sábado, 22/11, às 10:00",
        },
    }
    assert [(drive.vehicle_id, drive.starts_at) for drive in inventory.active_test_drives(WA_ID)] == [
        (COROLLA, SATURDAY_10AM)
    ]
    assert tools.actions() == [BookTestDrive(vehicle_id=COROLLA, starts_at=SATURDAY_10AM)]
    assert tools.confirmations() == [
        "Seu test drive do Toyota Corolla XEi 2.0 2024 está agendado para sábado, 22/11, às 10:00."
    ]


def test_a_move_and_a_cancellation_touch_only_the_customers_own_booking(inventory: InMemoryInventory):
    theirs = inventory.book(WA_ID, COROLLA, SATURDAY_10AM)
    someone_elses = inventory.book("5511900000000", PULSE, SATURDAY_10AM)
    tools = tools_for(inventory)

    refused_move = run(
        tools,
        "reschedule_test_drive",
        {"test_drive_id": someone_elses, "date": "2025-11-21", "time": "15:00"},
    )
    refused_cancel = run(tools, "cancel_test_drive", {"test_drive_id": someone_elses})
    moved = run(
        tools, "reschedule_test_drive", {"test_drive_id": theirs, "date": "2025-11-21", "time": "15:00"}
    )
    cancelled = run(tools, "cancel_test_drive", {"test_drive_id": theirs})

    assert "não tem test drive ativo" in refused_move["error"]
    assert "não tem test drive ativo" in refused_cancel["error"]
    assert (
        moved["test_drive"]["status"] == "rescheduled"
        and moved["test_drive"]["when"] == "sexta-feira, 21/11, às 15:00"
    )
    assert cancelled["test_drive"]["status"] == "cancelled"
    assert [drive.id for drive in inventory.active_test_drives("5511900000000")] == [someone_elses]
    assert inventory.active_test_drives(WA_ID) == []
    assert tools.actions() == [
        RescheduleTestDrive(
            test_drive_id=theirs, vehicle_id=COROLLA, starts_at=FRIDAY_3PM, previous_starts_at=SATURDAY_10AM
        ),
        CancelTestDrive(test_drive_id=theirs, vehicle_id=COROLLA, starts_at=FRIDAY_3PM),
    ]
    assert run(tools, "list_my_test_drives") == {"test_drives": []}


def test_a_move_onto_another_of_the_customers_bookings_is_refused(inventory: InMemoryInventory):
    first = inventory.book(WA_ID, COROLLA, SATURDAY_10AM)
    inventory.book(WA_ID, PULSE, FRIDAY_3PM)
    tools = tools_for(inventory)

    result = run(
        tools, "reschedule_test_drive", {"test_drive_id": first, "date": "2025-11-21", "time": "15:00"}
    )

    assert "já tem outro test drive nesse horário" in result["error"]
    assert [drive.starts_at for drive in inventory.active_test_drives(WA_ID)] == [FRIDAY_3PM, SATURDAY_10AM]
    assert tools.changes == []


def test_a_financing_simulation_uses_the_configured_terms_and_says_it_is_indicative(
    inventory: InMemoryInventory,
):
    financing = default_dealership().financing
    price = Decimal(139990)

    default = run(tools_for(inventory), "simulate_financing", {"vehicle_id": COROLLA})
    chosen = run(
        tools_for(inventory),
        "simulate_financing",
        {"vehicle_id": COROLLA, "down_payment": 50000, "months": 36},
    )
    too_little = run(
        tools_for(inventory), "simulate_financing", {"vehicle_id": COROLLA, "down_payment": 1000}
    )
    odd_term = run(tools_for(inventory), "simulate_financing", {"vehicle_id": COROLLA, "months": 13})

    minimum = financing.min_down_payment(price)
    assert default["indicative"] is True and "sujeita a análise de crédito" in default["note"]
    assert default["down_payment"] == format_brl(minimum)
    assert default["installments"] == [
        {"months": months, "installment": format_brl(financing.installment(price, minimum, months))}
        for months in financing.terms_months
    ]
    assert chosen["installments"] == [
        {"months": 36, "installment": format_brl(financing.installment(price, Decimal(50000), 36))}
    ]
    assert "entrada mínima é de 20%" in too_little["error"]
    assert "prazos possíveis: 24, 36, 48, 60 meses" in odd_term["error"]
