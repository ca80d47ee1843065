"""`InventoryLookup` kept in memory, answering as `PostgresInventory` does: engines tested with no database.

Shipped beside the real one, as procrastinate ships its `InMemoryConnector`: the engines' tests run in
seconds over the demo stock of `make seed`, and tests/zapq/conversation/test_inventory.py checks, query
by query, that this class and PostgreSQL give the same answers. Not for a worker: one process, no locks.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from decimal import Decimal

import msgspec

from zapq.conversation.inventory import DEFAULT_SEARCH_LIMIT
from zapq.conversation.reading import search_key
from zapq.conversation.seed import SEED_CARS, StockedCar
from zapq.conversation.vehicle import Vehicle

# What the vehicles table's CHECKs and column types accept (migration 0003).
BODY_TYPES = frozenset({"hatch", "sedan", "suv", "pickup"})
STATUSES = frozenset({"available", "reserved", "sold"})
CENTS = Decimal("0.01")
MAX_PRICE_EXCLUSIVE = Decimal(10) ** 10
YEARS = range(-(2**31), 2**31)

# The accents SQL's inventory_key translates; any other character outside a-z0-9 is dropped.
_SQL_ACCENTS = str.maketrans("áàâãäéèêëíìîïóòôõöúùûüçñ", "aaaaaeeeeiiiiooooouuuucn")


def inventory_key(stocked_name: str) -> str:
    """SQL's inventory_key (migration 0003) on a stocked make or model: 'T-Cross' -> 'tcross'.

    Not `reading.search_key`, which folds what customers type: the two differ on rare letters
    ('ý', 'ﬁ'), and the stocked side must match what PostgreSQL computes.
    """
    return re.sub(r"[^a-z0-9]", "", stocked_name.lower().translate(_SQL_ACCENTS))


class BookedTestDrive(msgspec.Struct, frozen=True):
    id: int
    wa_id: str
    vehicle_id: int | None
    starts_at: dt.datetime


class InMemoryInventory:
    """`InventoryLookup` over a list of cars, starting with `cars` stocked as `make seed` stocks them.

    Ids are drawn as PostgreSQL's sequences draw them after a fresh schema (one for every car
    offered and every booking attempted, even those already stored), so both give a car the same id.
    """

    def __init__(self, cars: Iterable[StockedCar] = SEED_CARS) -> None:
        self.vehicles: dict[int, Vehicle] = {}
        self.test_drives: list[BookedTestDrive] = []
        self._ids_by_stock_code: dict[str, int] = {}
        self._last_vehicle_id = 0
        self._last_test_drive_id = 0
        self.stock(cars)

    def stock(self, cars: Iterable[StockedCar]) -> int:
        """`seed_inventory`: add the cars whose stock code is new; return how many were added.

        Raises:
          ValueError: a car the table's constraints refuse; then none of `cars` is added (PostgreSQL
            would still have used up ids, so later ids differ).
        """
        offered = list(cars)
        for car in offered:
            _check_stockable(car)
        added = 0
        for car in offered:
            self._last_vehicle_id += 1
            if car.stock_code in self._ids_by_stock_code:
                continue
            self._ids_by_stock_code[car.stock_code] = self._last_vehicle_id
            self.vehicles[self._last_vehicle_id] = Vehicle(
                self._last_vehicle_id, car.make, car.model, car.trim_level, car.year,
                _as_stored_price(car.price_brl), car.colour, car.body_type, car.status,
            )  # fmt: skip
            added += 1
        return added

    def vehicle_id(self, stock_code: str) -> int:
        """The id of the car stocked under `stock_code`; KeyError if none is."""
        return self._ids_by_stock_code[stock_code]

    def search(
        self,
        *,
        make: str | None = None,
        model: str | None = None,
        year: int | None = None,
        max_price: Decimal | None = None,
        body_type: str | None = None,
        limit: int = DEFAULT_SEARCH_LIMIT,
    ) -> list[Vehicle]:
        """`search_vehicles`: available cars matching every given filter, cheapest first."""
        if limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        make_key = search_key(make) if make else ""
        model_key = search_key(model) if model else ""
        ceiling = Decimal(max_price) if max_price is not None else None
        if ceiling is not None and ceiling.is_nan():
            ceiling = None  # PostgreSQL's numeric NaN is above every price
        matches = [
            vehicle
            for vehicle in self.vehicles.values()
            if vehicle.status == "available"
            and (not make_key or inventory_key(vehicle.make) == make_key)
            and (not model_key or inventory_key(vehicle.model).startswith(model_key))
            and (year is None or vehicle.year == year)
            and (ceiling is None or vehicle.price <= ceiling)
            and (not body_type or vehicle.body_type == body_type)
        ]
        matches.sort(key=lambda vehicle: (vehicle.price, -vehicle.year, vehicle.id))
        return matches[:limit]

    def get(self, vehicle_id: int) -> Vehicle | None:
        return self.vehicles.get(vehicle_id)

    def book(self, wa_id: str, vehicle_id: int | None, starts_at: dt.datetime) -> int:
        """`book_test_drive`: booking the same customer and time again returns the first booking's id.

        Raises:
          ValueError: `starts_at` has no time zone, or `vehicle_id` names no car (the foreign key).
        """
        if starts_at.tzinfo is None:
            raise ValueError("starts_at needs a time zone")
        self._last_test_drive_id += 1
        for booked in self.test_drives:
            if (booked.wa_id, booked.starts_at) == (wa_id, starts_at):
                return booked.id
        if vehicle_id is not None and vehicle_id not in self.vehicles:
            raise ValueError(f"no vehicle has id {vehicle_id}")
        self.test_drives.append(BookedTestDrive(self._last_test_drive_id, wa_id, vehicle_id, starts_at))
        return self._last_test_drive_id

    def models(self) -> list[tuple[str, str]]:
        """(make, model) of every available car, in code point order (the C.UTF-8 collation's)."""
        return sorted(
            {
                (vehicle.make, vehicle.model)
                for vehicle in self.vehicles.values()
                if vehicle.status == "available"
            }
        )


def _as_stored_price(price_brl: int) -> Decimal:
    return Decimal(price_brl).quantize(CENTS)


def _check_stockable(car: StockedCar) -> None:
    if car.body_type not in BODY_TYPES:
        raise ValueError(
            f"{car.stock_code}: body_type must be one of {sorted(BODY_TYPES)}, got {car.body_type!r}"
        )
    if car.status not in STATUSES:
        raise ValueError(f"{car.stock_code}: status must be one of {sorted(STATUSES)}, got {car.status!r}")
    if car.year not in YEARS:
        raise ValueError(f"{car.stock_code}: year must fit PostgreSQL's integer, got {car.year}")
    if any("\x00" in text for text in (car.stock_code, car.make, car.model, car.trim_level, car.colour)):
        raise ValueError(f"{car.stock_code!r}: PostgreSQL text cannot hold NUL characters")
    if not 0 < _as_stored_price(car.price_brl) < MAX_PRICE_EXCLUSIVE:
        raise ValueError(f"{car.stock_code}: price_brl must be above 0 and below 10^10, got {car.price_brl}")
