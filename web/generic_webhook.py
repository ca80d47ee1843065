"""POST /webhook: where a generic `{"unique_id", "message"}` event becomes a Dramatiq message.

Events with the same `unique_id` arriving within the debounce window are stored as one batch.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from actors.webhook_events import store_webhook_events
from web.enqueue import BrokerUnavailable
from web.metrics import ENQUEUE_FAILURES, ENQUEUED
from web.responses import error_response


class GenericEvent(msgspec.Struct, forbid_unknown_fields=False):
    unique_id: str
    message: str


_decoder = msgspec.json.Decoder(GenericEvent)


async def receive_generic_webhook(request: Request) -> Response:
    raw_body = await request.body()
    try:
        event = _decoder.decode(raw_body)
    except msgspec.ValidationError as error:
        return error_response(422, "invalid_payload", str(error))
    except msgspec.DecodeError as error:
        return error_response(400, "invalid_json", str(error))
    if not event.unique_id:
        return error_response(422, "invalid_payload", "unique_id must not be empty")

    item = {
        "event_id": str(uuid4()),
        "unique_id": event.unique_id,
        "message": event.message,
        "received_at": datetime.now(UTC).isoformat(),
    }
    try:
        message = await request.app.state.enqueuer.send(store_webhook_events, item)
    except BrokerUnavailable as error:
        ENQUEUE_FAILURES.labels(store_webhook_events.actor_name).inc()
        return error_response(503, "broker_unavailable", f"the queue could not take the event: {error}")
    ENQUEUED.labels(message.queue_name, message.actor_name).inc()
    return JSONResponse({"queued": True, "event_id": item["event_id"]}, status_code=202)
