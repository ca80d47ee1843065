"""`GET /api/console/session`: who the token is (the login form's check) and `GET /api/console/actions`."""

from __future__ import annotations

import msgspec
import psycopg
from psycopg_pool import ConnectionPool
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from web.console.auth import Role, authenticate, caller_or_refusal
from web.console.params import BadRequest, int_parameter
from web.unavailable import DATABASE, unavailable
from zapq.db.console_actions import ConsoleAction, recent_actions

DEFAULT_ACTIONS_PAGE = 50
MAX_ACTIONS_PAGE = 500


async def session(request: Request) -> Response:
    caller = await authenticate(request)
    if isinstance(caller, Response):
        return caller
    return JSONResponse(
        {"actor": caller.actor, "role": caller.role.value, "organization_id": caller.organization_id}
    )


async def actions(request: Request) -> Response:
    """The action log, newest first."""
    caller = await caller_or_refusal(request, Role.ADMIN)
    if isinstance(caller, Response):
        return caller
    try:
        limit = int_parameter(request, "limit", DEFAULT_ACTIONS_PAGE, 1, MAX_ACTIONS_PAGE)
    except BadRequest as error:
        return error.response()
    try:
        rows = await run_in_threadpool(_recent, request.app.state.database, limit)
    except psycopg.OperationalError as error:
        return unavailable(DATABASE, error)
    return JSONResponse({"actions": [msgspec.to_builtins(row) for row in rows]})


def _recent(pool: ConnectionPool, limit: int) -> list[ConsoleAction]:
    with pool.connection() as connection:
        return recent_actions(connection, limit=limit)


ROUTES = [
    Route("/api/console/session", session, methods=["GET"]),
    Route("/api/console/actions", actions, methods=["GET"]),
]
