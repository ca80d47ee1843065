from __future__ import annotations

import datetime as dt
from decimal import Decimal

from tests.zapq.conversation.messages import burst, media
from zapq.conversation.reading import VehicleQuery, find_budget, find_vehicle_queries, fold, read_batch

IN_STOCK = [("Volkswagen", "T-Cross"), ("Honda", "HR-V"), ("Hyundai", "HB20")]
WEDNESDAY = dt.date(2025, 11, 19)


def test_folding_drops_case_accents_and_extra_spaces():
    assert fold("  Vocês   TÊM o Corolla?  ") == "voces tem o corolla?"
    assert fold("ver_carros") == "ver carros"


def test_budgets_are_read_in_reais():
    assert find_budget("suv ate 120 mil") == Decimal(120_000)
    assert find_budget("abaixo de r$ 90.000,00") == Decimal(90_000)
    assert find_budget("no maximo 80k") == Decimal(80_000)
    assert find_budget("ate 95") == Decimal(95_000)
    assert find_budget("ate 10h") is None
    assert find_budget("ate amanha") is None


def test_models_are_recognised_with_or_without_separators():
    for text in ["t-cross", "t cross", "tcross"]:
        assert find_vehicle_queries(text, IN_STOCK) == [VehicleQuery(make="Volkswagen", model="T-Cross")]
    assert find_vehicle_queries("hr v 2023", IN_STOCK) == [
        VehicleQuery(make="Honda", model="HR-V", year=2023)
    ]


def test_the_longest_model_name_wins():
    assert find_vehicle_queries("tem corolla cross?", []) == [
        VehicleQuery(make="Toyota", model="Corolla Cross")
    ]
    assert find_vehicle_queries("hb20s ou hb20", IN_STOCK) == [
        VehicleQuery(make="Hyundai", model="HB20S"),
        VehicleQuery(make="Hyundai", model="HB20"),
    ]


def test_a_make_alone_or_a_budget_alone_is_a_query():
    assert find_vehicle_queries("carros da vw", []) == [VehicleQuery(make="Volkswagen")]
    assert find_vehicle_queries("picape ate 200 mil", []) == [
        VehicleQuery(max_price=Decimal(200_000), body_type="pickup")
    ]
    assert find_vehicle_queries("bom dia", []) == []


def test_a_burst_is_read_as_a_whole():
    reading = read_batch(burst("oi", "tudo bem?", "vocês têm o Corolla 2024?"), IN_STOCK, WEDNESDAY)

    assert reading.greeting == "ola"
    assert reading.asks_how_are_you
    assert reading.queries == [VehicleQuery(make="Toyota", model="Corolla", year=2024)]
    assert not reading.opt_out


def test_shared_contact_names_and_reactions_are_not_read_as_requests():
    reading = read_batch(
        [media("contacts", caption="Vendedor Zé"), media("reaction", caption="👍")], [], WEDNESDAY
    )

    assert not reading.wants_human
    assert reading.media_kinds == ["contacts"]
