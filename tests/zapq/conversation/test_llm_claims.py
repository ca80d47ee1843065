"""What the LLM engine reads as a claim that a test drive was booked, moved or cancelled; what backs one."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.zapq.conversation.messages import WA_ID, WEDNESDAY_10AM
from zapq.conversation.dealership import default_dealership
from zapq.conversation.llm_claims import ClaimKind, unbacked_claims
from zapq.conversation.llm_tools import Booked, BurstTools, Cancelled, Change, Rescheduled
from zapq.conversation.memory_inventory import InMemoryInventory
from zapq.conversation.when import SAO_PAULO, local_now

SATURDAY_10AM = dt.datetime(2025, 11, 22, 10, 0, tzinfo=SAO_PAULO)


def tools_with(inventory: InMemoryInventory, changes: list[Change]) -> BurstTools:
    tools = BurstTools(WA_ID, local_now(WEDNESDAY_10AM), inventory, default_dealership())
    tools.changes.extend(changes)
    return tools


@pytest.mark.parametrize(
    ("text", "unbacked"),
    [
        ("Pronto, agendei seu test drive para sábado!", ["booked"]),
        ("AGENDÉI pra você!", ["booked"]),
        ("Seu test drive está agendado para sábado às 10h.", ["booked"]),
        ("Ficou marcado para sábado.", ["booked"]),
        ("Remarquei para sexta às 15h.", ["rescheduled"]),
        ("Seu test drive foi reagendado.", ["rescheduled"]),
        ("Cancelei seu test drive.", ["cancelled"]),
        ("O test drive foi cancelado.", ["cancelled"]),
        ("Agendei o novo horário e cancelei o antigo.", ["booked", "cancelled"]),
        ("Quer agendar um test drive?", []),
        ("Posso remarcar ou cancelar quando você quiser.", []),
        ("Ainda não está agendado: qual horário fica bom?", []),
        ("Você não tem nenhum test drive marcado.", []),
        ("O Corolla 2024 custa R$ 139.990,00.", []),
    ],
    ids=["agendei", "accents-and-case", "state", "ficou-marcado", "remarquei", "reagendado", "cancelei",
         "cancelado", "two-claims", "question", "offer", "negated", "negated-state", "no-claim"],
)  # fmt: skip
def test_a_claim_with_no_tool_behind_it_is_caught(text: str, unbacked: list[ClaimKind]):
    assert unbacked_claims(text, tools_with(InMemoryInventory(), [])) == unbacked


def test_a_claim_is_backed_by_the_tool_that_made_the_change_in_this_burst():
    inventory = InMemoryInventory()
    corolla = inventory.get(1)
    booked = Booked(1, corolla, SATURDAY_10AM)

    assert unbacked_claims("Agendei para sábado!", tools_with(inventory, [booked])) == []
    assert unbacked_claims("Remarquei para sábado!", tools_with(inventory, [booked])) == ["rescheduled"]
    assert unbacked_claims("Cancelei o de sábado.", tools_with(inventory, [booked])) == ["cancelled"]


def test_a_booking_held_before_this_burst_backs_its_state_but_not_a_new_deed():
    inventory = InMemoryInventory()
    test_drive_id = inventory.book(WA_ID, 1, SATURDAY_10AM)
    tools = tools_with(inventory, [])

    assert unbacked_claims("Seu test drive está agendado para sábado.", tools) == []
    assert unbacked_claims("Agendei mais um para segunda.", tools) == ["booked"]
    assert unbacked_claims("Ele foi remarcado.", tools) == ["rescheduled"]  # booked, never moved

    moved = inventory.reschedule(test_drive_id, WA_ID, SATURDAY_10AM + dt.timedelta(hours=1))
    assert moved is not None
    assert unbacked_claims("Ele está remarcado para as 11h.", tools) == []
    assert (
        unbacked_claims(
            "Pronto, remarquei.", tools_with(inventory, [Rescheduled(moved, None, SATURDAY_10AM)])
        )
        == []
    )
    cancelled = inventory.cancel(test_drive_id, WA_ID)
    assert cancelled is not None
    assert unbacked_claims("Cancelei.", tools_with(inventory, [Cancelled(cancelled, None)])) == []


def test_another_customers_booking_backs_nothing():
    inventory = InMemoryInventory()
    inventory.book("5511900000000", 1, SATURDAY_10AM)

    assert unbacked_claims("Seu test drive está agendado.", tools_with(inventory, [])) == ["booked"]
