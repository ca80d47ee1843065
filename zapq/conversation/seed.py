"""`make seed`: a realistic Brazilian stock of used and new cars, added once.

Each car carries the dealership's stock code, so running the seed again adds nothing
and leaves cars already sold or repriced alone.
"""

from __future__ import annotations

import msgspec
import psycopg


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


SEED_CARS: tuple[StockedCar, ...] = (
    StockedCar("ZQ-0001", "Toyota", "Corolla", "XEi 2.0", 2024, 139990, "prata", "sedan"),
    StockedCar("ZQ-0002", "Toyota", "Corolla", "GLi 2.0", 2022, 119990, "branco", "sedan", status="reserved"),
    StockedCar("ZQ-0003", "Toyota", "Hilux", "SRV 2.8 diesel 4x4", 2023, 279990, "preto", "pickup"),
    StockedCar("ZQ-0004", "Toyota", "Yaris", "XS 1.5", 2023, 94990, "vermelho", "hatch"),
    StockedCar("ZQ-0005", "Honda", "Civic", "EXL 2.0", 2021, 129990, "cinza", "sedan"),
    StockedCar("ZQ-0006", "Honda", "HR-V", "EXL 1.5", 2023, 154990, "branco", "suv"),
    StockedCar("ZQ-0007", "Volkswagen", "Polo", "Highline 1.0 TSI", 2023, 99990, "azul", "hatch"),
    StockedCar("ZQ-0008", "Volkswagen", "T-Cross", "Comfortline 1.0 TSI", 2024, 134990, "cinza", "suv"),
    StockedCar("ZQ-0009", "Volkswagen", "Nivus", "Highline 1.0 TSI", 2022, 112990, "branco", "suv"),
    StockedCar("ZQ-0010", "Chevrolet", "Onix", "LT 1.0 Turbo", 2023, 79990, "prata", "hatch"),
    StockedCar("ZQ-0011", "Chevrolet", "Tracker", "Premier 1.2 Turbo", 2024, 149990, "preto", "suv"),
    StockedCar("ZQ-0012", "Fiat", "Argo", "Drive 1.3", 2023, 74990, "vermelho", "hatch"),
    StockedCar("ZQ-0013", "Fiat", "Pulse", "Audace 1.0 Turbo", 2023, 104990, "cinza", "suv"),
    StockedCar("ZQ-0014", "Fiat", "Toro", "Volcano 2.0 diesel", 2022, 159990, "branco", "pickup"),
    StockedCar("ZQ-0015", "Hyundai", "HB20", "Comfort 1.0", 2022, 72990, "prata", "hatch"),
    StockedCar("ZQ-0016", "Hyundai", "Creta", "Limited 1.0 Turbo", 2024, 139900, "azul", "suv"),
    StockedCar("ZQ-0017", "Jeep", "Compass", "Longitude 1.3 T270", 2022, 164990, "preto", "suv"),
    StockedCar("ZQ-0018", "Renault", "Kwid", "Zen 1.0", 2023, 59990, "branco", "hatch"),
)  # fmt: skip


def seed_inventory(connection: psycopg.Connection, cars: tuple[StockedCar, ...] = SEED_CARS) -> int:
    """Insert the cars not yet stocked (by stock code); return how many were added."""
    added = 0
    with connection.transaction():
        for car in cars:
            cursor = connection.execute(
                "INSERT INTO vehicles"
                " (stock_code, make, model, trim_level, year, price, colour, body_type, status)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (stock_code) DO NOTHING",
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
    available = int(row[0]) if row else 0
    print(f"seed: {added} vehicles added, {available} available in stock")


if __name__ == "__main__":
    main()
