"""Every console route: the page, its assets, and each page's JSON API module.

A page's API module exports `ROUTES` (paths under `/api/console/`); add it here once.
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route

from web.console.api import analytics, conversations, deadletters, flow, queues, session, tasks
from web.console.page import console_assets, console_page

CONSOLE_PATH = "/console"


def console_routes() -> list[BaseRoute]:
    return [
        Route(CONSOLE_PATH, console_page, methods=["GET"]),
        Route(CONSOLE_PATH + "/", console_page, methods=["GET"]),
        Mount(CONSOLE_PATH + "/static", app=console_assets(), name="console_static"),
        *session.ROUTES,
        *queues.ROUTES,
        *deadletters.ROUTES,
        *flow.ROUTES,
        # The other console pages' API modules (tasks, conversations, analytics) go below.
        *tasks.ROUTES,
        *conversations.ROUTES,
        *analytics.ROUTES,
    ]
