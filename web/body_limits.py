"""Every request body is read whole, bounded in size and in time, before any endpoint sees it.

The body is refused with 413 as soon as it is known to be too large: from Content-Length before
a byte of it is read, or while counting the chunks of a chunked one. A client that takes longer
than the read timeout to send it gets 408. Both answers close the connection, so nothing more is
read from it. A client that goes away mid-upload gets no answer at all: that is not an error of
ours (`RequestMetrics` counts it as 499). Endpoints then see the buffered body, so what they do
with it (a signature check, decoding) only ever costs a bounded amount of memory and time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.responses import error_response

DEFAULT_MAX_BYTES = 16_384
DEFAULT_READ_TIMEOUT_S = 10.0

# The body is not read to its end: the connection cannot carry another request.
_CLOSE = {"connection": "close"}


class _TooLarge(Exception):
    pass


class _ClientGone(Exception):
    pass


class BodyLimits:
    """Pure ASGI middleware.

    :param max_bytes_by_path: the largest body of a path (exact match), for paths that differ from
        `default_max_bytes`.
    :param default_max_bytes: the largest body of every other path.
    :param read_timeout_s: how long a client has to send its whole body.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes_by_path: Mapping[str, int] | None = None,
        default_max_bytes: int = DEFAULT_MAX_BYTES,
        read_timeout_s: float = DEFAULT_READ_TIMEOUT_S,
    ) -> None:
        self.app = app
        self.max_bytes_by_path = dict(max_bytes_by_path or {})
        self.default_max_bytes = default_max_bytes
        self.read_timeout_s = read_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.max_bytes_by_path.get(scope["path"], self.default_max_bytes)
        declared = _content_length(scope)
        try:
            if declared is not None and declared > max_bytes:
                raise _TooLarge
            async with asyncio.timeout(self.read_timeout_s):
                body = await _read_body(receive, max_bytes)
        except _TooLarge:
            detail = f"the body of this request may be at most {max_bytes} bytes"
            await error_response(413, "body_too_large", detail, _CLOSE)(scope, receive, send)
            return
        except TimeoutError:
            detail = f"the whole body must arrive within {self.read_timeout_s:g} s"
            await error_response(408, "body_timeout", detail, _CLOSE)(scope, receive, send)
            return
        except _ClientGone:
            return
        await self.app(scope, _replay(body, receive), send)


async def _read_body(receive: Receive, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body as one message, then the real channel (which reports the client going away)."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _content_length(scope: Scope) -> int | None:
    # The HTTP server has already refused a malformed Content-Length; anything else is left to counting.
    value = Headers(scope=scope).get("content-length")
    return int(value) if value is not None and value.isascii() and value.isdigit() else None
