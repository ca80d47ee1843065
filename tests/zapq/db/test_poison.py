"""Items that fail on their own are set aside alone; outages are never mistaken for poison."""

from __future__ import annotations

import psycopg
import pytest

from zapq.db.poison import MAX_ID_CHARS, PoisonBin, list_poison


@pytest.fixture
def scratch(db: psycopg.Connection) -> psycopg.Connection:
    db.execute("CREATE TEMP TABLE scratch (v text NOT NULL)")
    return db


def store(connection: psycopg.Connection, value: str) -> None:
    connection.execute("INSERT INTO scratch VALUES (%s)", (value,))


def test_the_item_that_fails_is_rolled_back_alone_and_its_batch_mates_are_kept(
    scratch: psycopg.Connection,
) -> None:
    poison = PoisonBin(scratch, "store_things", "batch-1")
    with scratch.transaction():
        results = [
            poison.attempt(value, {"v": value}, lambda v=value: store(scratch, v))
            for value in ("a", "b\x00", "c")
        ]

    assert results == [True, False, True]
    assert scratch.execute("SELECT v FROM scratch ORDER BY v").fetchall() == [("a",), ("c",)]
    assert poison.set_aside_ids == ["b\\u0000"]
    [item] = list_poison(scratch)
    assert (item.actor_name, item.item_id, item.batch_id, item.seen) == (
        "store_things",
        "b\\u0000",
        "batch-1",
        1,
    )
    assert item.item == '{"v": "b\\u0000"}'


def test_the_same_item_set_aside_again_is_one_row_seen_twice(scratch: psycopg.Connection) -> None:
    for batch in ("batch-1", "batch-2"):
        PoisonBin(scratch, "store_things", batch).attempt("x\x00", "x\x00", lambda: store(scratch, "x\x00"))
    [item] = list_poison(scratch)
    assert (item.seen, item.batch_id) == (2, "batch-2")


def test_hostile_ids_and_huge_items_are_stored_bounded_and_escaped(scratch: psycopg.Connection) -> None:
    hostile_id = "\udc80:/%00" + "i" * 10_000
    PoisonBin(scratch, "store_things", None).attempt(
        hostile_id, "x" * 1_000_000, lambda: store(scratch, "\x00")
    )
    [item] = list_poison(scratch)
    assert len(item.item_id) <= MAX_ID_CHARS
    assert item.item_id.startswith("\\udc80:/%00iii")
    assert len(item.item) < 70_000
    assert item.item.isascii()


def test_an_outage_is_not_poison_it_fails_the_whole_batch(scratch: psycopg.Connection, settings) -> None:  # type: ignore[no-untyped-def]
    def lose_the_connection() -> None:
        with psycopg.connect(settings.database_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (scratch.info.backend_pid,))
        store(scratch, "a")

    with pytest.raises(psycopg.OperationalError):
        PoisonBin(scratch, "store_things", "batch-1").attempt("a", "a", lose_the_connection)


def test_poison_is_listed_newest_first_a_page_at_a_time(scratch: psycopg.Connection) -> None:
    poison = PoisonBin(scratch, "store_things", "batch-1")
    for index in range(5):
        poison.attempt(f"item-{index}", index, lambda: store(scratch, "\x00"))
    first = list_poison(scratch, limit=2)
    second = list_poison(scratch, limit=2, before_id=first[-1].id)
    assert [p.item_id for p in first + second] == ["item-4", "item-3", "item-2", "item-1"]
