"""The dealership's test-drive agenda: who comes today or tomorrow, and whether they came.

`GET /api/test-drives?day=today|tomorrow|YYYY-MM-DD` lists a day's bookings (dealership time,
America/Sao_Paulo), soonest first, without the cancelled ones unless `include_cancelled=true`.
`POST /api/test-drives/{id}/outcome` with `{"outcome": "done" | "no_show"}` closes one.
Both behind the admin token, like the rest of `/api/`.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec
import psycopg
from psycopg_pool import ConnectionPool
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from web.admin import refuse_unless_admin
from web.responses import error_response
from web.unavailable import DATABASE, unavailable
from zapq.conversation.test_drives import AgendaEntry, TestDrive, agenda, close_test_drive, get_test_drive
from zapq.conversation.when import SAO_PAULO

_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no", "")


class OutcomeRequest(msgspec.Struct, forbid_unknown_fields=True):
    outcome: Literal["done", "no_show"]


async def list_test_drives(request: Request) -> Response:
    if (refusal := await refuse_unless_admin(request)) is not None:
        return refusal
    today = dt.datetime.now(SAO_PAULO).date()
    day_text = request.query_params.get("day", "today")
    try:
        day = _day(day_text, today)
    except ValueError:
        return error_response(400, "invalid_parameter", "day must be today, tomorrow or a date as YYYY-MM-DD")
    cancelled_text = request.query_params.get("include_cancelled", "false").lower()
    if cancelled_text not in _TRUE + _FALSE:
        return error_response(400, "invalid_parameter", "include_cancelled must be true or false")
    start = dt.datetime.combine(day, dt.time(), tzinfo=SAO_PAULO)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=SAO_PAULO)
    try:
        entries = await run_in_threadpool(
            _agenda, request.app.state.database, start, end, cancelled_text in _TRUE
        )
    except psycopg.OperationalError as error:
        return unavailable(DATABASE, error)
    return JSONResponse({"day": day.isoformat(), "test_drives": [_entry_json(entry) for entry in entries]})


async def record_outcome(request: Request) -> Response:
    if (refusal := await refuse_unless_admin(request)) is not None:
        return refusal
    id_text = request.path_params["test_drive_id"]
    if not (id_text.isascii() and id_text.isdigit() and 0 < int(id_text) < 2**63):
        return error_response(400, "invalid_parameter", "test_drive_id must be a positive integer")
    try:  # the body's size is bounded by web/body_limits.py
        outcome = msgspec.json.decode(await request.body(), type=OutcomeRequest).outcome
    except msgspec.DecodeError as error:
        return error_response(400, "invalid_body", f'expected {{"outcome": "done" | "no_show"}}: {error}')
    try:
        found, closed = await run_in_threadpool(_close, request.app.state.database, int(id_text), outcome)
    except psycopg.OperationalError as error:
        return unavailable(DATABASE, error)
    if found is None:
        return error_response(404, "test_drive_not_found", f"no test drive with id {id_text}")
    if closed is None:
        return error_response(
            409, "test_drive_cancelled", f"test drive {id_text} was cancelled by the customer"
        )
    return JSONResponse(_test_drive_json(closed))


def _day(text: str, today: dt.date) -> dt.date:
    if text == "today":
        return today
    if text == "tomorrow":
        return today + dt.timedelta(days=1)
    if len(text) != 10 or not text.isascii():
        raise ValueError(text)
    return dt.date.fromisoformat(text)


def _agenda(pool: ConnectionPool, start: dt.datetime, end: dt.datetime, cancelled: bool) -> list[AgendaEntry]:
    with pool.connection() as connection:
        return agenda(connection, start, end, include_cancelled=cancelled)


def _close(
    pool: ConnectionPool, test_drive_id: int, outcome: Literal["done", "no_show"]
) -> tuple[TestDrive | None, TestDrive | None]:
    with pool.connection() as connection:
        found = get_test_drive(connection, test_drive_id)
        return found, close_test_drive(connection, test_drive_id, outcome) if found else None


def _test_drive_json(test_drive: TestDrive) -> dict[str, object]:
    return {
        "id": test_drive.id,
        "wa_id": test_drive.wa_id,
        "vehicle_id": test_drive.vehicle_id,
        "starts_at": test_drive.starts_at.astimezone(SAO_PAULO).isoformat(),
        "booked_starts_at": test_drive.booked_starts_at.astimezone(SAO_PAULO).isoformat(),
        "status": test_drive.status,
    }


def _entry_json(entry: AgendaEntry) -> dict[str, object]:
    return {
        **_test_drive_json(entry.test_drive),
        "customer_name": entry.customer_name,
        "vehicle": entry.vehicle,
    }
