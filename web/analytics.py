"""`GET /api/analytics/summary?from=YYYY-MM-DD&to=YYYY-MM-DD`: the per-day report, behind the admin token.

Read from the DuckDB file (zapq/analytics/summary.py). While the exporter holds the file the
query waits for it (up to DUCKDB_LOCK_WAIT_S); past that the answer is 503 with Retry-After.
"""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from web.admin import refuse_unless_admin
from web.responses import error_response
from zapq.analytics.duckdb_file import FileBusy
from zapq.analytics.summary import InvalidParameter, parse_range, summarize

logger = logging.getLogger(__name__)

RETRY_AFTER_S = 5
_PARAMETERS = frozenset({"from", "to"})


async def analytics_summary(request: Request) -> Response:
    if (refusal := await refuse_unless_admin(request)) is not None:
        return refusal
    return await summary_answer(request, "analytics summary")


async def summary_answer(request: Request, asked_by: str) -> Response:
    """The report for the request's `from`/`to`, once its caller was let in (this API, the console)."""
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
        logger.warning("%s: %s", asked_by, error)
        return error_response(
            503, "analytics_busy", "the analytics file is being written; try again shortly",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )  # fmt: skip
    return JSONResponse(report)
