"""The queue as a whole: stats and cleanup (role admin), and health (anyone)."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response

from web.background.http import Refusal, caller, endpoint, query_number, service
from web.background.schemas import Cleaned, Health
from web.responses import json_response
from zapq.background import store

CHECK_TIMEOUT_S = 2.0
MAX_AGE_DAYS = 3650.0


@endpoint
async def queue_stats(request: Request) -> Response:
    caller(request, admin=True)
    return json_response(await service(request).run(store.queue_stats))


@endpoint
async def queue_cleanup(request: Request) -> Response:
    """Delete finished tasks older than `max_age_days` (required: a cleanup says what it removes)."""
    caller(request, admin=True)
    max_age_days = query_number(request, "max_age_days", 0.0, MAX_AGE_DAYS)
    if max_age_days is None:
        raise Refusal(422, "invalid_parameter", "max_age_days is required", field="max_age_days")
    deleted: int = await service(request).run(store.cleanup, max_age_days)
    return json_response(Cleaned(deleted))


async def health(request: Request) -> Response:
    background = service(request)
    database, broker = await asyncio.gather(_database_ok(request), _broker_ok(request))
    ok = database and broker
    body = Health("ok" if ok else "degraded", database, broker, background.streams.open_streams)
    return json_response(body, 200 if ok else 503)


async def _database_ok(request: Request) -> bool:
    try:
        await asyncio.wait_for(
            service(request).run(lambda connection: connection.execute("SELECT 1")), CHECK_TIMEOUT_S
        )
    except Exception:
        return False
    return True


async def _broker_ok(request: Request) -> bool:
    try:
        return await asyncio.wait_for(service(request).enqueuer.ping(), CHECK_TIMEOUT_S)
    except Exception:
        return False
