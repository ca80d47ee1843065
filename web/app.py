"""The Starlette application: `uvicorn --factory web.app:create_app`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

import actors
from web.enqueue import AsyncEnqueuer
from web.generic_webhook import receive_generic_webhook
from web.health import health, ready
from web.metrics import RequestMetrics, metrics_endpoint


def create_app() -> Starlette:
    settings = actors.settings

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.enqueuer = AsyncEnqueuer(actors.broker, settings.redis_url)
        app.state.database_url = settings.database_url
        yield
        await app.state.enqueuer.close()

    routes = [
        Route("/webhook", receive_generic_webhook, methods=["POST"]),
        Route("/health", health, methods=["GET"]),
        Route("/health/ready", ready, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
    ]
    return Starlette(routes=routes, middleware=[Middleware(RequestMetrics)], lifespan=lifespan)
