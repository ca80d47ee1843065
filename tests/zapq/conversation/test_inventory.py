from __future__ import annotations

import datetime as dt
from decimal import Decimal

import psycopg

from zapq.conversation.inventory import PostgresInventory, book_test_drive, get_vehicle, search_vehicles
from zapq.conversation.seed import SEED_CARS, StockedCar, seed_inventory
from zapq.conversation.when import SAO_PAULO


def test_search_ignores_case_accents_and_separators(inventory: PostgresInventory, db: psycopg.Connection):
    [t_cross] = search_vehicles(db, model="tcross")

    assert t_cross.model == "T-Cross"
    assert search_vehicles(db, make="VOLKSWAGEN", model="T Cross") == [t_cross]
    assert [vehicle.model for vehicle in search_vehicles(db, model="hrv")] == ["HR-V"]


def test_search_finds_an_accented_make_typed_without_accents(
    inventory: PostgresInventory, db: psycopg.Connection
):
    seed_inventory(db, (StockedCar("ZQ-0100", "Citroën", "C3", "Feel 1.0", 2023, 69990, "cinza", "hatch"),))

    assert [(vehicle.make, vehicle.model) for vehicle in search_vehicles(db, make="CITROEN")] == [
        ("Citroën", "C3")
    ]


def test_search_returns_only_available_cars(inventory: PostgresInventory, db: psycopg.Connection):
    corollas = search_vehicles(db, model="corolla")

    assert [(vehicle.year, vehicle.status) for vehicle in corollas] == [(2024, "available")]


def test_search_filters_by_year_budget_and_body_type_cheapest_first(
    inventory: PostgresInventory, db: psycopg.Connection
):
    suvs = search_vehicles(db, body_type="suv", max_price=Decimal(140_000))

    assert [(vehicle.model, vehicle.price) for vehicle in suvs] == [
        ("Pulse", Decimal("104990.00")),
        ("Nivus", Decimal("112990.00")),
        ("T-Cross", Decimal("134990.00")),
        ("Creta", Decimal("139900.00")),
    ]
    assert [vehicle.model for vehicle in search_vehicles(db, year=2024, limit=2)] == ["T-Cross", "Creta"]


def test_get_returns_a_car_whatever_its_status(inventory: PostgresInventory, db: psycopg.Connection):
    row = db.execute("SELECT id FROM vehicles WHERE status = 'reserved'").fetchone()
    assert row is not None

    reserved = get_vehicle(db, row[0])

    assert reserved is not None
    assert (reserved.model, reserved.year, reserved.status) == ("Corolla", 2022, "reserved")
    assert get_vehicle(db, 999_999) is None


def test_booking_the_same_customer_and_time_twice_keeps_one_test_drive(
    inventory: PostgresInventory, db: psycopg.Connection
):
    [hb20] = search_vehicles(db, model="hb20")
    starts_at = dt.datetime(2025, 11, 22, 10, 0, tzinfo=SAO_PAULO)

    first = book_test_drive(db, "5511987654321", hb20.id, starts_at)
    again = book_test_drive(db, "5511987654321", hb20.id, starts_at)
    other_customer = book_test_drive(db, "5521999990000", hb20.id, starts_at)

    assert first == again != other_customer
    assert db.execute("SELECT count(*) FROM test_drives").fetchone() == (2,)


def test_the_lookup_knows_the_models_in_stock(inventory: PostgresInventory):
    models = inventory.models()

    assert ("Toyota", "Corolla") in models
    assert len(models) == len({(car.make, car.model) for car in SEED_CARS})
