"""The web process's own Prometheus metrics (defined in `zapq.metrics`): requests, latencies, enqueues.

Every label value comes from a fixed set, so no client can create series: the method is one of
`METHODS` or `other`, the route is a route template or `unmatched`, and the status is one we
chose to answer. A client that went away before it was answered is counted as status `499`
(nginx's "client closed request"): not an error of ours, and not a 500.
"""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zapq import metrics

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
OTHER_METHOD = "other"
UNMATCHED_ROUTE = "unmatched"
CLIENT_CLOSED_REQUEST = 499
SERVER_ERROR = 500


class RequestMetrics:
    """Pure ASGI middleware; must wrap every other middleware so it sees every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: int | None = None
        client_gone = False

        async def receive_and_watch() -> Message:
            nonlocal client_gone
            message = await receive()
            client_gone = client_gone or message["type"] == "http.disconnect"
            return message

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive_and_watch, send_and_record)
        finally:
            if status is None:
                status = CLIENT_CLOSED_REQUEST if client_gone else SERVER_ERROR
            method = scope["method"] if scope["method"] in METHODS else OTHER_METHOD
            route = route_label(scope)
            metrics.http_requests().labels(method, route, str(status)).inc()
            metrics.http_latency().labels(method, route).observe(time.perf_counter() - started)


def route_label(scope: Scope) -> str:
    """The template of the route the request was for, also when it was answered before routing."""
    route = scope.get("route")
    if route is None:
        app = scope.get("app")
        for candidate in getattr(app, "routes", ()):
            if candidate.matches(scope)[0] is not Match.NONE:
                route = candidate
                break
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


async def metrics_endpoint(request: Request) -> Response:
    return Response(generate_latest(metrics.web_registry()), media_type=CONTENT_TYPE_LATEST)
