"""The dealership's cars and test drives in PostgreSQL, and the lookup the engines take.

Engines depend on the `InventoryLookup` protocol, not on PostgreSQL; `PostgresInventory`
is the implementation every process uses, `memory_inventory.InMemoryInventory` the one for tests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Protocol

import psycopg
from psycopg import sql

from zapq.conversation.reading import search_key
from zapq.conversation.vehicle import Vehicle

DEFAULT_SEARCH_LIMIT = 5

_COLUMNS = sql.SQL("id, make, model, trim_level, year, price, colour, body_type, status")


class InventoryLookup(Protocol):
    """What an engine needs from the stock: search it, read one car, book a test drive."""

    def search(
        self,
        *,
        make: str | None = None,
        model: str | None = None,
        year: int | None = None,
        max_price: Decimal | None = None,
        body_type: str | None = None,
        limit: int = DEFAULT_SEARCH_LIMIT,
    ) -> list[Vehicle]: ...

    def get(self, vehicle_id: int) -> Vehicle | None: ...

    def book(self, wa_id: str, vehicle_id: int | None, starts_at: dt.datetime) -> int: ...

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
    limit: int = DEFAULT_SEARCH_LIMIT,
) -> list[Vehicle]:
    """Available cars matching every given filter, cheapest first.

    Make and model ignore case, accents and separators ('hrv' finds 'HR-V'); a model
    matches by prefix, so 'corolla' also finds a 'Corolla Cross'.
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
    query = sql.SQL("SELECT {} FROM vehicles WHERE {} ORDER BY price, year DESC, id LIMIT %s").format(
        _COLUMNS, sql.SQL(" AND ").join(conditions)
    )
    rows = connection.execute(query, [*params, limit]).fetchall()
    return [Vehicle(*row) for row in rows]


def get_vehicle(connection: psycopg.Connection, vehicle_id: int) -> Vehicle | None:
    """One car whatever its status, or None."""
    row = connection.execute(
        sql.SQL("SELECT {} FROM vehicles WHERE id = %s").format(_COLUMNS), (vehicle_id,)
    ).fetchone()
    return Vehicle(*row) if row else None


def book_test_drive(
    connection: psycopg.Connection, wa_id: str, vehicle_id: int | None, starts_at: dt.datetime
) -> int:
    """Store a test drive and return its id; booking the same customer and time again returns the same id.

    One statement, so two deliveries of the same booking racing each other still make one row.
    The first booking's car is kept.
    """
    row = connection.execute(
        "INSERT INTO test_drives (wa_id, vehicle_id, starts_at) VALUES (%s, %s, %s)"
        " ON CONFLICT (wa_id, starts_at) DO UPDATE SET wa_id = test_drives.wa_id RETURNING id",
        (wa_id, vehicle_id, starts_at),
    ).fetchone()
    assert row is not None, "INSERT ... ON CONFLICT DO UPDATE RETURNING always returns the row"
    return int(row[0])


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
        limit: int = DEFAULT_SEARCH_LIMIT,
    ) -> list[Vehicle]:
        return search_vehicles(
            self.connection_factory(),
            make=make,
            model=model,
            year=year,
            max_price=max_price,
            body_type=body_type,
            limit=limit,
        )

    def get(self, vehicle_id: int) -> Vehicle | None:
        return get_vehicle(self.connection_factory(), vehicle_id)

    def book(self, wa_id: str, vehicle_id: int | None, starts_at: dt.datetime) -> int:
        return book_test_drive(self.connection_factory(), wa_id, vehicle_id, starts_at)

    def models(self) -> list[tuple[str, str]]:
        return available_models(self.connection_factory())
