"""GET/POST /webhook/whatsapp: Meta's handshake, and signed notifications handed to the actors.

A POST is answered 200 only once every message and status in it is on the broker. When
Redis cannot take them the answer is 503 and Meta retries the whole POST later; what was
already queued from the first attempt is recognised by its wamid, so nothing is answered twice.
The body is at most WHATSAPP_MAX_BODY_BYTES by the time it gets here (web/body_limits.py), and
its nesting is checked only after its signature, so only Meta can make us measure 3 MiB.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from actors.conversation import apply_message_status, process_message
from web.enqueue import BrokerUnavailable
from web.json_nesting import too_deep_refusal
from web.responses import error_response
from web.unavailable import BROKER, unavailable
from zapq import metrics
from zapq.whatsapp.events import to_wire
from zapq.whatsapp.inbound import InvalidPayload, parse_notification
from zapq.whatsapp.signature import SIGNATURE_HEADER, verify_handshake, verify_signature

logger = logging.getLogger(__name__)


async def verify_whatsapp_webhook(request: Request) -> Response:
    params = request.query_params
    challenge = verify_handshake(
        params.get("hub.mode"),
        params.get("hub.verify_token"),
        params.get("hub.challenge"),
        request.app.state.settings.whatsapp_verify_token,
    )
    if challenge is None:
        return error_response(403, "verification_failed", "hub.mode or hub.verify_token does not match")
    return PlainTextResponse(challenge)


async def receive_whatsapp_webhook(request: Request) -> Response:
    raw_body = await request.body()
    settings = request.app.state.settings
    if not settings.whatsapp_skip_signature and not verify_signature(
        settings.whatsapp_webhook_secret, raw_body, request.headers.get(SIGNATURE_HEADER)
    ):
        return error_response(401, "invalid_signature", f"{SIGNATURE_HEADER} is missing or does not match")
    refusal = too_deep_refusal(raw_body)
    if refusal is not None:
        return refusal
    try:
        notification = parse_notification(raw_body)
    except InvalidPayload as error:
        return error_response(400, "invalid_payload", str(error))
    except RecursionError:  # too_deep_refusal should have caught it first
        return error_response(400, "json_too_deep", "JSON nests too deep")

    for skipped in notification.skipped:
        logger.warning("webhook part left out: %s", skipped)
    for platform_error in notification.errors:
        logger.error("WhatsApp reports an error for %s: %s", platform_error.phone_number_id, platform_error)
    outgoing = [process_message.message_with_options(args=(to_wire(m),)) for m in notification.messages]
    outgoing += [apply_message_status.message(to_wire(status)) for status in notification.statuses]
    try:
        await request.app.state.enqueuer.enqueue_many(outgoing)
    except BrokerUnavailable as error:
        metrics.enqueue_failures().labels(process_message.actor_name).inc()
        return unavailable(BROKER, error)
    for message in outgoing:
        metrics.enqueued().labels(message.queue_name, message.actor_name).inc()
    return JSONResponse(
        {
            "messages": len(notification.messages),
            "statuses": len(notification.statuses),
            "errors": len(notification.errors) + notification.errors_dropped,
            "skipped": notification.skipped,
        }
    )
