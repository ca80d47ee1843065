"""PostgreSQL's inventory, and the in-memory one the engines' tests use answering exactly as it does."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import msgspec
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zapq.conversation.inventory import (
    SEARCH_ORDERS,
    InventoryLookup,
    PostgresInventory,
    book_test_drive,
    get_vehicle,
    search_vehicles,
)
from zapq.conversation.memory_inventory import (
    BODY_TYPES,
    FUELS,
    STATUSES,
    TRANSMISSIONS,
    InMemoryInventory,
)
from zapq.conversation.seed import SEED_CARS, StockedCar, seed_inventory
from zapq.conversation.test_drives import TestDrive
from zapq.conversation.when import SAO_PAULO


def test_search_ignores_case_accents_and_separators(
    postgres_inventory: PostgresInventory, db: psycopg.Connection
):
    [t_cross] = search_vehicles(db, model="tcross")

    assert t_cross.model == "T-Cross"
    assert search_vehicles(db, make="VOLKSWAGEN", model="T Cross") == [t_cross]
    assert [vehicle.model for vehicle in search_vehicles(db, model="hrv")] == ["HR-V"]


def test_search_finds_an_accented_make_typed_without_accents(
    postgres_inventory: PostgresInventory, db: psycopg.Connection
):
    seed_inventory(db, (StockedCar("ZQ-0100", "Citroën", "C3", "Feel 1.0", 2023, 69990, "cinza", "hatch"),))

    assert [(vehicle.make, vehicle.model) for vehicle in search_vehicles(db, make="CITROEN")] == [
        ("Citroën", "C3")
    ]


def test_search_returns_only_available_cars(postgres_inventory: PostgresInventory, db: psycopg.Connection):
    corollas = search_vehicles(db, model="corolla", body_type="sedan")

    assert [(vehicle.year, vehicle.status) for vehicle in corollas] == [(2024, "available")]


def test_search_filters_by_year_budget_and_body_type_cheapest_first(
    postgres_inventory: PostgresInventory, db: psycopg.Connection
):
    suvs = search_vehicles(db, body_type="suv", max_price=Decimal(115_000), limit=10)

    assert [(vehicle.model, vehicle.price) for vehicle in suvs] == [
        ("Spin", Decimal("99990.00")),
        ("Pulse", Decimal("104990.00")),
        ("Kicks", Decimal("104990.00")),
        ("Renegade", Decimal("109990.00")),
        ("Nivus", Decimal("112990.00")),
    ]
    assert [vehicle.model for vehicle in search_vehicles(db, year=2024, limit=2)] == ["208", "T-Cross"]


def test_search_filters_by_transmission_fuel_km_colour_and_seats(
    postgres_inventory: PostgresInventory, db: psycopg.Connection
):
    def models(**filters: Any) -> list[str]:
        return [vehicle.model for vehicle in search_vehicles(db, limit=50, **filters)]

    assert models(transmission="automatic", max_price=Decimal(80_000)) == []
    assert models(transmission="manual", max_price=Decimal(60_000)) == ["Gol", "Mobi", "Kwid"]
    assert models(fuel="electric") == ["Dolphin"]
    assert models(fuel="hybrid") == ["Corolla Cross"]
    assert models(fuel="diesel", body_type="suv") == ["SW4"]
    assert models(max_km=7_000) == ["208", "Dolphin"]
    assert models(colour="LARANJA") == ["Duster"]
    assert models(min_seats=7) == ["Spin", "Commander", "SW4"]


def test_search_orders_by_price_year_or_km_on_request(
    postgres_inventory: PostgresInventory, db: psycopg.Connection
):
    def first(order: Any) -> str:
        [vehicle] = search_vehicles(db, order=order, limit=1)
        return vehicle.model

    assert (first("cheapest"), first("dearest"), first("newest"), first("least_km")) == (
        "Gol",
        "SW4",
        "208",
        "208",
    )
    with pytest.raises(ValueError, match="order must be one of"):
        search_vehicles(db, order="random")  # type: ignore[arg-type]


def test_get_returns_a_car_whatever_its_status(postgres_inventory: PostgresInventory, db: psycopg.Connection):
    row = db.execute("SELECT id FROM vehicles WHERE status = 'reserved'").fetchone()
    assert row is not None

    reserved = get_vehicle(db, row[0])

    assert reserved is not None
    assert (reserved.model, reserved.year, reserved.status) == ("Corolla", 2022, "reserved")
    assert get_vehicle(db, 999_999) is None


def test_booking_the_same_customer_and_time_twice_keeps_one_test_drive(
    postgres_inventory: PostgresInventory, db: psycopg.Connection
):
    [hb20] = search_vehicles(db, model="hb20", body_type="hatch")
    starts_at = dt.datetime(2025, 11, 22, 10, 0, tzinfo=SAO_PAULO)

    first = book_test_drive(db, "5511987654321", hb20.id, starts_at)
    again = book_test_drive(db, "5511987654321", hb20.id, starts_at)
    other_customer = book_test_drive(db, "5521999990000", hb20.id, starts_at)

    assert first == again != other_customer
    assert db.execute("SELECT count(*) FROM test_drives").fetchone() == (2,)


def test_the_lookup_knows_the_models_in_stock(postgres_inventory: PostgresInventory):
    models = postgres_inventory.models()

    assert ("Toyota", "Corolla") in models
    assert len(models) == len({(car.make, car.model) for car in SEED_CARS})


CITROEN_C3 = StockedCar("ZQ-0100", "Citroën", "C3", "Feel 1.0", 2023, 69990, "cinza", "hatch")

# The searches the engines make, and the edges of each filter.
ENGINE_SEARCHES: list[dict[str, Any]] = [
    {}, {"limit": 0}, {"limit": 50}, {"model": "tcross"}, {"make": "VOLKSWAGEN", "model": "T Cross"},
    {"model": "hrv"}, {"model": "corolla"}, {"model": "c"}, {"make": "citroen"}, {"make": "CITROËN"},
    {"make": "Fiat", "model": "Mobi"}, {"make": "vw"}, {"body_type": "suv", "max_price": Decimal(140_000)},
    {"year": 2024, "limit": 2}, {"year": 2019}, {"max_price": Decimal("72990.00")},
    {"max_price": Decimal("72989.999")}, {"max_price": Decimal(0)}, {"body_type": "SUV"},
    {"make": "", "model": " - ", "body_type": ""},  # filters that fold to nothing filter nothing
]  # fmt: skip


def exactly(answer: object) -> str:
    """The answer as printed: Decimal('72990.00') and Decimal('72990') are equal, but read differently."""
    return repr(answer)


def booking(inventory: InventoryLookup, wa_id: str, vehicle_id: int | None, starts_at: dt.datetime) -> object:
    """The test drive's id, or 'refused' (PostgreSQL's foreign key, the in-memory ValueError)."""
    try:
        return inventory.book(wa_id, vehicle_id, starts_at)
    except (ValueError, psycopg.errors.ForeignKeyViolation):
        return "refused"


def stored_test_drives(db: psycopg.Connection) -> list[TestDrive]:
    rows = db.execute(
        "SELECT id, wa_id, vehicle_id, starts_at, status, booked_starts_at FROM test_drives ORDER BY id"
    ).fetchall()
    return [TestDrive(*row) for row in rows]


def kept_test_drives(inventory: InMemoryInventory) -> list[TestDrive]:
    return sorted(inventory.test_drives, key=lambda booked: booked.id)


def test_the_demo_stock_answers_alike_in_memory_and_in_postgresql(
    postgres_inventory: PostgresInventory, db: psycopg.Connection
):
    in_memory = InMemoryInventory()
    assert in_memory.stock([CITROEN_C3, SEED_CARS[0]]) == seed_inventory(db, (CITROEN_C3, SEED_CARS[0])) == 1

    for query in ENGINE_SEARCHES:
        assert exactly(in_memory.search(**query)) == exactly(postgres_inventory.search(**query)), query
    for vehicle_id in range(len(SEED_CARS) + 4):
        assert exactly(in_memory.get(vehicle_id)) == exactly(postgres_inventory.get(vehicle_id)), vehicle_id
    assert in_memory.models() == postgres_inventory.models()
    assert in_memory.vehicle_id("ZQ-0100") == postgres_inventory.search(make="citroen")[0].id


def test_bookings_are_kept_alike_in_memory_and_in_postgresql(
    postgres_inventory: PostgresInventory, db: psycopg.Connection
):
    in_memory = InMemoryInventory()
    saturday_10am = dt.datetime(2025, 11, 22, 10, 0, tzinfo=SAO_PAULO)
    bookings = [
        ("5511987654321", 15, saturday_10am),
        ("5511987654321", 1, saturday_10am.astimezone(dt.UTC)),  # the same instant: the first car stays
        ("5521999990000", None, saturday_10am),
        ("5521999990000", 999_999, saturday_10am + dt.timedelta(hours=1)),  # no such car
        ("5521999990000", 2, saturday_10am + dt.timedelta(hours=1)),  # a reserved car can be tested
    ]

    for wa_id, vehicle_id, starts_at in bookings:
        assert booking(in_memory, wa_id, vehicle_id, starts_at) == booking(
            postgres_inventory, wa_id, vehicle_id, starts_at
        )

    assert kept_test_drives(in_memory) == stored_test_drives(db)


@pytest.mark.parametrize(
    "refused",
    [
        msgspec.structs.replace(CITROEN_C3, body_type="van"),
        msgspec.structs.replace(CITROEN_C3, status="leased"),
        msgspec.structs.replace(CITROEN_C3, price_brl=0),
        msgspec.structs.replace(CITROEN_C3, price_brl=10**10),
        msgspec.structs.replace(CITROEN_C3, year=2**31),
        msgspec.structs.replace(CITROEN_C3, model="C3\x00"),
    ],
)
def test_a_car_the_table_refuses_is_refused_in_memory_too_and_nothing_of_its_batch_is_stocked(
    db: psycopg.Connection, refused: StockedCar
):
    in_memory = InMemoryInventory([])
    batch = (SEED_CARS[0], refused)

    with pytest.raises((psycopg.IntegrityError, psycopg.DataError)):
        seed_inventory(db, batch)
    with pytest.raises(ValueError, match=refused.stock_code):
        in_memory.stock(batch)

    assert in_memory.search() == PostgresInventory(lambda: db).search() == []


# Stocked names mix case, separators and accents; only letters whose lowercase PostgreSQL computes
# the same under any locale (the C locale lowercases ASCII only), plus ones inventory_key drops.
stocked_names = st.text("aAbBc1 -_çãéýﬁ²", min_size=1, max_size=4)
stocks = st.lists(
    st.builds(
        StockedCar,
        stock_code=st.sampled_from("ABCDEFGHIJKL"),
        make=stocked_names,
        model=stocked_names,
        trim_level=st.just(""),
        year=st.integers(2021, 2023),
        price_brl=st.sampled_from([59_990, 72_990, 139_990]) | st.integers(1, 10**9),
        colour=st.just("prata"),
        body_type=st.sampled_from(sorted(BODY_TYPES)),
        status=st.sampled_from(sorted(STATUSES)),
        transmission=st.sampled_from(sorted(TRANSMISSIONS)),
        fuel=st.sampled_from(sorted(FUELS)),
        km=st.sampled_from([0, 30_000, 80_000]) | st.integers(0, 2**31 - 1),
        seats=st.integers(1, 9),
    ),
    max_size=10,
)
typed_names = st.text("aAbBcC1 -_çÇãéÉýÝﬁ²", max_size=4)
budgets = (
    st.decimals(min_value=-1, max_value=10**9, places=3)
    | st.sampled_from([59_990, 72_990, 139_990]).map(Decimal)
    | st.sampled_from([Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
)
# The first two are the same instant.
instants = st.sampled_from(
    [
        dt.datetime(2025, 11, 22, 10, 0, tzinfo=SAO_PAULO),
        dt.datetime(2025, 11, 22, 13, 0, tzinfo=dt.UTC),
        dt.datetime(2025, 11, 22, 11, 0, tzinfo=SAO_PAULO),
    ]
)
customers = st.sampled_from(["5511987654321", "5521999990000"])
test_drive_ids = st.integers(0, 6)
test_drive_steps = st.one_of(
    st.tuples(st.just("book"), customers, st.none() | st.integers(0, 12), instants),
    st.tuples(st.just("reschedule"), test_drive_ids, customers, instants),
    st.tuples(st.just("cancel"), test_drive_ids, customers),
)


def take_step(inventory: InventoryLookup, step: tuple[Any, ...]) -> object:
    """What the inventory answers to one booking, move or cancellation."""
    match step:
        case ("book", wa_id, vehicle_id, starts_at):
            return booking(inventory, wa_id, vehicle_id, starts_at)
        case ("reschedule", test_drive_id, wa_id, starts_at):
            return inventory.reschedule(test_drive_id, wa_id, starts_at)
        case ("cancel", test_drive_id, wa_id):
            return inventory.cancel(test_drive_id, wa_id)
    raise AssertionError(step)


def searches(stock: list[StockedCar]) -> st.SearchStrategy[dict[str, Any]]:
    """Searches naming what is stocked, retyped as a customer might, or anything else."""
    retyped = typed_names
    if stock:
        stocked = [name for car in stock for name in (car.make, car.model)]
        retyped = typed_names | st.sampled_from(stocked).flatmap(
            lambda name: st.sampled_from([name, name.upper(), name.replace("-", " "), name[:2], name + "x"])
        )
    return st.fixed_dictionaries(
        {},
        optional={
            "make": retyped,
            "model": retyped,
            "year": st.integers(2020, 2024),
            "max_price": budgets,
            "body_type": st.sampled_from([*sorted(BODY_TYPES), "", "SUV"]),
            "transmission": st.sampled_from(sorted(TRANSMISSIONS)),
            "fuel": st.sampled_from(sorted(FUELS)),
            "max_km": st.sampled_from([0, 30_000, 79_999]),
            "colour": st.sampled_from(["prata", "PRATA", "azul", ""]),
            "min_seats": st.integers(1, 9),
            "order": st.sampled_from(sorted(SEARCH_ORDERS)),
            "limit": st.integers(0, 12),
        },
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stock=stocks, data=st.data())
def test_any_stock_answers_any_search_and_booking_alike_in_memory_and_in_postgresql(
    db: psycopg.Connection, stock: list[StockedCar], data: st.DataObject
):
    db.execute("TRUNCATE vehicles, test_drives RESTART IDENTITY CASCADE")
    postgres: InventoryLookup = PostgresInventory(lambda: db)
    in_memory = InMemoryInventory([])
    half = len(stock) // 2
    for cars in (stock[:half], stock[half:], stock):  # stocked in two goes, then all again
        assert in_memory.stock(cars) == seed_inventory(db, tuple(cars))

    for query in data.draw(st.lists(searches(stock), max_size=8), label="searches"):
        assert exactly(in_memory.search(**query)) == exactly(postgres.search(**query)), query
    for vehicle_id in range(len(stock) * 3 + 2):
        assert exactly(in_memory.get(vehicle_id)) == exactly(postgres.get(vehicle_id))
    assert in_memory.models() == postgres.models()
    for step in data.draw(st.lists(test_drive_steps, max_size=8), label="test drive steps"):
        assert take_step(in_memory, step) == take_step(postgres, step), step
    assert kept_test_drives(in_memory) == stored_test_drives(db)
    for wa_id in ("5511987654321", "5521999990000"):
        assert in_memory.active_test_drives(wa_id) == postgres.active_test_drives(wa_id)
