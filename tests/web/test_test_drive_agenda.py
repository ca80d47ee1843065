"""The dealership's agenda: today's and tomorrow's test drives, and closing one as done or no-show."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest

from zapq.conversation.seed import seed_inventory
from zapq.conversation.test_drives import book_test_drive, cancel_test_drive
from zapq.conversation.when import SAO_PAULO

TOKEN = {"authorization": "Bearer test-admin-token"}  # ADMIN_API_TOKEN in tests/conftest.py
ANA, BIA = "5511987654321", "5521999990000"


def at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=SAO_PAULO)


@pytest.fixture
def today() -> dt.date:
    return dt.datetime.now(SAO_PAULO).date()


@pytest.fixture
def nivus(db: psycopg.Connection) -> int:
    seed_inventory(db)
    row = db.execute("SELECT id FROM vehicles WHERE stock_code = 'ZQ-0009'").fetchone()
    assert row is not None
    return int(row[0])


def test_today_lists_the_days_bookings_in_order_with_customer_and_car_but_not_the_cancelled(
    web_client, db: psycopg.Connection, today: dt.date, nivus: int
):
    db.execute(
        "INSERT INTO conversations (phone_number_id, wa_id, profile_name) VALUES ('1', %s, 'Ana')", (ANA,)
    )
    late = book_test_drive(db, ANA, nivus, at(today, 16))
    early = book_test_drive(db, BIA, None, at(today, 9))
    cancelled = book_test_drive(db, BIA, nivus, at(today, 11))
    cancel_test_drive(db, cancelled, BIA)
    book_test_drive(db, ANA, nivus, at(today + dt.timedelta(days=1), 10))

    response = web_client.get("/api/test-drives?day=today", headers=TOKEN)

    assert response.status_code == 200
    body = response.json()
    assert body["day"] == today.isoformat()
    assert [(entry["id"], entry["customer_name"], entry["vehicle"]) for entry in body["test_drives"]] == [
        (early, None, None),
        (late, "Ana", "Volkswagen Nivus Highline 1.0 TSI 2022 (ZQ-0009)"),
    ]
    assert body["test_drives"][1]["starts_at"] == at(today, 16).isoformat()
    with_cancelled = web_client.get("/api/test-drives?include_cancelled=true", headers=TOKEN).json()
    assert [entry["status"] for entry in with_cancelled["test_drives"]] == ["booked", "cancelled", "booked"]


def test_tomorrow_and_a_date_list_their_own_day(
    web_client, db: psycopg.Connection, today: dt.date, nivus: int
):
    tomorrow = today + dt.timedelta(days=1)
    booked = book_test_drive(db, ANA, nivus, at(tomorrow, 10))

    for day in ("tomorrow", tomorrow.isoformat()):
        body = web_client.get(f"/api/test-drives?day={day}", headers=TOKEN).json()
        assert (body["day"], [entry["id"] for entry in body["test_drives"]]) == (
            tomorrow.isoformat(),
            [booked],
        )
    assert web_client.get("/api/test-drives", headers=TOKEN).json()["test_drives"] == []


def test_the_dealership_records_whether_the_customer_came(
    web_client, db: psycopg.Connection, today: dt.date, nivus: int
):
    came = book_test_drive(db, ANA, nivus, at(today, 10))
    cancelled = book_test_drive(db, BIA, nivus, at(today, 11))
    cancel_test_drive(db, cancelled, BIA)

    response = web_client.post(f"/api/test-drives/{came}/outcome", json={"outcome": "done"}, headers=TOKEN)

    assert (response.status_code, response.json()["status"]) == (200, "done")
    assert db.execute("SELECT status FROM test_drives WHERE id = %s", (came,)).fetchone() == ("done",)
    refused = web_client.post(
        f"/api/test-drives/{cancelled}/outcome", json={"outcome": "done"}, headers=TOKEN
    )
    assert (refused.status_code, refused.json()["error"]) == (409, "test_drive_cancelled")
    missing = web_client.post("/api/test-drives/999999/outcome", json={"outcome": "no_show"}, headers=TOKEN)
    assert (missing.status_code, missing.json()["error"]) == (404, "test_drive_not_found")


@pytest.mark.parametrize(
    ("method", "path", "body", "error"),
    [
        ("GET", "/api/test-drives?day=yesterday", None, "invalid_parameter"),
        ("GET", "/api/test-drives?day=2025-13-01", None, "invalid_parameter"),
        ("GET", "/api/test-drives?day=%00", None, "invalid_parameter"),
        ("GET", "/api/test-drives?include_cancelled=maybe", None, "invalid_parameter"),
        ("POST", "/api/test-drives/abc/outcome", b'{"outcome": "done"}', "invalid_parameter"),
        (
            "POST",
            "/api/test-drives/99999999999999999999/outcome",
            b'{"outcome": "done"}',
            "invalid_parameter",
        ),
        ("POST", "/api/test-drives/1/outcome", b'{"outcome": "booked"}', "invalid_body"),
        ("POST", "/api/test-drives/1/outcome", b'{"outcome": "done", "x": 1}', "invalid_body"),
        ("POST", "/api/test-drives/1/outcome", b"not json", "invalid_body"),
    ],
)
def test_bad_parameters_get_400_naming_what_is_wrong(web_client, method, path, body, error):
    response = web_client.request(method, path, content=body, headers=TOKEN)

    assert (response.status_code, response.json()["error"]) == (400, error)


def test_the_agenda_needs_the_admin_token(web_client):
    assert web_client.get("/api/test-drives").status_code == 401
    assert web_client.post("/api/test-drives/1/outcome", json={"outcome": "done"}).status_code == 401
