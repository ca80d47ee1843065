"""`make seed`: a realistic Brazilian stock of used and new cars, added once.

Each car carries the dealership's stock code, so running the seed again adds nothing
and leaves cars already sold or repriced alone.
"""

from __future__ import annotations

import csv
from pathlib import Path

import msgspec
import psycopg

from zapq.settings import Settings


class StockedCar(msgspec.Struct, frozen=True):
    stock_code: str
    make: str
    model: str
    trim_level: str
    year: int
    price_brl: int
    colour: str
    body_type: str
    status: str = "available"
    transmission: str = "manual"
    fuel: str = "flex"
    km: int = 0
    seats: int = 5
    description: str = ""


DEMO_STOCK_CSV = Path(__file__).with_name("demo_stock.csv")


def read_stock(path: Path) -> tuple[StockedCar, ...]:
    """Cars from a CSV with StockedCar's field names as its header (a dealership's export)."""
    with path.open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    return msgspec.convert(rows, tuple[StockedCar, ...], strict=False)


#: About 40 cars with variety: makes, bodies, transmissions, fuels (flex, diesel, hybrid, electric),
#: from 2 to 7 seats, km from almost new to 90 thousand, one reserved.
SEED_CARS: tuple[StockedCar, ...] = read_stock(DEMO_STOCK_CSV)


def seed_inventory(connection: psycopg.Connection, cars: tuple[StockedCar, ...] = SEED_CARS) -> int:
    """Insert the cars not yet stocked (by stock code); return how many were added."""
    added = 0
    with connection.transaction():
        for car in cars:
            cursor = connection.execute(
                "INSERT INTO vehicles"
                " (stock_code, make, model, trim_level, year, price, colour, body_type, status,"
                " transmission, fuel, km, seats, description)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (stock_code) DO NOTHING",
                msgspec.structs.astuple(car),
            )
            added += cursor.rowcount
    return added


def main() -> None:
    from zapq.db.connection import connect
    from zapq.runtime import boot

    settings = boot()
    with connect(settings.database_url) as connection:
        added = seed_inventory(connection)
        row = connection.execute("SELECT count(*) FROM vehicles WHERE status = 'available'").fetchone()
        embedding = _send_to_embeddings(connection, settings)
    available = int(row[0]) if row else 0
    print(f"seed: {added} vehicles added, {available} available in stock, {embedding} sent to embeddings")


def _send_to_embeddings(connection: psycopg.Connection, settings: Settings) -> int:
    """The cars without a vector go to `generate_embeddings` now, not at the next catch-up scan."""
    import actors
    from actors.broker import bind_broker
    from actors.embeddings import queue_vehicle_embeddings
    from zapq.embeddings.providers import provider_model

    bind_broker(actors.broker, settings.redis_url)
    return queue_vehicle_embeddings(connection, provider_model(settings))


if __name__ == "__main__":
    main()
