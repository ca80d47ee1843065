"""The ingest benchmark's baseline: the same app and signed endpoint, with the enqueue removed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette

from web.app import create_app
from web.enqueue import Enqueued


class DiscardingEnqueuer:
    """Takes every message and keeps none: what the endpoint costs without Redis."""

    async def enqueue(self, message: Any) -> Any:
        return message

    async def enqueue_many(self, messages: list[Any]) -> list[Enqueued]:
        return [Enqueued(message) for message in messages]

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        return None


def create_app_without_enqueue() -> Starlette:
    """`uvicorn --factory bench.ingest_app:create_app_without_enqueue`."""
    app = create_app()
    real_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(started: Starlette) -> AsyncIterator[None]:
        async with real_lifespan(started):
            await started.state.enqueuer.close()
            started.state.enqueuer = DiscardingEnqueuer()
            yield

    app.router.lifespan_context = lifespan
    return app
