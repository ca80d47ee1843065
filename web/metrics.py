"""The web process's own Prometheus metrics: requests, latencies, enqueues."""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REGISTRY = CollectorRegistry()
REQUESTS = Counter(
    "zapq_http_requests_total", "HTTP requests answered.", ["method", "route", "status"], registry=REGISTRY
)
LATENCY = Histogram(
    "zapq_http_request_duration_seconds",
    "Time to answer an HTTP request.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
    registry=REGISTRY,
)
ENQUEUED = Counter(
    "zapq_enqueued_messages_total", "Messages handed to the broker.", ["queue_name", "actor_name"],
    registry=REGISTRY,
)  # fmt: skip
ENQUEUE_FAILURES = Counter(
    "zapq_enqueue_failures_total", "Messages the broker could not take (answered 503).", ["actor_name"],
    registry=REGISTRY,
)  # fmt: skip


class RequestMetrics:
    """Pure ASGI middleware; labels by route template so path parameters don't explode cardinality."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            LATENCY.labels(scope["method"], route).observe(time.perf_counter() - started)


async def metrics_endpoint(request: Request) -> Response:
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
