"""What every background-task endpoint does around its own work: auth, decoding, answers, refusals.

An endpoint raises `Refusal` with the answer to give (401, 404, 422, ...); `endpoint` turns it,
and PostgreSQL or Redis being down (503), into the response. Bodies are msgspec Structs both ways.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

import msgspec
import psycopg
from starlette.requests import Request
from starlette.responses import Response

from web.background.auth import AuthNotConfigured, Principal, Unauthorized
from web.background.schemas import ErrorBody
from web.background.service import BackgroundService
from web.enqueue import BrokerUnavailable
from web.json_nesting import MAX_JSON_DEPTH, nested_deeper_than
from web.responses import json_response
from web.unavailable import BROKER, DATABASE, unavailable

T = TypeVar("T")
Endpoint = Callable[[Request], Awaitable[Response]]

# msgspec says where a value is wrong as "... - at `$.documents[0].content`", and names a missing
# or unknown field as "Object missing required field `content`"; a dict's key as `[...]`.
# PostgreSQL's text and jsonb hold no NUL character; an escaped one is refused before decoding.
_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000|\x00", re.IGNORECASE)
_AT = re.compile(r" - at `\$\.?([^`]*)`$")
_MISSING = re.compile(r"(?:missing required|contains unknown) field `([^`]+)`")


class Refusal(Exception):
    def __init__(
        self,
        status: int,
        error: str,
        detail: str,
        *,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.response = json_response(ErrorBody(error, detail, field), status, headers)


def endpoint(handler: Endpoint) -> Endpoint:
    @functools.wraps(handler)
    async def answer(request: Request) -> Response:
        try:
            return await handler(request)
        except Refusal as refusal:
            return refusal.response
        except psycopg.OperationalError as error:
            return unavailable(DATABASE, error)
        except (psycopg.DataError, UnicodeEncodeError) as error:  # text PostgreSQL cannot store
            detail = f"a value cannot be stored: {str(error).splitlines()[0][:200]}"
            return Refusal(422, "invalid_value", detail).response
        except BrokerUnavailable as error:
            return unavailable(BROKER, error)

    return answer


def service(request: Request) -> BackgroundService:
    background: BackgroundService = request.app.state.background
    return background


def caller(request: Request, *, admin: bool = False) -> Principal:
    """The token's principal; 401 without a valid token, 403 for a non-admin where admin is needed."""
    try:
        principal = service(request).authenticate(request.headers.get("authorization"))
    except AuthNotConfigured:
        raise Refusal(
            503, "auth_not_configured", "set JWT_SECRET or JWT_PUBLIC_KEY to use this API"
        ) from None
    except Unauthorized as error:
        raise Refusal(401, "unauthorized", str(error), headers={"WWW-Authenticate": "Bearer"}) from None
    if admin and not principal.admin:
        raise Refusal(403, "forbidden", "this needs a token with role admin")
    return principal


async def decode_body(request: Request, body_type: type[T]) -> T:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise Refusal(
            415,
            "unsupported_media_type",
            "send the body as Content-Type: application/json",
            field="content-type",
        )
    raw = await request.body()
    if nested_deeper_than(raw, MAX_JSON_DEPTH):
        raise Refusal(400, "json_too_deep", f"JSON may nest at most {MAX_JSON_DEPTH} levels")
    if _NUL.search(raw):
        raise Refusal(422, "invalid_value", "text may not contain NUL (\\u0000)")
    try:
        return msgspec.json.decode(raw, type=body_type)
    except msgspec.ValidationError as error:
        raise Refusal(422, "invalid_field", str(error), field=field_of(str(error))) from None
    except msgspec.DecodeError as error:
        raise Refusal(400, "invalid_json", str(error)) from None


def field_of(message: str) -> str | None:
    """The dotted path of the field msgspec's error names (`documents[0].content`), or None."""
    at = _AT.search(message)
    path = at.group(1) if at else ""
    missing = _MISSING.search(message)
    if missing:
        path = f"{path}.{missing.group(1)}" if path else missing.group(1)
    return path.replace("[...]", "") or None


def query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    if not text.isascii() or not text.lstrip("-").isdigit() or not low <= int(text) <= high:
        raise Refusal(422, "invalid_parameter", f"{name} must be an integer from {low} to {high}", field=name)
    return int(text)


def query_number(request: Request, name: str, low: float, high: float) -> float | None:
    text = request.query_params.get(name)
    if text is None or text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:
        raise Refusal(
            422, "invalid_parameter", f"{name} must be a number from {low:g} to {high:g}", field=name
        )
    return value


def task_id_param(request: Request) -> str:
    """The path's task id; a malformed one is a task that does not exist (404)."""
    text = str(request.path_params["task_id"])
    if not is_uuid(text):
        raise not_found(text)
    return text.lower()


def is_uuid(text: str) -> bool:
    return _UUID.fullmatch(text) is not None


def not_found(task_id: str) -> Refusal:
    # The same answer for a task of another organisation: ids do not leak.
    return Refusal(404, "task_not_found", f"no task {task_id[:64]!r} in your organisation")


_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
