"""Which new car fits which lead, and which car a lead saw got cheaper: pure functions.

A lead's wishes are read from their own messages with the rules engine's reader
(`find_vehicle_queries`: make, model, budget, body...), so nothing is parsed back out of
a display string. `InterestMatcher` is the extension point: `semantic_matching.SemanticMatcher`
(the lead's messages against the cars by meaning) is passed to the scan beside `CriteriaMatcher`;
a car any matcher picks is offered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from zapq.conversation.reading import VehicleQuery, find_vehicle_queries, fold, search_key
from zapq.conversation.vehicle import Vehicle


@dataclass(frozen=True)
class LeadMessage:
    text: str
    sent_at: dt.datetime


@dataclass(frozen=True)
class Lead:
    """A customer worth a campaign, with what a matcher may read about them."""

    phone_number_id: str
    wa_id: str
    profile_name: str | None
    last_inbound_at: dt.datetime
    last_reply_at: dt.datetime | None  # our last answer (conversation_turns), if any
    recent_sends: int
    messages: tuple[LeadMessage, ...] = ()  # their texts within the lookback, oldest first
    asked_vehicle_ids: frozenset[int] = frozenset()  # cars shown to them or booked for a test drive
    sent_subjects: frozenset[tuple[str, str]] = field(default_factory=frozenset)  # (campaign, subject)


@dataclass(frozen=True)
class Arrival:
    vehicle: Vehicle
    arrived_at: dt.datetime


class InterestMatcher(Protocol):
    def matching(self, lead: Lead, arrivals: Sequence[Arrival]) -> list[Arrival]:
        """The arrivals this lead would want to hear about."""
        ...


@dataclass(frozen=True)
class Wish:
    query: VehicleQuery
    asked_at: dt.datetime


def wishes(messages: Iterable[LeadMessage], known_models: Iterable[tuple[str, str]]) -> list[Wish]:
    """Every car a lead asked for, with when; a message naming no car, budget or body adds none."""
    models = list(known_models)
    found = []
    for message in messages:
        for query in find_vehicle_queries(fold(message.text), models):
            if query.make or query.model or query.max_price is not None or query.body_type:
                found.append(Wish(query, message.sent_at))
    return found


def fits(query: VehicleQuery, vehicle: Vehicle) -> bool:
    """Every criterion the customer gave holds (the year is a preference, not a criterion)."""
    if query.make and search_key(query.make) != search_key(vehicle.make):
        return False
    if query.model and search_key(query.model) != search_key(vehicle.model):
        return False
    if query.max_price is not None and vehicle.price > query.max_price:
        return False
    if query.body_type and query.body_type != vehicle.body_type:
        return False
    if query.transmission and query.transmission != vehicle.transmission:
        return False
    return not (query.fuel and query.fuel != vehicle.fuel)


@dataclass(frozen=True)
class CriteriaMatcher:
    """By make, model, price range and body: a car that arrived after the lead asked for one like it."""

    known_models: tuple[tuple[str, str], ...] = ()

    def matching(self, lead: Lead, arrivals: Sequence[Arrival]) -> list[Arrival]:
        asked = wishes(lead.messages, self.known_models)

        def wanted(arrival: Arrival) -> bool:
            if arrival.vehicle.id in lead.asked_vehicle_ids:
                return False  # already shown to them
            earlier = (wish for wish in asked if wish.asked_at < arrival.arrived_at)
            return any(fits(wish.query, arrival.vehicle) for wish in earlier)

        return [arrival for arrival in arrivals if wanted(arrival)]


@dataclass(frozen=True)
class PriceChange:
    old_price: Decimal
    new_price: Decimal
    changed_at: dt.datetime


def price_seen(current: Decimal, changes: Sequence[PriceChange], seen_at: dt.datetime) -> Decimal:
    """The price a car had at `seen_at`: the first later change's old price, else today's."""
    later = sorted((change for change in changes if change.changed_at > seen_at), key=lambda c: c.changed_at)
    return later[0].old_price if later else current


def dropped_since(current: Decimal, changes: Sequence[PriceChange], seen_at: dt.datetime) -> Decimal | None:
    """The price the lead saw, when the car is cheaper now than then; else None."""
    seen = price_seen(current, changes, seen_at)
    return seen if current < seen else None
