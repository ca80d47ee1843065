from __future__ import annotations

import os
import subprocess
import sys

import psycopg

from zapq.conversation.seed import SEED_CARS, seed_inventory
from zapq.db.connection import connect

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def test_seeding_twice_adds_the_stock_once(db: psycopg.Connection):
    assert seed_inventory(db) == len(SEED_CARS)
    assert seed_inventory(db) == 0

    assert db.execute("SELECT count(*) FROM vehicles").fetchone() == (len(SEED_CARS),)


def test_reseeding_leaves_a_sold_car_sold(db: psycopg.Connection):
    seed_inventory(db)
    db.execute("UPDATE vehicles SET status = 'sold' WHERE stock_code = 'ZQ-0001'")

    seed_inventory(db)

    assert db.execute("SELECT status FROM vehicles WHERE stock_code = 'ZQ-0001'").fetchone() == ("sold",)


def test_make_seed_command_is_idempotent(settings):  # type: ignore[no-untyped-def]
    def run_seed() -> str:
        result = subprocess.run(
            [sys.executable, "-m", "zapq.conversation.seed"],
            cwd=ROOT,
            env=dict(os.environ),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return result.stdout.strip()

    available = sum(car.status == "available" for car in SEED_CARS)
    unsold = sum(car.status != "sold" for car in SEED_CARS)
    # No worker runs here: the cars are still without vectors, so the second run sends them again
    # (and `generate_embeddings`'s dedup drops the copies).
    assert run_seed() == (
        f"seed: {len(SEED_CARS)} vehicles added, {available} available in stock, {unsold} sent to embeddings"
    )
    assert (
        run_seed() == f"seed: 0 vehicles added, {available} available in stock, {unsold} sent to embeddings"
    )
    with connect(settings.database_url) as connection:
        assert connection.execute("SELECT count(*) FROM vehicles").fetchone() == (len(SEED_CARS),)
