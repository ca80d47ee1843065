"""JSON error bodies that say what is wrong, in one shape for every endpoint.

Also for the answers no endpoint writes: an unknown path (404), a method the path does not take
(405, with every method it does take in `Allow`) and a bug (500) get the same body.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus

import msgspec
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match


def error_response(
    status_code: int, error: str, detail: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status_code, headers=headers)


def json_response(body: object, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A body of msgspec Structs (or anything msgspec encodes) as JSON."""
    return Response(
        msgspec.json.encode(body),
        status_code=status,
        media_type="application/json",
        headers=dict(headers or {}),
    )


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's HTTPException (routing's 404 and 405) as our error body."""
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    if status == 404:
        return error_response(404, "not_found", "no endpoint at this path (see docs/http-api.md)")
    if status == 405:
        allowed = allowed_methods(request)
        return error_response(
            405, "method_not_allowed", f"{request.method[:16]} is not allowed here; use {', '.join(allowed)}",
            headers={"Allow": ", ".join(allowed)},
        )  # fmt: skip
    return error_response(status, _error_code(status), str(exc.detail), headers=exc.headers)


async def server_error(request: Request, exc: Exception) -> Response:
    """A bug: the traceback goes to the log (uvicorn writes it), the client gets the usual body."""
    return error_response(500, "internal_error", "the server failed to answer; it is logged")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route takes at this path (two routes may share one, as GET and POST do)."""
    methods: set[str] = set()
    for route in request.app.routes:
        if route.matches(request.scope)[0] is not Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    return sorted(methods)


def _error_code(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"
