"""The dealership's cars and test drives in PostgreSQL, and the lookup the engines take.

Engines depend on the `InventoryLookup` protocol, not on PostgreSQL; `PostgresInventory`
is the implementation every process uses, `memory_inventory.InMemoryInventory` the one for tests.
The test drives' SQL lives in `test_drives`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Final, Literal, Protocol

import psycopg
from psycopg import sql

from zapq.conversation.reading import search_key
from zapq.conversation.test_drives import (
    TestDrive,
    active_test_drives,
    book_test_drive,
    cancel_test_drive,
    reschedule_test_drive,
)
from zapq.conversation.vehicle import Vehicle

DEFAULT_SEARCH_LIMIT = 5

#: How a search orders what it finds: the cheapest first (the default), the dearest, the newest
#: (year, then fewest km), or the fewest km.
SearchOrder = Literal["cheapest", "dearest", "newest", "least_km"]
SEARCH_ORDERS: Final[dict[str, sql.SQL]] = {
    "cheapest": sql.SQL("price, year DESC, id"),
    "dearest": sql.SQL("price DESC, year DESC, id"),
    "newest": sql.SQL("year DESC, km, price, id"),
    "least_km": sql.SQL("km, year DESC, price, id"),
}

_COLUMNS = sql.SQL(
    "id, make, model, trim_level, year, price, colour, body_type, status,"
    " transmission, fuel, km, seats, description"
)


class InventoryLookup(Protocol):
    """What an engine needs from the stock: search it, read one car, book and manage test drives."""

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
    ) -> list[Vehicle]: ...

    def get(self, vehicle_id: int) -> Vehicle | None: ...

    def book(self, wa_id: str, vehicle_id: int | None, starts_at: dt.datetime) -> int: ...

    def active_test_drives(self, wa_id: str) -> list[TestDrive]:
        """The customer's booked or rescheduled test drives, soonest first."""
        ...

    def reschedule(self, test_drive_id: int, wa_id: str, starts_at: dt.datetime) -> TestDrive | None:
        """The booking moved, or None when it is not the customer's active booking or the slot is taken."""
        ...

    def cancel(self, test_drive_id: int, wa_id: str) -> TestDrive | None:
        """The booking cancelled, or None when it is not the customer's or already closed."""
        ...

    def models(self) -> list[tuple[str, str]]:
        """(make, model) of every available car, so engines recognise the names customers type."""
        ...


def search_vehicles(
    connection: psycopg.Connection,
    *,
    make: str | None = None,
    model: str | None = None,
    year: int | None = None,
    max_price: Decimal | int | None = None,
    body_type: str | None = None,
    transmission: str | None = None,
    fuel: str | None = None,
    max_km: int | None = None,
    colour: str | None = None,
    min_seats: int | None = None,
    order: SearchOrder = "cheapest",
    limit: int = DEFAULT_SEARCH_LIMIT,
) -> list[Vehicle]:
    """Available cars matching every given filter, in `order` (cheapest first by default).

    Make and model ignore case, accents and separators ('hrv' finds 'HR-V'); a model
    matches by prefix, so 'corolla' also finds a 'Corolla Cross'. Colour ignores case and accents.
    """
    conditions = [sql.SQL("status = 'available'")]
    params: list[object] = []
    if make and search_key(make):
        conditions.append(sql.SQL("inventory_key(make) = %s"))
        params.append(search_key(make))
    if model and search_key(model):
        conditions.append(sql.SQL("inventory_key(model) LIKE %s"))
        params.append(search_key(model) + "%")
    if year is not None:
        conditions.append(sql.SQL("year = %s"))
        params.append(year)
    if max_price is not None:
        conditions.append(sql.SQL("price <= %s"))
        params.append(Decimal(max_price))
    if body_type:
        conditions.append(sql.SQL("body_type = %s"))
        params.append(body_type)
    if transmission:
        conditions.append(sql.SQL("transmission = %s"))
        params.append(transmission)
    if fuel:
        conditions.append(sql.SQL("fuel = %s"))
        params.append(fuel)
    if max_km is not None:
        conditions.append(sql.SQL("km <= %s"))
        params.append(max_km)
    if colour and search_key(colour):
        conditions.append(sql.SQL("inventory_key(colour) = %s"))
        params.append(search_key(colour))
    if min_seats is not None:
        conditions.append(sql.SQL("seats >= %s"))
        params.append(min_seats)
    if order not in SEARCH_ORDERS:
        raise ValueError(f"order must be one of {', '.join(SEARCH_ORDERS)}, got {order!r}")
    query = sql.SQL("SELECT {} FROM vehicles WHERE {} ORDER BY {} LIMIT %s").format(
        _COLUMNS, sql.SQL(" AND ").join(conditions), SEARCH_ORDERS[order]
    )
    rows = connection.execute(query, [*params, limit]).fetchall()
    return [Vehicle(*row) for row in rows]


def get_vehicle(connection: psycopg.Connection, vehicle_id: int) -> Vehicle | None:
    """One car whatever its status, or None."""
    row = connection.execute(
        sql.SQL("SELECT {} FROM vehicles WHERE id = %s").format(_COLUMNS), (vehicle_id,)
    ).fetchone()
    return Vehicle(*row) if row else None


def available_models(connection: psycopg.Connection) -> list[tuple[str, str]]:
    rows = connection.execute(
        "SELECT DISTINCT make, model FROM vehicles WHERE status = 'available' ORDER BY make, model"
    ).fetchall()
    return [(make, model) for make, model in rows]


class PostgresInventory:
    """`InventoryLookup` on PostgreSQL.

    `connection_factory` returns a connection to use for one call, such as
    `zapq.db.connection.thread_connection`; this class never closes it.
    """

    def __init__(self, connection_factory: Callable[[], psycopg.Connection]) -> None:
        self.connection_factory = connection_factory

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
        return search_vehicles(
            self.connection_factory(),
            make=make,
            model=model,
            year=year,
            max_price=max_price,
            body_type=body_type,
            transmission=transmission,
            fuel=fuel,
            max_km=max_km,
            colour=colour,
            min_seats=min_seats,
            order=order,
            limit=limit,
        )

    def get(self, vehicle_id: int) -> Vehicle | None:
        return get_vehicle(self.connection_factory(), vehicle_id)

    def book(self, wa_id: str, vehicle_id: int | None, starts_at: dt.datetime) -> int:
        return book_test_drive(self.connection_factory(), wa_id, vehicle_id, starts_at)

    def active_test_drives(self, wa_id: str) -> list[TestDrive]:
        return active_test_drives(self.connection_factory(), wa_id)

    def reschedule(self, test_drive_id: int, wa_id: str, starts_at: dt.datetime) -> TestDrive | None:
        return reschedule_test_drive(self.connection_factory(), test_drive_id, wa_id, starts_at)

    def cancel(self, test_drive_id: int, wa_id: str) -> TestDrive | None:
        return cancel_test_drive(self.connection_factory(), test_drive_id, wa_id)

    def models(self) -> list[tuple[str, str]]:
        return available_models(self.connection_factory())
