"""The admin API: `POST /api/conversations/{wa_id}/release` hands a conversation back to the bot.

Protected by `Authorization: Bearer $ADMIN_API_TOKEN`. With no token configured the admin
API is off (403), rather than open.
"""

from __future__ import annotations

import hmac

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from web.responses import error_response
from zapq.conversation.store import release_to_bot
from zapq.db.connection import connect

BEARER = "bearer "


def _refusal(request: Request) -> Response | None:
    expected = request.app.state.settings.admin_api_token
    if not expected:
        return error_response(403, "admin_api_disabled", "set ADMIN_API_TOKEN to use the admin API")
    header = request.headers.get("authorization", "")
    given = header[len(BEARER) :] if header.lower().startswith(BEARER) else ""
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        return error_response(
            401, "unauthorized", "Authorization: Bearer <ADMIN_API_TOKEN> is missing or wrong"
        )
    return None


async def release_conversation(request: Request) -> Response:
    refusal = _refusal(request)
    if refusal is not None:
        return refusal
    wa_id = request.path_params["wa_id"]
    phone_number_id = request.query_params.get("phone_number_id") or None
    released = await run_in_threadpool(
        _release, request.app.state.settings.database_url, wa_id, phone_number_id
    )
    if not released:
        return error_response(404, "conversation_not_found", f"no conversation with wa_id {wa_id}")
    return JSONResponse({"wa_id": wa_id, "mode": "bot", "conversations": released})


def _release(database_url: str, wa_id: str, phone_number_id: str | None) -> int:
    with connect(database_url) as connection:
        return release_to_bot(connection, wa_id, phone_number_id)
