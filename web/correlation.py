"""Every HTTP request gets a correlation id, made current while it is answered and returned to the caller.

A caller's own `X-Request-ID` or `X-Correlation-ID` (nginx's `$request_id`, a load balancer's) is
kept only when it is 8 to 64 of `[A-Za-z0-9._-]` with a letter and no run of 10 digits: an outside
id must not be able to put a phone number, a line break or a megabyte into every log line. Else a
new id is made. Either way the answer carries it as `X-Correlation-ID`, and every message the
request sends carries it to the workers (`middleware.correlation`).
"""

from __future__ import annotations

import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from middleware.correlation import bind_correlation, unbind

INCOMING_HEADERS = (b"x-correlation-id", b"x-request-id")
RESPONSE_HEADER = b"x-correlation-id"
ACCEPTED = re.compile(r"[A-Za-z0-9._-]{8,64}")
LETTER = re.compile(r"[A-Za-z]")
DIGIT_RUN = re.compile(r"\d{10}")


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def accepted_id(value: bytes) -> str | None:
    """The caller's id when it is safe to log as it is, else None."""
    text = value.decode("latin-1")
    if ACCEPTED.fullmatch(text) and LETTER.search(text) and not DIGIT_RUN.search(text):
        return text
    return None


class CorrelationIds:
    """Pure ASGI middleware; outermost, so the access log line carries the id too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())
        incoming = (accepted_id(headers[name]) for name in INCOMING_HEADERS if name in headers)
        correlation_id = next((found for found in incoming if found), None) or new_correlation_id()
        encoded = correlation_id.encode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), (RESPONSE_HEADER, encoded)]}
            await send(message)

        token = bind_correlation(correlation_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            unbind(token)
