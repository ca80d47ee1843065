"""GET /health and /health/ready: liveness, and a readiness that names what failed and spares PostgreSQL."""

from __future__ import annotations

import asyncio
import time

import httpx
import psycopg
from starlette.testclient import TestClient

from web.app import create_app
from web.database import APPLICATION_NAME, POOL_MAX_SIZE, open_pool
from web.enqueue import AsyncEnqueuer
from zapq.embedded.redis_server import ensure_redis
from zapq.settings import get_settings

DEAD_POSTGRESQL = "postgresql://nobody@127.0.0.1:1/none"


def test_health_answers_while_the_process_lives(web_client):
    assert web_client.get("/health").json() == {"status": "ok"}


def test_ready_when_redis_and_postgresql_answer(web_client):
    response = web_client.get("/health/ready")

    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_not_ready_names_the_failed_dependency(web_client, broker, tmp_path):
    doomed = ensure_redis(tmp_path / "doomed-redis")
    web_client.app.state.enqueuer = AsyncEnqueuer(broker, doomed.url)
    doomed.stop()
    dead_pool = web_client.app.state.database = open_pool(DEAD_POSTGRESQL)

    try:
        response = web_client.get("/health/ready")
    finally:
        dead_pool.close()

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "failed": ["redis", "postgresql"]}


def test_128_concurrent_probes_are_all_ready_on_few_postgresql_connections(
    web_server, db: psycopg.Connection
):
    async def probe_all() -> list[int]:
        async with httpx.AsyncClient(base_url=web_server.url, timeout=10) as client:
            answers = await asyncio.gather(*(client.get("/health/ready") for _ in range(128)))
        return [answer.status_code for answer in answers]

    statuses = asyncio.run(probe_all())

    assert statuses == [200] * 128
    connections = db.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (APPLICATION_NAME,)
    ).fetchone()[0]
    assert 1 <= connections <= POOL_MAX_SIZE


def test_the_web_starts_at_once_while_postgresql_is_down_and_says_so(monkeypatch, broker):
    monkeypatch.setenv("DATABASE_URL", DEAD_POSTGRESQL)
    get_settings.cache_clear()
    started = time.monotonic()

    with TestClient(create_app()) as client:
        start_up_s = time.monotonic() - started
        response = client.get("/health/ready")

    assert start_up_s < 1.0
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "failed": ["postgresql"]}
