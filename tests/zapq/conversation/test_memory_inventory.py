"""The in-memory inventory's own rules; test_inventory.py checks its answers against PostgreSQL's."""

from __future__ import annotations

import datetime as dt

import pytest

from zapq.conversation.memory_inventory import InMemoryInventory, inventory_key
from zapq.conversation.seed import SEED_CARS
from zapq.conversation.when import SAO_PAULO

SATURDAY_10AM = dt.datetime(2025, 11, 22, 10, 0, tzinfo=SAO_PAULO)


def test_it_starts_with_the_demo_stock_and_restocking_it_adds_nothing():
    inventory = InMemoryInventory()

    assert inventory.stock(SEED_CARS) == 0
    assert len(inventory.vehicles) == len(SEED_CARS)
    assert inventory.get(inventory.vehicle_id("ZQ-0015")) == inventory.search(model="hb 20")[0]


def test_stocked_names_are_keyed_as_postgresql_keys_them():
    assert inventory_key("T-Cross") == "tcross"
    assert inventory_key("CITROËN") == inventory_key("Citroën") == "citroen"
    assert inventory_key("ýﬁ") == ""  # letters SQL's translate() does not list are dropped, not folded


def test_a_booking_for_a_car_not_in_stock_or_without_a_time_zone_is_refused():
    inventory = InMemoryInventory()

    with pytest.raises(ValueError, match="no vehicle has id 999"):
        inventory.book("5511987654321", 999, SATURDAY_10AM)
    with pytest.raises(ValueError, match="time zone"):
        inventory.book("5511987654321", None, SATURDAY_10AM.replace(tzinfo=None))
    assert inventory.test_drives == []
