"""A test drive's life in PostgreSQL: booked, moved, cancelled, closed as done or no-show."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from zapq.conversation.inventory import PostgresInventory
from zapq.conversation.test_drives import (
    active_test_drives,
    book_test_drive,
    bookings_between,
    cancel_test_drive,
    close_test_drive,
    reschedule_test_drive,
)
from zapq.conversation.when import SAO_PAULO

ANA = "5511987654321"
BIA = "5521999990000"
FRIDAY_10AM = dt.datetime(2025, 11, 21, 10, 0, tzinfo=SAO_PAULO)
SATURDAY_10AM = dt.datetime(2025, 11, 22, 10, 0, tzinfo=SAO_PAULO)


def statuses(db: psycopg.Connection) -> list[tuple[int, str, dt.datetime]]:
    return db.execute("SELECT id, status, starts_at FROM test_drives ORDER BY id").fetchall()


def test_rescheduling_moves_the_one_booking_and_remembers_the_first_slot(
    postgres_inventory: PostgresInventory, db: psycopg.Connection
):
    booked = book_test_drive(db, ANA, 1, FRIDAY_10AM)

    moved = reschedule_test_drive(db, booked, ANA, SATURDAY_10AM)

    assert moved is not None
    assert (moved.status, moved.starts_at, moved.booked_starts_at) == (
        "rescheduled",
        SATURDAY_10AM,
        FRIDAY_10AM,
    )
    assert statuses(db) == [(booked, "rescheduled", SATURDAY_10AM)]
    assert reschedule_test_drive(db, booked, ANA, SATURDAY_10AM) == moved  # a redelivered burst
    assert active_test_drives(db, ANA) == [moved]


def test_a_cancelled_booking_frees_its_slot_and_stays_cancelled(
    postgres_inventory: PostgresInventory, db: psycopg.Connection
):
    booked = book_test_drive(db, ANA, 1, FRIDAY_10AM)

    cancelled = cancel_test_drive(db, booked, ANA)

    assert cancelled is not None and cancelled.status == "cancelled"
    assert cancel_test_drive(db, booked, ANA) == cancelled  # a redelivered burst confirms again
    assert active_test_drives(db, ANA) == []
    assert reschedule_test_drive(db, booked, ANA, SATURDAY_10AM) is None
    rebooked = book_test_drive(db, ANA, 1, FRIDAY_10AM)
    assert rebooked != booked
    assert [test_drive.id for test_drive in active_test_drives(db, ANA)] == [rebooked]


def test_a_customer_cannot_move_or_cancel_someone_elses_booking(
    postgres_inventory: PostgresInventory, db: psycopg.Connection
):
    anas = book_test_drive(db, ANA, 1, FRIDAY_10AM)

    assert reschedule_test_drive(db, anas, BIA, SATURDAY_10AM) is None
    assert cancel_test_drive(db, anas, BIA) is None
    assert statuses(db) == [(anas, "booked", FRIDAY_10AM)]


def test_a_booking_cannot_be_moved_onto_another_of_the_customers_bookings(
    postgres_inventory: PostgresInventory, db: psycopg.Connection
):
    friday = book_test_drive(db, ANA, 1, FRIDAY_10AM)
    saturday = book_test_drive(db, ANA, 5, SATURDAY_10AM)

    assert reschedule_test_drive(db, friday, ANA, SATURDAY_10AM) is None
    assert statuses(db) == [(friday, "booked", FRIDAY_10AM), (saturday, "booked", SATURDAY_10AM)]


def test_the_dealership_closes_a_booking_as_done_or_no_show_but_not_a_cancelled_one(
    postgres_inventory: PostgresInventory, db: psycopg.Connection
):
    came = book_test_drive(db, ANA, 1, FRIDAY_10AM)
    stayed_away = book_test_drive(db, BIA, 1, FRIDAY_10AM)
    cancelled = book_test_drive(db, BIA, 2, SATURDAY_10AM)
    cancel_test_drive(db, cancelled, BIA)

    assert (done := close_test_drive(db, came, "done")) is not None and done.status == "done"
    assert (absent := close_test_drive(db, stayed_away, "no_show")) is not None and absent.status == "no_show"
    assert close_test_drive(db, cancelled, "done") is None
    assert cancel_test_drive(db, came, ANA) is None  # a drive that happened cannot be cancelled
    with pytest.raises(ValueError, match="outcome must be one of"):
        close_test_drive(db, came, "booked")  # type: ignore[arg-type]


def test_the_agenda_lists_a_days_bookings_in_order_without_the_cancelled(
    postgres_inventory: PostgresInventory, db: psycopg.Connection
):
    later = book_test_drive(db, ANA, 1, FRIDAY_10AM + dt.timedelta(hours=4))
    earlier = book_test_drive(db, BIA, 2, FRIDAY_10AM)
    cancelled = book_test_drive(db, BIA, 3, FRIDAY_10AM + dt.timedelta(hours=1))
    book_test_drive(db, ANA, 1, SATURDAY_10AM)
    cancel_test_drive(db, cancelled, BIA)
    friday = dt.datetime(2025, 11, 21, tzinfo=SAO_PAULO)

    agenda = bookings_between(db, friday, friday + dt.timedelta(days=1))

    assert [test_drive.id for test_drive in agenda] == [earlier, later]
    everything = bookings_between(db, friday, friday + dt.timedelta(days=1), include_cancelled=True)
    assert [test_drive.id for test_drive in everything] == [earlier, cancelled, later]
