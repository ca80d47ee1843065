"""`GET /api/console/analytics?from=YYYY-MM-DD&to=YYYY-MM-DD`: the daily summary, for the console's charts.

The same report as `/api/analytics/summary` (zapq/analytics/summary.py, read from the DuckDB file),
behind the console's login. Admin only: it is the dealership's business figures, not an agent's work.
"""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from web.console.auth import Role, caller_or_refusal
from web.responses import error_response
from zapq.analytics.duckdb_file import FileBusy
from zapq.analytics.summary import InvalidParameter, parse_range, summarize

logger = logging.getLogger(__name__)

RETRY_AFTER_S = 5
_PARAMETERS = frozenset({"from", "to"})


async def analytics(request: Request) -> Response:
    caller = await caller_or_refusal(request, Role.ADMIN)
    if isinstance(caller, Response):
        return caller
    unknown = sorted(set(request.query_params) - _PARAMETERS)
    if unknown:
        return error_response(
            400, "invalid_parameter", f"unknown parameter {unknown[0][:32]}: expected from, to"
        )
    try:
        start, end = parse_range(request.query_params.get("from"), request.query_params.get("to"))
    except InvalidParameter as error:
        return error_response(400, "invalid_parameter", str(error))
    settings = request.app.state.settings
    try:
        report = await run_in_threadpool(
            summarize, settings.analytics_path, start, end, wait_s=settings.duckdb_lock_wait_s
        )
    except FileBusy as error:
        logger.warning("console analytics: %s", error)
        return error_response(
            503, "analytics_busy", "the analytics file is being written; try again shortly",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )  # fmt: skip
    return JSONResponse(report)


ROUTES = [Route("/api/console/analytics", analytics, methods=["GET"])]
