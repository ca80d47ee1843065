"""`webhook_delivery`: POST a JSON object to a URL the submitter chose, optionally signed.

The destination passes the SSRF guard first (`destinations.py`); the POST, its signature and how
its answer is classified for retries are `http_delivery.py`'s. Each attempt is one line of the
task's log; the result is the answer of the attempt that got through.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from zapq.background.handlers import PermanentTaskError, TaskContext, register
from zapq.background.types.destinations import DestinationUnresolved, check_destination
from zapq.background.types.http_delivery import DeliveryFailed, post_json, reserved_header, signature_headers
from zapq.background.types.payloads import decode_payload
from zapq.background.types.retries import retry_policy
from zapq.settings import get_settings, parse_allowed_hosts

TASK_TYPE = "webhook_delivery"
#: An HTTP header name (RFC 9110 token).
HeaderName = Annotated[str, Meta(pattern=r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")]
#: A header value: visible ASCII and spaces, no line breaks (no header injection).
HeaderValue = Annotated[str, Meta(pattern=r"^[\x20-\x7e\t]{0,4096}$")]


class WebhookDeliveryPayload(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    webhook_url: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=2048,
            pattern=r"^[hH][tT][tT][pP][sS]?://",
            description="Where the POST goes: http(s), public unless WEBHOOK_ALLOWED_HOSTS says.",
        ),
    ]
    data: Annotated[dict[str, Any], Meta(description="The JSON object POSTed, as the body.")]
    headers: Annotated[
        dict[HeaderName, HeaderValue],
        Meta(max_length=50, description="Extra request headers (not Host, Content-* or X-Zapq-*)."),
    ] = msgspec.field(default_factory=dict)
    sign_payload: Annotated[
        bool,
        Meta(description="Add X-Zapq-Timestamp and X-Zapq-Signature-256 (TASK_WEBHOOK_SIGNING_SECRET)."),
    ] = False

    def __post_init__(self) -> None:
        refused = sorted(name for name in self.headers if reserved_header(name))
        if refused:
            raise ValueError(f"headers: {refused[0]!r} is set by zapq itself and may not be given")


@register(TASK_TYPE, retry=retry_policy(TASK_TYPE))
def deliver_webhook(context: TaskContext, payload: Mapping[str, Any]) -> dict[str, Any]:
    """POST `data` to `webhook_url`; the result holds the receiver's status, answer and the time it took."""
    request = decode_payload(payload, WebhookDeliveryPayload)
    settings = get_settings()
    headers = dict(request.headers)
    body = msgspec.json.encode(request.data)
    if request.sign_payload:
        if not settings.task_webhook_signing_secret:
            raise PermanentTaskError("sign_payload needs TASK_WEBHOOK_SIGNING_SECRET, which is unset")
        headers.update(signature_headers(settings.task_webhook_signing_secret, body))
    try:
        destination = check_destination(
            request.webhook_url, parse_allowed_hosts(settings.webhook_allowed_hosts)
        )
    except DestinationUnresolved as error:
        context.log(f"attempt {context.attempt}: {error}", "warning")
        raise DeliveryFailed(str(error)) from None
    except PermanentTaskError as refused:
        context.log(f"attempt {context.attempt}: {refused}", "error")
        raise
    context.check_cancelled()
    delivery = post_json(
        context, destination, body, headers, timeout_s=settings.webhook_timeout_s, pinned=True
    )
    return {"url": destination.origin, "signed": request.sign_payload, **delivery.as_result()}
