"""Test drives in PostgreSQL: booked, moved, cancelled by the customer, closed by the dealership.

A booking is active while it is `booked` or `rescheduled`; only an active booking holds its
customer's slot (a partial unique index), so every write here is one statement that a redelivered
burst can repeat without making a second row or undoing a later change.
"""

from __future__ import annotations

import datetime as dt
from typing import Final, Literal

import msgspec
import psycopg

TestDriveStatus = Literal["booked", "rescheduled", "cancelled", "done", "no_show"]
ACTIVE_STATUSES: Final = ("booked", "rescheduled")
OUTCOMES: Final = ("done", "no_show")

_COLUMNS = "id, wa_id, vehicle_id, starts_at, status, booked_starts_at"


class TestDrive(msgspec.Struct, frozen=True):
    """One booking; `booked_starts_at` is the slot first booked, `starts_at` the current one."""

    __test__ = False  # not a pytest test class, despite the name

    id: int
    wa_id: str
    vehicle_id: int | None
    starts_at: dt.datetime
    status: TestDriveStatus
    booked_starts_at: dt.datetime

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES


def book_test_drive(
    connection: psycopg.Connection, wa_id: str, vehicle_id: int | None, starts_at: dt.datetime
) -> int:
    """Store a test drive and return its id; booking the same customer and time again returns the same id.

    One statement, so two deliveries of the same booking racing each other still make one row.
    The first booking's car is kept. A cancelled booking does not hold its slot.
    """
    row = connection.execute(
        "INSERT INTO test_drives (wa_id, vehicle_id, starts_at, booked_starts_at) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (wa_id, starts_at) WHERE status IN ('booked', 'rescheduled')"
        " DO UPDATE SET wa_id = test_drives.wa_id RETURNING id",
        (wa_id, vehicle_id, starts_at, starts_at),
    ).fetchone()
    assert row is not None, "INSERT ... ON CONFLICT DO UPDATE RETURNING always returns the row"
    return int(row[0])


def active_test_drives(connection: psycopg.Connection, wa_id: str) -> list[TestDrive]:
    """The customer's active bookings, soonest first (past ones included: the dealership closes them)."""
    rows = connection.execute(
        f"SELECT {_COLUMNS} FROM test_drives"
        " WHERE wa_id = %s AND status IN ('booked', 'rescheduled') ORDER BY starts_at, id",
        (wa_id,),
    ).fetchall()
    return [TestDrive(*row) for row in rows]


def reschedule_test_drive(
    connection: psycopg.Connection, test_drive_id: int, wa_id: str, starts_at: dt.datetime
) -> TestDrive | None:
    """Move the customer's active booking to `starts_at`; None when it is not theirs or not active,
    or when another of their active bookings already holds that slot. Moving it to where it already
    is changes nothing (a redelivered burst)."""
    row = connection.execute(
        f"UPDATE test_drives SET"
        " status = CASE WHEN starts_at = %(starts_at)s THEN status ELSE 'rescheduled' END,"
        " status_changed_at = CASE WHEN starts_at = %(starts_at)s THEN status_changed_at ELSE now() END,"
        " starts_at = %(starts_at)s"
        " WHERE id = %(id)s AND wa_id = %(wa_id)s AND status IN ('booked', 'rescheduled')"
        " AND NOT EXISTS (SELECT 1 FROM test_drives other WHERE other.wa_id = %(wa_id)s"
        "   AND other.starts_at = %(starts_at)s AND other.id <> %(id)s"
        "   AND other.status IN ('booked', 'rescheduled'))"
        f" RETURNING {_COLUMNS}",
        {"id": test_drive_id, "wa_id": wa_id, "starts_at": starts_at},
    ).fetchone()
    return TestDrive(*row) if row else None


def cancel_test_drive(connection: psycopg.Connection, test_drive_id: int, wa_id: str) -> TestDrive | None:
    """Cancel the customer's booking. Returns it cancelled (also when it already was, so a redelivered
    burst confirms again); None when it is not theirs, or is done or a no-show."""
    row = connection.execute(
        "UPDATE test_drives SET status = 'cancelled',"
        " status_changed_at = CASE WHEN status = 'cancelled' THEN status_changed_at ELSE now() END"
        " WHERE id = %s AND wa_id = %s AND status IN ('booked', 'rescheduled', 'cancelled')"
        f" RETURNING {_COLUMNS}",
        (test_drive_id, wa_id),
    ).fetchone()
    return TestDrive(*row) if row else None


def close_test_drive(
    connection: psycopg.Connection, test_drive_id: int, outcome: Literal["done", "no_show"]
) -> TestDrive | None:
    """The dealership's word on an active booking (or a correction of an earlier outcome);
    None when there is no such booking or it was cancelled."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, got {outcome!r}")
    row = connection.execute(
        "UPDATE test_drives SET status = %s, status_changed_at = now()"
        " WHERE id = %s AND status IN ('booked', 'rescheduled', 'done', 'no_show')"
        f" RETURNING {_COLUMNS}",
        (outcome, test_drive_id),
    ).fetchone()
    return TestDrive(*row) if row else None


def get_test_drive(connection: psycopg.Connection, test_drive_id: int) -> TestDrive | None:
    row = connection.execute(f"SELECT {_COLUMNS} FROM test_drives WHERE id = %s", (test_drive_id,)).fetchone()
    return TestDrive(*row) if row else None


def bookings_between(
    connection: psycopg.Connection, start: dt.datetime, end: dt.datetime, *, include_cancelled: bool = False
) -> list[TestDrive]:
    """Bookings starting in [start, end), soonest first: the dealership's agenda."""
    statuses = "" if include_cancelled else " AND status <> 'cancelled'"
    rows = connection.execute(
        f"SELECT {_COLUMNS} FROM test_drives WHERE starts_at >= %s AND starts_at < %s{statuses}"
        " ORDER BY starts_at, id",
        (start, end),
    ).fetchall()
    return [TestDrive(*row) for row in rows]


class AgendaEntry(msgspec.Struct, frozen=True):
    """A booking as the dealership's agenda shows it: with the customer's name and the car."""

    test_drive: TestDrive
    customer_name: str | None
    vehicle: str | None  # 'Volkswagen Nivus Highline 1.0 TSI 2022 (ZQ-0009)'; None: chosen at the store


def agenda(
    connection: psycopg.Connection, start: dt.datetime, end: dt.datetime, *, include_cancelled: bool = False
) -> list[AgendaEntry]:
    """`bookings_between` with each customer's WhatsApp name and each car's description."""
    statuses = "" if include_cancelled else " AND t.status <> 'cancelled'"
    rows = connection.execute(
        "SELECT t.id, t.wa_id, t.vehicle_id, t.starts_at, t.status, t.booked_starts_at,"
        " (SELECT c.profile_name FROM conversations c WHERE c.wa_id = t.wa_id"
        "  ORDER BY c.updated_at DESC LIMIT 1),"
        " CASE WHEN v.id IS NULL THEN NULL ELSE concat_ws(' ', v.make, v.model, nullif(v.trim_level, ''),"
        "  v.year::text, '(' || v.stock_code || ')') END"
        " FROM test_drives t LEFT JOIN vehicles v ON v.id = t.vehicle_id"
        f" WHERE t.starts_at >= %s AND t.starts_at < %s{statuses} ORDER BY t.starts_at, t.id",
        (start, end),
    ).fetchall()
    return [AgendaEntry(TestDrive(*row[:6]), row[6], row[7]) for row in rows]
