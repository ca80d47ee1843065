"""GET/POST /webhook/whatsapp: Meta's handshake, and signed notifications handed to the actors.

A POST is answered 200 only once every message and status in it is on the broker. When
Redis cannot take them the answer is 503 and Meta retries the whole POST later; what was
already queued from the first attempt is recognised by its wamid, so nothing is answered twice.
The body is at most WHATSAPP_MAX_BODY_BYTES by the time it gets here (web/body_limits.py), and
its nesting is checked only after its signature, so only Meta can make us measure 3 MiB.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from actors.conversation import apply_message_status, process_message
from web.enqueue import BrokerUnavailable, Enqueued
from web.json_nesting import too_deep_refusal
from web.responses import error_response
from web.unavailable import BROKER, unavailable
from zapq import metrics
from zapq.customer_ids import customer_tag
from zapq.whatsapp.events import to_wire
from zapq.whatsapp.inbound import InvalidPayload, Notification, parse_notification
from zapq.whatsapp.signature import SIGNATURE_HEADER, SignatureProblem, signature_problem, verify_handshake

logger = logging.getLogger(__name__)

#: A wrong app secret is the most common setup mistake with Meta: the mismatch line says where to look.
SIGNATURE_PROBLEMS = {
    SignatureProblem.MISSING: f"no {SIGNATURE_HEADER} header",
    SignatureProblem.MALFORMED: f"{SIGNATURE_HEADER} is not sha256=<64 hex digits>",
    SignatureProblem.MISMATCH: f"{SIGNATURE_HEADER} does not match the body: check that"
    " WHATSAPP_WEBHOOK_SECRET is the Meta app's secret (App settings > Basic > App secret)",
    SignatureProblem.NO_SECRET: "WHATSAPP_WEBHOOK_SECRET is unset",
}
#: How many customers the received line names; a bigger webhook says how many more.
MAX_NAMED_CUSTOMERS = 10


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
    if not settings.whatsapp_skip_signature:
        problem = signature_problem(
            settings.whatsapp_webhook_secret, raw_body, request.headers.get(SIGNATURE_HEADER)
        )
        if problem is not None:
            logger.warning(
                "webhook rejected from %s: %s", request.client.host if request.client else "-",
                SIGNATURE_PROBLEMS[problem],
            )  # fmt: skip
            return error_response(
                401, "invalid_signature", f"{SIGNATURE_HEADER} is missing or does not match"
            )
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
        enqueued = await request.app.state.enqueuer.enqueue_many(outgoing)
    except BrokerUnavailable as error:
        metrics.enqueue_failures().labels(process_message.actor_name).inc()
        return unavailable(BROKER, error)
    for message in outgoing:
        metrics.enqueued().labels(message.queue_name, message.actor_name).inc()
    log_received(notification, enqueued[: len(notification.messages)])
    return JSONResponse(
        {
            "messages": len(notification.messages),
            "statuses": len(notification.statuses),
            "errors": len(notification.errors) + notification.errors_dropped,
            "skipped": notification.skipped,
        }
    )


def log_received(notification: Notification, messages: list[Enqueued]) -> None:
    """The story's first line: what the webhook carried, by kind, and whose messages they are.

    A message zapq had already (Meta redelivering it) then gets a line of its own, as skipped.
    """
    tags = [customer_tag(message.wa_id) for message in notification.messages]
    customers = list(dict.fromkeys(tags))
    named, more = customers[:MAX_NAMED_CUSTOMERS], len(customers) - MAX_NAMED_CUSTOMERS
    logger.info(
        "webhook received: messages=%d%s statuses=%d%s customers=%s%s",
        len(notification.messages), _by_kind(message.kind for message in notification.messages),
        len(notification.statuses), _by_kind(status.status for status in notification.statuses),
        ",".join(named) or "-", f" (+{more} more)" if more > 0 else "",
    )  # fmt: skip
    for message, customer, enqueued in zip(notification.messages, tags, messages, strict=True):
        if enqueued.duplicate:
            logger.info("skipped %s customer=%s: duplicate, received before", message.wamid, customer)


def _by_kind(kinds: Iterable[str]) -> str:
    counts = Counter(kinds)
    return f" ({', '.join(f'{kind}={count}' for kind, count in sorted(counts.items()))})" if counts else ""
