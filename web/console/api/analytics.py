"""`GET /api/console/analytics?from=YYYY-MM-DD&to=YYYY-MM-DD`: the daily summary, for the console's charts.

The same report as `/api/analytics/summary` (zapq/analytics/summary.py, read from the DuckDB file),
behind the console's login. Admin only: it is the dealership's business figures, not an agent's work.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from web.analytics import summary_answer
from web.console.auth import Role, caller_or_refusal


async def analytics(request: Request) -> Response:
    caller = await caller_or_refusal(request, Role.ADMIN)
    if isinstance(caller, Response):
        return caller
    return await summary_answer(request, "console analytics")


ROUTES = [Route("/api/console/analytics", analytics, methods=["GET"])]
