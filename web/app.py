"""The Starlette application: `uvicorn --factory web.app:create_app`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import Route

import actors
from actors.broker import bind_broker
from web.access_log import AccessLog
from web.admin import list_poison_items, release_conversation
from web.analytics import analytics_summary
from web.auth_throttle import FailedAuthThrottle
from web.background.openapi import docs_page, openapi_json
from web.background.routes import ROUTES as BACKGROUND_ROUTES
from web.background.routes import SUBMISSION_PATHS
from web.background.service import BackgroundService
from web.body_limits import BodyLimits
from web.console.routes import console_routes
from web.correlation import CorrelationIds
from web.database import open_pool
from web.enqueue import AsyncEnqueuer
from web.generic_webhook import receive_generic_webhook
from web.health import health, readiness_check, ready
from web.metrics import RequestMetrics, metrics_endpoint
from web.responses import http_error, server_error
from web.search import search
from web.test_drive_agenda import list_test_drives, record_outcome
from web.whatsapp_webhook import receive_whatsapp_webhook, verify_whatsapp_webhook
from zapq.logging_setup import configure_logging
from zapq.runtime import boot_web
from zapq.settings import Settings, SettingsError, get_settings

logger = logging.getLogger(__name__)

WHATSAPP_WEBHOOK_PATH = "/webhook/whatsapp"
GENERIC_WEBHOOK_PATH = "/webhook"


def create_app() -> Starlette:
    """The app, and the web process's start-up: `uvicorn --factory web.app:create_app`.

    Refuses to start without the webhooks' secrets, unless told it is development, before it
    starts anything; then boots the process (embedded servers when the URLs are unset, schema,
    which PostgreSQL being down does not hold up) and points the actors' broker at its Redis.
    """
    configure_logging(get_settings())
    check_signature_settings(get_settings())
    check_generic_webhook_settings(get_settings())
    boot_web()
    settings = get_settings()  # as booted, and as this process's environment says now
    bind_broker(actors.broker, settings.redis_url)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.enqueuer = AsyncEnqueuer(actors.broker, settings.redis_url)
        database = app.state.database = open_pool(settings.database_url, settings.database_dead_peer_s)
        app.state.readiness = readiness_check(app.state)
        app.state.admin_auth_throttle = FailedAuthThrottle()
        app.state.background = BackgroundService(settings, app.state.enqueuer)
        try:
            yield
        finally:
            await app.state.background.close()
            await app.state.enqueuer.close()
            await run_in_threadpool(database.close)

    routes = [
        Route(GENERIC_WEBHOOK_PATH, receive_generic_webhook, methods=["POST"]),
        Route(WHATSAPP_WEBHOOK_PATH, verify_whatsapp_webhook, methods=["GET"]),
        Route(WHATSAPP_WEBHOOK_PATH, receive_whatsapp_webhook, methods=["POST"]),
        Route("/api/conversations/{wa_id}/release", release_conversation, methods=["POST"]),
        Route("/api/poison", list_poison_items, methods=["GET"]),
        Route("/api/analytics/summary", analytics_summary, methods=["GET"]),
        Route("/api/search", search, methods=["GET"]),
        Route("/api/test-drives", list_test_drives, methods=["GET"]),
        Route("/api/test-drives/{test_drive_id}/outcome", record_outcome, methods=["POST"]),
        Route("/health", health, methods=["GET"]),
        Route("/health/ready", ready, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        *BACKGROUND_ROUTES,
        Route("/openapi.json", openapi_json, methods=["GET"]),
        Route("/docs", docs_page, methods=["GET"]),
        *console_routes(),
    ]
    # Outermost, so that they log and count what the inner ones answer (413, 408) and who hung up (499);
    # the correlation id around them all, so the access line carries it.
    middleware = [Middleware(CorrelationIds)]
    middleware += [Middleware(AccessLog)] if settings.access_log else []
    middleware += [
        Middleware(RequestMetrics),
        Middleware(
            BodyLimits,
            max_bytes_by_path={
                WHATSAPP_WEBHOOK_PATH: settings.whatsapp_max_body_bytes,
                GENERIC_WEBHOOK_PATH: settings.generic_webhook_max_body_bytes,
                **dict.fromkeys(SUBMISSION_PATHS, settings.background_max_body_bytes),
            },
            default_max_bytes=settings.web_max_body_bytes,
            read_timeout_s=settings.web_body_timeout_s,
        ),
    ]
    # Routing's 404 and 405, and a bug's 500, answer with the error body every endpoint uses.
    exception_handlers = {HTTPException: http_error, Exception: server_error}
    return Starlette(
        routes=routes, middleware=middleware, exception_handlers=exception_handlers, lifespan=lifespan
    )


def check_signature_settings(settings: Settings) -> None:
    if settings.whatsapp_webhook_secret:
        return
    if not settings.whatsapp_skip_signature:
        raise SettingsError(
            "missing required environment variable WHATSAPP_WEBHOOK_SECRET"
            " (or WHATSAPP_SKIP_SIGNATURE=1, for development only)"
        )
    logger.warning("WHATSAPP_SKIP_SIGNATURE=1: WhatsApp webhooks are accepted unsigned; never in production")


def check_generic_webhook_settings(settings: Settings) -> None:
    if settings.generic_webhook_secret or settings.generic_webhook_token:
        return
    if not settings.generic_webhook_allow_unsigned:
        raise SettingsError(
            "missing required environment variable GENERIC_WEBHOOK_SECRET (or GENERIC_WEBHOOK_TOKEN;"
            " or GENERIC_WEBHOOK_ALLOW_UNSIGNED=1, for development only)"
        )
    logger.warning(
        "GENERIC_WEBHOOK_ALLOW_UNSIGNED=1: POST /webhook accepts events from anyone; never in production"
    )
