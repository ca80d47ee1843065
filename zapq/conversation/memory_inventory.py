"""`InventoryLookup` kept in memory, answering as `PostgresInventory` does: engines tested with no database.

Shipped beside the real one, as procrastinate ships its `InMemoryConnector`: the engines' tests run in
seconds over the demo stock of `make seed`, and tests/zapq/conversation/test_inventory.py checks, query
by query, that this class and PostgreSQL give the same answers. Not for a worker: one process, no locks.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from decimal import Decimal

import msgspec

from zapq.conversation.inventory import DEFAULT_SEARCH_LIMIT, SEARCH_ORDERS, SearchOrder
from zapq.conversation.reading import search_key
from zapq.conversation.seed import SEED_CARS, StockedCar
from zapq.conversation.test_drives import TestDrive
from zapq.conversation.vehicle import Vehicle

# What the vehicles table's CHECKs and column types accept (migrations 0003 and 0008).
BODY_TYPES = frozenset({"hatch", "sedan", "suv", "pickup"})
STATUSES = frozenset({"available", "reserved", "sold"})
TRANSMISSIONS = frozenset({"manual", "automatic"})
FUELS = frozenset({"flex", "gasoline", "diesel", "hybrid", "electric"})
SEATS = range(1, 10)
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


class InMemoryInventory:
    """`InventoryLookup` over a list of cars, starting with `cars` stocked as `make seed` stocks them.

    Ids are drawn as PostgreSQL's sequences draw them after a fresh schema (one for every car
    offered and every booking attempted, even those already stored), so both give a car the same id.
    """

    def __init__(self, cars: Iterable[StockedCar] = SEED_CARS) -> None:
        self.vehicles: dict[int, Vehicle] = {}
        self.test_drives: list[TestDrive] = []
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
                car.transmission, car.fuel, car.km, car.seats, car.description,
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
        transmission: str | None = None,
        fuel: str | None = None,
        max_km: int | None = None,
        colour: str | None = None,
        min_seats: int | None = None,
        order: SearchOrder = "cheapest",
        limit: int = DEFAULT_SEARCH_LIMIT,
    ) -> list[Vehicle]:
        """`search_vehicles`: available cars matching every given filter, in `order`."""
        if limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        if order not in SEARCH_ORDERS:
            raise ValueError(f"order must be one of {', '.join(SEARCH_ORDERS)}, got {order!r}")
        make_key = search_key(make) if make else ""
        model_key = search_key(model) if model else ""
        colour_key = search_key(colour) if colour else ""
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
            and (not transmission or vehicle.transmission == transmission)
            and (not fuel or vehicle.fuel == fuel)
            and (max_km is None or vehicle.km <= max_km)
            and (not colour_key or inventory_key(vehicle.colour) == colour_key)
            and (min_seats is None or vehicle.seats >= min_seats)
        ]
        matches.sort(key=_SORT_KEYS[order])
        return matches[:limit]

    def get(self, vehicle_id: int) -> Vehicle | None:
        return self.vehicles.get(vehicle_id)

    def book(self, wa_id: str, vehicle_id: int | None, starts_at: dt.datetime) -> int:
        """`book_test_drive`: booking the same customer and time again returns the active booking's id.

        Raises:
          ValueError: `starts_at` has no time zone, or `vehicle_id` names no car (the foreign key).
        """
        if starts_at.tzinfo is None:
            raise ValueError("starts_at needs a time zone")
        self._last_test_drive_id += 1
        if holder := self._active_at(wa_id, starts_at):
            return holder.id
        if vehicle_id is not None and vehicle_id not in self.vehicles:
            raise ValueError(f"no vehicle has id {vehicle_id}")
        self.test_drives.append(
            TestDrive(self._last_test_drive_id, wa_id, vehicle_id, starts_at, "booked", starts_at)
        )
        return self._last_test_drive_id

    def active_test_drives(self, wa_id: str) -> list[TestDrive]:
        """`active_test_drives`: the customer's booked or rescheduled test drives, soonest first."""
        mine = [booking for booking in self.test_drives if booking.wa_id == wa_id and booking.active]
        return sorted(mine, key=lambda booking: (booking.starts_at, booking.id))

    def reschedule(self, test_drive_id: int, wa_id: str, starts_at: dt.datetime) -> TestDrive | None:
        """`reschedule_test_drive`."""
        booking = self._find(test_drive_id)
        if booking is None or booking.wa_id != wa_id or not booking.active:
            return None
        holder = self._active_at(wa_id, starts_at)
        if holder is not None and holder.id != test_drive_id:
            return None
        if booking.starts_at == starts_at:
            return booking
        return self._replace(booking, starts_at=starts_at, status="rescheduled")

    def cancel(self, test_drive_id: int, wa_id: str) -> TestDrive | None:
        """`cancel_test_drive`."""
        booking = self._find(test_drive_id)
        if booking is None or booking.wa_id != wa_id or booking.status in ("done", "no_show"):
            return None
        return self._replace(booking, status="cancelled")

    def _find(self, test_drive_id: int) -> TestDrive | None:
        return next((booking for booking in self.test_drives if booking.id == test_drive_id), None)

    def _active_at(self, wa_id: str, starts_at: dt.datetime) -> TestDrive | None:
        return next(
            (
                booking
                for booking in self.test_drives
                if (booking.wa_id, booking.starts_at) == (wa_id, starts_at) and booking.active
            ),
            None,
        )

    def _replace(self, booking: TestDrive, **changes: object) -> TestDrive:
        changed = msgspec.structs.replace(booking, **changes)
        self.test_drives[self.test_drives.index(booking)] = changed
        return changed

    def models(self) -> list[tuple[str, str]]:
        """(make, model) of every available car, in code point order (the C.UTF-8 collation's)."""
        return sorted(
            {
                (vehicle.make, vehicle.model)
                for vehicle in self.vehicles.values()
                if vehicle.status == "available"
            }
        )


_SORT_KEYS: dict[str, Callable[[Vehicle], tuple[object, ...]]] = {
    "cheapest": lambda vehicle: (vehicle.price, -vehicle.year, vehicle.id),
    "dearest": lambda vehicle: (-vehicle.price, -vehicle.year, vehicle.id),
    "newest": lambda vehicle: (-vehicle.year, vehicle.km, vehicle.price, vehicle.id),
    "least_km": lambda vehicle: (vehicle.km, -vehicle.year, vehicle.price, vehicle.id),
}
assert _SORT_KEYS.keys() == SEARCH_ORDERS.keys(), "every order PostgreSQL knows, the same way"


def _as_stored_price(price_brl: int) -> Decimal:
    return Decimal(price_brl).quantize(CENTS)


def _check_stockable(car: StockedCar) -> None:
    if car.body_type not in BODY_TYPES:
        raise ValueError(
            f"{car.stock_code}: body_type must be one of {sorted(BODY_TYPES)}, got {car.body_type!r}"
        )
    if car.status not in STATUSES:
        raise ValueError(f"{car.stock_code}: status must be one of {sorted(STATUSES)}, got {car.status!r}")
    if car.transmission not in TRANSMISSIONS:
        raise ValueError(f"{car.stock_code}: transmission must be one of {sorted(TRANSMISSIONS)}")
    if car.fuel not in FUELS:
        raise ValueError(f"{car.stock_code}: fuel must be one of {sorted(FUELS)}, got {car.fuel!r}")
    if car.seats not in SEATS or not 0 <= car.km < 2**31:
        raise ValueError(f"{car.stock_code}: seats must be 1 to 9 and km from 0, got {car.seats}, {car.km}")
    if car.year not in YEARS:
        raise ValueError(f"{car.stock_code}: year must fit PostgreSQL's integer, got {car.year}")
    texts = (car.stock_code, car.make, car.model, car.trim_level, car.colour, car.description)
    if any("\x00" in text for text in texts):
        raise ValueError(f"{car.stock_code!r}: PostgreSQL text cannot hold NUL characters")
    if not 0 < _as_stored_price(car.price_brl) < MAX_PRICE_EXCLUSIVE:
        raise ValueError(f"{car.stock_code}: price_brl must be above 0 and below 10^10, got {car.price_brl}")
