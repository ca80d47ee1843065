"""The outbound ledger in PostgreSQL: one row per idempotency key, statuses that only move forward."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from zapq.db.outbound_messages import (
    apply_status,
    claim_send,
    find_outbound,
    record_failed,
    record_sent,
)

KEY = "batch-42:part-1"
WAMID = "wamid.HBgLNTUxMTk4NzY1NDMyMRUCABEYEjk"
T0 = datetime(2025, 6, 8, 21, 0, tzinfo=UTC)


def claim(db: psycopg.Connection, key: str = KEY) -> None:
    claim_send(
        db,
        key,
        phone_number_id="106540352242922",
        recipient="5511987654321",
        kind="text",
        body={"text": "Oi! Temos o Onix 2022."},
    )


def sent(db: psycopg.Connection) -> None:
    claim(db)
    record_sent(db, KEY, WAMID)


def status_of(db: psycopg.Connection) -> str:
    row = find_outbound(db, KEY)
    assert row is not None
    return row.status


def test_claiming_a_new_key_stores_a_pending_row(db: psycopg.Connection) -> None:
    row = claim_send(
        db,
        KEY,
        phone_number_id="106540352242922",
        recipient="5511987654321",
        kind="text",
        body={"text": "Oi"},
    )

    assert (row.status, row.wamid, row.body, row.is_settled) == ("pending", None, {"text": "Oi"}, False)


def test_claiming_a_key_again_returns_the_existing_row(db: psycopg.Connection) -> None:
    sent(db)

    again = claim_send(db, KEY, phone_number_id="106540352242922", recipient="5511987654321", kind="text")

    assert (again.status, again.wamid, again.body) == ("sent", WAMID, {"text": "Oi! Temos o Onix 2022."})
    assert db.execute("SELECT count(*) FROM outbound_messages").fetchone() == (1,)


def test_record_sent_stores_the_wamid(db: psycopg.Connection) -> None:
    claim(db)

    assert record_sent(db, KEY, WAMID) is True

    row = find_outbound(db, KEY)
    assert row is not None
    assert (row.status, row.wamid, row.is_settled) == ("sent", WAMID, True)
    assert row.sent_at is not None


def test_a_late_delivered_never_overwrites_read(db: psycopg.Connection) -> None:
    sent(db)

    assert apply_status(db, WAMID, "read", T0 + timedelta(seconds=5)) is True
    assert apply_status(db, WAMID, "delivered", T0 + timedelta(seconds=2)) is False

    row = find_outbound(db, KEY)
    assert row is not None
    assert (row.status, row.status_at) == ("read", T0 + timedelta(seconds=5))


def test_statuses_in_order_each_move_the_row_forward(db: psycopg.Connection) -> None:
    sent(db)

    moved = [apply_status(db, WAMID, status, T0) for status in ("sent", "delivered", "read")]

    assert moved == [False, True, True]  # "sent" was already recorded by record_sent
    assert status_of(db) == "read"


def test_failed_after_sent_records_the_error_code(db: psycopg.Connection) -> None:
    sent(db)

    assert (
        apply_status(db, WAMID, "failed", T0, error_code=131026, error_title="Message undeliverable") is True
    )

    row = find_outbound(db, KEY)
    assert row is not None
    assert (row.status, row.error_code, row.error_title) == ("failed", 131026, "Message undeliverable")


def test_failed_after_delivered_is_ignored(db: psycopg.Connection) -> None:
    sent(db)
    apply_status(db, WAMID, "delivered", T0)

    assert (
        apply_status(db, WAMID, "failed", T0, error_code=131000, error_title="Something went wrong") is False
    )

    row = find_outbound(db, KEY)
    assert row is not None
    assert (row.status, row.error_code) == ("delivered", None)


def test_delivered_after_failed_wins_because_the_phone_got_it(db: psycopg.Connection) -> None:
    sent(db)
    apply_status(db, WAMID, "failed", T0, error_code=131000, error_title="Something went wrong")

    assert apply_status(db, WAMID, "delivered", T0 + timedelta(seconds=1)) is True

    assert status_of(db) == "delivered"


@pytest.mark.parametrize("unknown", ["played", "deleted", "warning", ""])
def test_unknown_statuses_change_nothing(db: psycopg.Connection, unknown: str) -> None:
    sent(db)

    assert apply_status(db, WAMID, unknown, T0) is False

    assert status_of(db) == "sent"


def test_a_status_for_an_unknown_wamid_reports_false(db: psycopg.Connection) -> None:
    sent(db)

    assert apply_status(db, "wamid.someone-else", "read", T0) is False
    assert status_of(db) == "sent"


def test_record_failed_marks_a_pending_row_with_the_code(db: psycopg.Connection) -> None:
    claim(db)

    assert record_failed(db, KEY, 131047, "Re-engagement message") is True

    row = find_outbound(db, KEY)
    assert row is not None
    assert (row.status, row.error_code, row.error_title, row.is_settled) == (
        "failed",
        131047,
        "Re-engagement message",
        True,
    )


def test_record_failed_does_not_undo_a_delivery(db: psycopg.Connection) -> None:
    sent(db)
    apply_status(db, WAMID, "delivered", T0)

    assert record_failed(db, KEY, 131026, "Message undeliverable") is False
    assert status_of(db) == "delivered"


def test_record_sent_only_moves_a_pending_row(db: psycopg.Connection) -> None:
    sent(db)
    apply_status(db, WAMID, "read", T0)

    assert record_sent(db, KEY, "wamid.second-copy") is False

    row = find_outbound(db, KEY)
    assert row is not None
    assert (row.status, row.wamid) == ("read", WAMID)
