"""Liveness answers while the process runs; readiness names the dependency that failed.

Readiness covers what the workers need to answer a customer too: Redis, PostgreSQL, and a Cloud
API that answers and takes the token (web/cloud_api_check.py). Redis and PostgreSQL are checked at
most once per `READY_MAX_AGE_S` however many probes ask at once (web/shared_check.py), through the
web's PostgreSQL pool: probes cannot exhaust PostgreSQL. The Cloud API, a remote service with
rate limits, at most once per `cloud_api_check.MAX_AGE_S`.
"""

from __future__ import annotations

import asyncio

import psycopg
from psycopg_pool import ConnectionPool
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State
from starlette.requests import Request
from starlette.responses import JSONResponse

from web import cloud_api_check
from web.cloud_api_check import cloud_api_failure
from web.enqueue import AsyncEnqueuer
from web.shared_check import SharedCheck

CHECK_TIMEOUT_S = 2.0
READY_MAX_AGE_S = 1.0


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def ready(request: Request) -> JSONResponse:
    failed: list[str] = await request.app.state.readiness()
    if failed:
        return JSONResponse({"status": "unavailable", "failed": failed}, status_code=503)
    return JSONResponse({"status": "ready"})


def readiness_check(state: State) -> SharedCheck[list[str]]:
    """The dependencies that fail, read from `state` at each check (tests swap them)."""
    cloud_api = SharedCheck(lambda: cloud_api_failure(state.settings), max_age_s=cloud_api_check.MAX_AGE_S)

    async def failed_dependencies() -> list[str]:
        redis_ok, postgres_ok, cloud_api_failed = await asyncio.gather(
            _redis_ok(state.enqueuer), run_in_threadpool(_postgres_ok, state.database), cloud_api()
        )
        failed = [name for name, ok in (("redis", redis_ok), ("postgresql", postgres_ok)) if not ok]
        return [*failed, cloud_api_failed] if cloud_api_failed else failed

    return SharedCheck(failed_dependencies, max_age_s=READY_MAX_AGE_S)


async def _redis_ok(enqueuer: AsyncEnqueuer) -> bool:
    try:
        return await asyncio.wait_for(enqueuer.ping(), CHECK_TIMEOUT_S)
    except Exception:
        return False


def _postgres_ok(pool: ConnectionPool) -> bool:
    try:
        with pool.connection(timeout=CHECK_TIMEOUT_S) as connection:
            connection.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False
