"""The web process's own Prometheus metrics (defined in `zapq.metrics`): requests, latencies, enqueues.

Every label value comes from a fixed set, so no client can create series: the method is one of
`METHODS` or `other`, the route is a route template or `unmatched`, and the status is one we
chose to answer. A client that went away before it was answered is counted as status `499`
(nginx's "client closed request"): not an error of ours, and not a 500.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import Scope

from web.exchange import AnswerWatcher, Exchange
from web.redis_gauges import refresh_redis_gauges
from zapq import metrics

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
OTHER_METHOD = "other"
UNMATCHED_ROUTE = "unmatched"
#: Sample names of flow control's counters (`middleware/metrics.py`) that the web also counts.
FLOW_CONTROL_METRICS = ["zapq_flow_decisions_total"]


class RequestMetrics(AnswerWatcher):
    """Pure ASGI middleware; must wrap every other middleware so it sees every answer."""

    def answered(self, scope: Scope, exchange: Exchange) -> None:
        status = exchange.status
        method = scope["method"] if scope["method"] in METHODS else OTHER_METHOD
        route = route_label(scope)
        metrics.http_requests().labels(method, route, str(status)).inc()
        metrics.http_latency().labels(method, route).observe(exchange.elapsed_s)


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
    await refresh_redis_gauges(request.app.state.enqueuer.client, request.app.state.settings)
    # Flow control counts what it decides at send (a message merged into its burst) in the
    # default registry, since the package knows no other: those counters are the web's too.
    flow_control = REGISTRY.restricted_registry(FLOW_CONTROL_METRICS)
    body = generate_latest(metrics.web_registry()) + generate_latest(flow_control)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
