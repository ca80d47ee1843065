"""POST /webhook: where a generic `{"unique_id", "message"}` event becomes a Dramatiq message.

Only authenticated senders (web/generic_auth.py) and only JSON: 415 for anything else, so a
form or `text/plain` post from some web page is refused. The fields are checked here, at the
edge, so that nothing PostgreSQL cannot store is queued. Events with the same `unique_id`
arriving within the debounce window are stored as one batch.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import uuid4

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from actors.webhook_events import store_webhook_events
from web.enqueue import BrokerUnavailable
from web.generic_auth import SIGNATURE_HEADER, authenticated
from web.json_nesting import too_deep_refusal
from web.responses import error_response
from web.unavailable import BROKER, unavailable
from zapq import metrics

MAX_UNIQUE_ID_LENGTH = 128
# Ids as CRMs, forms and phone systems write them (`lead-42`, `crm:7f3a`, `ana@example.com`,
# `+5511987654321`): no spaces, slashes, quotes or control characters.
UNIQUE_ID_PATTERN = r"^[A-Za-z0-9._:@+-]+\Z"
MAX_MESSAGE_LENGTH = 32_768
# PostgreSQL text cannot hold NUL, and no other C0 control but tab, CR and LF belongs in a message.
MESSAGE_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*\Z"


class GenericEvent(msgspec.Struct, forbid_unknown_fields=False):
    unique_id: Annotated[
        str, msgspec.Meta(min_length=1, max_length=MAX_UNIQUE_ID_LENGTH, pattern=UNIQUE_ID_PATTERN)
    ]
    message: Annotated[str, msgspec.Meta(max_length=MAX_MESSAGE_LENGTH, pattern=MESSAGE_PATTERN)]


_decoder = msgspec.json.Decoder(GenericEvent)


async def receive_generic_webhook(request: Request) -> Response:
    raw_body = await request.body()
    if not authenticated(request.app.state.settings, raw_body, request.headers):
        return error_response(
            401, "unauthorized", f"{SIGNATURE_HEADER} (or Authorization: Bearer) is missing or wrong"
        )
    if not is_json(request.headers.get("content-type", "")):
        return error_response(
            415, "unsupported_media_type", "send the event as Content-Type: application/json"
        )
    refusal = too_deep_refusal(raw_body)
    if refusal is not None:
        return refusal
    try:
        event = _decoder.decode(raw_body)
    except msgspec.ValidationError as error:
        return error_response(422, "invalid_payload", str(error))
    except msgspec.DecodeError as error:
        return error_response(400, "invalid_json", str(error))
    except RecursionError:  # too_deep_refusal should have caught it first
        return error_response(400, "json_too_deep", "JSON nests too deep")

    item = {
        "event_id": str(uuid4()),
        "unique_id": event.unique_id,
        "message": event.message,
        "received_at": datetime.now(UTC).isoformat(),
    }
    try:
        message = await request.app.state.enqueuer.send(store_webhook_events, item)
    except BrokerUnavailable as error:
        metrics.enqueue_failures().labels(store_webhook_events.actor_name).inc()
        return unavailable(BROKER, error)
    metrics.enqueued().labels(message.queue_name, message.actor_name).inc()
    return JSONResponse({"queued": True, "event_id": item["event_id"]}, status_code=202)


def is_json(content_type: str) -> bool:
    """`application/json` or `application/<anything>+json`, with any parameters (charset)."""
    media_type = content_type.partition(";")[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )
