"""The handoff inbox: conversations a person has, a customer's transcript, release to the bot.

`GET  /api/console/conversations?q=&limit=`      the inbox (human mode, oldest first); with `q`, customers
                                                 whose name holds it or whose number holds its digits
`GET  /api/console/conversations/{id}?limit=`    one conversation: its handoffs and transcript, with the
                                                 delivery status of every outbound message
`POST /api/console/conversations/{id}/release`   {"confirm": true}: the bot answers the customer again

Agents and admins. `{id}` is the conversation's console id (a UUID); the customer's number never
appears in a URL or an answer: lists and transcripts show its last four digits (`masked_number`),
the action log a customer tag. Release is the admin API's `release_to_bot`.
"""

from __future__ import annotations

from typing import Any

import msgspec
import psycopg
from psycopg_pool import ConnectionPool
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from web.console.actions import record_action
from web.console.auth import Role, caller_or_refusal
from web.console.params import BadRequest, confirmed_body, conversation_id, int_parameter, text_parameter
from web.responses import error_response, json_response
from web.unavailable import DATABASE, unavailable
from zapq.conversation import inbox
from zapq.conversation.store import BOT, HUMAN, release_to_bot
from zapq.customer_ids import customer_tag

DEFAULT_PAGE = 50
MAX_PAGE = 200
DEFAULT_TRANSCRIPT = 200
MAX_TRANSCRIPT = 1000
MAX_SEARCH = 64


def _shown(summary: inbox.ConversationSummary) -> dict[str, Any]:
    """The summary as the console shows it: the number's last digits instead of the number."""
    shown = msgspec.structs.asdict(summary)
    wa_id = shown.pop("wa_id")
    shown["customer_number"] = inbox.masked_number(wa_id)
    shown["customer_tag"] = customer_tag(wa_id)
    if summary.handoff_summary:
        shown["handoff_summary"] = _masked_in(summary.handoff_summary, wa_id)
    return shown


def _masked_in(text: str, wa_id: str) -> str:
    """The CRM's copy of a summary names the customer's number; the console's shows its last digits."""
    return text.replace(wa_id, inbox.masked_number(wa_id))


def _run(request: Request, query: Any, *args: Any, **kwargs: Any) -> Any:
    pool: ConnectionPool = request.app.state.database

    def with_connection() -> Any:
        with pool.connection() as connection:
            return query(connection, *args, **kwargs)

    return run_in_threadpool(with_connection)


def _not_found(cid: str) -> Response:
    return error_response(404, "conversation_not_found", f"no conversation {cid}")


async def list_conversations(request: Request) -> Response:
    caller = await caller_or_refusal(request, Role.AGENT)
    if isinstance(caller, Response):
        return caller
    try:
        text = text_parameter(request, "q", MAX_SEARCH)
        limit = int_parameter(request, "limit", DEFAULT_PAGE, 1, MAX_PAGE)
    except BadRequest as error:
        return error.response()
    try:
        if text is None:
            found = await _run(request, inbox.handoff_inbox, limit=limit)
        else:
            found = await _run(request, inbox.find_customers, text, limit=limit)
    except psycopg.OperationalError as error:
        return unavailable(DATABASE, error)
    return json_response({"search": text, "conversations": [_shown(summary) for summary in found]})


def _conversation_page(connection: psycopg.Connection[Any], cid: str, limit: int) -> dict[str, Any] | None:
    summary = inbox.conversation(connection, cid)
    if summary is None:
        return None
    return {
        "conversation": _shown(summary),
        "handoffs": [
            msgspec.structs.replace(handoff, summary=_masked_in(handoff.summary, summary.wa_id))
            for handoff in inbox.handoffs(connection, summary.phone_number_id, summary.wa_id)
        ],
        "transcript": inbox.transcript(connection, summary.phone_number_id, summary.wa_id, limit=limit),
    }


async def get_conversation(request: Request) -> Response:
    caller = await caller_or_refusal(request, Role.AGENT)
    if isinstance(caller, Response):
        return caller
    try:
        cid = conversation_id(request.path_params["id"])
        limit = int_parameter(request, "limit", DEFAULT_TRANSCRIPT, 1, MAX_TRANSCRIPT)
    except BadRequest as error:
        return error.response()
    try:
        page = await _run(request, _conversation_page, cid, limit)
    except psycopg.OperationalError as error:
        return unavailable(DATABASE, error)
    return _not_found(cid) if page is None else json_response(page)


async def release_conversation(request: Request) -> Response:
    """200 once the bot has the conversation again; 409 when the bot already had it."""
    caller = await caller_or_refusal(request, Role.AGENT)
    if isinstance(caller, Response):
        return caller
    try:
        cid = conversation_id(request.path_params["id"])
        await confirmed_body(request)
    except BadRequest as error:
        return error.response()
    try:
        summary: inbox.ConversationSummary | None = await _run(request, inbox.conversation, cid)
        if summary is None:
            return _not_found(cid)
        if summary.mode != HUMAN:
            return error_response(409, "not_handed_off", "the bot already answers this conversation")
        await _run(request, release_to_bot, summary.wa_id, summary.phone_number_id)
    except psycopg.OperationalError as error:
        return unavailable(DATABASE, error)
    await record_action(
        request, caller, "conversation.release", cid, {"customer": customer_tag(summary.wa_id)}
    )
    return json_response({"conversation_id": cid, "mode": BOT})


ROUTES = [
    Route("/api/console/conversations", list_conversations, methods=["GET"]),
    Route("/api/console/conversations/{id}", get_conversation, methods=["GET"]),
    Route("/api/console/conversations/{id}/release", release_conversation, methods=["POST"]),
]
