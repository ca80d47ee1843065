"""`GET /api/search?q=&limit=`: the cars and past customer messages nearest in meaning to `q`.

Behind the admin token, like the rest of `/api/`. Cars are ranked as the assistant ranks them (the
hybrid keyword and semantic ranking of `zapq.embeddings.search`); messages by meaning alone. The
model and the in-memory indexes are built on the first search, not at start: a web that is never
asked to search never loads them.
"""

from __future__ import annotations

import threading

import psycopg
from psycopg_pool import ConnectionPool
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from web.admin import refuse_unless_admin
from web.responses import error_response
from web.unavailable import DATABASE, EMBEDDINGS, unavailable
from zapq.embeddings.providers import EmbeddingsError
from zapq.settings import Settings

DEFAULT_RESULTS = 5
MAX_RESULTS = 20
MAX_QUERY_CHARS = 500

_building = threading.Lock()


async def search(request: Request) -> Response:
    if (refusal := await refuse_unless_admin(request)) is not None:
        return refusal
    query = request.query_params.get("q", "").strip()
    if not query or len(query) > MAX_QUERY_CHARS or not query.isprintable():
        return error_response(
            400, "invalid_parameter", f"q must be 1 to {MAX_QUERY_CHARS} printable characters of text"
        )
    limit_text = request.query_params.get("limit", str(DEFAULT_RESULTS))
    if not (limit_text.isascii() and limit_text.isdigit() and 1 <= int(limit_text) <= MAX_RESULTS):
        return error_response(400, "invalid_parameter", f"limit must be an integer from 1 to {MAX_RESULTS}")
    state = request.app.state
    try:
        found = await run_in_threadpool(
            _search, state, state.database, state.settings, query, int(limit_text)
        )
    except psycopg.OperationalError as error:
        return unavailable(DATABASE, error)
    except EmbeddingsError as error:
        return unavailable(EMBEDDINGS, error)
    return JSONResponse({"q": query, **found})


def _search(
    state: State, pool: ConnectionPool, settings: Settings, query: str, limit: int
) -> dict[str, object]:
    from zapq.embeddings.index import MessageIndex, VehicleIndex
    from zapq.embeddings.providers import build_provider
    from zapq.embeddings.search import SemanticSearch

    with _building:
        indexes = getattr(state, "search_indexes", None)
        if indexes is None:
            indexes = state.search_indexes = (VehicleIndex(), MessageIndex())
    provider = build_provider(settings)
    with pool.connection() as connection:
        semantic = SemanticSearch(provider, lambda: connection, vehicles=indexes[0], messages=indexes[1])
        ranked = semantic.hybrid_vehicles(query, limit)
        vehicles = semantic.vehicles_by_id([vehicle_id for vehicle_id, _ in ranked])
        messages = semantic.similar_messages(query, limit)
    return {
        "model": provider.model,
        "vehicles": [
            {
                "id": vehicle.id,
                "make": vehicle.make,
                "model": vehicle.model,
                "trim_level": vehicle.trim_level,
                "year": vehicle.year,
                "price": str(vehicle.price),
                "body_type": vehicle.body_type,
                "score": round(score, 4),
            }
            for vehicle, (_, score) in zip(vehicles, ranked, strict=True)
        ],
        "messages": [{"text": text, "score": round(score, 4)} for text, score in messages],
    }
