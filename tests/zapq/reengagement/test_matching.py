"""Which new car fits which lead's words, and what price the lead saw: pure functions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from zapq.conversation.vehicle import Vehicle
from zapq.reengagement.matching import (
    Arrival,
    CriteriaMatcher,
    Lead,
    LeadMessage,
    PriceChange,
    dropped_since,
    price_seen,
)

T0 = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def car(vehicle_id: int, make: str, model: str, price: int, body_type: str = "sedan") -> Vehicle:
    return Vehicle(vehicle_id, make, model, "", 2023, Decimal(price), "prata", body_type, "available")


def lead(*messages: tuple[str, dt.datetime], shown: frozenset[int] = frozenset()) -> Lead:
    return Lead(
        phone_number_id="1", wa_id="55", profile_name="Ana", last_inbound_at=T0, last_reply_at=T0,
        recent_sends=0, messages=tuple(LeadMessage(text, at) for text, at in messages),
        asked_vehicle_ids=shown,
    )  # fmt: skip


COROLLA = car(1, "Toyota", "Corolla", 139_990)
COMPASS = car(2, "Jeep", "Compass", 150_000, "suv")
ONIX = car(3, "Chevrolet", "Onix", 79_900, "hatch")
MATCHER = CriteriaMatcher((("Toyota", "Corolla"), ("Jeep", "Compass"), ("Chevrolet", "Onix")))
LATER = T0 + dt.timedelta(days=1)


def test_a_car_of_the_model_asked_for_arriving_later_is_offered():
    arrivals = [Arrival(COROLLA, LATER), Arrival(COMPASS, LATER)]
    assert MATCHER.matching(lead(("vocês têm Corolla?", T0)), arrivals) == [Arrival(COROLLA, LATER)]


def test_a_budget_is_a_price_range_and_a_body_type_narrows_it():
    asked = lead(("quero um SUV até 120 mil", T0))
    assert MATCHER.matching(asked, [Arrival(COMPASS, LATER)]) == []  # too dear
    cheap_suv = car(4, "Renault", "Duster", 110_000, "suv")
    assert MATCHER.matching(asked, [Arrival(cheap_suv, LATER), Arrival(ONIX, LATER)]) == [
        Arrival(cheap_suv, LATER)
    ]


def test_a_car_that_was_already_in_stock_when_they_asked_or_already_shown_is_not_news():
    assert MATCHER.matching(lead(("tem Onix?", T0)), [Arrival(ONIX, T0 - dt.timedelta(hours=1))]) == []
    assert MATCHER.matching(lead(("tem Onix?", T0), shown=frozenset({3})), [Arrival(ONIX, LATER)]) == []


def test_small_talk_wishes_for_nothing():
    assert MATCHER.matching(lead(("oi, bom dia", T0), ("obrigado", T0)), [Arrival(ONIX, LATER)]) == []


def test_the_price_a_lead_saw_is_the_one_before_the_first_change_after_they_wrote():
    changes = [
        PriceChange(Decimal(150_000), Decimal(145_000), T0 - dt.timedelta(days=2)),
        PriceChange(Decimal(145_000), Decimal(139_990), T0 + dt.timedelta(days=1)),
        PriceChange(Decimal(139_990), Decimal(135_000), T0 + dt.timedelta(days=2)),
    ]
    assert price_seen(Decimal(135_000), changes, T0) == Decimal(145_000)
    assert dropped_since(Decimal(135_000), changes, T0) == Decimal(145_000)


def test_no_drop_when_the_price_went_back_up_or_never_changed():
    up_again = [
        PriceChange(Decimal(100), Decimal(90), T0 + dt.timedelta(hours=1)),
        PriceChange(Decimal(90), Decimal(110), T0 + dt.timedelta(hours=2)),
    ]
    assert dropped_since(Decimal(110), up_again, T0) is None
    assert dropped_since(Decimal(100), [], T0) is None
