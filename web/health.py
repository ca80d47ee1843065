"""Liveness answers while the process runs; readiness names the dependency that failed."""

from __future__ import annotations

import asyncio

import psycopg
from starlette.requests import Request
from starlette.responses import JSONResponse

CHECK_TIMEOUT_S = 2.0


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def ready(request: Request) -> JSONResponse:
    failed = []
    if not await _redis_ok(request):
        failed.append("redis")
    if not await _postgres_ok(request.app.state.database_url):
        failed.append("postgresql")
    if failed:
        return JSONResponse({"status": "unavailable", "failed": failed}, status_code=503)
    return JSONResponse({"status": "ready"})


async def _redis_ok(request: Request) -> bool:
    try:
        return bool(await asyncio.wait_for(request.app.state.enqueuer.ping(), CHECK_TIMEOUT_S))
    except Exception:
        return False


async def _postgres_ok(database_url: str) -> bool:
    try:
        async with await psycopg.AsyncConnection.connect(
            database_url, connect_timeout=int(CHECK_TIMEOUT_S)
        ) as connection:
            await asyncio.wait_for(connection.execute("SELECT 1"), CHECK_TIMEOUT_S)
        return True
    except Exception:
        return False
