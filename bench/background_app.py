"""The background benchmarks' web apps: the real one knowing the bench task types, and its baseline
with the enqueue removed (`uvicorn --factory bench.background_app:create_app[_without_enqueue]`)."""

from __future__ import annotations

from starlette.applications import Starlette

from bench import background_tasks  # noqa: F401 (the web accepts the bench task types)
from bench.ingest_app import create_app_without_enqueue as _without_enqueue
from web.app import create_app as _create_app


def create_app() -> Starlette:
    return _create_app()


def create_app_without_enqueue() -> Starlette:
    """Submissions are stored, not queued: what `POST /tasks` costs without Redis."""
    app = _without_enqueue()
    real_lifespan = app.router.lifespan_context

    from collections.abc import AsyncIterator
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(started: Starlette) -> AsyncIterator[None]:
        async with real_lifespan(started):
            started.state.background.enqueuer = started.state.enqueuer  # the discarding one
            yield

    app.router.lifespan_context = lifespan
    return app
