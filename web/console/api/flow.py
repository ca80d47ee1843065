"""Flow control: decisions per actor, the "why" lookup of a key, and releasing a stuck key.

`GET  /api/console/flow`                                 actors with flow options, 15 minutes of decisions
`GET  /api/console/flow/lookup?actor=&kind=&key=`        the record of one key (web/console/flow_records.py)
`POST /api/console/flow/release`                         {"confirm": true, "actor", "kind", "key"}

Decisions come from the workers' minute counts (`zapq.minute_counts`): runs, and FlowControl's
outcomes (`middleware.metrics.OUTCOMES`) per actor.
"""

from __future__ import annotations

from typing import Any

import msgspec
import redis.asyncio
from dramatiq import Actor
from dramatiq.common import current_millis
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from middleware.flow_control import FlowControl
from middleware.keyspace import Keyspace
from web.console.actions import record_action
from web.console.auth import Role, caller_or_refusal
from web.console.flow_records import RELEASABLE, LookupKind, look_up, release
from web.console.params import BadRequest, Confirmation, confirmed_body
from web.unavailable import BROKER, unavailable
from zapq.keyspace import minute_counts_key
from zapq.minute_counts import OTHER, MinuteTotals, span_minutes

CHART_MINUTES = 15
MAX_KEY_CHARS = 1000
DEFAULT_THROTTLE_PERIOD_MS = 86_400_000
FLOW_FEATURES = ("idempotency_key", "debounce", "dedup", "throttle")


class ReleaseBody(Confirmation, forbid_unknown_fields=True):
    actor: str = ""
    kind: str = ""
    key: str = ""


def _flow_control(request: Request) -> FlowControl:
    flow_control: FlowControl | None = request.app.state.enqueuer.flow_control
    if flow_control is None:
        raise BadRequest("flow control is not installed on this broker", "flow_control_missing")
    return flow_control


def _actors(request: Request) -> dict[str, Actor[Any, Any]]:
    actors: dict[str, Actor[Any, Any]] = request.app.state.enqueuer.broker.actors
    return actors


def _features(actor: Actor[Any, Any]) -> dict[str, Any]:
    options = actor.options
    features: dict[str, Any] = {name: name in options for name in FLOW_FEATURES}
    if "throttle" in options:
        features["throttle_limit"] = options.get("throttle_limit", 1)
        features["throttle_period_ms"] = options.get("throttle_period", DEFAULT_THROTTLE_PERIOD_MS)
    if "debounce" in options:
        features["debounce_window_ms"] = options.get("debounce_window")
    if "dedup" in options:
        features["dedup_window_ms"] = options["dedup"]
    return features


async def flow_overview(request: Request) -> Response:
    caller = await caller_or_refusal(request, Role.ADMIN)
    if isinstance(caller, Response):
        return caller
    settings = request.app.state.settings
    client: redis.asyncio.Redis = request.app.state.enqueuer.client
    minutes = span_minutes(current_millis(), CHART_MINUTES)
    try:
        pipeline = client.pipeline(transaction=False)
        for minute in minutes:
            pipeline.hgetall(minute_counts_key(settings.redis_namespace, minute))
        totals = MinuteTotals(minutes, await pipeline.execute())
    except (redis.RedisError, OSError) as error:
        return unavailable(BROKER, error)
    rows = []
    for name, actor in sorted(_actors(request).items()):
        decisions = totals.decisions.get(name, {})
        features = _features(actor)
        if not any(features[f] for f in FLOW_FEATURES) and not decisions:
            continue
        rows.append({"actor": name, "queue": actor.queue_name, "features": features,
                     "ran": totals.runs.get(name, 0), "decisions": decisions})  # fmt: skip
    if OTHER in totals.decisions:  # the tick's own decisions (woken waiters), which name no actor
        rows.append(
            {"actor": OTHER, "queue": None, "features": {}, "ran": 0, "decisions": totals.decisions[OTHER]}
        )
    return JSONResponse({"minutes": minutes, "actors": rows, "kinds": [kind.value for kind in LookupKind]})


def _lookup_target(
    request: Request, actor_name: str, kind_text: str, key: str
) -> tuple[Actor[Any, Any], LookupKind]:
    actor = _actors(request).get(actor_name)
    if actor is None:
        raise BadRequest(
            "actor must be one of the declared actors (see GET /api/console/flow)", "unknown_actor"
        )
    try:
        kind = LookupKind(kind_text)
    except ValueError:
        raise BadRequest(
            f"kind must be one of: {', '.join(k.value for k in LookupKind)}", "unknown_kind"
        ) from None
    if not key or len(key) > MAX_KEY_CHARS:
        raise BadRequest(f"key must be 1 to {MAX_KEY_CHARS} characters")
    return actor, kind


async def flow_lookup(request: Request) -> Response:
    caller = await caller_or_refusal(request, Role.ADMIN)
    if isinstance(caller, Response):
        return caller
    query = request.query_params
    try:
        keys: Keyspace = _flow_control(request).keys
        actor, kind = _lookup_target(
            request, query.get("actor", ""), query.get("kind", ""), query.get("key", "")
        )
    except BadRequest as error:
        return error.response()
    period = actor.options.get("throttle_period", DEFAULT_THROTTLE_PERIOD_MS)
    try:
        record = await look_up(request.app.state.enqueuer.client, keys, actor.actor_name, kind,
                               query["key"], current_millis(), period)  # fmt: skip
    except (redis.RedisError, OSError) as error:
        return unavailable(BROKER, error)
    return JSONResponse({"actor": actor.actor_name, "key": query["key"], "releasable": kind in RELEASABLE,
                         **record.as_json()})  # fmt: skip


async def flow_release(request: Request) -> Response:
    caller = await caller_or_refusal(request, Role.ADMIN)
    if isinstance(caller, Response):
        return caller
    try:
        body: ReleaseBody = await confirmed_body(request, ReleaseBody)
        keys: Keyspace = _flow_control(request).keys
        actor, kind = _lookup_target(request, body.actor, body.kind, body.key)
        if kind not in RELEASABLE:
            raise BadRequest("a debounce window is not released: it flushes by itself", "not_releasable")
    except (BadRequest, msgspec.ValidationError) as error:
        if isinstance(error, BadRequest):
            return error.response()
        return BadRequest(str(error)[:300], "invalid_body").response()
    try:
        held = await release(request.app.state.enqueuer.client, keys, actor.actor_name, kind, body.key)
    except (redis.RedisError, OSError) as error:
        return unavailable(BROKER, error)
    if held is None:
        return JSONResponse({"released": False, "detail": "nothing was held under this key"}, status_code=404)
    await record_action(request, caller, "flow.release", f"{actor.actor_name} {kind.value}",
                        {"held": held[:200]})  # fmt: skip
    return JSONResponse({"released": True, "actor": actor.actor_name, "kind": kind.value, "held": held})


ROUTES = [
    Route("/api/console/flow", flow_overview, methods=["GET"]),
    Route("/api/console/flow/lookup", flow_lookup, methods=["GET"]),
    Route("/api/console/flow/release", flow_release, methods=["POST"]),
]
