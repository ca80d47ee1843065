"""Dead letters: list, inspect, requeue one or all, delete (`/api/console/deadletters...`).

`GET  /api/console/deadletters?queue=&limit=`            counts per queue, and the newest of one queue
`GET  /api/console/deadletters/{queue}/{id}`             one, with its arguments, options and traceback
`POST /api/console/deadletters/{queue}/{id}/requeue`     {"confirm": true}
`POST /api/console/deadletters/{queue}/{id}/delete`      {"confirm": true}
`POST /api/console/deadletters/{queue}/requeue-all`      {"confirm": true}

`{queue}` must be one of ours, `{id}` a UUID (the delivery id the list shows).
"""

from __future__ import annotations

import redis.asyncio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from web.console.actions import record_action
from web.console.auth import Caller, Role, caller_or_refusal
from web.console.dead_letters import DeadLetters
from web.console.params import BadRequest, confirmed_body, int_parameter, known_queue, message_id
from web.responses import error_response
from web.unavailable import BROKER, unavailable
from zapq.queues import QUEUES

DEFAULT_PAGE = 50
MAX_PAGE = 500


def _dead_letters(request: Request) -> DeadLetters:
    return DeadLetters(request.app.state.enqueuer.client, request.app.state.settings.redis_namespace)


async def _admin(request: Request) -> Caller | Response:
    return await caller_or_refusal(request, Role.ADMIN)


async def list_dead_letters(request: Request) -> Response:
    caller = await _admin(request)
    if isinstance(caller, Response):
        return caller
    try:
        queue = request.query_params.get("queue") or None
        if queue is not None:
            known_queue(queue)
        limit = int_parameter(request, "limit", DEFAULT_PAGE, 1, MAX_PAGE)
    except BadRequest as error:
        return error.response()
    store = _dead_letters(request)
    try:
        counts = await store.counts(QUEUES)
        if queue is None:  # the queue with the most, so the page opens on something to look at
            queue = max(QUEUES, key=lambda name: counts[name]) if any(counts.values()) else QUEUES[0]
        letters = await store.newest(queue, limit)
    except (redis.RedisError, OSError) as error:
        return unavailable(BROKER, error)
    return JSONResponse({"counts": counts, "queue": queue, "dead_letters": [d.summary() for d in letters]})


def _target(request: Request) -> tuple[str, str]:
    return known_queue(request.path_params["queue"]), message_id(request.path_params["id"])


def _not_found(queue: str, rid: str) -> Response:
    return error_response(404, "dead_letter_not_found", f"no dead letter {rid} in {queue}")


async def get_dead_letter(request: Request) -> Response:
    caller = await _admin(request)
    if isinstance(caller, Response):
        return caller
    try:
        queue, rid = _target(request)
    except BadRequest as error:
        return error.response()
    try:
        letter = await _dead_letters(request).get(queue, rid)
    except (redis.RedisError, OSError) as error:
        return unavailable(BROKER, error)
    if letter is None:
        return _not_found(queue, rid)
    return JSONResponse(letter.detail())


async def requeue_dead_letter(request: Request) -> Response:
    caller = await _admin(request)
    if isinstance(caller, Response):
        return caller
    try:
        queue, rid = _target(request)
        await confirmed_body(request)
    except BadRequest as error:
        return error.response()
    try:
        requeued = await _dead_letters(request).requeue(queue, rid)
    except (redis.RedisError, OSError) as error:
        return unavailable(BROKER, error)
    if not requeued:
        return _not_found(queue, rid)
    await record_action(request, caller, "dead_letter.requeue", f"{queue}/{rid}")
    return JSONResponse({"requeued": 1, "queue": queue, "id": rid})


async def delete_dead_letter(request: Request) -> Response:
    caller = await _admin(request)
    if isinstance(caller, Response):
        return caller
    try:
        queue, rid = _target(request)
        await confirmed_body(request)
    except BadRequest as error:
        return error.response()
    try:
        deleted = await _dead_letters(request).delete(queue, rid)
    except (redis.RedisError, OSError) as error:
        return unavailable(BROKER, error)
    if not deleted:
        return _not_found(queue, rid)
    await record_action(request, caller, "dead_letter.delete", f"{queue}/{rid}")
    return JSONResponse({"deleted": 1, "queue": queue, "id": rid})


async def requeue_all(request: Request) -> Response:
    caller = await _admin(request)
    if isinstance(caller, Response):
        return caller
    try:
        queue = known_queue(request.path_params["queue"])
        await confirmed_body(request)
    except BadRequest as error:
        return error.response()
    try:
        requeued, left = await _dead_letters(request).requeue_all(queue)
    except (redis.RedisError, OSError) as error:
        return unavailable(BROKER, error)
    await record_action(
        request, caller, "dead_letter.requeue_all", queue, {"requeued": requeued, "left": left}
    )
    return JSONResponse({"requeued": requeued, "left": left, "queue": queue})


ROUTES = [
    Route("/api/console/deadletters", list_dead_letters, methods=["GET"]),
    Route("/api/console/deadletters/{queue}/requeue-all", requeue_all, methods=["POST"]),
    Route("/api/console/deadletters/{queue}/{id}", get_dead_letter, methods=["GET"]),
    Route("/api/console/deadletters/{queue}/{id}/requeue", requeue_dead_letter, methods=["POST"]),
    Route("/api/console/deadletters/{queue}/{id}/delete", delete_dead_letter, methods=["POST"]),
]
