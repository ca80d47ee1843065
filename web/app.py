"""The Starlette application: `uvicorn --factory web.app:create_app`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

import actors
from web.admin import release_conversation
from web.enqueue import AsyncEnqueuer
from web.generic_webhook import receive_generic_webhook
from web.health import health, ready
from web.metrics import RequestMetrics, metrics_endpoint
from web.whatsapp_webhook import receive_whatsapp_webhook, verify_whatsapp_webhook
from zapq.settings import Settings, SettingsError, get_settings

logger = logging.getLogger(__name__)


def create_app() -> Starlette:
    """The app. Refuses to start without the webhook secret, unless WHATSAPP_SKIP_SIGNATURE=1."""
    settings = get_settings()
    check_signature_settings(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.enqueuer = AsyncEnqueuer(actors.broker, settings.redis_url)
        app.state.database_url = settings.database_url
        app.state.settings = settings
        yield
        await app.state.enqueuer.close()

    routes = [
        Route("/webhook", receive_generic_webhook, methods=["POST"]),
        Route("/webhook/whatsapp", verify_whatsapp_webhook, methods=["GET"]),
        Route("/webhook/whatsapp", receive_whatsapp_webhook, methods=["POST"]),
        Route("/api/conversations/{wa_id}/release", release_conversation, methods=["POST"]),
        Route("/health", health, methods=["GET"]),
        Route("/health/ready", ready, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
    ]
    return Starlette(routes=routes, middleware=[Middleware(RequestMetrics)], lifespan=lifespan)


def check_signature_settings(settings: Settings) -> None:
    if settings.whatsapp_webhook_secret:
        return
    if not settings.whatsapp_skip_signature:
        raise SettingsError(
            "missing required environment variable WHATSAPP_WEBHOOK_SECRET"
            " (or WHATSAPP_SKIP_SIGNATURE=1, for development only)"
        )
    logger.warning("WHATSAPP_SKIP_SIGNATURE=1: WhatsApp webhooks are accepted unsigned; never in production")
