"""The admin API: hand a conversation back to the bot, list the poison items set aside.

`POST /api/conversations/{wa_id}/release` and `GET /api/poison?limit=&before_id=`.

Protected by `Authorization: Bearer $ADMIN_API_TOKEN`. With no token configured the admin
API is off (403), rather than open. A wrong token is logged with the client's address and
refused later each time it is tried again (web/auth_throttle.py), so it cannot be guessed at
network speed. Identifiers are checked before they reach PostgreSQL; while PostgreSQL is down
the answer is 503.
"""

from __future__ import annotations

import asyncio
import logging
import re

import msgspec
import psycopg
from psycopg_pool import ConnectionPool
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from web.auth_throttle import FailedAuthThrottle
from web.bearer import AUTHORIZATION_HEADER, bearer_token_matches
from web.responses import error_response
from web.unavailable import DATABASE, unavailable
from zapq.conversation.store import release_to_bot
from zapq.db.poison import PoisonItem, list_poison

logger = logging.getLogger(__name__)

DEFAULT_POISON_PAGE = 100
MAX_POISON_PAGE = 500

# WhatsApp ids (a customer's wa_id, a business phone_number_id) are digits.
_WHATSAPP_ID = re.compile(r"[0-9]{1,32}")


async def release_conversation(request: Request) -> Response:
    refusal = await refuse_unless_admin(request)
    if refusal is not None:
        return refusal
    wa_id = request.path_params["wa_id"]
    phone_number_id = request.query_params.get("phone_number_id") or None
    for field, value in (("wa_id", wa_id), ("phone_number_id", phone_number_id)):
        if value is not None and not _WHATSAPP_ID.fullmatch(value):
            return error_response(400, "invalid_parameter", f"{field} must be 1 to 32 digits")
    try:
        released = await run_in_threadpool(_release, request.app.state.database, wa_id, phone_number_id)
    except psycopg.OperationalError as error:
        return unavailable(DATABASE, error)
    if not released:
        return error_response(404, "conversation_not_found", f"no conversation with wa_id {wa_id}")
    return JSONResponse({"wa_id": wa_id, "mode": "bot", "conversations": released})


async def refuse_unless_admin(request: Request) -> Response | None:
    """None for a caller with the admin token; else the 403 or (after a delay) 401 to answer."""
    expected = request.app.state.settings.admin_api_token
    if not expected:
        return error_response(403, "admin_api_disabled", "set ADMIN_API_TOKEN to use the admin API")
    throttle: FailedAuthThrottle = request.app.state.admin_auth_throttle
    client = request.client.host if request.client else "unknown"
    if bearer_token_matches(request.headers.get(AUTHORIZATION_HEADER), expected):
        throttle.record_success(client)
        return None
    failures = throttle.record_failure(client)
    delay_s = throttle.delay_s(failures)
    logger.warning(
        "admin API: wrong or missing token from %s (%d in a row); refused in %.1f s",
        client,
        failures,
        delay_s,
    )
    await asyncio.sleep(delay_s)
    return error_response(401, "unauthorized", "Authorization: Bearer <ADMIN_API_TOKEN> is missing or wrong")


async def list_poison_items(request: Request) -> Response:
    """The newest poison items first (`zapq.db.poison`); page with `before_id`, the last id seen."""
    refusal = await refuse_unless_admin(request)
    if refusal is not None:
        return refusal
    try:
        limit = (
            _int_parameter(request, "limit", DEFAULT_POISON_PAGE, 1, MAX_POISON_PAGE) or DEFAULT_POISON_PAGE
        )
        before_id = _int_parameter(request, "before_id", None, 1, 2**63 - 1)
    except ValueError as error:
        return error_response(400, "invalid_parameter", str(error))
    try:
        items = await run_in_threadpool(_poison_page, request.app.state.database, limit, before_id)
    except psycopg.OperationalError as error:
        return unavailable(DATABASE, error)
    return JSONResponse({"items": [msgspec.to_builtins(item) for item in items]})


def _int_parameter(request: Request, name: str, default: int | None, low: int, high: int) -> int | None:
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    if not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
        raise ValueError(f"{name} must be an integer from {low} to {high}")
    return int(text)


def _poison_page(pool: ConnectionPool, limit: int, before_id: int | None) -> list[PoisonItem]:
    with pool.connection() as connection:
        return list_poison(connection, limit=limit, before_id=before_id)


def _release(pool: ConnectionPool, wa_id: str, phone_number_id: str | None) -> int:
    with pool.connection() as connection:
        return release_to_bot(connection, wa_id, phone_number_id)
