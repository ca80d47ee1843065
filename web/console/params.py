"""Checking what a console request names: numbers in ranges, queues from our set, message ids, confirmations.

Each raises `BadRequest` with the sentence the 400 body shows; outside text never reaches a
Redis key, a metric label or a path without passing one of these.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse

from web.responses import error_response
from zapq.queues import QUEUES


class BadRequest(ValueError):
    """What is wrong with the request, in a sentence for its 400 body."""

    def __init__(self, detail: str, error: str = "invalid_parameter") -> None:
        super().__init__(detail)
        self.error = error

    def response(self) -> JSONResponse:
        return error_response(400, self.error, str(self))


def int_parameter(request: Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    if not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
        raise BadRequest(f"{name} must be an integer from {low} to {high}")
    return int(text)


def known_queue(name: str) -> str:
    """`name` when it is one of our queues (zapq/queues.py)."""
    if name not in QUEUES:
        raise BadRequest(f"unknown queue; one of: {', '.join(QUEUES)}", "unknown_queue")
    return name


def message_id(text: str) -> str:
    """A Dramatiq message id: a UUID, in its canonical form."""
    return _uuid(text, "message_id", "invalid_message_id")


def task_id(text: str) -> str:
    """A background task's id: a UUID, in its canonical form."""
    return _uuid(text, "task id", "invalid_task_id")


def conversation_id(text: str) -> str:
    """A conversation's console id (`conversations.conversation_id`): a UUID, in its canonical form."""
    return _uuid(text, "conversation id", "invalid_conversation_id")


def _uuid(text: str, name: str, error: str) -> str:
    try:
        if len(text) == 36:
            return str(uuid.UUID(text))
    except ValueError:
        pass
    raise BadRequest(f"{name} must be a UUID", error)


def text_parameter(request: Request, name: str, max_chars: int) -> str | None:
    """A free-text query parameter, stripped; None when empty. Printable, at most `max_chars`."""
    text = (request.query_params.get(name) or "").strip()
    if not text:
        return None
    if len(text) > max_chars or not text.isprintable():
        raise BadRequest(f"{name} must be printable text of at most {max_chars} characters")
    return text


class Confirmation(msgspec.Struct, forbid_unknown_fields=False):
    """The body every mutating console endpoint takes: `{"confirm": true}`, set by the UI's confirm step."""

    confirm: bool = False


async def confirmed_body(request: Request, body_type: type[Any] = Confirmation) -> Any:
    """The JSON body, decoded into `body_type` (which has `confirm: bool`); refused unless confirmed."""
    raw = await request.body()
    try:
        body = msgspec.json.decode(raw or b"{}", type=body_type)
    except msgspec.DecodeError as error:
        raise BadRequest(f"the body must be a JSON object: {error}"[:300], "invalid_body") from None
    if body.confirm is not True:
        raise BadRequest('this action needs {"confirm": true} in the body', "confirmation_required")
    return body
