"""What an inner ASGI app answered one request, for the middlewares that count and log answers.

A request's status is the one its `http.response.start` carried. An app that never started a
response answered nothing: `499` (nginx's "client closed request") when the client hung up first,
else `500`, a bug of ours.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CLIENT_CLOSED_REQUEST = 499
SERVER_ERROR = 500


class Exchange:
    """Wraps one request's `receive` and `send`; pass `exchange.receive`/`exchange.send` inward."""

    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive = receive
        self._send = send
        self.started = time.perf_counter()
        self._status: int | None = None
        self._client_gone = False

    async def receive(self) -> Message:
        message = await self._receive()
        self._client_gone = self._client_gone or message["type"] == "http.disconnect"
        return message

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._status = message["status"]
        await self._send(message)

    @property
    def status(self) -> int:
        if self._status is not None:
            return self._status
        return CLIENT_CLOSED_REQUEST if self._client_gone else SERVER_ERROR

    @property
    def elapsed_s(self) -> float:
        return time.perf_counter() - self.started


class AnswerWatcher:
    """Pure ASGI middleware calling `answered` once per HTTP request, after the inner app is done.

    Subclasses (the access log, the request metrics) say what to do with the answer; they must wrap
    every other middleware to see every answer, including the errors those give.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        exchange = Exchange(receive, send)
        try:
            await self.app(scope, exchange.receive, exchange.send)
        finally:
            self.answered(scope, exchange)

    def answered(self, scope: Scope, exchange: Exchange) -> None:
        raise NotImplementedError
