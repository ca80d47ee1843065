"""`GET /api/background/tasks/{id}/stream`: the task's events as Server-Sent Events.

A new client first gets the task as it is (`event: state`, with the number of its last event as
id); a client that sends `Last-Event-ID` gets every event after that one instead. Then each
progress report, log line and status change, numbered, as it is written; a comment line
(`: heartbeat`) when nothing happened for a while; and the stream ends after the task's final
status. One poller per process feeds every stream (web/background/streams.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import msgspec
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from web.background.http import Refusal, caller, endpoint, service
from web.background.streams import TooManyStreams
from web.background.tasks import own_task
from zapq.background import store
from zapq.background.records import TaskEvent
from zapq.background.status import TERMINAL, EventKind

RECONNECT_MS = 2000
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def sse(event: str, data: object, event_id: int | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: ".encode() + msgspec.json.encode(data) + b"\n\n"


def ends_stream(event: TaskEvent) -> bool:
    return event.kind == EventKind.STATUS and event.body.get("status") in TERMINAL


@endpoint
async def stream_task(request: Request) -> Response:
    background = service(request)
    task = await own_task(request, caller(request))
    last_seen = _last_event_id(request)
    if last_seen is not None and last_seen <= task.last_event_id:
        backlog: list[TaskEvent] = await background.run(store.events_after, [(task.id, last_seen)])
        first = [sse(event.kind, event.body, event.seq) for event in backlog]
        cursor = backlog[-1].seq if backlog else last_seen
        finished = any(ends_stream(event) for event in backlog) or (not backlog and task.status in TERMINAL)
    else:
        first = [sse("state", task, task.last_event_id)]
        cursor, finished = task.last_event_id, task.status in TERMINAL
    subscription = None
    if not finished:
        try:
            subscription = background.streams.subscribe(task.id, cursor)
        except TooManyStreams:
            raise Refusal(
                503,
                "too_many_streams",
                "this server holds as many streams as it may; retry later",
                headers={"Retry-After": "5"},
            ) from None
    heartbeat_s = background.settings.background_stream_heartbeat_s

    async def events() -> AsyncIterator[bytes]:
        try:
            yield f"retry: {RECONNECT_MS}\n\n".encode() + b"".join(first)
            while subscription is not None:
                try:
                    event = await asyncio.wait_for(subscription.events.get(), heartbeat_s)
                except TimeoutError:
                    yield b": heartbeat\n\n"
                    continue
                yield sse(event.kind, event.body, event.seq)
                if ends_stream(event):
                    return
        finally:
            if subscription is not None:
                background.streams.unsubscribe(subscription)

    return StreamingResponse(events(), media_type="text/event-stream", headers=HEADERS)


def _last_event_id(request: Request) -> int | None:
    text = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise Refusal(
            422, "invalid_header", "Last-Event-ID must be an event id this stream sent", field="Last-Event-ID"
        )
    return int(text)
